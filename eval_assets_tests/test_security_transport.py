"""A hostile provider must not stall a run or grow memory without bound (issue 13 part 4, issue 8 item 22).

Seen on the old code: 4 concurrent 400 MB gzip bombs reached 3.57 GB (4 items took 265 s), and
``Retry-After: 1e9`` kept a 100-item run alive 280 s, sleepers not woken when the circuit opened.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call
from eval_assets.llm.engine import replay
from eval_assets.llm.guards import SKIPPED_CIRCUIT_OPEN, RunGuard
from eval_assets.llm.litellm_provider import LiteLLMProvider
from eval_assets.llm.openai_compat import OpenAICompatProvider
from eval_assets.llm.retry import RetryPolicy
from eval_assets.llm.routing import RoutingProvider
from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan

pytestmark = pytest.mark.slow

BOMB_BYTES = 400 * 1024 * 1024


class NoPricing:
    def cost(self, model_id: str, usage: object) -> float | None:
        return None


def calls_for(model: ModelSpec, n: int) -> list[ModelCall]:
    return [build_call(i, model, [{"role": "user", "content": f"q{i}"}], scope="2026-11-07") for i in range(n)]


def run_replay(calls: Sequence[ModelCall], provider: Any, **options: Any) -> list[CallOutcome]:
    async def go() -> list[CallOutcome]:
        try:
            return await replay(calls, provider, timeout_s=30, **options)
        finally:
            if hasattr(provider, "aclose"):  # litellm manages its own clients
                await provider.aclose()

    return asyncio.run(go())


@pytest.fixture
def bomb_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(gzip_bomb_bytes=BOMB_BYTES) as server:
        yield server


# A fresh interpreter, so its peak RSS (VmHWM) belongs to the four calls and not to this test session.
_BOMB_CLIENT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from eval_assets.config import ModelSpec
    from eval_assets.llm.openai_compat import OpenAICompatProvider
    from eval_assets.llm.retry import ProviderError

    class NoPricing:
        def cost(self, model_id, usage):
            return None

    def peak_kb():
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))

    async def main():
        provider = OpenAICompatProvider(pricing=NoPricing())
        spec = ModelSpec(id="openai/fake-model", api_base=sys.argv[1])

        async def one(i):
            try:
                await provider.complete(spec, [{"role": "user", "content": f"q{i}"}], timeout_s=60)
                return "answered"
            except ProviderError as error:
                return error.kind

        before = peak_kb()
        started = time.monotonic()
        kinds = await asyncio.gather(*(one(i) for i in range(4)))
        elapsed = time.monotonic() - started
        await provider.aclose()
        print(json.dumps({"kinds": kinds, "elapsed": elapsed, "growth_kb": peak_kb() - before}))

    asyncio.run(main())
    """
)


def test_four_concurrent_gzip_bombs_fail_fast_with_bounded_memory(bomb_server: FakeOpenAIServer) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BOMB_CLIENT, bomb_server.base_url], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["kinds"] == ["response_too_large"] * 4
    assert report["elapsed"] < 10  # the old code spent minutes decompressing 1.6 GB
    # Each response stops at the 16 MiB cap: 4 x 16 MiB plus buffers, far from 4 x 400 MiB.
    assert report["growth_kb"] < 120 * 1024, report
    assert bomb_server.count("gzip_bomb") == 4


def test_a_gzip_bomb_fails_its_call_once_through_the_engine(bomb_server: FakeOpenAIServer) -> None:
    model = ModelSpec(id="openai/fake-model", api_base=bomb_server.base_url)
    outcomes = run_replay(
        calls_for(model, 3), OpenAICompatProvider(pricing=NoPricing()), concurrency=3, policy=RetryPolicy()
    )
    # Permanent: a body no real completion reaches would only be downloaded again.
    assert [(o.error_type, o.attempts) for o in outcomes] == [("response_too_large", 1)] * 3
    assert "16,777,216 bytes" in (outcomes[0].error_message or "")


def test_an_oversized_plain_body_is_refused_before_it_is_read() -> None:
    with FakeOpenAIServer(oversize_bytes=32 * 1024 * 1024) as server:
        model = ModelSpec(id="openai/fake-model", api_base=server.base_url)
        [outcome] = run_replay(
            calls_for(model, 1), OpenAICompatProvider(pricing=NoPricing()), concurrency=1, policy=RetryPolicy()
        )
    assert outcome.error_type == "response_too_large"
    assert "(Content-Length)" in (outcome.error_message or "")


def test_litellm_path_gzip_bomb_is_bounded_too(bomb_server: FakeOpenAIServer) -> None:
    # anthropic/ goes through litellm's httpx client, which decompresses in full unless guarded.
    model = ModelSpec(id="anthropic/claude-3-5-haiku-20241022", api_base=bomb_server.base_url.removesuffix("/v1"))
    started = time.monotonic()
    outcomes = run_replay(calls_for(model, 2), LiteLLMProvider(), concurrency=2, policy=RetryPolicy())
    assert [(o.error_type, o.attempts) for o in outcomes] == [("response_too_large", 1)] * 2
    assert time.monotonic() - started < 15


def test_endless_429_with_a_huge_retry_after_ends_in_seconds() -> None:
    with FakeOpenAIServer(faults=FaultPlan(rate_limit=1.0, retry_after_s=1e9)) as server:
        model = ModelSpec(id="openai/fake-model", api_base=server.base_url)
        started = time.monotonic()
        outcomes = run_replay(
            calls_for(model, 100),
            RoutingProvider(),
            concurrency=8,
            policy=RetryPolicy(max_retries=3, deadline_s=600),  # the defaults of runtime.max_retry_time_s
            guard=RunGuard(),
        )
        elapsed = time.monotonic() - started
        requests = server.count()
    assert elapsed < 10  # the old code: 280 s
    assert all(not o.ok for o in outcomes)
    limited = [o for o in outcomes if o.error_type == "rate_limit"]
    assert limited and all(o.attempts == 1 for o in limited)  # not one retry: the wait would pass the deadline
    assert "Retry-After" in (limited[0].error_message or "") and "max_retry_time_s" in (limited[0].error_message or "")
    assert {o.error_type for o in outcomes} <= {"rate_limit", SKIPPED_CIRCUIT_OPEN}
    assert requests == len(limited)


def test_a_breaker_opening_mid_backoff_ends_the_sleepers_promptly() -> None:
    # Calls to one endpoint wait out a 30 s Retry-After (within their deadline); calls to another fail for
    # good and open the breaker: the sleepers end now, with their 429, instead of 30 s later.
    with (
        FakeOpenAIServer(faults=FaultPlan(rate_limit=1.0, retry_after_s=30)) as slow,
        FakeOpenAIServer(faults=FaultPlan(always_status=418)) as broken,
    ):
        waiting = calls_for(ModelSpec(id="openai/fake-model", api_base=slow.base_url), 8)
        failing = calls_for(ModelSpec(id="openai/fake-model", api_base=broken.base_url), 12)
        started = time.monotonic()
        outcomes = run_replay(
            [*waiting, *failing],
            RoutingProvider(),
            concurrency=20,
            policy=RetryPolicy(max_retries=3, deadline_s=600),
            guard=RunGuard(),
        )
        elapsed = time.monotonic() - started
        assert slow.count() == 8  # each sleeper sent one request and was never retried
    assert elapsed < 10
    assert [o.error_type for o in outcomes[:8]] == ["rate_limit"] * 8
