"""The replay engine: bounded concurrency, retries with backoff, outcomes streamed to a sink as they arrive.

Every error message an outcome carries goes through :func:`redaction.redact` here, the one place provider
text becomes a stored message (``responses.error_message``, ``judge_verdicts.error``, logs, alerts).
When the guard stops the run (circuit open, configuration error), calls waiting to retry are woken at once
and end with their last error instead of finishing their sleep.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall, ProviderReply, estimate_call_tokens
from eval_assets.llm.guards import RunGuard
from eval_assets.llm.progress import ReplayProgress
from eval_assets.llm.ratelimit import TokenBucket
from eval_assets.llm.redaction import redact
from eval_assets.llm.retry import ProviderError, RetryPolicy

#: Longest error message kept on an outcome.
MAX_ERROR_MESSAGE = 2000


class Provider(Protocol):
    """Something that answers one chat request or raises ProviderError."""

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        """Send one request."""
        ...


async def replay(
    calls: Sequence[ModelCall],
    provider: Provider,
    *,
    concurrency: int,
    timeout_s: float,
    policy: RetryPolicy,
    on_outcome: Callable[[CallOutcome], None] | None = None,
    progress: ReplayProgress | None = None,
    guard: RunGuard | None = None,
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    seed: int = 0,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[CallOutcome]:
    """Send every call, at most ``concurrency`` at once, and return outcomes in call order.

    Failures never raise: each call ends as an answer, a classified error, or a skip (budget reached,
    circuit open) decided by ``guard`` just before launch. ``on_outcome`` sees each outcome as soon as it
    exists, so a sink can persist paid answers before the replay ends.
    """
    semaphore = asyncio.Semaphore(concurrency)
    rng = random.Random(seed)
    request_bucket = TokenBucket(requests_per_minute, clock=clock, sleep=sleep) if requests_per_minute else None
    token_bucket = TokenBucket(tokens_per_minute, clock=clock, sleep=sleep) if tokens_per_minute else None
    # Set when the guard stops the run: wakes every call sleeping before a retry.
    stopped = asyncio.Event()

    async def pace(call: ModelCall) -> None:
        # Taken before every attempt, retries included: a 429 storm is exactly when the limits matter.
        if request_bucket is not None:
            await request_bucket.acquire(1)
        if token_bucket is not None:
            await token_bucket.acquire(estimate_call_tokens(call))

    async def one(call: ModelCall) -> CallOutcome:
        async with semaphore:
            skip = guard.admit(call) if guard is not None else None
            if skip is not None:
                outcome = CallOutcome(call=call, text=None, attempts=0, error_type=skip[0], error_message=skip[1])
            else:
                outcome = await _call_with_retries(
                    call,
                    provider,
                    timeout_s=timeout_s,
                    policy=policy,
                    rng=rng,
                    sleep=sleep,
                    clock=clock,
                    stopped=stopped,
                    before_attempt=pace,
                )
                if guard is not None:
                    guard.finished(outcome)
                    if guard.stopped:
                        stopped.set()
        if on_outcome is not None:
            on_outcome(outcome)
        if progress is not None:
            progress.record(
                ok=outcome.ok,
                cached=False,
                retries=max(outcome.attempts - 1, 0),
                cost_usd=outcome.cost_usd,
                skipped=skip is not None,
            )
        return outcome

    return list(await asyncio.gather(*(one(call) for call in calls)))


async def _call_with_retries(
    call: ModelCall,
    provider: Provider,
    *,
    timeout_s: float,
    policy: RetryPolicy,
    rng: random.Random,
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    stopped: asyncio.Event,
    before_attempt: Callable[[ModelCall], Awaitable[None]],
) -> CallOutcome:
    first_attempt = clock()
    attempts = 0
    while True:
        attempts += 1
        await before_attempt(call)
        started = clock()
        try:
            reply = await provider.complete(call.model, call.messages, timeout_s=timeout_s)
        except ProviderError as error:
            decision = policy.decide(error, retries_done=attempts - 1, elapsed_s=clock() - first_attempt, rng=rng)
            # Once the run is stopped (circuit open, configuration error), retrying only prolongs it.
            if (
                decision.delay_s is not None
                and not stopped.is_set()
                and await _sleep_unless_stopped(decision.delay_s, sleep, stopped)
            ):
                continue
            message = str(error) + (f"; {decision.note}" if decision.note else "")
            return CallOutcome(
                call=call,
                text=None,
                attempts=attempts,
                error_type=error.kind,
                error_message=redact(message, names=[call.model.api_key_env])[:MAX_ERROR_MESSAGE],
            )
        return CallOutcome(
            call=call,
            text=reply.text,
            finish_reason=reply.finish_reason,
            model_version=reply.model_version,
            input_tokens=reply.input_tokens,
            output_tokens=reply.output_tokens,
            cost_usd=reply.cost_usd,
            latency_ms=(clock() - started) * 1000,
            attempts=attempts,
        )


async def _sleep_unless_stopped(
    seconds: float, sleep: Callable[[float], Awaitable[None]], stopped: asyncio.Event
) -> bool:
    """Sleep ``seconds``; return False as soon as ``stopped`` is set instead (the call then ends)."""
    napping = asyncio.ensure_future(sleep(seconds))
    waking = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait((napping, waking), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (napping, waking):
            task.cancel()
    return not stopped.is_set()
