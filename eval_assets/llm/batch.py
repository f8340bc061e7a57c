"""Replay calls through a provider's batch API (OpenAI-style files + batches): half the price, hours of latency.

``run_batch`` is the provider-neutral runner: it uploads each distinct request once, polls until the batch
ends or ``max_wait_s`` passes, and turns every result line into a ``CallOutcome`` (``batch_lines``). A
provider's batch API is a :class:`BatchClient`; ``batch_openai.OpenAIBatchClient`` is the one so far.

Nothing here touches the warehouse: a batch may run for hours, and the caller must not hold a DuckDB
connection (or its lock) while waiting. Persist outcomes after ``run_batch`` returns.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from eval_assets.llm.batch_lines import outcome_from_line
from eval_assets.llm.calls import CallOutcome, ModelCall
from eval_assets.llm.pricing import BatchPricing
from eval_assets.llm.redaction import redact

#: Batch states after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})

# What became of a call the batch returned no line for, by the batch's final state.
_MISSING_KINDS = {
    "completed": "missing_from_batch",
    "expired": "batch_expired",
    "failed": "batch_failed",
    "cancelled": "batch_cancelled",
}


@dataclass(frozen=True)
class BatchJob:
    """A submitted batch.

    Attributes:
        batch_id: The provider's batch id.
        input_file_id: The uploaded JSONL file.
        submitted_at: Unix time of the submission.
        custom_ids: The request hashes sent, one per line, in file order.
    """

    batch_id: str
    input_file_id: str
    submitted_at: float
    custom_ids: tuple[str, ...]


@dataclass(frozen=True)
class BatchStatus:
    """One poll's view of a batch.

    Attributes:
        status: validating, in_progress, finalizing, completed, failed, expired, cancelling or cancelled.
        completed: Lines answered with HTTP 200 so far.
        failed: Lines answered with an error so far.
        total: Lines in the batch (0 while the provider is still validating).
        output_file_id: JSONL of answered lines, once available.
        error_file_id: JSONL of failed lines, once available.
        errors: Why the batch itself failed (e.g. an invalid input line).
    """

    status: str
    completed: int = 0
    failed: int = 0
    total: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: tuple[str, ...] = ()


class BatchClient(Protocol):
    """What ``run_batch`` needs from a provider's batch API."""

    async def submit(self, calls: Sequence[ModelCall]) -> BatchJob:
        """Upload one line per call (their request hashes are distinct) and start the batch."""
        ...

    async def poll(self, job: BatchJob) -> BatchStatus:
        """The batch's current state."""
        ...

    async def cancel(self, job: BatchJob) -> BatchStatus:
        """Ask the provider to stop the batch; return its state after the request."""
        ...

    async def fetch(self, job: BatchJob, status: BatchStatus) -> dict[str, dict[str, Any]]:
        """Result lines of the output and error files, by custom_id."""
        ...


async def run_batch(
    calls: Sequence[ModelCall],
    client: BatchClient,
    *,
    poll_interval_s: float,
    max_wait_s: float,
    on_status: Callable[[str], None] | None = None,
    on_submit: Callable[[BatchJob], None] | None = None,
    resume: BatchJob | None = None,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> list[CallOutcome]:
    """Send ``calls`` as one batch (or resume one), wait for it, and return one outcome per call, in call order.

    Identical requests are sent once; the copies get the same answer with ``cached=True`` and
    ``attempts=0``, as in ``replay_with_cache``. A call without an answer ends as an error outcome:
    ``timeout`` (we cancelled the batch after ``max_wait_s``), ``batch_expired``,
    ``batch_failed``, ``batch_cancelled``, ``missing_from_batch``, or the kind of its error line
    (``rate_limit``, ``server_error``, ``bad_request``...). If waiting is interrupted (an exception or a
    cancelled task), the batch is cancelled so nobody pays for answers that will never be read, unless
    it is recorded (``on_submit`` or ``resume``) and the interruption is an error (a failed poll or
    fetch): then it keeps running, and the next run resumes it instead of paying for a new one.

    Args:
        calls: The calls; the client may require them to share one model and endpoint.
        client: The provider's batch API.
        poll_interval_s: Seconds between status polls.
        max_wait_s: Cancel the batch once this many seconds have passed since it was submitted.
        on_status: Receives a line whenever the batch's state or counts change, e.g.
            ``batch b_123: in_progress 120/500 done``.
        on_submit: Called with the job as soon as the submission returns, before any wait (to record it
            durably: a run killed while waiting can then resume the batch).
        resume: A batch submitted earlier (by a run that was killed or failed to fetch it): poll and
            fetch it instead of submitting. ``calls`` must be among its requests; its other lines are
            ignored. ``max_wait_s`` then counts from now.
        sleep: Awaited between polls (tests pass a fake that advances ``clock``).
        clock: Monotonic seconds.

    Raises:
        Exception: whatever the client raises while submitting, polling or fetching (its own retries
            are spent by then). Per-call failures are outcomes, not exceptions.
    """
    if not calls:
        return []
    report = on_status if on_status is not None else _ignore
    unique: dict[str, ModelCall] = {}
    for call in calls:
        unique.setdefault(call.request_hash, call)
    if resume is None:
        job = await client.submit(list(unique.values()))
        if on_submit is not None:
            on_submit(job)
        report(f"batch {job.batch_id}: submitted {len(unique)} requests for {len(calls)} calls")
    else:
        job = resume
        strangers = set(unique) - set(job.custom_ids)
        if strangers:
            raise ValueError(f"batch {job.batch_id} does not carry {len(strangers)} of the calls to resume")
        report(f"batch {job.batch_id}: resuming it for {len(unique)} of its {len(job.custom_ids)} requests")
    recorded = on_submit is not None or resume is not None
    status, timed_out = await _wait(job, client, poll_interval_s, max_wait_s, report, sleep, clock, recorded)

    lines: dict[str, dict[str, Any]] = {}
    if status.output_file_id or status.error_file_id:
        lines = await client.fetch(job, status)
    # After our cancel the batch is usually still "cancelling"; if it finished meanwhile, say how.
    kind = _MISSING_KINDS.get(status.status, "timeout")
    if timed_out and status.status == "cancelled":
        kind = "timeout"
    message = _missing_message(kind, job, status, max_wait_s)
    prices = BatchPricing()
    by_hash = {
        h: outcome_from_line(call, lines[h], prices)
        if h in lines
        else CallOutcome(call=call, text=None, attempts=1, error_type=kind, error_message=message)
        for h, call in unique.items()
    }
    return [_for_call(by_hash[call.request_hash], call) for call in calls]


async def _wait(
    job: BatchJob,
    client: BatchClient,
    poll_interval_s: float,
    max_wait_s: float,
    report: Callable[[str], None],
    sleep: Callable[[float], Awaitable[None]],
    clock: Callable[[], float],
    recorded: bool = False,
) -> tuple[BatchStatus, bool]:
    """Poll until the batch ends or the deadline passes (then cancel); return its state and whether we timed out.

    An interruption cancels the batch, except a failed poll of a recorded batch: a later run resumes it.
    """
    started = clock()
    last_line = ""
    try:
        while True:
            status = await client.poll(job)
            line = progress_line(job, status)
            if line != last_line:
                report(line)
                last_line = line
            if status.status in TERMINAL_STATUSES:
                return status, False
            elapsed = clock() - started
            if elapsed >= max_wait_s:
                break
            await sleep(min(poll_interval_s, max_wait_s - elapsed))
    except Exception:
        if not recorded:
            await _cancel_quietly(job, client, report)
        raise
    except BaseException:
        await _cancel_quietly(job, client, report)
        raise
    report(f"batch {job.batch_id}: not finished after {max_wait_s:g}s; cancelling")
    cancelled = await _cancel_quietly(job, client, report)
    # A failed cancel usually means the batch finished meanwhile: one more look may save its answers.
    return (cancelled if cancelled is not None else await client.poll(job)), True


async def _cancel_quietly(job: BatchJob, client: BatchClient, report: Callable[[str], None]) -> BatchStatus | None:
    try:
        return await client.cancel(job)
    except Exception as exc:  # already finished, or the provider is unreachable: nothing more we can do
        report(redact(f"batch {job.batch_id}: cancel failed: {type(exc).__name__}: {exc}"))
        return None


def progress_line(job: BatchJob, status: BatchStatus) -> str:
    """e.g. ``batch b_123: in_progress 120/500 done`` (with ``, 3 failed`` when lines failed)."""
    total = status.total or len(job.custom_ids)
    line = f"batch {job.batch_id}: {status.status} {status.completed + status.failed}/{total} done"
    return line + (f", {status.failed} failed" if status.failed else "")


def _missing_message(kind: str, job: BatchJob, status: BatchStatus, max_wait_s: float) -> str:
    batch = f"batch {job.batch_id}"
    messages = {
        "timeout": f"{batch} did not finish within {max_wait_s:g}s and was cancelled",
        "batch_expired": f"{batch} expired before this request ran",
        "batch_failed": redact(f"{batch} failed: {'; '.join(status.errors) or 'no reason given'}"),
        "batch_cancelled": f"{batch} was cancelled before this request ran",
        "missing_from_batch": f"{batch} completed without a result line for this request",
    }
    return messages[kind]


def _for_call(outcome: CallOutcome, call: ModelCall) -> CallOutcome:
    if outcome.call is call:
        return outcome
    # A duplicate request in the batch: the same answer under its own caller key, not paid again.
    return replace(outcome, call=call, cached=True, attempts=0)


def _ignore(_: str) -> None:
    return None
