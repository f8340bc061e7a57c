"""Tests of the fake OpenAI server, driven through the real litellm / openai SDK HTTP path."""

from __future__ import annotations

import os

# Must be set before litellm is imported: never fetch the model cost map from the network.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import asyncio
import contextlib
import gc
import json
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import litellm
import openai
import pytest
from litellm.llms.custom_httpx.async_client_cleanup import close_litellm_async_clients

from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan, reply_for

pytestmark = [
    # litellm 1.106.2 builds the pydantic schema of litellm.types.utils.Message lazily, on the first
    # completion; pydantic then warns that a litellm TypedDict uses ReadOnly. It is litellm's own type and
    # harmless, but under "error" it turns every first completion into an APIConnectionError.
    pytest.mark.filterwarnings(
        "ignore:Item 'summary' on TypedDict class 'ChatCompletionReasoningItem' is using the `ReadOnly`"
        " qualifier:UserWarning"
    ),
]

# litellm prints a "Give Feedback / Get Help" banner to stdout for every mapped exception.
litellm.suppress_debug_info = True

T = TypeVar("T")
REPO_ROOT = Path(__file__).resolve().parents[2]
MODEL = "openai/fake-model"
TERMINAL = {"completed", "failed", "cancelled", "expired"}


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` in a fresh loop and close the HTTP clients litellm cached for that loop."""

    async def main() -> T:
        try:
            return await coro
        finally:
            await close_litellm_async_clients()
            litellm.in_memory_llm_clients_cache.flush_cache()

    return asyncio.run(main())


def _complete(server: FakeOpenAIServer, content: str, **kwargs: Any) -> Coroutine[Any, Any, Any]:
    params: dict[str, Any] = {"max_tokens": 50, "timeout": 5, "num_retries": 0, "api_key": "sk-test"}
    params.update(kwargs)
    return litellm.acompletion(
        model=MODEL, api_base=server.base_url, messages=[{"role": "user", "content": content}], **params
    )


def _expect(server: FakeOpenAIServer, exc_type: type[BaseException], **kwargs: Any) -> Any:
    async def go() -> BaseException:
        with pytest.raises(exc_type) as info:
            await _complete(server, "hello", **kwargs)
        return info.value

    return _run(go())


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer() as srv:
        yield srv


# --------------------------------------------------------------------------------------------------
# Chat completions through litellm
# --------------------------------------------------------------------------------------------------


def test_litellm_echo_with_usage(server: FakeOpenAIServer) -> None:
    response = _run(_complete(server, "hello world"))

    assert response.choices[0].message.content == "Echo: hello world"
    assert response.choices[0].finish_reason == "stop"
    assert response.model == "fake-model-2026-01-01"
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (5, 3)
    assert response.usage.total_tokens == 8
    assert response.usage.prompt_tokens_details.cached_tokens == 0
    assert response.usage.completion_tokens_details.reasoning_tokens == 0
    [recorded] = server.requests
    assert (recorded.outcome, recorded.status, recorded.attempt) == ("ok", 200, 0)
    assert recorded.path == "/v1/chat/completions"
    assert recorded.api_key == "sk-test"
    assert recorded.body["model"] == "fake-model"
    assert recorded.body["max_tokens"] == 50
    assert server.count() == server.count("ok") == 1


def test_answer_line_and_max_tokens_truncation(server: FakeOpenAIServer) -> None:
    async def go() -> tuple[Any, Any]:
        answered = await _complete(server, "Which option?\nANSWER: B")
        truncated = await _complete(server, "one two three", max_tokens=2)
        return answered, truncated

    answered, truncated = _run(go())
    assert answered.choices[0].message.content == "B"
    assert truncated.choices[0].message.content == "Echo: one"
    assert truncated.choices[0].finish_reason == "length"
    assert truncated.usage.completion_tokens == 2


def test_reply_for_is_a_pure_function_of_the_messages() -> None:
    assert reply_for([{"role": "user", "content": "hi"}]) == "Echo: hi"
    assert reply_for([]) == "Echo: "
    messages = [
        {"role": "system", "content": "ANSWER: ignored"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "x"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "ANSWER: A"}, {"type": "text", "text": "ANSWER:  C d "}],
        },
    ]
    assert reply_for(messages) == "C d"


def test_rate_limit_is_a_rate_limit_error_with_retry_after(server: FakeOpenAIServer) -> None:
    server.faults = FaultPlan(rate_limit=1.0, retry_after_s=0.05)
    exc = _expect(server, litellm.RateLimitError)

    assert exc.status_code == 429
    # Where litellm 1.106.2 exposes the server's headers (see the server module docstring):
    assert exc.litellm_response_headers["retry-after"] == "0.05"
    assert exc.litellm_response_headers["retry-after-ms"] == "50"
    assert "retry-after" not in exc.response.headers  # litellm rebuilds exc.response without them
    assert exc.headers is None
    assert server.count() == server.count("429") == 1  # num_retries=0: no hidden SDK retry


@pytest.mark.parametrize(
    ("faults", "exc_type", "status", "outcome"),
    [
        (FaultPlan(server_error=1.0), litellm.InternalServerError, 500, "500"),
        (FaultPlan(bad_request=1.0), litellm.BadRequestError, 400, "400"),
        (FaultPlan(malformed=1.0), litellm.InternalServerError, 500, "malformed"),
        (FaultPlan(always_status=401), litellm.AuthenticationError, 401, "401"),
        (FaultPlan(always_status=503), litellm.ServiceUnavailableError, 503, "503"),
        (FaultPlan(always_status=429), litellm.RateLimitError, 429, "429"),
    ],
)
def test_faults_map_to_litellm_exceptions(
    server: FakeOpenAIServer, faults: FaultPlan, exc_type: type[Exception], status: int, outcome: str
) -> None:
    server.faults = faults
    exc = _expect(server, exc_type)

    assert exc.status_code == status
    assert isinstance(exc, openai.APIError)
    assert (exc.litellm_response_headers is None) == (outcome == "malformed")
    assert [r.outcome for r in server.requests] == [outcome]


def test_malformed_body_message_mentions_json() -> None:
    with FakeOpenAIServer(faults=FaultPlan(malformed=1.0)) as server:
        exc = _expect(server, litellm.InternalServerError)
    assert "Unterminated string" in str(exc)


def test_api_key_is_enforced_when_configured() -> None:
    with FakeOpenAIServer(api_key="sk-right") as server:
        exc = _expect(server, litellm.AuthenticationError, api_key="sk-wrong")
        ok = _run(_complete(server, "hi", api_key="sk-right"))
        assert [r.outcome for r in server.requests] == ["401", "ok"]
    assert exc.status_code == 401
    assert ok.choices[0].message.content == "Echo: hi"


def test_hang_raises_litellm_timeout_and_shutdown_is_prompt() -> None:
    server = FakeOpenAIServer(faults=FaultPlan(hang=1.0, hang_s=30.0))
    with server:
        started = time.monotonic()
        exc = _expect(server, litellm.Timeout, timeout=0.3)
        assert time.monotonic() - started < 3.0
        assert server.count("hang") == 1
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 2.0
    assert exc.status_code == 408


def test_fail_first_n_then_recovery_and_runtime_fault_switching() -> None:
    with FakeOpenAIServer(faults=FaultPlan(fail_first_n=2)) as server:

        async def go() -> list[str]:
            outcomes = []
            for _ in range(3):
                try:
                    await _complete(server, "hi")
                    outcomes.append("ok")
                except litellm.InternalServerError:
                    outcomes.append("500")
            server.faults.always_status = 503  # mutate in place: outage
            with pytest.raises(litellm.ServiceUnavailableError):
                await _complete(server, "hi")
            server.faults = FaultPlan()  # recovery
            await _complete(server, "hi")
            return outcomes

        assert _run(go()) == ["500", "500", "ok"]
        assert [r.outcome for r in server.requests] == ["500", "500", "ok", "503", "ok"]
        server.reset_log()
        assert server.count() == 0


# --------------------------------------------------------------------------------------------------
# Raw HTTP: fault fractions, determinism, concurrency, validation
# --------------------------------------------------------------------------------------------------


async def _post_many(base_url: str, bodies: list[dict[str, Any]], limit: int = 64) -> list[int]:
    connector = aiohttp.TCPConnector(limit=limit)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def post(body: dict[str, Any]) -> int:
            async with session.post(f"{base_url}/chat/completions", json=body) as resp:
                await resp.read()
                return resp.status

        return await asyncio.gather(*(post(b) for b in bodies))


def _body(i: int) -> dict[str, Any]:
    return {"model": "fake-model", "messages": [{"role": "user", "content": f"question {i}"}]}


def test_fault_fractions_are_approximately_honoured_and_deterministic() -> None:
    plan = {"rate_limit": 0.10, "server_error": 0.10, "hang": 0.05, "malformed": 0.05, "bad_request": 0.05}
    bodies = [_body(i) for i in range(400)]

    def outcomes(seed: int) -> dict[str, str]:
        with FakeOpenAIServer(faults=FaultPlan(hang_s=0.05, **plan), seed=seed) as server:
            _run(_post_many(server.base_url, bodies))
            return {r.body["messages"][0]["content"]: r.outcome for r in server.requests}

    first = outcomes(seed=0)
    counts = Counter(first.values())
    expected = {"429": 0.10, "500": 0.10, "hang": 0.05, "malformed": 0.05, "400": 0.05, "ok": 0.65}
    for outcome, fraction in expected.items():
        mean = 400 * fraction
        sd = (400 * fraction * (1 - fraction)) ** 0.5
        assert abs(counts[outcome] - mean) <= 4 * sd, (outcome, counts)
    assert outcomes(seed=0) == first  # same seed, same bodies: same decisions
    assert outcomes(seed=1) != first


def test_a_retried_body_gets_a_fresh_draw() -> None:
    with FakeOpenAIServer(faults=FaultPlan(rate_limit=0.5)) as server:
        statuses = _run(_post_many(server.base_url, [_body(0)] * 30, limit=1))
        attempts = [r.attempt for r in server.requests]
        server.reset_attempts()
        again = _run(_post_many(server.base_url, [_body(0)] * 30, limit=1))
    assert sorted(attempts) == list(range(30))
    assert set(statuses) == {200, 429}
    assert again == statuses


def test_server_overlaps_256_concurrent_slow_requests() -> None:
    with FakeOpenAIServer(latency_s=0.3) as server:
        started = time.monotonic()
        statuses = _run(_post_many(server.base_url, [_body(i) for i in range(256)], limit=0))
        elapsed = time.monotonic() - started
        arrivals = [r.time for r in server.requests]
    assert statuses == [200] * 256
    assert elapsed < 5.0  # serially this would take 77 s; typically 0.5-1 s
    assert max(arrivals) - min(arrivals) < 4.0


def test_raw_http_contract(server: FakeOpenAIServer) -> None:
    async def go() -> dict[str, Any]:
        async with aiohttp.ClientSession() as session:
            results: dict[str, Any] = {}
            url = f"{server.base_url}/chat/completions"
            async with session.post(url, json={**_body(1), "stream": True}) as resp:
                results["stream"] = (resp.status, await resp.json())
            async with session.post(url, data=b"{not json") as resp:
                results["bad_json"] = (resp.status, await resp.json())
            async with session.post(url, json={**_body(1), "max_completion_tokens": 1, "n": 2}) as resp:
                results["mct"] = (resp.status, await resp.json(), resp.headers.get("x-request-id"))
            async with session.get(f"{server.base_url}/models") as resp:
                results["models"] = (resp.status, await resp.json())
            async with session.get(f"{server.base_url}/nope") as resp:
                results["404"] = (resp.status, await resp.json())
            server.faults = FaultPlan(rate_limit=1.0, retry_after_s=2)
            async with session.post(url, json=_body(2)) as resp:
                results["429"] = (resp.status, await resp.json(), dict(resp.headers))
            return results

    results = _run(go())
    status, body = results["stream"]
    assert status == 400
    assert body["error"]["type"] == "invalid_request_error"
    assert set(body["error"]) == {"message", "type", "param", "code"}
    assert results["bad_json"][0] == 400
    status, body, request_id = results["mct"]
    assert status == 200
    assert request_id
    assert [c["message"]["content"] for c in body["choices"]] == ["Echo:", "Echo:"]
    assert body["choices"][0]["finish_reason"] == "length"
    assert body["usage"]["completion_tokens"] == 2
    assert results["models"] == (
        200,
        {
            "object": "list",
            "data": [
                {
                    "id": "fake-model-2026-01-01",
                    "object": "model",
                    "created": 1767225600,
                    "owned_by": "fake-openai",
                }
            ],
        },
    )
    assert results["404"][0] == 404
    assert "error" in results["404"][1]
    status, body, headers = results["429"]
    assert status == 429
    assert body["error"]["code"] == "rate_limit_exceeded"
    assert (headers["Retry-After"], headers["retry-after-ms"]) == ("2", "2000")
    assert [r.outcome for r in server.requests] == ["400", "400", "ok", "429"]


def test_omit_usage_leaves_usage_out_of_direct_and_batch_completions() -> None:
    # Some OpenAI-compatible servers send no usage: clients must see its absence, not zeros.
    async def go(server: FakeOpenAIServer) -> tuple[dict[str, Any], dict[str, Any]]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            direct = await client.chat.completions.create(model="fake-model", messages=_body(1)["messages"])
            upload = await client.files.create(file=("in.jsonl", _jsonl([_batch_line("a", "hi")])), purpose="batch")
            batch = await client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            while batch.status not in TERMINAL:
                batch = await client.batches.retrieve(batch.id)
            assert batch.output_file_id is not None
            output = await client.files.content(batch.output_file_id)
        return direct.model_dump(exclude_unset=True), _by_custom_id(output.content)["a"]["response"]["body"]

    with FakeOpenAIServer(omit_usage=True) as server:
        direct, batched = asyncio.run(go(server))
    assert direct["choices"][0]["message"]["content"] == "Echo: question 1"
    assert "usage" not in direct
    assert batched["choices"][0]["message"]["content"] == "Echo: hi"
    assert "usage" not in batched


def test_server_thread_and_port_are_released() -> None:
    server = FakeOpenAIServer()
    with server:
        url = f"{server.base_url}/models"
        with urllib.request.urlopen(url, timeout=5) as resp:
            assert resp.status == 200
    assert not [t for t in threading.enumerate() if t.name == "fake-openai"]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url, timeout=2)
    with pytest.raises(RuntimeError):
        _ = server.port


# --------------------------------------------------------------------------------------------------
# Files + Batches
# --------------------------------------------------------------------------------------------------


def _batch_line(custom_id: str, content: str, **body: Any) -> dict[str, Any]:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {"model": "fake-model", "messages": [{"role": "user", "content": content}], **body},
    }


def _jsonl(lines: list[dict[str, Any]]) -> bytes:
    return "\n".join(json.dumps(line) for line in lines).encode() + b"\n"


def _by_custom_id(content: bytes) -> dict[str, Any]:
    return {row["custom_id"]: row for row in map(json.loads, content.splitlines())}


def test_batch_flow_with_the_openai_sdk() -> None:
    lines = [
        _batch_line("a", "q\nANSWER: yes", max_tokens=5),
        _batch_line("b", "hello there"),
        _batch_line("bad", "x", max_tokens=0),  # fails validation -> error file
    ]

    async def go(server: FakeOpenAIServer) -> dict[str, Any]:
        async with openai.AsyncOpenAI(base_url=server.base_url, api_key="sk-test", max_retries=0) as client:
            upload = await client.files.create(file=("in.jsonl", _jsonl(lines)), purpose="batch")
            batch = await client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            statuses = [batch.status]
            while batch.status not in TERMINAL:
                batch = await client.batches.retrieve(batch.id)
                statuses.append(batch.status)
            assert batch.output_file_id is not None
            assert batch.error_file_id is not None
            output = await client.files.content(batch.output_file_id)
            errors = await client.files.content(batch.error_file_id)

            to_cancel = await client.batches.create(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            cancelling = await client.batches.cancel(to_cancel.id)
            cancelled = await client.batches.retrieve(to_cancel.id)

            broken = await client.files.create(file=("bad.jsonl", b"{not json}\n"), purpose="batch")
            failed = await client.batches.create(
                input_file_id=broken.id, endpoint="/v1/chat/completions", completion_window="24h"
            )
            while failed.status not in TERMINAL:
                failed = await client.batches.retrieve(failed.id)
            with pytest.raises(openai.BadRequestError):
                await client.batches.cancel(batch.id)
            return {
                "statuses": statuses,
                "counts": batch.request_counts,
                "output": _by_custom_id(output.content),
                "errors": _by_custom_id(errors.content),
                "cancel": (cancelling.status, cancelled.status),
                "failed": failed,
            }

    with FakeOpenAIServer(api_key="sk-test", batch_polls_to_complete=3) as server:
        result = _run(go(server))
        assert server.count() == 0  # nothing went through /v1/chat/completions directly
        assert server.count_batch() == 3
        assert server.count_batch("ok") == 2
        assert {r.custom_id for r in server.batch_requests} == {"a", "b", "bad"}
        assert server.batch_stats == {
            "files_uploaded": 2,
            "batches_created": 3,
            "batch_polls": 7,  # 3 + 1 (cancelled) + 3 (failed)
            "batches_cancelled": 1,
            "file_content_reads": 2,
        }

    assert result["statuses"] == ["validating", "in_progress", "in_progress", "completed"]
    assert (result["counts"].total, result["counts"].completed, result["counts"].failed) == (3, 2, 1)
    answer = result["output"]["a"]["response"]
    assert answer["status_code"] == 200
    assert answer["request_id"]
    assert answer["body"]["choices"][0]["message"]["content"] == "yes"
    assert answer["body"]["model"] == "fake-model-2026-01-01"
    assert result["output"]["b"]["response"]["body"]["choices"][0]["message"]["content"] == "Echo: hello there"
    assert result["output"]["a"]["error"] is None
    assert result["errors"]["bad"]["response"]["status_code"] == 400
    assert result["cancel"] == ("cancelling", "cancelled")
    assert result["failed"].status == "failed"
    assert result["failed"].errors.data[0].code == "invalid_json_line"


@contextlib.asynccontextmanager
async def _closing_litellm_file_clients() -> AsyncIterator[None]:
    """Close the AsyncOpenAI clients litellm 1.106.2's openai files/batches helpers leak.

    ``acreate_file`` / ``acreate_batch`` / ``aretrieve_batch`` / ``acancel_batch`` / ``afile_content``
    build a new ``AsyncOpenAI`` per call (no ``client=`` pass-through for provider "openai") and never
    close it. Those clients are reference cycles; if the collector reaps them, their sockets raise
    ResourceWarning (or their ``__del__`` schedules ``aclose()`` on whatever loop is running, e.g. the
    fake server's thread). So keep the collector off during the flow, then close them on this loop.
    """
    gc.disable()
    before = {id(obj) for obj in gc.get_objects() if isinstance(obj, openai.AsyncOpenAI)}
    try:
        yield
    finally:
        try:
            leaked = [
                obj
                for obj in gc.get_objects()
                if isinstance(obj, openai.AsyncOpenAI) and id(obj) not in before and not obj.is_closed()
            ]
            for client in leaked:
                await client.close()
        finally:
            gc.enable()


def test_batch_flow_with_litellm() -> None:
    lines = [_batch_line(f"r{i}", f"question {i}\nANSWER: {i}", max_tokens=5) for i in range(3)]

    async def go(server: FakeOpenAIServer) -> dict[str, Any]:
        kw: dict[str, Any] = {
            "custom_llm_provider": "openai",
            "api_base": server.base_url,
            "api_key": "sk-test",
        }
        # Polling a *completed* batch makes litellm's success logging download the output file
        # itself (cost tracking); this metadata flag turns that off.
        quiet = {"litellm_metadata": {"batch_ignore_default_logging": True}}
        async with _closing_litellm_file_clients():
            upload = await litellm.acreate_file(file=("in.jsonl", _jsonl(lines)), purpose="batch", **kw)
            batch = await litellm.acreate_batch(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h", **kw
            )
            statuses = [batch.status]
            while batch.status not in TERMINAL:
                batch = await litellm.aretrieve_batch(batch_id=batch.id, **kw, **quiet)
                statuses.append(batch.status)
            content = await litellm.afile_content(file_id=batch.output_file_id, **kw)
            other = await litellm.acreate_batch(
                input_file_id=upload.id, endpoint="/v1/chat/completions", completion_window="24h", **kw
            )
            cancelling = await litellm.acancel_batch(batch_id=other.id, **kw)
        return {
            "statuses": statuses,
            "output": _by_custom_id(content.content),
            "cancel": cancelling.status,
            "counts": batch.request_counts,
        }

    with FakeOpenAIServer(api_key="sk-test") as server:
        result = _run(go(server))
        assert server.count() == 0
        assert server.count_batch() == 3
        assert server.batch_stats["file_content_reads"] == 1

    assert result["statuses"] == ["validating", "in_progress", "completed"]
    assert result["counts"].completed == 3
    replies = {
        cid: row["response"]["body"]["choices"][0]["message"]["content"] for cid, row in result["output"].items()
    }
    assert replies == {"r0": "0", "r1": "1", "r2": "2"}
    assert result["cancel"] == "cancelling"


# --------------------------------------------------------------------------------------------------
# Separate-process mode for benchmarks
# --------------------------------------------------------------------------------------------------


def test_cli_serves_in_a_separate_process() -> None:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "eval_assets_tests.fake_openai.server",
        "--port",
        "0",
        "--latency-ms",
        "5",
        "--rate-limit",
        "0",
        "--model-version",
        "cli-model",
    ]
    with subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
            assert line.startswith("LISTENING http://127.0.0.1:"), line
            base_url = line.removeprefix("LISTENING ")
            assert base_url.endswith("/v1")
            request = urllib.request.Request(
                f"{base_url}/chat/completions",
                data=json.dumps(_body(7)).encode(),
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=5) as resp:
                payload = json.loads(resp.read())
        finally:
            proc.terminate()
            _, stderr = proc.communicate(timeout=10)
    assert payload["choices"][0]["message"]["content"] == "Echo: question 7"
    assert payload["model"] == "cli-model"
    assert proc.returncode == 0
    assert stderr == ""
