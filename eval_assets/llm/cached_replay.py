"""Replay calls through the response cache: cached answers are reused, fresh ones journaled as they arrive.

Every fresh answer is appended to the answer journal (:mod:`eval_assets.llm.journal`) before the engine
moves on, so a killed run repeats only the calls that were in flight, and an unwritable warehouse (an
analyst's read-only session holds the file) loses nothing: the journal is settled into the store at the
start and end of every replay and serves lookups until then. Submitted batches are recorded
(:mod:`eval_assets.llm.batch_ledger`), so a rerun resumes or fetches them instead of paying again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from eval_assets.config import BatchMode, ModelSpec, Runtime
from eval_assets.llm.batch_ledger import BatchLedger, BatchRecord
from eval_assets.llm.cache import CacheStore, ResponseCache, Settled, cache_row
from eval_assets.llm.calls import CallOutcome, ModelCall, Provider
from eval_assets.llm.engine import replay
from eval_assets.llm.guards import RunGuard
from eval_assets.llm.journal import JournalWriter
from eval_assets.llm.progress import ReplayProgress
from eval_assets.llm.redaction import redact
from eval_assets.llm.retry import RetryPolicy

if TYPE_CHECKING:
    from eval_assets.llm.batch import BatchClient, BatchJob

BatchClientFactory = Callable[[ModelSpec], "AbstractAsyncContextManager[BatchClient]"]
#: The error kind of calls whose batch was submitted but could not be read: the next run fetches it.
BATCH_UNFINISHED = "batch_unfinished"


@dataclass(frozen=True)
class ReplaySettings:
    """How a stage replays its calls: the config's ``runtime`` section and the run's cache switch.

    Attributes:
        use_cache: Reuse cached answers (fresh answers are always stored).
        concurrency: Calls in flight at once.
        timeout_s: Per-request timeout.
        policy: Retries and backoff.
        requests_per_minute: Client-side request rate limit.
        tokens_per_minute: Client-side token rate limit.
        batch: Provider batch endpoints (None: never).
    """

    use_cache: bool = True
    concurrency: int = 8
    timeout_s: float = 60.0
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    batch: BatchMode | None = None

    @classmethod
    def from_runtime(cls, runtime: Runtime, *, use_cache: bool = True) -> ReplaySettings:
        """The settings a config's runtime section asks for (``use_cache`` False overrides ``runtime.cache``)."""
        return cls(
            use_cache=runtime.cache and use_cache,
            concurrency=runtime.concurrency,
            timeout_s=runtime.timeout_s,
            policy=RetryPolicy(max_retries=runtime.max_retries, deadline_s=runtime.max_retry_time_s),
            requests_per_minute=runtime.requests_per_minute,
            tokens_per_minute=runtime.tokens_per_minute,
            batch=runtime.batch,
        )


class AnswerSink:
    """Journals each paid answer synchronously, as the engine hands it over (errors are retried next time)."""

    def __init__(self, writer: JournalWriter) -> None:
        self._writer = writer
        self.kept = 0

    def __call__(self, outcome: CallOutcome) -> None:
        """Append the outcome's cache row if it is a fresh answer."""
        if outcome.ok and not outcome.cached:
            self._writer.append(cache_row(outcome))
            self.kept += 1


def outcomes_from_cache(calls: Sequence[ModelCall], cached: Mapping[str, Mapping[str, Any]]) -> dict[str, CallOutcome]:
    """Outcomes for calls whose answer is in the cache (rows by request hash), by request hash.

    ``cost_usd`` stays the answer's original price so metrics do not change on a rerun; ``cached`` says
    it was not paid again.
    """
    found: dict[str, CallOutcome] = {}
    for call in calls:
        row = cached.get(call.request_hash)
        if row is None or call.request_hash in found:
            continue
        found[call.request_hash] = CallOutcome(
            call=call,
            text=row["output_text"],
            finish_reason=row.get("finish_reason"),
            model_version=row.get("model_version"),
            input_tokens=row.get("input_tokens"),
            output_tokens=row.get("output_tokens"),
            cost_usd=row.get("cost_usd"),
            latency_ms=row.get("latency_ms"),
            attempts=0,
            cached=True,
            created_at=row["created_at"],
        )
    return found


def replay_with_cache(
    calls: Sequence[ModelCall],
    provider: Provider,
    cache: CacheStore | ResponseCache,
    settings: ReplaySettings,
    *,
    progress: ReplayProgress | None = None,
    guard: RunGuard | None = None,
    before_calls: Callable[[Sequence[ModelCall]], None] | None = None,
    batch_client: BatchClientFactory | None = None,
) -> list[CallOutcome]:
    """Answer every call, from the cache when allowed, else from the provider; outcomes in call order.

    Identical requests inside one replay are sent once. Fresh answers are always journaled (so neither
    a crash nor a locked warehouse loses a paid answer), even when reading the cache is turned off; the
    journal is settled into the store before and after the replay. With ``settings.batch`` enabled and
    enough calls, OpenAI-compatible models are answered through the provider's batch API first (resuming
    batches an earlier run submitted); what the batches could not answer is then sent directly.

    Raises:
        OSError: an answer could not be journaled (the replay stops rather than pay for answers it loses).
        Exception: whatever the store raises when it cannot be read for the lookup.
    """
    responses = cache if isinstance(cache, ResponseCache) else ResponseCache(cache)
    report = progress.report if progress is not None else None
    _tell(report, responses.settle())
    cached: dict[str, CallOutcome] = {}
    if settings.use_cache:
        cached = outcomes_from_cache(calls, responses.lookup([c.request_hash for c in calls]))
    unique_misses: dict[str, ModelCall] = {}
    for call in calls:
        if call.request_hash not in cached:
            unique_misses.setdefault(call.request_hash, call)
    for record in responses.batches.pending() if cached else ():
        if set(record.request_hashes) <= cached.keys():  # its answers were kept before the record was dropped
            responses.batches.forget(record.batch_id)
    if progress is not None:
        for _ in cached:
            progress.record(ok=True, cached=True, retries=0, cost_usd=0.0)
    if before_calls is not None:
        before_calls(list(unique_misses.values()))
    misses = list(unique_misses.values())
    batch = settings.batch

    async def answer(keep: AnswerSink) -> list[CallOutcome]:
        batched: list[CallOutcome] = []
        direct = misses
        if batch is not None and batch.enabled and len(misses) >= batch.min_calls:
            batched, direct = await _through_batches(
                misses,
                batch,
                batch_client or _openai_batch_client,
                keep=keep,
                ledger=responses.batches,
                replay_hashes={c.request_hash for c in calls},
                guard=guard,
                progress=progress,
            )
        warm_up = getattr(provider, "warm_up", None)
        if warm_up is not None and direct:  # one-off set-up must never be timed as a model's latency
            await warm_up(call.model for call in direct)
        answered = await replay(
            direct,
            provider,
            concurrency=settings.concurrency,
            timeout_s=settings.timeout_s,
            policy=settings.policy,
            on_outcome=keep,
            progress=progress,
            guard=guard,
            requests_per_minute=settings.requests_per_minute,
            tokens_per_minute=settings.tokens_per_minute,
        )
        return [*batched, *answered]

    try:
        with responses.writer() as writer:
            fresh = asyncio.run(answer(AnswerSink(writer))) if misses else []
    finally:
        _tell(report, responses.settle())  # the writer has released its file: this run's answers go in now
    if progress is not None:
        progress.finish()
    by_hash = {**{o.call.request_hash: o for o in fresh}, **cached}
    return [_for_call(by_hash[call.request_hash], call) for call in calls]


def _tell(report: Callable[[str], None] | None, settled: Settled) -> None:
    message = settled.message()
    if report is not None and message is not None:
        report(f"response cache: {message}")


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
    from eval_assets.llm.batch_openai import OpenAIBatchClient

    return OpenAIBatchClient(model)


def _batchable(call: ModelCall) -> bool:
    # Only OpenAI-style files + batches endpoints are implemented; other providers are called directly.
    return call.model.id.startswith("openai/")


def _endpoint(model: ModelSpec) -> tuple[str, str | None, str | None]:
    return model.id, model.api_base, model.api_key_env


def _claim(
    records: Sequence[BatchRecord], calls: Sequence[ModelCall]
) -> tuple[list[tuple[BatchRecord, list[ModelCall]]], list[ModelCall]]:
    """Which recorded batches answer which calls (oldest batch first), and the calls none of them carries."""
    unclaimed = {call.request_hash: call for call in calls}
    resumable = []
    for record in records:
        covered = [unclaimed.pop(h) for h in record.request_hashes if h in unclaimed]
        if covered:
            resumable.append((record, covered))
    return resumable, list(unclaimed.values())


def _unfinished(call: ModelCall, batch_id: str, exc: BaseException, ledger: BatchLedger) -> CallOutcome:
    # Provider text can echo a key: redacted like every message that can carry it.
    reason = redact((str(exc).strip().splitlines() or ["no message"])[0][:300], names=[call.model.api_key_env])
    return CallOutcome(
        call=call,
        text=None,
        attempts=1,
        error_type=BATCH_UNFINISHED,
        error_message=(
            f"batch {batch_id} could not be read ({type(exc).__name__}: {reason}); it stays recorded and the next "
            f"run fetches it instead of sending its calls again (to give it up, delete {ledger.path_of(batch_id)})"
        ),
    )


async def _through_batches(
    misses: Sequence[ModelCall],
    mode: BatchMode,
    client_factory: BatchClientFactory,
    *,
    keep: Callable[[CallOutcome], None],
    ledger: BatchLedger,
    replay_hashes: set[str],
    guard: RunGuard | None,
    progress: ReplayProgress | None,
) -> tuple[list[CallOutcome], list[ModelCall]]:
    """Answer what batches can, resuming recorded ones first; return (final outcomes, calls to send directly).

    A batch is recorded in ``ledger`` as soon as it is submitted and forgotten once its answers are
    journaled, so a run killed while waiting, or one whose fetch failed, is resumed by the next run.
    """
    from eval_assets.llm.batch import BatchJob, run_batch

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
        groups.setdefault(_endpoint(call.model), []).append(call)
    report = progress.report if progress is not None and progress.report is not None else None

    def settle(outcomes: Sequence[CallOutcome]) -> None:
        for outcome in outcomes:
            if guard is not None:
                guard.finished(outcome)
            if outcome.ok or outcome.error_type not in RETRY_DIRECTLY:
                keep(outcome)  # journaled before the batch record is dropped
                final.append(outcome)
                if progress is not None:
                    progress.record(ok=outcome.ok, cached=False, retries=0, cost_usd=outcome.cost_usd)
            else:
                direct.append(outcome.call)

    def done_with(record_id: str, hashes: Sequence[str]) -> None:
        # Keep a batch that also answers calls outside this replay (a smaller run resumed it): theirs may come.
        if set(hashes) <= replay_hashes:
            ledger.forget(record_id)

    def release(calls: Sequence[ModelCall]) -> None:
        if guard is not None and guard.budget is not None:
            for call in calls:  # the direct path admits each call again
                guard.budget.release(call)

    async def through_group(calls: Sequence[ModelCall]) -> None:
        model = calls[0].model
        resumable, fresh = _claim(ledger.pending(_endpoint(model)), calls)
        if resumable and len(fresh) < mode.min_calls:  # a few calls the old batches lack: not worth a batch
            release(fresh)
            direct.extend(fresh)
            fresh = []
        submitted: list[BatchJob] = []
        answered: set[str] = set()

        def remember(job: BatchJob) -> None:
            submitted.append(job)  # from here on its calls are never sent directly: they are paid for
            record = BatchRecord(job.batch_id, job.input_file_id, job.submitted_at, job.custom_ids, *_endpoint(model))
            try:
                ledger.record(record)
            except OSError as exc:  # still worth waiting for: only a kill during this wait would lose it
                if report is not None:
                    report(f"batch {job.batch_id}: could not be recorded ({exc}); a killed wait cannot be resumed")

        try:
            async with client_factory(model) as client:
                for record, covered in resumable:
                    job = BatchJob(record.batch_id, record.input_file_id, record.submitted_at, record.request_hashes)
                    left = max(mode.max_wait_s - (time.time() - record.submitted_at), 0.0)
                    try:
                        outcomes = await run_batch(
                            covered,
                            client,
                            poll_interval_s=mode.poll_interval_s,
                            max_wait_s=left,
                            on_status=report,
                            resume=job,
                        )
                    except Exception as exc:  # a failed poll or fetch: the batch stays recorded for the next run
                        settle([_unfinished(call, record.batch_id, exc, ledger) for call in covered])
                    else:
                        settle(outcomes)
                        done_with(record.batch_id, record.request_hashes)
                    answered.update(call.request_hash for call in covered)
                if fresh:
                    outcomes = await run_batch(
                        fresh,
                        client,
                        poll_interval_s=mode.poll_interval_s,
                        max_wait_s=mode.max_wait_s,
                        on_status=report,
                        on_submit=remember,
                    )
                    settle(outcomes)
                    answered.update(call.request_hash for call in fresh)
                    done_with(submitted[0].batch_id, submitted[0].custom_ids)
        except Exception as exc:
            unsent = [] if submitted else [c for c in fresh if c.request_hash not in answered]
            if unsent and report is not None:  # no batch endpoint (vLLM, Ollama), no key, upload refused
                detail = redact(f"{type(exc).__name__}: {exc}", names=[calls[0].model.api_key_env])
                report(f"batch API unavailable for {calls[0].model.id} ({detail}); calling directly")
            release(unsent)
            direct.extend(unsent)
            # Calls of a submitted or recorded batch are never sent again directly: the next run fetches it.
            waiting = [(r.batch_id, covered) for r, covered in resumable]
            if submitted:
                waiting.append((submitted[0].batch_id, fresh))
            for batch_id, covered in waiting:
                settle([_unfinished(c, batch_id, exc, ledger) for c in covered if c.request_hash not in answered])

    for calls in groups.values():
        await through_group(calls)
    return final, direct
