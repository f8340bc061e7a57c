"""The batch runner: against the fake server's files + batches endpoints, and with a scripted client."""

from __future__ import annotations

import os

# Must be set before litellm is imported (the batch cost lookup imports it): never fetch the price map.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import asyncio
import gc
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import litellm
import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.batch import BatchJob, BatchStatus, run_batch
from eval_assets.llm.batch_lines import batch_line, error_kind, outcome_from_line
from eval_assets.llm.batch_openai import OpenAIBatchClient
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call
from eval_assets.llm.litellm_provider import MissingApiKeyError
from eval_assets.llm.pricing import BATCH_DISCOUNT
from eval_assets_tests.fake_openai import FakeOpenAIServer

MODEL_ID = "openai/gpt-4o-mini"  # a model litellm's local price map knows, with batch prices
KEY_ENV = "EVAL_ASSETS_TEST_BATCH_KEY"
KEY = "sk-batch-test"


class FakeClock:
    """A monotonic clock that only moves when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAIServer]:
    monkeypatch.setenv(KEY_ENV, KEY)
    with FakeOpenAIServer(api_key=KEY, batch_polls_to_complete=2) as srv:
        yield srv


def spec_for(server: FakeOpenAIServer, model_id: str = MODEL_ID) -> ModelSpec:
    return ModelSpec(id=model_id, api_base=server.base_url, api_key_env=KEY_ENV, max_tokens=64, seed=7)


def make_calls(model: ModelSpec, prompts: Sequence[str]) -> list[ModelCall]:
    return [
        build_call((i, prompt), model, [{"role": "user", "content": prompt}], scope="2026-11-07")
        for i, prompt in enumerate(prompts)
    ]


def batch_through(
    server_spec: ModelSpec, calls: Sequence[ModelCall], *, max_wait_s: float = 3600.0
) -> tuple[list[CallOutcome], list[str], FakeClock]:
    clock = FakeClock()
    lines: list[str] = []

    async def go() -> list[CallOutcome]:
        async with OpenAIBatchClient(server_spec) as client:
            return await run_batch(
                calls,
                client,
                poll_interval_s=30.0,
                max_wait_s=max_wait_s,
                on_status=lines.append,
                sleep=clock.sleep,
                clock=clock,
            )

    return asyncio.run(go()), lines, clock


# --------------------------------------------------------------------------------------------------
# Through the fake server
# --------------------------------------------------------------------------------------------------


def test_fifty_calls_with_five_duplicates_send_45_lines_and_fan_out(server: FakeOpenAIServer) -> None:
    model = spec_for(server)
    # 45 distinct prompts, then 5 repeats of earlier ones under their own keys (the 46th..50th calls).
    prompts = [f"question {i}\nANSWER: a{i}" for i in range(45)] + [f"question {i}\nANSWER: a{i}" for i in range(5)]
    calls = make_calls(model, prompts)

    outcomes, lines, _ = batch_through(model, calls)

    assert server.count() == 0  # nothing went through /v1/chat/completions directly
    assert server.count_batch() == 45
    assert {r.custom_id for r in server.batch_requests} == {c.request_hash for c in calls}
    assert server.batch_stats["files_uploaded"] == 1
    assert server.batch_stats["batches_created"] == 1
    sent = next(r for r in server.batch_requests if r.custom_id == calls[0].request_hash)
    assert sent.body == {
        "model": "gpt-4o-mini",  # without litellm's "openai/" prefix
        "messages": [{"role": "user", "content": prompts[0]}],
        "temperature": 0.0,
        "max_tokens": 64,
        "seed": 7,
    }

    assert len(outcomes) == 50
    assert all(o.call is c for o, c in zip(outcomes, calls, strict=True))
    assert [o.text for o in outcomes] == [f"a{i}" for i in range(45)] + [f"a{i}" for i in range(5)]
    assert all(o.ok and o.finish_reason == "stop" and o.model_version == server.model_version for o in outcomes)
    assert all(o.latency_ms is None for o in outcomes)
    assert [o.attempts for o in outcomes] == [1] * 45 + [0] * 5
    assert [o.cached for o in outcomes] == [False] * 45 + [True] * 5  # duplicates were not paid again

    info = litellm.get_model_info(MODEL_ID)
    first = outcomes[0]
    assert (first.input_tokens, first.output_tokens) == (4 + 3, 1)  # the fake counts words, +3 per message
    assert first.cost_usd == pytest.approx(
        first.input_tokens * info["input_cost_per_token_batches"]
        + first.output_tokens * info["output_cost_per_token_batches"]
    )
    assert all(o.cost_usd is not None and o.cost_usd > 0 for o in outcomes)
    assert outcomes[45].cost_usd == outcomes[0].cost_usd

    batch_id = lines[0].split(":")[0].removeprefix("batch ")
    assert lines == [
        f"batch {batch_id}: submitted 45 requests for 50 calls",
        f"batch {batch_id}: in_progress 0/45 done",  # the total is known before the provider reports it
        f"batch {batch_id}: completed 45/45 done",
    ]


def test_a_line_the_provider_rejects_is_a_bad_request_outcome(server: FakeOpenAIServer) -> None:
    model = spec_for(server)
    good = make_calls(model, ["hello there", "ANSWER: 42"])
    # The fake rejects an empty message list line by line (HTTP 400 in the error file); the batch still completes.
    empty = ModelCall(key="empty", model=model, messages=(), request_hash="empty-messages")

    outcomes, lines, _ = batch_through(model, [good[0], empty, good[1]])

    assert [o.text for o in outcomes] == ["Echo: hello there", None, "42"]
    bad = outcomes[1]
    assert bad.call is empty
    assert (bad.error_type, bad.attempts, bad.cost_usd) == ("bad_request", 1, None)
    assert bad.error_message is not None and "messages" in bad.error_message
    assert server.count_batch("400") == 1
    assert lines[-1].endswith("completed 3/3 done, 1 failed")


def test_a_batch_still_running_at_max_wait_is_cancelled_and_its_calls_time_out(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    with FakeOpenAIServer(api_key=KEY, batch_polls_to_complete=1_000) as slow:  # never finishes in time
        model = spec_for(slow)
        calls = make_calls(model, ["a", "b", "a"])
        outcomes, lines, clock = batch_through(model, calls, max_wait_s=45.0)

        assert slow.batch_stats["batch_polls"] == 3  # at t=0, t=30 and at the deadline, t=45
        assert slow.batch_stats["batches_cancelled"] == 1
        assert slow.count_batch() == 0
    assert clock.sleeps == [30.0, 15.0]  # the last sleep is cut short to poll exactly at the deadline
    assert [o.error_type for o in outcomes] == ["timeout"] * 3
    assert all(o.call is c for o, c in zip(outcomes, calls, strict=True))
    assert outcomes[0].error_message is not None and "did not finish within 45s" in outcomes[0].error_message
    assert any(line.endswith("not finished after 45s; cancelling") for line in lines)


def test_the_http_client_is_closed_without_resource_warnings(server: FakeOpenAIServer) -> None:
    model = spec_for(server)
    gc.collect()  # objects other tests left behind must not be blamed on this one
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcomes, _, _ = batch_through(model, make_calls(model, ["x", "y"]))
        gc.collect()  # leaked clients and sockets warn when collected
    assert all(o.ok for o in outcomes)
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []


def test_calls_for_another_model_or_endpoint_are_refused(server: FakeOpenAIServer) -> None:
    model = spec_for(server)
    other = make_calls(spec_for(server, "openai/gpt-4o"), ["x"])

    async def go() -> None:
        async with OpenAIBatchClient(model) as client:
            await client.submit(other)

    with pytest.raises(ValueError, match="cannot carry"):
        asyncio.run(go())
    assert server.batch_stats["files_uploaded"] == 0


def test_a_missing_api_key_is_reported_before_anything_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)

    async def go() -> None:
        async with OpenAIBatchClient(ModelSpec(id=MODEL_ID, api_key_env=KEY_ENV)):
            pass

    with pytest.raises(MissingApiKeyError, match=KEY_ENV):
        asyncio.run(go())


# --------------------------------------------------------------------------------------------------
# With a scripted client: batch states and line shapes the fake server does not produce
# --------------------------------------------------------------------------------------------------

SCRIPT_MODEL = ModelSpec(id=MODEL_ID)


def answer_line(call: ModelCall, text: str) -> dict[str, Any]:
    body = {
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12},
    }
    return {"custom_id": call.request_hash, "response": {"status_code": 200, "body": body}, "error": None}


class ScriptedClient:
    """Answers polls from a script and fetches the given lines; records what the runner did."""

    def __init__(
        self,
        statuses: Sequence[BatchStatus],
        lines: dict[str, dict[str, Any]] | None = None,
        *,
        poll_error: BaseException | None = None,
        cancel_error: Exception | None = None,
    ) -> None:
        self.statuses = list(statuses)
        self.lines = lines or {}
        self.poll_error = poll_error
        self.cancel_error = cancel_error
        self.submitted: list[ModelCall] = []
        self.cancelled = 0
        self.fetched = 0

    async def submit(self, calls: Sequence[ModelCall]) -> BatchJob:
        self.submitted = list(calls)
        return BatchJob("b_1", "file_1", 0.0, tuple(c.request_hash for c in calls))

    async def poll(self, job: BatchJob) -> BatchStatus:
        if self.poll_error is not None:
            raise self.poll_error
        return self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]

    async def cancel(self, job: BatchJob) -> BatchStatus:
        self.cancelled += 1
        if self.cancel_error is not None:
            raise self.cancel_error
        return BatchStatus("cancelling")

    async def fetch(self, job: BatchJob, status: BatchStatus) -> dict[str, dict[str, Any]]:
        self.fetched += 1
        return self.lines


def run_scripted(client: ScriptedClient, calls: Sequence[ModelCall], *, max_wait_s: float = 100.0) -> list[CallOutcome]:
    clock = FakeClock()
    return asyncio.run(
        run_batch(calls, client, poll_interval_s=10.0, max_wait_s=max_wait_s, sleep=clock.sleep, clock=clock)
    )


def test_an_expired_batch_keeps_the_answers_it_has_and_expires_the_rest() -> None:
    calls = make_calls(SCRIPT_MODEL, ["a", "b", "c"])
    finished = BatchStatus("expired", completed=1, total=3, output_file_id="out", error_file_id="err")
    expired_line = {
        "custom_id": calls[2].request_hash,
        "response": None,
        "error": {"code": "batch_expired", "message": "This request could not be executed before the batch expired."},
    }
    client = ScriptedClient(
        [BatchStatus("in_progress"), finished],
        {calls[0].request_hash: answer_line(calls[0], "A"), calls[2].request_hash: expired_line},
    )

    outcomes = run_scripted(client, calls)

    assert [o.text for o in outcomes] == ["A", None, None]
    # "b" has no line at all, "c" has an expiry line: both are expiries, neither is retried inside the batch.
    assert [o.error_type for o in outcomes] == [None, "batch_expired", "batch_expired"]
    assert client.cancelled == 0


def test_a_completed_batch_without_a_line_for_a_call_reports_it_missing() -> None:
    calls = make_calls(SCRIPT_MODEL, ["a", "b"])
    client = ScriptedClient(
        [BatchStatus("completed", completed=1, total=2, output_file_id="out")],
        {calls[0].request_hash: answer_line(calls[0], "A")},
    )

    outcomes = run_scripted(client, calls)

    assert [o.error_type for o in outcomes] == [None, "missing_from_batch"]


def test_a_failed_batch_fails_every_call_with_the_providers_reason() -> None:
    calls = make_calls(SCRIPT_MODEL, ["a", "b"])
    client = ScriptedClient([BatchStatus("failed", errors=("invalid_request: bad line (line 2)",))])

    outcomes = run_scripted(client, calls)

    assert [o.error_type for o in outcomes] == ["batch_failed", "batch_failed"]
    assert outcomes[0].error_message is not None and "bad line (line 2)" in outcomes[0].error_message
    assert client.fetched == 0  # a failed batch has no files to read


def test_an_interrupted_wait_cancels_the_batch() -> None:
    # A Dagster run terminated mid-wait must not leave a paid batch running that nobody will read.
    client = ScriptedClient([BatchStatus("in_progress")], poll_error=asyncio.CancelledError())

    with pytest.raises(asyncio.CancelledError):
        run_scripted(client, make_calls(SCRIPT_MODEL, ["a"]))
    assert client.cancelled == 1


def test_a_batch_that_finishes_as_we_cancel_it_still_delivers_its_answers() -> None:
    calls = make_calls(SCRIPT_MODEL, ["a"])
    client = ScriptedClient(
        [BatchStatus("in_progress"), BatchStatus("in_progress"), BatchStatus("completed", output_file_id="out")],
        {calls[0].request_hash: answer_line(calls[0], "A")},
        cancel_error=RuntimeError("Cannot cancel a batch with status 'completed'."),
    )

    outcomes = run_scripted(client, calls, max_wait_s=10.0)  # polls at t=0 and t=10, then the deadline

    assert client.cancelled == 1
    assert [o.text for o in outcomes] == ["A"]


def test_no_calls_submit_nothing() -> None:
    client = ScriptedClient([BatchStatus("completed")])
    assert run_scripted(client, []) == []
    assert client.submitted == []


@pytest.mark.parametrize(
    ("status_code", "code", "kind"),
    [
        (429, "rate_limit_exceeded", "rate_limit"),
        (429, None, "rate_limit"),
        (500, None, "server_error"),
        (503, None, "server_error"),
        (400, None, "bad_request"),
        (422, None, "bad_request"),
        # A 400 whose code says why: retrying with a shorter prompt could help, retrying as-is cannot.
        (400, "context_length_exceeded", "context_window"),
        (400, "content_filter", "content_filter"),
        (401, None, "auth"),
        (404, None, "not_found"),
        (408, None, "timeout"),
        # Expiry lines carry no HTTP response at all, only an error code.
        (None, "batch_expired", "batch_expired"),
        (None, None, "error"),
    ],
)
def test_error_lines_are_classified_like_direct_calls(status_code: int | None, code: str | None, kind: str) -> None:
    assert error_kind(status_code, code) == kind


def test_an_error_line_keeps_the_providers_message() -> None:
    call = make_calls(SCRIPT_MODEL, ["a"])[0]
    line = {
        "custom_id": call.request_hash,
        "response": {
            "status_code": 429,
            "body": {"error": {"message": "Too many tokens enqueued", "code": "rate_limit_exceeded"}},
        },
        "error": None,
    }

    outcome = outcome_from_line(call, line)

    assert (outcome.error_type, outcome.error_message, outcome.text) == (
        "rate_limit",
        "Too many tokens enqueued",
        None,
    )


def test_a_200_line_without_text_is_a_malformed_response() -> None:
    call = make_calls(SCRIPT_MODEL, ["a"])[0]
    line = {"custom_id": call.request_hash, "response": {"status_code": 200, "body": {"choices": []}}, "error": None}
    assert outcome_from_line(call, line).error_type == "malformed_response"


def test_cost_uses_the_synchronous_price_at_the_batch_discount_when_the_map_has_no_batch_price() -> None:
    # gpt-4 has only synchronous prices in litellm 1.106.2's map.
    model = ModelSpec(id="openai/gpt-4")
    assert litellm.get_model_info(model.id).get("input_cost_per_token_batches") is None
    call = make_calls(model, ["a"])[0]

    outcome = outcome_from_line(call, answer_line(call, "A"))

    prompt, completion = litellm.cost_per_token(model=model.id, prompt_tokens=10, completion_tokens=2)
    assert outcome.cost_usd == pytest.approx((prompt + completion) * BATCH_DISCOUNT)


def test_cost_of_a_model_missing_from_the_price_map_is_none_not_zero() -> None:
    call = make_calls(ModelSpec(id="openai/my-finetune-on-vllm"), ["a"])[0]

    outcome = outcome_from_line(call, answer_line(call, "A"))

    assert outcome.ok and outcome.cost_usd is None
    assert (outcome.input_tokens, outcome.output_tokens) == (10, 2)


def test_batch_line_strips_only_the_openai_prefix_and_omits_an_unset_seed() -> None:
    call = make_calls(ModelSpec(id="openai/meta-llama/Llama-3.1-8B", temperature=0.7, max_tokens=5), ["hi"])[0]

    assert batch_line(call) == {
        "custom_id": call.request_hash,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": "meta-llama/Llama-3.1-8B",
            "messages": [{"role": "user", "content": "hi"}],
            "temperature": 0.7,
            "max_tokens": 5,
        },
    }
