"""Budget, circuit breaker and rate limits: what stops or paces launches, with scripted providers and clocks."""

from __future__ import annotations

import asyncio

import pytest

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall, build_call
from eval_assets.llm.guards import SKIPPED_BUDGET, SKIPPED_CIRCUIT_OPEN, BudgetGuard, CircuitBreaker, RunGuard
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
