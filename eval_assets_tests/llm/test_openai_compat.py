"""The lean OpenAI-compatible provider against the local fake server, driven by the real replay engine.

Every test counts the HTTP requests the server saw: a retry policy is only correct if it spends exactly
the requests it should (one for a permanent error, one more per retryable failure, never a duplicate).
"""

from __future__ import annotations

import os

# Must be set before litellm is imported: never fetch the model cost map from the network.
os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"

import asyncio
import gc
import json
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import litellm
import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall, ProviderReply, build_call
from eval_assets.llm.engine import replay
from eval_assets.llm.openai_compat import OpenAICompatProvider
from eval_assets.llm.openai_errors import error_from_response
from eval_assets.llm.openai_format import reply_from_body, request_body, token_limit_field, wire_model_name
from eval_assets.llm.pricing import LitellmPricing
from eval_assets.llm.retry import ProviderError, RetryPolicy
from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan

SECRET = "sk-test-openai-compat-never-store-me"
KEY_ENV = "EVAL_OPENAI_COMPAT_TEST_KEY"
PRICED_MODEL = "openai/gpt-4o-mini"  # in litellm's bundled price map
FAST_POLICY = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, SECRET)


@pytest.fixture
def server() -> Any:
    with FakeOpenAIServer(api_key=SECRET) as srv:
        yield srv


def spec(server: FakeOpenAIServer, model_id: str = PRICED_MODEL, **kwargs: Any) -> ModelSpec:
    return ModelSpec(id=model_id, api_base=server.base_url, api_key_env=KEY_ENV, max_tokens=50, **kwargs)


def make_calls(model: ModelSpec, n: int, *, prefix: str = "question") -> list[ModelCall]:
    return [
        build_call(i, model, [{"role": "user", "content": f"{prefix} {i}\nANSWER: answer {i}"}], scope="2026-11-07")
        for i in range(n)
    ]


class RecordingProvider:
    """Passes calls to the real provider and remembers the kind of every error it raised."""

    def __init__(self, inner: OpenAICompatProvider) -> None:
        self.inner = inner
        self.errors: list[ProviderError] = []

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        try:
            return await self.inner.complete(model, messages, timeout_s=timeout_s)
        except ProviderError as error:
            self.errors.append(error)
            raise


class HealServerBeforeRetry:
    """The engine's sleep: records each delay, clears the server's faults, then really sleeps.

    So a fault hits exactly the first attempt and the retry meets a healthy server.
    """

    def __init__(self, server: FakeOpenAIServer) -> None:
        self.server = server
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self.server.faults = FaultPlan()
        await asyncio.sleep(seconds)


def run_replay(
    calls: Sequence[ModelCall],
    *,
    provider: OpenAICompatProvider | None = None,
    recorder: Callable[[OpenAICompatProvider], RecordingProvider] | None = None,
    timeout_s: float = 2.0,
    policy: RetryPolicy = FAST_POLICY,
    concurrency: int = 8,
    sleep: Callable[[float], Any] = asyncio.sleep,
) -> tuple[list[CallOutcome], list[ProviderError]]:
    """Replay ``calls`` through a fresh provider in a fresh loop, closing the provider's session after."""
    lean = provider if provider is not None else OpenAICompatProvider()
    recording = recorder(lean) if recorder is not None else RecordingProvider(lean)

    async def main() -> list[CallOutcome]:
        try:
            return await replay(
                calls, recording, concurrency=concurrency, timeout_s=timeout_s, policy=policy, sleep=sleep
            )
        finally:
            await lean.aclose()

    return asyncio.run(main()), recording.errors


# --------------------------------------------------------------------------------------------------
# Answers, usage, cost
# --------------------------------------------------------------------------------------------------


def test_answer_with_usage_cost_and_request_shape(server: FakeOpenAIServer) -> None:
    model = spec(server, seed=7)
    [outcome], errors = run_replay(make_calls(model, 1))

    assert outcome.ok and outcome.text == "answer 0" and outcome.attempts == 1 and not errors
    assert outcome.model_version == "fake-model-2026-01-01"
    assert outcome.finish_reason == "stop"
    [request] = server.requests
    assert (request.outcome, request.api_key) == ("ok", SECRET)
    assert request.body == {
        "model": "gpt-4o-mini",  # the provider prefix is litellm's routing, not the server's model name
        "messages": [{"role": "user", "content": "question 0\nANSWER: answer 0"}],
        "temperature": 0.0,
        "max_tokens": 50,
        "seed": 7,
    }
    # The fake counts words: "question 0 ANSWER: answer 0" is 5 words + 3 per message; the reply is 2 words.
    assert (outcome.input_tokens, outcome.output_tokens) == (8, 2)
    prompt_cost, completion_cost = litellm.cost_per_token(model=PRICED_MODEL, prompt_tokens=8, completion_tokens=2)
    assert outcome.cost_usd == prompt_cost + completion_cost
    assert outcome.cost_usd is not None and outcome.cost_usd > 0


def test_a_response_without_usage_has_unknown_cost_not_zero() -> None:
    with FakeOpenAIServer(api_key=SECRET, omit_usage=True) as server:
        [outcome], _ = run_replay(make_calls(spec(server), 1))
    assert outcome.ok and outcome.text == "answer 0"
    assert (outcome.input_tokens, outcome.output_tokens, outcome.cost_usd) == (None, None, None)


def test_an_unpriced_model_costs_none_and_is_looked_up_once(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups: list[str] = []
    real = litellm.cost_per_token

    def counting(**kwargs: Any) -> Any:
        lookups.append(kwargs["model"])
        return real(**kwargs)

    monkeypatch.setattr(litellm, "cost_per_token", counting)
    provider = OpenAICompatProvider()
    calls = make_calls(spec(server, "openai/fake-model"), 5) + make_calls(spec(server), 3, prefix="priced")
    outcomes, _ = run_replay(calls, provider=provider, concurrency=1)

    assert all(o.ok for o in outcomes)
    assert [o.cost_usd for o in outcomes[:5]] == [None] * 5
    assert all(o.cost_usd is not None and o.cost_usd > 0 for o in outcomes[5:])
    # A failing lookup costs ~0.13 ms: pay it once per model, not once per answer.
    assert lookups.count("openai/fake-model") == 1
    assert lookups.count(PRICED_MODEL) == 3


def test_cached_prompt_tokens_are_priced_at_the_cache_rate() -> None:
    pricing = LitellmPricing()
    body = {
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "prompt_tokens_details": {"cached_tokens": 800},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    cached = reply_from_body(json.dumps(body).encode(), model_id=PRICED_MODEL, pricing=pricing)
    body["usage"]["prompt_tokens_details"] = {"cached_tokens": 0}  # type: ignore[index]
    uncached = reply_from_body(json.dumps(body).encode(), model_id=PRICED_MODEL, pricing=pricing)
    assert cached.cost_usd is not None and uncached.cost_usd is not None
    assert cached.cost_usd < uncached.cost_usd
    assert (cached.input_tokens, cached.output_tokens, cached.model_version) == (1000, 100, "gpt-4o-mini-2024-07-18")


@pytest.mark.parametrize(
    ("usage", "tokens"),
    [
        ({"prompt_tokens": 3}, (3, None)),  # half a usage block: keep what is known, but it cannot be priced
        ({"prompt_tokens": "3", "completion_tokens": 1}, (None, 1)),  # a string is not a count
        ({"prompt_tokens": True, "completion_tokens": 1}, (None, 1)),  # nor is a bool (an int subclass)
        ([1, 2], (None, None)),
        (None, (None, None)),
    ],
)
def test_malformed_usage_keeps_the_answer_with_unknown_cost(usage: object, tokens: tuple[Any, Any]) -> None:
    body = {"model": "m", "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": usage}
    reply = reply_from_body(json.dumps(body).encode(), model_id=PRICED_MODEL, pricing=LitellmPricing())
    assert reply.text == "hi"
    assert (reply.input_tokens, reply.output_tokens, reply.cost_usd) == (*tokens, None)


@pytest.mark.parametrize(
    ("wire_name", "field"),
    [
        ("o1", "max_completion_tokens"),
        ("o3-mini", "max_completion_tokens"),
        ("o4-mini-2025-04-16", "max_completion_tokens"),
        ("gpt-5", "max_completion_tokens"),
        ("gpt-5.1", "max_completion_tokens"),
        ("gpt-5-mini", "max_completion_tokens"),
        ("gpt-4o-mini", "max_tokens"),
        ("gpt-4.1", "max_tokens"),
        ("gpt-50", "max_tokens"),  # starts like gpt-5 but is another name
        ("omni-7b", "max_tokens"),  # starts with "o" but not o<digit>
        ("meta-llama/Llama-3.1-8B", "max_tokens"),
    ],
)
def test_token_limit_field(wire_name: str, field: str) -> None:
    assert token_limit_field(wire_name) == field


def test_reasoning_models_get_max_completion_tokens_and_vllm_names_keep_their_slashes(
    server: FakeOpenAIServer,
) -> None:
    calls = make_calls(spec(server, "openai/o3-mini"), 1) + make_calls(
        spec(server, "hosted_vllm/meta-llama/Llama-3.1-8B"), 1, prefix="vllm"
    )
    outcomes, _ = run_replay(calls, concurrency=1)
    assert all(o.ok for o in outcomes)
    first, second = (r.body for r in server.requests)
    assert (first["model"], first["max_completion_tokens"], "max_tokens" in first) == ("o3-mini", 50, False)
    assert (second["model"], second["max_tokens"]) == ("meta-llama/Llama-3.1-8B", 50)
    assert wire_model_name("gpt-4o") == "gpt-4o"


# --------------------------------------------------------------------------------------------------
# Failures: classification and exact request counts through the engine
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("faults", "kind", "retried"),
    [
        (FaultPlan(rate_limit=1.0, retry_after_s=0.01), "rate_limit", True),
        (FaultPlan(server_error=1.0), "server_error", True),
        (FaultPlan(always_status=503), "server_error", True),
        (FaultPlan(always_status=408), "server_error", True),
        (FaultPlan(always_status=409), "server_error", True),
        (FaultPlan(hang=1.0, hang_s=5.0), "timeout", True),
        (FaultPlan(malformed=1.0), "malformed_response", True),
        (FaultPlan(bad_request=1.0), "bad_request", False),
        (FaultPlan(always_status=422), "bad_request", False),
        (FaultPlan(always_status=401), "auth", False),
        (FaultPlan(always_status=403), "auth", False),
        (FaultPlan(always_status=404), "not_found", False),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_faults_are_classified_and_retried_only_when_retryable(
    server: FakeOpenAIServer, faults: FaultPlan, kind: str, retried: bool
) -> None:
    server.faults = faults
    heal = HealServerBeforeRetry(server)
    started = time.monotonic()
    [outcome], errors = run_replay(make_calls(spec(server), 1), timeout_s=0.3, sleep=heal)

    assert [e.kind for e in errors] == [kind]
    if retried:
        # One failed attempt, then one answer: two requests, never a third.
        assert outcome.ok and outcome.attempts == 2 and server.count() == 2
    else:
        assert (outcome.ok, outcome.error_type, outcome.attempts, server.count()) == (False, kind, 1, 1)
        assert not heal.delays
    assert time.monotonic() - started < 3.0  # a hang costs the 0.3 s timeout, not the server's 5 s


def test_rate_limit_retry_after_is_honoured(server: FakeOpenAIServer) -> None:
    server.faults = FaultPlan(rate_limit=1.0, retry_after_s=0.25)
    heal = HealServerBeforeRetry(server)
    # Our own backoff would wait at most 0.01 s: only the server's Retry-After explains a longer wait.
    policy = RetryPolicy(max_retries=3, base_delay_s=0.01, max_delay_s=0.01)
    [outcome], errors = run_replay(make_calls(spec(server), 1), policy=policy, sleep=heal)

    assert outcome.ok and outcome.attempts == 2
    assert [e.retry_after_s for e in errors] == [0.25]  # from retry-after-ms: "250"
    assert len(heal.delays) == 1 and 0.25 <= heal.delays[0] <= 0.26
    first, second = server.requests
    assert (first.outcome, second.outcome) == ("429", "ok")
    assert second.time - first.time >= 0.25


def test_a_wrong_key_is_an_auth_error_sent_once(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-1234567890")
    [outcome], _ = run_replay(make_calls(spec(server), 1))
    assert (outcome.error_type, outcome.attempts, server.count("401")) == ("auth", 1, 1)


def test_a_missing_key_variable_is_an_auth_error_without_a_request(
    server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    [outcome], _ = run_replay(make_calls(spec(server), 1))
    assert outcome.error_type == "auth" and KEY_ENV in (outcome.error_message or "")
    assert server.count() == 0


def test_a_refused_connection_is_a_retried_connection_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    model = ModelSpec(id=PRICED_MODEL, api_base=f"http://127.0.0.1:{port}/v1")
    [outcome], errors = run_replay(make_calls(model, 1), policy=RetryPolicy(max_retries=2, base_delay_s=0.01))
    assert (outcome.error_type, outcome.attempts) == ("connection", 3)
    assert [e.kind for e in errors] == ["connection"] * 3


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        # OpenAI's shape: the code says it.
        (
            400,
            {"error": {"message": "too long", "type": "invalid_request_error", "code": "context_length_exceeded"}},
            "context_window",
        ),
        # Older vLLM's flat shape: a numeric code, only the message says it.
        (
            400,
            {
                "object": "error",
                "message": "This model's maximum context length is 8192 tokens. However, you requested 9000 tokens",
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            },
            "context_window",
        ),
        # Newer vLLM nests the same under "error".
        (
            400,
            {"error": {"message": "This model's maximum context length is 8192 tokens.", "code": 400}},
            "context_window",
        ),
        (400, {"error": {"message": "flagged", "code": "content_policy_violation"}}, "content_filter"),
        (400, {"error": {"message": "Invalid 'temperature'", "code": "invalid_value"}}, "bad_request"),
        (413, b"<html>Request Entity Too Large</html>", "bad_request"),
        (502, b"<html>Bad Gateway</html>", "server_error"),  # a proxy's HTML page is still a 5xx
        (302, b"", "redirect"),  # never followed (credentials stay at api_base), never retried
    ],
)
def test_error_classification(status: int, body: object, kind: str) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    error = error_from_response(status, {}, raw)
    assert error.kind == kind
    assert str(error).startswith(f"HTTP {status}")
    assert error.retry_after_s is None


def test_error_message_is_the_servers_message_not_its_json() -> None:
    body = {"error": {"message": "Invalid 'temperature'", "type": "invalid_request_error", "code": "invalid_value"}}
    error = error_from_response(400, {}, json.dumps(body).encode())
    assert str(error) == "HTTP 400: Invalid 'temperature' (invalid_request_error, invalid_value)"


def test_a_503_with_retry_after_is_honoured_like_a_429() -> None:
    error = error_from_response(503, {"Retry-After": "2"}, b"")
    assert (error.kind, error.retry_after_s, str(error)) == ("server_error", 2.0, "HTTP 503")


# --------------------------------------------------------------------------------------------------
# Secrets
# --------------------------------------------------------------------------------------------------


def test_the_api_key_never_reaches_error_messages() -> None:
    # Real providers echo (masked or not) keys in 401 bodies; the message we record must not carry them.
    body = json.dumps({"error": {"message": f"Incorrect API key provided: {SECRET}. Or sk-other-0123456789."}})
    error = error_from_response(401, {}, body.encode(), secret=SECRET)
    assert error.kind == "auth"
    assert SECRET not in str(error) and "sk-other-0123456789" not in str(error)
    assert "[redacted]" in str(error)


def test_the_api_key_never_reaches_outcomes(server: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    server.faults = FaultPlan(rate_limit=0.3, server_error=0.3, malformed=0.2, retry_after_s=0.01)
    good, _ = run_replay(make_calls(spec(server), 20), policy=RetryPolicy(max_retries=0))
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-1234567890")
    bad, _ = run_replay(make_calls(spec(server), 1, prefix="bad"))
    assert {o.error_type for o in good + bad} >= {None, "rate_limit", "server_error", "auth"}
    for outcome in good + bad:
        assert SECRET not in repr(outcome) and "sk-wrong-key-1234567890" not in repr(outcome)


# --------------------------------------------------------------------------------------------------
# Chaos, sessions
# --------------------------------------------------------------------------------------------------


def test_chaos_run_answers_every_call_once_with_bounded_retries(server: FakeOpenAIServer) -> None:
    server.latency_s = 0.005
    server.faults = FaultPlan(rate_limit=0.05, retry_after_s=0.02, server_error=0.02, hang=0.01, hang_s=5.0)
    policy = RetryPolicy(max_retries=5, base_delay_s=0.02, max_delay_s=0.1)
    calls = make_calls(spec(server), 300)
    # The timeout is far above the 5 ms latency so that only the planned hangs time out: on a loaded machine a
    # tight timeout also cuts off answers the server already sent, which would count as paid twice.
    outcomes, errors = run_replay(calls, timeout_s=2.0, policy=policy, concurrency=32)

    assert all(o.ok for o in outcomes), [o.error_message for o in outcomes if not o.ok]
    assert [o.text for o in outcomes] == [f"answer {i}" for i in range(300)]
    answered = [r for r in server.requests if r.outcome == "ok"]
    # No call was answered twice (a duplicate would be a paid request nobody uses).
    assert len(answered) == len({json.dumps(r.body, sort_keys=True) for r in answered}) == 300
    failed = server.count() - 300
    assert failed == len(errors) == sum(o.attempts - 1 for o in outcomes) > 0
    assert {e.kind for e in errors} <= {"rate_limit", "server_error", "timeout"}
    assert {"rate_limit", "server_error", "timeout"} <= {e.kind for e in errors}  # each fault really occurred
    assert max(o.attempts for o in outcomes) <= policy.max_retries + 1
    assert failed < 0.2 * 300  # ~8% of first attempts fail, a few retries fail again


def test_a_provider_shared_by_several_loops_leaks_no_session(server: FakeOpenAIServer) -> None:
    # replay_with_cache runs each replay in its own asyncio.run and does not close the provider:
    # each loop's session must be closed when that loop shuts down, without an aclose().
    provider = OpenAICompatProvider()
    calls = make_calls(spec(server), 4)

    async def main() -> list[CallOutcome]:
        return await replay(calls, provider, concurrency=4, timeout_s=2.0, policy=FAST_POLICY)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = asyncio.run(main())
        second = asyncio.run(main())
        gc.collect()
    assert all(o.ok for o in first + second)
    assert server.count() == 8
    assert [str(w.message) for w in caught] == []


@pytest.mark.parametrize(
    ("model_id", "temperature", "sent"),
    [
        ("openai/gpt-4o-mini", 0.0, True),
        # o-series and gpt-5 answer 400 to any temperature but 1: leaving it out keeps the default.
        ("openai/o3-mini", 0.0, False),
        ("openai/gpt-5", 0.2, False),
        ("openai/o3-mini", 1.0, True),
    ],
)
def test_reasoning_models_get_no_temperature_they_would_reject(model_id: str, temperature: float, sent: bool) -> None:
    body = request_body(ModelSpec(id=model_id, temperature=temperature), [{"role": "user", "content": "q"}])
    assert ("temperature" in body) is sent


def test_a_reply_cut_off_before_any_text_is_an_empty_answer_not_a_retry() -> None:
    # vLLM's reasoning parser returns content null when max_tokens ran out while thinking: it was paid for.
    body = {
        "model": "m",
        "choices": [{"message": {"role": "assistant", "content": None}, "finish_reason": "length"}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 50},
    }
    reply = reply_from_body(json.dumps(body).encode(), model_id="openai/m", pricing=LitellmPricing())
    assert reply.text == "" and reply.finish_reason == "length" and reply.output_tokens == 50
