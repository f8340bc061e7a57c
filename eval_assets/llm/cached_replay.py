"""Replay calls through the response cache: cached answers are reused, fresh ones are stored as they arrive.

A killed run loses at most the answers received since the last write (about a second of work);
the next run requests only what is missing.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import duckdb
import polars as pl

from eval_assets import warehouse
from eval_assets.config import BatchMode, ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall

if TYPE_CHECKING:
    from eval_assets.llm.batch import BatchClient
from eval_assets.llm.engine import Provider, replay
from eval_assets.llm.guards import RunGuard
from eval_assets.llm.progress import ReplayProgress
from eval_assets.llm.redaction import redact
from eval_assets.llm.retry import RetryPolicy

ConnectionFactory = Callable[[], AbstractContextManager[duckdb.DuckDBPyConnection]]
BatchClientFactory = Callable[[ModelSpec], "AbstractAsyncContextManager[BatchClient]"]


class CacheWriter:
    """Buffers successful outcomes and writes them to ``response_cache`` from one background thread.

    A write opens a connection, checks the schema, inserts and closes: 40-80 ms however many rows
    (measured by benchmarks/replay_benchmark.py). So rows are written by age (every ``max_age_s``) rather
    than every few answers, and off the event loop, one write at a time, so the replay keeps sending while
    DuckDB writes.
    """

    def __init__(self, connect: ConnectionFactory, *, max_rows: int = 10_000, max_age_s: float = 1.0) -> None:
        self._connect = connect
        self._rows: list[dict[str, Any]] = []
        self._max_rows = max_rows
        self._max_age_s = max_age_s
        self._oldest = 0.0
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cache-writer")
        self._in_flight: Future[None] | None = None
        self.flushed = 0

    def add(self, outcome: CallOutcome) -> None:
        """Buffer an outcome (only answers are cached: errors must be retried next time)."""
        if not outcome.ok or outcome.cached:
            return
        if not self._rows:
            self._oldest = time.monotonic()
        self._rows.append(cache_row(outcome))
        if len(self._rows) >= self._max_rows:
            self._write_in_background()
        else:
            self.tick()

    def tick(self) -> None:
        """Write buffered rows that are old enough, even if no new answer arrives (slow calls, long backoffs)."""
        if self._rows and time.monotonic() - self._oldest >= self._max_age_s:
            self._write_in_background()

    async def tick_every(self, interval_s: float) -> None:
        """Call :meth:`tick` on the event loop until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            self.tick()

    def flush(self) -> None:
        """Wait for the write in flight, then write what is buffered (blocks: call it off the event loop)."""
        in_flight, self._in_flight = self._in_flight, None
        try:
            if in_flight is not None:
                in_flight.result()
        finally:
            rows, self._rows = self._rows, []
            if rows:
                self._write(rows)

    def close(self) -> None:
        """Flush, then stop the writer thread."""
        try:
            self.flush()
        finally:
            self._executor.shutdown(wait=True)

    def _write_in_background(self) -> None:
        if self._in_flight is not None:
            if not self._in_flight.done():
                return  # one write at a time: these rows go with the next one
            self._in_flight.result()  # a failed write fails the replay, as a synchronous write would
        rows, self._rows = self._rows, []
        self._in_flight = self._executor.submit(self._write, rows)

    def _write(self, rows: list[dict[str, Any]]) -> None:
        with self._connect() as conn:
            warehouse.store_cached_responses(conn, rows)
        self.flushed += len(rows)


def cache_row(outcome: CallOutcome) -> dict[str, Any]:
    """The response_cache row of a successful outcome."""
    return {
        "request_hash": outcome.call.request_hash,
        "model_id": outcome.call.model.id,
        "model_version": outcome.model_version,
        "output_text": outcome.text,
        "finish_reason": outcome.finish_reason,
        "input_tokens": outcome.input_tokens,
        "output_tokens": outcome.output_tokens,
        "cost_usd": outcome.cost_usd,
        "latency_ms": outcome.latency_ms,
        "created_at": outcome.created_at,
    }


def outcomes_from_cache(calls: Sequence[ModelCall], cached: pl.DataFrame) -> dict[str, CallOutcome]:
    """Outcomes for calls whose answer is in the cache, by request hash.

    ``cost_usd`` stays the answer's original price so metrics do not change on a rerun; ``cached`` says
    it was not paid again.
    """
    by_hash = {row["request_hash"]: row for row in cached.iter_rows(named=True)}
    found: dict[str, CallOutcome] = {}
    for call in calls:
        row = by_hash.get(call.request_hash)
        if row is None or call.request_hash in found:
            continue
        found[call.request_hash] = CallOutcome(
            call=call,
            text=row["output_text"],
            finish_reason=row["finish_reason"],
            model_version=row["model_version"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            cost_usd=row["cost_usd"],
            latency_ms=row["latency_ms"],
            attempts=0,
            cached=True,
            created_at=row["created_at"],
        )
    return found


def replay_with_cache(
    calls: Sequence[ModelCall],
    provider: Provider,
    *,
    connect: ConnectionFactory,
    use_cache: bool,
    concurrency: int,
    timeout_s: float,
    policy: RetryPolicy,
    progress: ReplayProgress | None = None,
    guard: RunGuard | None = None,
    requests_per_minute: float | None = None,
    tokens_per_minute: float | None = None,
    before_calls: Callable[[Sequence[ModelCall]], None] | None = None,
    batch: BatchMode | None = None,
    batch_client: BatchClientFactory | None = None,
) -> list[CallOutcome]:
    """Answer every call, from the cache when allowed, else from the provider; outcomes in call order.

    Identical requests inside one replay are sent once. Fresh answers are always written to the cache
    (so a crash never loses a paid answer), even when reading from it is turned off. With ``batch``
    enabled and enough calls, OpenAI-compatible models are answered through the provider's batch API
    first; what the batch could not answer is then sent directly.
    """
    cached: dict[str, CallOutcome] = {}
    if use_cache:
        with connect() as conn:
            found = warehouse.lookup_cached_responses(conn, [c.request_hash for c in calls])
        cached = outcomes_from_cache(calls, found)
    unique_misses: dict[str, ModelCall] = {}
    for call in calls:
        if call.request_hash not in cached:
            unique_misses.setdefault(call.request_hash, call)
    if progress is not None:
        for _ in cached:
            progress.record(ok=True, cached=True, retries=0, cost_usd=0.0)
    if before_calls is not None:
        before_calls(list(unique_misses.values()))
    writer = CacheWriter(connect)
    misses = list(unique_misses.values())

    async def answer() -> list[CallOutcome]:
        ticker = asyncio.create_task(writer.tick_every(0.5))
        try:
            return await answer_misses()
        finally:
            ticker.cancel()

    async def answer_misses() -> list[CallOutcome]:
        batched: list[CallOutcome] = []
        direct = misses
        if batch is not None and batch.enabled and len(misses) >= batch.min_calls:
            batched, direct = await _through_batches(
                misses, batch, batch_client or _openai_batch_client, writer=writer, guard=guard, progress=progress
            )
        answered = await replay(
            direct,
            provider,
            concurrency=concurrency,
            timeout_s=timeout_s,
            policy=policy,
            on_outcome=writer.add,
            progress=progress,
            guard=guard,
            requests_per_minute=requests_per_minute,
            tokens_per_minute=tokens_per_minute,
        )
        return [*batched, *answered]

    try:
        fresh = asyncio.run(answer())
    finally:
        writer.close()
    if progress is not None:
        progress.finish()
    by_hash = {**{o.call.request_hash: o for o in fresh}, **cached}
    return [_for_call(by_hash[call.request_hash], call) for call in calls]


def _for_call(outcome: CallOutcome, call: ModelCall) -> CallOutcome:
    if outcome.call is call:
        return outcome
    # A duplicate request inside the run: the same answer under its own caller key, not paid again.
    return replace(outcome, call=call, cached=True, attempts=0)


#: Batch outcomes worth a direct attempt: the batch, not the request, failed.
RETRY_DIRECTLY = frozenset(
    {
        "timeout",
        "batch_expired",
        "batch_cancelled",
        "batch_failed",
        "missing_from_batch",
        "rate_limit",
        "server_error",
        "malformed_response",
        "connection",
    }
)


def _openai_batch_client(model: ModelSpec) -> AbstractAsyncContextManager[BatchClient]:
    from eval_assets.llm.batch import OpenAIBatchClient

    return OpenAIBatchClient(model)


def _batchable(call: ModelCall) -> bool:
    # Only OpenAI-style files + batches endpoints are implemented; other providers are called directly.
    return call.model.id.startswith("openai/")


async def _through_batches(
    misses: Sequence[ModelCall],
    mode: BatchMode,
    client_factory: BatchClientFactory,
    *,
    writer: CacheWriter,
    guard: RunGuard | None,
    progress: ReplayProgress | None,
) -> tuple[list[CallOutcome], list[ModelCall]]:
    """Answer what batches can; return (final outcomes, calls still to send directly)."""
    from eval_assets.llm.batch import run_batch

    groups: dict[tuple[str, str | None, str | None], list[ModelCall]] = {}
    direct: list[ModelCall] = []
    final: list[CallOutcome] = []
    for call in misses:
        if not _batchable(call):
            direct.append(call)
            continue
        skip = guard.admit(call) if guard is not None else None
        if skip is not None:
            final.append(CallOutcome(call=call, text=None, error_type=skip[0], error_message=skip[1]))
            continue
        groups.setdefault((call.model.id, call.model.api_base, call.model.api_key_env), []).append(call)
    report = progress.report if progress is not None and progress.report is not None else None
    for calls in groups.values():
        try:
            async with client_factory(calls[0].model) as client:
                outcomes = await run_batch(
                    calls, client, poll_interval_s=mode.poll_interval_s, max_wait_s=mode.max_wait_s, on_status=report
                )
        except Exception as exc:  # no batch endpoint (vLLM, Ollama), no key, upload refused: call directly
            if report is not None:
                detail = redact(f"{type(exc).__name__}: {exc}", names=[calls[0].model.api_key_env])
                report(f"batch API unavailable for {calls[0].model.id} ({detail}); calling directly")
            if guard is not None and guard.budget is not None:
                for call in calls:  # the direct path admits each call again
                    guard.budget.release(call)
            direct.extend(calls)
            continue
        for outcome in outcomes:
            if guard is not None:
                guard.finished(outcome)
            if outcome.ok or outcome.error_type not in RETRY_DIRECTLY:
                writer.add(outcome)
                final.append(outcome)
                if progress is not None:
                    progress.record(ok=outcome.ok, cached=False, retries=0, cost_usd=outcome.cost_usd)
            else:
                direct.append(outcome.call)
    return final, direct
