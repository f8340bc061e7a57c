"""The OpenAI batch API (``/v1/files`` and ``/v1/batches``) as a :class:`~eval_assets.llm.batch.BatchClient`.

It works with the OpenAI API or any server implementing those endpoints. It uses one
``openai.AsyncOpenAI`` per batch client, closed on exit, rather than litellm's file/batch functions, which
in litellm 1.106.2 leak an HTTP client per call. ``openai`` is imported on entry, not with this module.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from eval_assets.config import ModelSpec
from eval_assets.llm.batch import BatchJob, BatchStatus
from eval_assets.llm.batch_lines import CHAT_COMPLETIONS_URL, batch_line
from eval_assets.llm.calls import ModelCall
from eval_assets.llm.litellm_provider import MissingApiKeyError
from eval_assets.llm.redaction import remember_key_variable
from eval_assets.llm.routing import OPENAI_API_BASE, required_key_env  # one home for endpoint and key rule

if TYPE_CHECKING:
    import openai
    from openai.types import Batch

#: OpenAI's limit of requests in one batch input file.
MAX_BATCH_REQUESTS = 50_000


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
