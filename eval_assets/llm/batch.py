"""Replay calls through a provider's batch API (OpenAI-style files + batches): half the price, hours of latency.

``run_batch`` is the provider-neutral runner: it uploads each distinct request once, polls until the batch
ends or ``max_wait_s`` passes, and turns every result line into a ``CallOutcome``. ``OpenAIBatchClient`` is
the one client so far: the OpenAI API or any server implementing its ``/v1/files`` and ``/v1/batches``
endpoints. It uses one ``openai.AsyncOpenAI`` per batch client, closed on exit, rather than litellm's
file/batch functions, which in litellm 1.106.2 leak an HTTP client per call.

Nothing here touches the warehouse: a batch may run for hours, and the caller must not hold a DuckDB
connection (or its lock) while waiting. Persist outcomes after ``run_batch`` returns.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Protocol, Self

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import CallOutcome, ModelCall
from eval_assets.llm.litellm_provider import MissingApiKeyError, import_litellm
from eval_assets.llm.redaction import redact, remember_key_variable
from eval_assets.llm.routing import OPENAI_API_BASE, required_key_env  # one home for endpoint and key rule

if TYPE_CHECKING:
    import openai
    from openai.types import Batch

#: The endpoint every batch line calls.
CHAT_COMPLETIONS_URL: Final = "/v1/chat/completions"
#: OpenAI's limit of requests in one batch input file.
MAX_BATCH_REQUESTS = 50_000
#: Batch APIs (OpenAI, Anthropic, Gemini...) bill about half the synchronous price. Applied to litellm's
#: synchronous price only when its price map has no ``*_cost_per_token_batches`` entry for the model.
BATCH_DISCOUNT = 0.5
#: Batch states after which nothing changes any more.
TERMINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})

# Error codes a result line may carry that say more than its HTTP status.
_ERROR_CODE_KINDS = {
    "context_length_exceeded": "context_window",
    "content_filter": "content_filter",
    "content_policy_violation": "content_filter",
    "rate_limit_exceeded": "rate_limit",
    "invalid_api_key": "auth",
    "batch_expired": "batch_expired",
    "batch_cancelled": "batch_cancelled",
}
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


def batch_line(call: ModelCall) -> dict[str, Any]:
    """The JSONL request line of one call; its custom_id is the call's request hash."""
    model = call.model
    body: dict[str, Any] = {
        "model": model.id.removeprefix("openai/"),
        "messages": [dict(m) for m in call.messages],
        "temperature": model.temperature,
        "max_tokens": model.max_tokens,
    }
    if model.seed is not None:
        body["seed"] = model.seed
    return {"custom_id": call.request_hash, "method": "POST", "url": CHAT_COMPLETIONS_URL, "body": body}


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
    prices = _BatchPrices()
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


def outcome_from_line(call: ModelCall, line: dict[str, Any], prices: _BatchPrices | None = None) -> CallOutcome:
    """The outcome of one output- or error-file line (``{"custom_id", "response", "error"}``)."""
    response = line.get("response") or {}
    status_code = response.get("status_code")
    body = response.get("body")
    if status_code == 200 and isinstance(body, dict):
        return _answer(call, body, prices if prices is not None else _BatchPrices())
    error = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    text = message or f"batch line answered HTTP {status_code}"
    return CallOutcome(
        call=call,
        text=None,
        attempts=1,
        error_type=error_kind(status_code if isinstance(status_code, int) else None, code),
        error_message=redact(text, names=[call.model.api_key_env])[:2000],
    )


def error_kind(status_code: int | None, code: str | None) -> str:
    """Classify a failed batch line like a failed direct call (see ``retry.RETRYABLE_KINDS``)."""
    if code in _ERROR_CODE_KINDS:
        return _ERROR_CODE_KINDS[code]
    if status_code is None:
        return "error"
    if status_code == 429:
        return "rate_limit"
    if status_code == 408:
        return "timeout"
    if status_code in (401, 403):
        return "auth"
    if status_code == 404:
        return "not_found"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "bad_request"
    return "error"


def _answer(call: ModelCall, body: dict[str, Any], prices: _BatchPrices) -> CallOutcome:
    choices = body.get("choices") or []
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        return CallOutcome(
            call=call,
            text=None,
            attempts=1,
            error_type="malformed_response",
            error_message="the batch line has no choice with text content",
        )
    usage = body.get("usage") or {}
    input_tokens = usage.get("prompt_tokens")
    output_tokens = usage.get("completion_tokens")
    cost = None
    if isinstance(input_tokens, int) and isinstance(output_tokens, int):
        cost = prices.cost_usd(call.model.id, input_tokens, output_tokens)
    return CallOutcome(
        call=call,
        text=text,
        finish_reason=choices[0].get("finish_reason"),
        model_version=body.get("model"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        latency_ms=None,  # a batch line has no meaningful latency of its own
        attempts=1,
    )


class _BatchPrices:
    """Batch prices from litellm's local price map, looked up once per model."""

    def __init__(self) -> None:
        self._litellm: Any = None
        self._batch_rates: dict[str, tuple[float, float] | None] = {}

    def cost_usd(self, model_id: str, input_tokens: int, output_tokens: int) -> float | None:
        """The batch price of one answer; None for a model the price map does not know."""
        if self._litellm is None:
            self._litellm = import_litellm()
        if model_id not in self._batch_rates:
            self._batch_rates[model_id] = self._lookup_batch_rates(model_id)
        rates = self._batch_rates[model_id]
        if rates is not None:
            return input_tokens * rates[0] + output_tokens * rates[1]
        try:
            prompt, completion = self._litellm.cost_per_token(
                model=model_id, prompt_tokens=input_tokens, completion_tokens=output_tokens
            )
        except Exception:  # unknown model: record null, never a made-up number
            return None
        return (float(prompt) + float(completion)) * BATCH_DISCOUNT

    def _lookup_batch_rates(self, model_id: str) -> tuple[float, float] | None:
        try:
            info = self._litellm.get_model_info(model=model_id)
        except Exception:
            return None
        rates = (info.get("input_cost_per_token_batches"), info.get("output_cost_per_token_batches"))
        return (float(rates[0]), float(rates[1])) if rates[0] is not None and rates[1] is not None else None


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


class OpenAIBatchClient:
    """The OpenAI batch API (or a compatible server) for calls to one model spec's endpoint.

    Args:
        model: The spec every submitted call must share (id, api_base and api_key_env).
        max_retries: The openai SDK's own retries of a failed file or batch request (polls included).

    Use as ``async with OpenAIBatchClient(spec) as client: await run_batch(calls, client, ...)``: the HTTP
    client is created on entry and closed on exit. The API key is read from ``spec.api_key_env`` on entry
    (``OPENAI_API_KEY`` only for OpenAI itself, i.e. no ``api_base``: a custom endpoint never receives a key
    its spec does not name, the rule of :mod:`eval_assets.llm.routing`), and never stored elsewhere.
    """

    def __init__(self, model: ModelSpec, *, max_retries: int = 2) -> None:
        self.model = model
        self.base_url = model.api_base or OPENAI_API_BASE
        self._max_retries = max_retries
        self._client: openai.AsyncOpenAI | None = None

    async def __aenter__(self) -> Self:
        import openai

        variable = required_key_env(self.model)
        if variable:
            remember_key_variable(variable)  # its value is redacted from every message from now on
        api_key = os.environ.get(variable) if variable else None
        if variable and not api_key:
            raise MissingApiKeyError(f"model {self.model.id!r} reads its API key from ${variable}, which is not set")
        # The SDK insists on a key; a server that checks none (no api_key_env) accepts any placeholder.
        api_key = api_key or "no-key"
        self._client = openai.AsyncOpenAI(base_url=self.base_url, api_key=api_key, max_retries=self._max_retries)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.close()

    @property
    def _sdk(self) -> openai.AsyncOpenAI:
        if self._client is None:
            raise RuntimeError("use OpenAIBatchClient as 'async with OpenAIBatchClient(spec) as client'")
        return self._client

    async def submit(self, calls: Sequence[ModelCall]) -> BatchJob:
        """Upload one JSONL line per call and create a 24h batch on the chat completions endpoint.

        Raises:
            ValueError: if the calls do not all share this client's model and endpoint (one batch file
                may hold only one model), repeat a request hash, or exceed ``MAX_BATCH_REQUESTS``.
        """
        mine = (self.model.id, self.model.api_base, self.model.api_key_env)
        strangers = {c.model.id for c in calls if (c.model.id, c.model.api_base, c.model.api_key_env) != mine}
        if strangers:
            raise ValueError(f"a batch for {self.model.id!r} at {self.base_url} cannot carry {sorted(strangers)}")
        if len(calls) > MAX_BATCH_REQUESTS:
            raise ValueError(f"{len(calls)} requests exceed the batch limit of {MAX_BATCH_REQUESTS}; split them")
        lines = [batch_line(call) for call in calls]
        custom_ids = tuple(line["custom_id"] for line in lines)
        if len(set(custom_ids)) != len(custom_ids):
            raise ValueError("batch custom_ids (request hashes) must be unique: deduplicate the calls first")
        data = b"".join(json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for line in lines)
        upload = await self._sdk.files.create(file=("eval_assets_batch.jsonl", data), purpose="batch")
        batch = await self._sdk.batches.create(
            input_file_id=upload.id,
            endpoint=CHAT_COMPLETIONS_URL,
            completion_window="24h",
            metadata={"source": "eval_assets"},
        )
        return BatchJob(batch_id=batch.id, input_file_id=upload.id, submitted_at=time.time(), custom_ids=custom_ids)

    async def poll(self, job: BatchJob) -> BatchStatus:
        """The batch's current state."""
        return _status_of(await self._sdk.batches.retrieve(job.batch_id))

    async def cancel(self, job: BatchJob) -> BatchStatus:
        """Ask the provider to stop the batch (it answers ``cancelling``; answered lines stay billed)."""
        return _status_of(await self._sdk.batches.cancel(job.batch_id))

    async def fetch(self, job: BatchJob, status: BatchStatus) -> dict[str, dict[str, Any]]:
        """Result lines by custom_id; a line in the output file wins over one in the error file."""
        lines: dict[str, dict[str, Any]] = {}
        for file_id in (status.error_file_id, status.output_file_id):
            if file_id is None:
                continue
            content = await self._sdk.files.content(file_id)
            for raw in content.content.splitlines():
                if raw.strip():
                    line = json.loads(raw)
                    lines[str(line["custom_id"])] = line
        return lines


def _status_of(batch: Batch) -> BatchStatus:
    counts = batch.request_counts
    reported = (batch.errors.data or []) if batch.errors is not None else []
    errors = tuple(
        f"{e.code or 'error'}: {e.message or ''}" + (f" (line {e.line})" if e.line is not None else "")
        for e in reported
    )
    return BatchStatus(
        status=batch.status,
        completed=counts.completed if counts is not None else 0,
        failed=counts.failed if counts is not None else 0,
        total=counts.total if counts is not None else 0,
        output_file_id=batch.output_file_id,
        error_file_id=batch.error_file_id,
        errors=errors,
    )
