"""Budget, circuit breaker and rate limits: what stops or paces launches, with scripted providers and clocks."""

from __future__ import annotations

import asyncio
import time

import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call
from eval_assets.llm.guards import (
    SKIPPED_BUDGET,
    SKIPPED_CIRCUIT_OPEN,
    SKIPPED_CONFIG_ERROR,
    BudgetGuard,
    CircuitBreaker,
    ConfigErrorStop,
    RunGuard,
)
from eval_assets.llm.ratelimit import TokenBucket
from eval_assets.llm.retry import ProviderError, RetryPolicy
from eval_assets_tests.llm.test_engine import ScriptedProvider, run

MODEL = ModelSpec(id="openai/test", max_tokens=10)


def outcome(call: ModelCall, *, error: str | None = None, cost: float = 0.01, cached: bool = False) -> CallOutcome:
    return CallOutcome(
        call=call,
        text=None if error else "ok",
        error_type=error,
        cost_usd=cost,
        input_tokens=5,
        output_tokens=5,
        cached=cached,
        attempts=1,
    )


def a_call(i: int = 0) -> ModelCall:
    return build_call(i, MODEL, [{"role": "user", "content": f"q{i}"}], scope="d")


def test_budget_reserves_worst_case_for_calls_in_flight() -> None:
    budget = BudgetGuard(max_usd=0.05, max_tokens=None, estimate=lambda call: (0.02, 20))
    first, second, third = a_call(1), a_call(2), a_call(3)
    assert budget.admit(first) is None and budget.admit(second) is None
    # Two calls in flight reserve $0.04: a third would risk $0.06 > $0.05 even before anything is spent.
    assert "max_usd" in (budget.admit(third) or "")
    budget.settle(outcome(first, cost=0.001))
    assert budget.admit(third) is None
    assert budget.spent_usd == pytest.approx(0.001)


def test_budget_ignores_cached_answers_and_counts_tokens() -> None:
    budget = BudgetGuard(max_usd=None, max_tokens=25, estimate=lambda call: (None, 10))
    call = a_call()
    assert budget.admit(call) is None
    budget.settle(outcome(call, cached=True))
    assert budget.spent_tokens == 0
    assert budget.admit(call) is None
    budget.settle(outcome(call))
    assert budget.spent_tokens == 10
    assert budget.admit(a_call(1)) is None
    assert "max_tokens" in (budget.admit(a_call(2)) or "")


def test_breaker_opens_on_provider_failures_not_on_bad_prompts() -> None:
    breaker = CircuitBreaker(window=10, min_calls=5, failure_ratio=0.8)
    for i in range(20):
        # A 400 is about one prompt: a dataset full of them says nothing about the provider.
        breaker.record(outcome(a_call(i), error="bad_request"))
    assert not breaker.open
    for i in range(4):
        breaker.record(outcome(a_call(i), error="server_error"))
    assert not breaker.open  # fewer than min_calls counted
    breaker.record(outcome(a_call(5), error="rate_limit"))
    assert breaker.open and "5 of the last 5 calls failed" in (breaker.reason or "")


def test_breaker_stays_closed_under_scattered_failures() -> None:
    breaker = CircuitBreaker(window=20, min_calls=10, failure_ratio=0.8)
    for i in range(200):
        breaker.record(outcome(a_call(i), error="server_error" if i % 3 == 0 else None))
    assert not breaker.open


def test_engine_stops_launching_when_the_provider_is_down() -> None:
    prompts = [f"p{i}" for i in range(100)]
    provider = ScriptedProvider({p: [ProviderError("server_error", "503")] * 5 for p in prompts})
    guard = RunGuard(breaker=CircuitBreaker(window=10, min_calls=10, failure_ratio=0.8))
    outcomes = run(provider, prompts, concurrency=2, guard=guard, policy=RetryPolicy(max_retries=1))
    skipped = [o for o in outcomes if o.error_type == SKIPPED_CIRCUIT_OPEN]
    assert len(skipped) >= 85
    assert len(provider.calls) <= 2 * 15  # about ten failed calls (two attempts each) before it opened
    assert "provider appears down" in (skipped[0].error_message or "")


def test_engine_budget_cap_stops_spending() -> None:
    provider = ScriptedProvider({})  # every answer costs $0.001 (see ScriptedProvider)
    guard = RunGuard(budget=BudgetGuard(max_usd=0.0105, max_tokens=None, estimate=lambda call: (0.001, 15)))
    outcomes = run(provider, [f"p{i}" for i in range(30)], concurrency=1, guard=guard)
    answered = [o for o in outcomes if o.ok]
    assert len(answered) == 10
    assert all(o.error_type == SKIPPED_BUDGET for o in outcomes if not o.ok)
    assert guard.budget is not None and guard.budget.spent_usd <= 0.0105


def test_token_bucket_paces_requests() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    async def scenario() -> float:
        bucket = TokenBucket(120, clock=lambda: now[0], sleep=fake_sleep)  # 2 a second, burst of 2
        for _ in range(10):
            await bucket.acquire(1)
        return now[0]

    # 2 in the initial burst, then 8 more at 2 a second: 4 seconds.
    assert asyncio.run(scenario()) == pytest.approx(4.0)


def test_oversized_token_request_is_delayed_not_refused() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    async def scenario() -> float:
        bucket = TokenBucket(60, clock=lambda: now[0], sleep=fake_sleep)  # 1 a second, burst of 1
        await bucket.acquire(5)
        await bucket.acquire(1)
        return now[0]

    assert asyncio.run(scenario()) == pytest.approx(5.0)


def test_engine_respects_requests_per_minute() -> None:
    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    provider = ScriptedProvider({})
    outcomes = run(
        provider, [f"p{i}" for i in range(7)], requests_per_minute=60, sleep=fake_sleep, clock=lambda: now[0]
    )
    assert all(o.ok for o in outcomes)
    assert now[0] == pytest.approx(6.0)


def test_budget_refuses_calls_it_cannot_price() -> None:
    # Spending on an unpriced model would make max_usd a promise the harness cannot keep.
    budget = BudgetGuard(max_usd=1.0, max_tokens=None, estimate=lambda call: (None, 10))
    assert "no price is known" in (budget.admit(a_call()) or "")
    tokens_only = BudgetGuard(max_usd=None, max_tokens=100, estimate=lambda call: (None, 10))
    assert tokens_only.admit(a_call()) is None


def test_released_reservation_spends_nothing() -> None:
    budget = BudgetGuard(max_usd=0.03, max_tokens=None, estimate=lambda call: (0.02, 10))
    call = a_call()
    assert budget.admit(call) is None
    assert budget.admit(a_call(1)) is not None  # the reservation holds the room
    budget.release(call)
    assert budget.spent_usd == 0.0
    assert budget.admit(a_call(1)) is None


# --------------------------------------------------------------------------------------------------
# Issue 8 item 8: a wrong key (or endpoint, or model) stops the run at once, it is not an outage
# --------------------------------------------------------------------------------------------------


def failed(call: ModelCall, kind: str, message: str) -> CallOutcome:
    return CallOutcome(call=call, text=None, error_type=kind, error_message=message, attempts=1)


@pytest.mark.parametrize("kind", ["auth", "not_found", "redirect"])
def test_the_first_configuration_error_stops_the_run_with_what_to_fix(kind: str) -> None:
    stop = ConfigErrorStop(key_hint=lambda model: ("$EVAL_KEY", "https://example.invalid"))
    stop.record(failed(a_call(), kind, "HTTP 401: Incorrect API key provided: sk-[redacted]"))
    assert stop.stopped and stop.reason is not None
    assert stop.reason.startswith(f"stopped at once: {kind} error from openai/test: HTTP 401: Incorrect API key")
    assert "Fix:" in stop.reason and "rerun" in stop.reason
    if kind == "auth":
        assert "$EVAL_KEY" in stop.reason and "https://example.invalid" in stop.reason


def test_identical_bad_requests_stop_the_run_only_before_any_success() -> None:
    message = "HTTP 400: Unsupported parameter: 'max_tokens' (invalid_request_error)"
    stop = ConfigErrorStop(same_bad_requests=3)
    stop.record(failed(a_call(1), "bad_request", message))
    stop.record(failed(a_call(2), "bad_request", "HTTP 400: something else about this prompt"))
    stop.record(failed(a_call(3), "bad_request", message))
    assert not stop.stopped  # two alike so far
    stop.record(failed(a_call(4), "bad_request", message))
    assert stop.stopped and "sampling parameters" in (stop.reason or "")

    # Once the model has answered, a 400 is about one prompt, however many there are.
    answered = ConfigErrorStop(same_bad_requests=3)
    answered.record(outcome(a_call(0)))
    for i in range(10):
        answered.record(failed(a_call(i + 1), "bad_request", message))
    assert not answered.stopped


def test_outages_and_bad_prompts_are_not_configuration_errors() -> None:
    stop = ConfigErrorStop()
    for i, kind in enumerate(["server_error", "rate_limit", "timeout", "context_window", "content_filter"] * 5):
        stop.record(failed(a_call(i), kind, "x"))
    assert not stop.stopped


def test_engine_stops_launching_at_the_first_auth_error() -> None:
    provider = ScriptedProvider({"p0": [ProviderError("auth", "HTTP 401: Incorrect API key provided")]})
    guard = RunGuard()
    prompts = [f"p{i}" for i in range(50)]
    outcomes = run(provider, prompts, concurrency=1, guard=guard)
    assert provider.calls == ["p0"]  # one request, not the 10+ an outage needs to open the breaker
    assert outcomes[0].error_type == "auth"
    assert {o.error_type for o in outcomes[1:]} == {SKIPPED_CONFIG_ERROR}
    assert "Incorrect API key provided" in (outcomes[1].error_message or "")
    assert "provider appears down" not in (outcomes[1].error_message or "")


def test_a_breaker_opening_mid_backoff_wakes_the_sleepers_at_once() -> None:
    # Ten calls wait out a 30 s Retry-After; ten others fail for good and open the breaker. The sleepers
    # must end now, with their last error, not 30 s later (issue 13: sleeping calls were not woken).
    script = {f"wait{i}": [ProviderError("rate_limit", "HTTP 429", retry_after_s=30)] * 5 for i in range(10)}
    script |= {f"fail{i}": [ProviderError("error", "HTTP 418")] for i in range(10)}
    provider = ScriptedProvider(script)
    started = time.monotonic()
    outcomes = run(
        provider,
        [f"wait{i}" for i in range(10)] + [f"fail{i}" for i in range(10)],
        concurrency=20,
        guard=RunGuard(),
        sleep=asyncio.sleep,  # a real sleep: only being woken can end it early
        policy=RetryPolicy(max_retries=5, deadline_s=600),
    )
    assert time.monotonic() - started < 5
    waited = outcomes[:10]
    assert {o.error_type for o in waited} == {"rate_limit"} and {o.attempts for o in waited} == {1}
    assert provider.calls.count("wait0") == 1  # woken, and not retried
