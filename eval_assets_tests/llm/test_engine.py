"""The replay engine's retry, concurrency and classification logic, with a scripted provider.

The real HTTP path through litellm is exercised against the local fake server in test_litellm_provider.py.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence

import pytest
from hypothesis import given, strategies as st

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import ProviderReply, build_call
from eval_assets.llm.engine import replay
from eval_assets.llm.progress import ReplayProgress
from eval_assets.llm.retry import ProviderError, RetryPolicy, parse_retry_after

MODEL = ModelSpec(id="openai/test")


class ScriptedProvider:
    """Fails each prompt according to a script, then answers; records concurrency."""

    def __init__(self, script: dict[str, list[ProviderError]]) -> None:
        self.script = {k: list(v) for k, v in script.items()}
        self.calls: list[str] = []
        self.in_flight = 0
        self.peak = 0

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        prompt = messages[-1]["content"]
        self.calls.append(prompt)
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)
            failures = self.script.get(prompt, [])
            if failures:
                raise failures.pop(0)
            return ProviderReply(f"answer to {prompt}", "stop", "v1", 10, 5, 0.001)
        finally:
            self.in_flight -= 1


async def no_sleep(_: float) -> None:
    return None


def calls(*prompts: str) -> list:  # type: ignore[type-arg]
    return [build_call(p, MODEL, [{"role": "user", "content": p}], scope="2026-11-07") for p in prompts]


def run(provider: ScriptedProvider, prompts: Sequence[str], **kwargs: object) -> list:  # type: ignore[type-arg]
    options = {
        "concurrency": 4,
        "timeout_s": 1.0,
        "policy": RetryPolicy(max_retries=3),
        "sleep": no_sleep,
        **kwargs,
    }
    return asyncio.run(replay(calls(*prompts), provider, **options))  # type: ignore[arg-type]


def test_retryable_errors_are_retried_then_succeed() -> None:
    provider = ScriptedProvider(
        {"a": [ProviderError("rate_limit", "429", retry_after_s=0.01), ProviderError("server_error", "500")]}
    )
    (outcome,) = run(provider, ["a"])
    assert outcome.ok and outcome.attempts == 3
    assert provider.calls == ["a", "a", "a"]


def test_permanent_errors_fail_fast() -> None:
    # A 400 will be a 400 again: retrying only burns time and quota.
    provider = ScriptedProvider({"a": [ProviderError("bad_request", "400")]})
    (outcome,) = run(provider, ["a"])
    assert not outcome.ok and outcome.error_type == "bad_request" and outcome.attempts == 1


def test_retries_are_bounded() -> None:
    provider = ScriptedProvider({"a": [ProviderError("server_error", "500")] * 10})
    (outcome,) = run(provider, ["a"], policy=RetryPolicy(max_retries=2))
    assert outcome.error_type == "server_error" and outcome.attempts == 3


def test_total_time_bounds_retries() -> None:
    now = [0.0]

    async def advancing_sleep(seconds: float) -> None:
        now[0] += seconds

    provider = ScriptedProvider({"a": [ProviderError("rate_limit", "429", retry_after_s=50)] * 10})
    (outcome,) = run(
        provider,
        ["a"],
        policy=RetryPolicy(max_retries=10, deadline_s=120),
        sleep=advancing_sleep,
        clock=lambda: now[0],
    )
    # 50 s waits: the third would pass the 120 s deadline, so it gives up after two retries.
    assert outcome.attempts == 3


def test_concurrency_is_bounded_and_order_kept() -> None:
    provider = ScriptedProvider({})
    prompts = [f"p{i}" for i in range(50)]
    outcomes = run(provider, prompts, concurrency=5)
    assert provider.peak <= 5
    assert [o.call.key for o in outcomes] == prompts


def test_progress_counts_errors_and_retries() -> None:
    lines: list[str] = []
    progress = ReplayProgress("t", 3, report=lines.append, interval_s=0)
    provider = ScriptedProvider({"b": [ProviderError("timeout", "t")], "c": [ProviderError("auth", "401")]})
    run(provider, ["a", "b", "c"], progress=progress)
    assert (progress.done, progress.errors, progress.retries) == (3, 1, 1)
    assert lines and "3/3 (100%)" in lines[-1]


@given(retry=st.integers(1, 30), seed=st.integers(0, 2**32))
def test_backoff_is_bounded_and_non_negative(retry: int, seed: int) -> None:
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=20)
    delay = policy.delay(retry, retry_after_s=None, rng=random.Random(seed))
    assert 0 <= delay <= 20


def test_retry_after_wins_over_backoff() -> None:
    policy = RetryPolicy()
    rng = random.Random(0)
    assert 7 <= policy.delay(1, retry_after_s=7, rng=rng) < 7.2
    # Not capped by our own schedule: waiting less than asked would only earn another 429.
    assert 300 <= policy.delay(1, retry_after_s=300, rng=rng) < 300.2


@pytest.mark.parametrize(
    ("retry_after_s", "elapsed_s", "waits"),
    [
        (30.0, 0.0, True),  # fits in the 600 s deadline: honoured in full
        (599.0, 0.0, True),
        (601.0, 0.0, False),  # does not fit: stop now, not after ten minutes
        (1e9, 0.0, False),  # issue 13: "Retry-After: 1e9 kept a 100-item run alive 280 s"
        (100.0, 550.0, False),  # only 50 s of the deadline left
    ],
)
def test_retry_after_is_honoured_only_within_the_remaining_deadline(
    retry_after_s: float, elapsed_s: float, waits: bool
) -> None:
    policy = RetryPolicy(max_retries=5, deadline_s=600)
    error = ProviderError("rate_limit", "429", retry_after_s=retry_after_s)
    decision = policy.decide(error, retries_done=0, elapsed_s=elapsed_s, rng=random.Random(0))
    if waits:
        assert decision.delay_s is not None and decision.delay_s >= retry_after_s and decision.note is None
    else:
        assert decision.delay_s is None
        assert decision.note is not None and "Retry-After" in decision.note and "max_retry_time_s" in decision.note


def test_a_retry_after_beyond_the_deadline_ends_the_call_at_once_with_a_clear_message() -> None:
    provider = ScriptedProvider({"a": [ProviderError("rate_limit", "HTTP 429", retry_after_s=1e9)] * 5})
    slept: list[float] = []

    async def recording_sleep(seconds: float) -> None:
        slept.append(seconds)

    (outcome,) = run(provider, ["a"], policy=RetryPolicy(max_retries=5, deadline_s=600), sleep=recording_sleep)
    assert (outcome.error_type, outcome.attempts, slept) == ("rate_limit", 1, [])
    assert outcome.error_message.startswith("HTTP 429; not retried: the provider asked to wait 1e+09 s")


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after": "3"}, 3.0),
        # Milliseconds are more precise: prefer them when both are present.
        ({"retry-after": "3", "retry-after-ms": "2500"}, 2.5),
        ({"retry-after": "Wed, 21 Oct 2026 07:28:00 GMT"}, None),
        ({"retry-after": "-1"}, None),
        ({}, None),
    ],
)
def test_parse_retry_after(headers: dict[str, str], expected: float | None) -> None:
    assert parse_retry_after(headers) == expected
