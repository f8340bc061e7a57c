"""A local, OpenAI-compatible HTTP server with fault injection, for tests and benchmarks.

It lets tests drive the *real* litellm -> openai SDK -> httpx path against 127.0.0.1, so retry,
timeout, circuit-breaker and batch logic is exercised exactly as in production, without a network.

Quick start::

    from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan

    with FakeOpenAIServer(latency_s=0.01, faults=FaultPlan(rate_limit=0.2)) as server:
        resp = await litellm.acompletion(model="openai/fake-model", api_base=server.base_url,
                                         api_key="sk-test", messages=[...], num_retries=0)
        server.count("429"); server.faults.rate_limit = 0.0   # faults are mutable at runtime

Benchmarks can run it in a separate process (so it never competes with the client for the GIL)::

    python -m eval_assets_tests.fake_openai.server --port 0 --latency-ms 50 [--rate-limit 0.05 ...]

which prints ``LISTENING http://127.0.0.1:PORT/v1`` on stdout and serves until SIGTERM/SIGINT.

Chat completions (``POST /v1/chat/completions``)
------------------------------------------------
* Reply content is a pure function of the request: if the last ``user`` message has a line
  ``ANSWER: xyz`` the reply is exactly ``xyz`` (the *last* such line wins), otherwise it is
  ``"Echo: <text of the last user message>"``. Content given as a list of parts contributes its
  ``text`` parts joined by newlines.
* Tokens are whitespace-separated words. ``prompt_tokens`` = words of every message + 3 per message;
  ``completion_tokens`` = words of the reply (times ``n``). ``max_completion_tokens`` (preferred) or
  ``max_tokens`` truncates the reply after that many words and sets ``finish_reason="length"``.
* ``n`` > 1 returns identical choices. ``stream: true`` is rejected with 400 (not supported).
* ``model`` in the response is always the server's ``model_version``.
* ``omit_usage=True`` leaves ``usage`` out of every completion (direct and batch), like servers that
  do not report it: clients must then record unknown tokens and cost, not 0.
* If ``api_key`` was given, every ``/v1`` endpoint requires ``Authorization: Bearer <key>`` (else 401,
  ``code="invalid_api_key"``).
* ``latency_s`` is an ``await asyncio.sleep`` applied to every chat response (ok or error), so
  concurrent requests overlap.

Order of decisions for one chat request: auth (401) -> ``always_status`` -> JSON/validation (400)
-> ``fail_first_n`` (500; counts the valid, authorised requests of the server's life, never reset)
-> random fault draw -> ok.

Fault draws are deterministic: ``u = sha256(seed, attempt, canonical JSON of the body)`` mapped into
``[0, 1)``, where ``attempt`` counts how many times the server has already seen that exact body
(0 for the first time). ``u`` is compared with the cumulative fractions in the order rate_limit,
server_error, hang, malformed, bad_request. So a run is reproducible, and a retried body gets a fresh,
independent draw (it may fail once and succeed on the retry). Attempt counters live for the server's
life (``reset_attempts()`` clears them; ``reset_log()`` does not).

Error bodies follow OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``. Outcomes, as
recorded in ``RecordedRequest.outcome``:

* ``"ok"``: 200 chat.completion.
* ``"429"``: type ``"requests"``, code ``"rate_limit_exceeded"``, headers ``Retry-After`` = retry_after_s
  (whole numbers as ints, else ``%g``: 0.05 is sent as ``"0.05"``) and ``retry-after-ms`` (int ms, ``"50"``).
* ``"500"``: type/code ``"server_error"``; also what ``fail_first_n`` answers.
* ``"hang"``: the handler sleeps ``hang_s`` and then answers normally; the client's timeout should fire
  first (the handler is cancelled as soon as the client disconnects, so shutdown stays fast).
* ``"malformed"``: 200, ``Content-Type: application/json``, body is truncated JSON.
* ``"400"``: type ``"invalid_request_error"``: the ``bad_request`` fault (code ``"invalid_value"``) and
  every validation failure (bad JSON, no messages, ``stream: true``, ``max_tokens < 1``).
* ``"401"``: type ``"invalid_request_error"``, code ``"invalid_api_key"`` (wrong/missing key).
* ``"<status>"``: ``always_status`` (e.g. ``"503"``, server_error body; 429 and 401 get the bodies above).

Hostile modes (security tests; attributes, mutable at runtime, also CLI flags)
------------------------------------------------------------------------------
* ``credentials_seen``: ``(method, path, header, value)`` of every credential header
  (:data:`CREDENTIAL_HEADERS`: ``authorization``, ``x-api-key``, ``api-key``...) of every HTTP request the
  server received, any path, any outcome: a test asserts a second origin never saw one.
* ``echo_credentials=True``: every error body (401, ``always_status``, redirects) quotes the credential
  headers received, as careless servers and proxies do ("... you sent Authorization: Bearer sk-...").
* ``redirect_to="http://127.0.0.1:OTHER"``: every ``/v1/...`` request answers ``307`` with
  ``Location: <redirect_to><path>`` before any auth check (outcome ``"307"``). Point it at a second server
  to test that credentials never follow a redirect to another origin.
* ``gzip_bomb_bytes=N``: every successful chat (or messages) answer is a valid gzip stream of N zero bytes
  with ``Content-Encoding: gzip`` (400 MiB compress to ~400 KB, built in well under a second by repeating
  one sync-flushed block; outcome ``"gzip_bomb"``). ``oversize_bytes=N``: the normal completion followed
  by N spaces, uncompressed (valid JSON, far too large; outcome ``"oversize"``).
* ``POST /v1/messages``: a small Anthropic Messages endpoint for litellm's ``anthropic/`` path
  (``x-api-key`` auth against ``api_key``, Anthropic-shaped answers and errors, ``always_status``, the
  hostile modes above; the reply is ``reply_for(messages)``). Recorded in ``requests`` with that path.

What litellm 1.106.2 raises (pinned by ``test_server.py``; ``acompletion(..., num_retries=0)``)
-----------------------------------------------------------------------------------------------
Each fault costs exactly one HTTP request (no hidden openai-SDK retry when ``num_retries=0``).

* 429 -> ``litellm.RateLimitError``, ``status_code == 429``. **The server's headers are only on
  ``exc.litellm_response_headers``** (an ``httpx.Headers``, case-insensitive):
  ``exc.litellm_response_headers["retry-after"] == "0.05"``, ``["retry-after-ms"] == "50"``.
  ``exc.response.headers`` is empty (litellm rebuilds ``exc.response`` without them) and ``exc.headers``
  is ``None`` (only filled for proxy-side limits). litellm's own
  ``litellm.utils._get_retry_after_from_exception_header`` does ``int(retry-after)`` and so returns -1
  for fractional values: read ``retry-after-ms`` (float ms) first, then ``retry-after`` as a float,
  like the openai SDK does. ``litellm_response_headers`` is also set for 400/401/500/503, and is
  ``None`` for timeouts and malformed bodies.
* 500 -> ``litellm.InternalServerError``, ``status_code == 500``.
* 503 (``always_status=503``) -> ``litellm.ServiceUnavailableError``, ``status_code == 503``.
* 400 -> ``litellm.BadRequestError``, ``status_code == 400`` (permanent: do not retry).
* 401 -> ``litellm.AuthenticationError``, ``status_code == 401``.
* hang -> ``litellm.Timeout`` (an ``openai.APITimeoutError``), ``status_code == 408``, when ``timeout=``
  elapses.
* malformed -> ``litellm.InternalServerError``, ``status_code == 500``, message contains the JSON
  decoder's error (``"Unterminated string ..."``): indistinguishable by class from a real 500, so it is
  retried like one.
* All are ``openai.APIError`` subclasses. ``RateLimitError``, ``InternalServerError``,
  ``BadRequestError`` and ``AuthenticationError`` also subclass the openai SDK class of the same name.

Under ``filterwarnings = error``, litellm's first completion in a process makes pydantic warn
``Item 'summary' on TypedDict class 'ChatCompletionReasoningItem' is using the `ReadOnly` qualifier``
(a UserWarning), which litellm turns into ``litellm.APIConnectionError``; ``test_server.py`` ignores
exactly that message.

Files + Batches
---------------
``POST /v1/files`` (multipart: ``file``, ``purpose``), ``GET /v1/files/{id}``,
``GET /v1/files/{id}/content``, ``DELETE /v1/files/{id}``, ``POST /v1/batches``
(``input_file_id``, ``endpoint="/v1/chat/completions"``, ``completion_window="24h"``),
``GET /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``.

A new batch is ``validating``. Each ``GET /v1/batches/{id}`` is a poll: polls before
``batch_polls_to_complete`` answer ``in_progress``, the poll number ``batch_polls_to_complete`` (or the
first poll, if it is <= 1) runs every line through the same reply function and answers ``completed``
with ``request_counts`` and ``output_file_id`` (and ``error_file_id`` when some line failed
validation, e.g. ``max_tokens: 0``, ``stream: true`` or no ``messages``; such lines get
``response.status_code == 400``). Output lines are
``{"id", "custom_id", "response": {"status_code", "request_id", "body": <chat.completion>}, "error": null}``.
An input file that is not valid JSONL of ``{"custom_id", "method": "POST",
"url": "/v1/chat/completions", "body"}`` objects (or has duplicate custom_ids) makes the batch
``failed`` with ``errors``. ``cancel`` moves a running batch to ``cancelling``; the next poll answers
``cancelled``; cancelling a finished batch is a 400. Random faults and latency do not apply to batch
endpoints (auth does). Every served batch line is recorded in ``server.batch_requests``
(``count_batch()``), never in ``server.requests``; ``server.batch_stats`` counts
files_uploaded / batches_created / batch_polls / batches_cancelled / file_content_reads, and
``server.http_log`` lists ``(method, path, status)`` of every HTTP request.

Call sequence that works with litellm 1.106.2 against this server (see ``test_batch_flow_with_litellm``)::

    kw = dict(custom_llm_provider="openai", api_base=server.base_url, api_key="sk-test")
    f = await litellm.acreate_file(file=("in.jsonl", jsonl_bytes), purpose="batch", **kw)
    b = await litellm.acreate_batch(input_file_id=f.id, endpoint="/v1/chat/completions",
                                    completion_window="24h", **kw)
    while b.status not in {"completed", "failed", "cancelled", "expired"}:
        b = await litellm.aretrieve_batch(batch_id=b.id, **kw,
                                          litellm_metadata={"batch_ignore_default_logging": True})
    out = await litellm.afile_content(file_id=b.output_file_id, **kw)   # out.content: JSONL bytes
    await litellm.acancel_batch(batch_id=other.id, **kw)                 # -> status "cancelling"

``api_base`` is the same ``.../v1`` URL used for chat. Two litellm 1.106.2 pitfalls found here:

* For provider "openai" these five functions build a **new ``AsyncOpenAI`` per call and never close
  it** (``client=`` is not passed through). The leaked clients are reference cycles holding pooled
  sockets: when the collector reaps them you get ``ResourceWarning: unclosed transport``, or their
  ``__del__`` schedules ``aclose()`` on whatever loop is running in the collecting thread.
  ``test_server.py`` closes them explicitly (``_closing_litellm_file_clients``). Production batch code
  is cleaner with one ``openai.AsyncOpenAI(base_url=..., api_key=...)`` used as ``async with`` (the
  ``test_batch_flow_with_the_openai_sdk`` sequence: ``client.files.create(file=(name, bytes),
  purpose="batch")``, ``client.batches.create/retrieve/cancel``, ``client.files.content(id).content``).
* ``aretrieve_batch`` of a *completed* batch makes litellm's success logging download the output file
  itself for cost tracking (an extra ``GET /v1/files/{id}/content`` on yet another leaked client)
  unless ``litellm_metadata={"batch_ignore_default_logging": True}`` is passed.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import re
import signal
import socket
import struct
import sys
import threading
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Final, Self

from aiohttp import BodyPartReader, web

try:  # orjson is much faster for the benchmark path; fall back to the stdlib.
    import orjson

    def _dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)

    def _loads(data: bytes | str) -> Any:
        return orjson.loads(data)

    _JSONDecodeError: tuple[type[Exception], ...] = (orjson.JSONDecodeError,)
except ImportError:  # pragma: no cover - orjson is installed in the dev venv
    import json

    def _dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

    def _loads(data: bytes | str) -> Any:
        return json.loads(data)

    _JSONDecodeError = (json.JSONDecodeError, UnicodeDecodeError)

import json as _stdjson  # canonical hashing must not depend on which JSON library is installed

__all__ = ["FakeOpenAIServer", "FaultPlan", "RecordedRequest", "main", "reply_for"]

DEFAULT_MODEL_VERSION: Final = "fake-model-2026-01-01"
CHAT_PATH: Final = "/v1/chat/completions"
MESSAGES_PATH: Final = "/v1/messages"
#: Request headers that carry credentials, recorded in ``credentials_seen`` (lower case).
CREDENTIAL_HEADERS: Final = ("authorization", "x-api-key", "api-key", "x-goog-api-key", "proxy-authorization")
_WORD_RE: Final = re.compile(r"\S+")
_ANSWER_RE: Final = re.compile(r"^[ \t]*ANSWER:[ \t]*(.*?)[ \t\r]*$", re.MULTILINE)
_MALFORMED_BODY: Final = b'{"id": "chatcmpl-malformed", "object": "chat.completion", "choices": [{"index": 0, "mess'
_TERMINAL_BATCH: Final = frozenset({"completed", "failed", "cancelled", "expired"})


# --------------------------------------------------------------------------------------------------
# Public data types
# --------------------------------------------------------------------------------------------------


@dataclass
class FaultPlan:
    """What fraction of chat requests fail, and how. Mutable at runtime (``server.faults.x = ...``).

    Fractions are decided deterministically per request by ``sha256(seed, attempt, body)`` (see the
    module docstring), checked in the field order below; their sum should be <= 1.
    """

    rate_limit: float = 0.0  # 429 with Retry-After (seconds) and retry-after-ms headers
    retry_after_s: float = 0.05
    server_error: float = 0.0  # 500
    hang: float = 0.0  # sleep hang_s before answering (a client timeout should fire)
    hang_s: float = 30.0
    malformed: float = 0.0  # 200 with a broken JSON body
    bad_request: float = 0.0  # 400 invalid_request_error (permanent)
    fail_first_n: int = 0  # the first N chat requests of the server's life get 500
    always_status: int | None = None  # every chat request answers this status (outage simulation)

    def __post_init__(self) -> None:
        fractions = (self.rate_limit, self.server_error, self.hang, self.malformed, self.bad_request)
        if any(not 0.0 <= f <= 1.0 for f in fractions):
            raise ValueError(f"fault fractions must be in [0, 1]: {self}")
        if sum(fractions) > 1.0 + 1e-9:
            raise ValueError(f"fault fractions sum to more than 1: {self}")
        if self.always_status is not None and not 100 <= self.always_status <= 599:
            raise ValueError(f"always_status must be an HTTP status, got {self.always_status}")


@dataclass(frozen=True)
class RecordedRequest:
    """One chat request as the server saw it.

    ``headers`` has lower-cased names. ``time`` is ``time.monotonic()`` at arrival (comparable with the
    test process's clock on Linux, also across processes). ``attempt`` is how often this exact body had
    been seen before (0 = first). ``body`` is ``None`` if it was not valid JSON. For batch lines
    ``path`` is the line's ``url`` and ``batch_id`` / ``custom_id`` are set.
    """

    path: str
    body: Any
    headers: Mapping[str, str]
    outcome: str
    status: int
    time: float
    attempt: int = 0
    batch_id: str | None = None
    custom_id: str | None = None

    @property
    def api_key(self) -> str | None:
        """The key sent as ``Authorization: Bearer`` (OpenAI) or ``x-api-key`` (Anthropic), if any."""
        auth = self.headers.get("authorization", "")
        return auth[7:] if auth.lower().startswith("bearer ") else self.headers.get("x-api-key")


# --------------------------------------------------------------------------------------------------
# Pure helpers (shared by the direct and the batch path)
# --------------------------------------------------------------------------------------------------


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"]
        return "\n".join(str(p) for p in parts)
    return str(content)


def reply_for(messages: Sequence[Mapping[str, Any]]) -> str:
    """The untruncated reply the server gives for ``messages`` (see the module docstring)."""
    text = ""
    for message in reversed(messages):
        if message.get("role") == "user":
            text = _text_of(message.get("content"))
            break
    answers = _ANSWER_RE.findall(text)
    if answers:
        return str(answers[-1])
    return f"Echo: {text}"


def _count_words(text: str) -> int:
    return len(_WORD_RE.findall(text))


def _error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _validate_chat_body(body: Any) -> str | None:
    """Return an error message if ``body`` is not an acceptable chat.completions request."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object."
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array."
    if any(not isinstance(m, dict) or "role" not in m for m in messages):
        return "Each message must be an object with a 'role'."
    if body.get("stream"):
        return "stream=true is not supported by the fake server; send stream=false."
    for key in ("max_completion_tokens", "max_tokens"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            return f"Invalid '{key}': expected an integer >= 1, got {value!r}."
    n = body.get("n", 1)
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 128):
        return f"Invalid 'n': {n!r}."
    return None


def _build_completion(
    body: dict[str, Any], *, completion_id: str, model_version: str, include_usage: bool = True
) -> dict[str, Any]:
    messages = body["messages"]
    reply = reply_for(messages)
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    spans = list(_WORD_RE.finditer(reply))
    finish_reason = "stop"
    if limit is not None and len(spans) > limit:
        reply = reply[: spans[limit - 1].end()]
        spans = spans[:limit]
        finish_reason = "length"
    n = body.get("n") or 1
    prompt_tokens = sum(_count_words(_text_of(m.get("content"))) + 3 for m in messages)
    completion_tokens = len(spans) * n
    completion: dict[str, Any] = {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model_version,
        "system_fingerprint": "fp_fake_openai",
        "choices": [
            {
                "index": i,
                "message": {"role": "assistant", "content": reply, "refusal": None},
                "logprobs": None,
                "finish_reason": finish_reason,
            }
            for i in range(n)
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0},
        },
    }
    if not include_usage:
        del completion["usage"]
    return completion


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A valid gzip stream of ``size`` zero bytes, built without compressing them all.

    Once zlib's window is all zeros, each sync-flushed 1 MiB of zeros compresses to the same bytes, so the
    stream is the first block, that block repeated, the final block and a trailer (CRC-32 and length).
    """
    chunk = 1 << 20
    zeros = bytes(chunk)
    count, rest = divmod(size, chunk)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)] if count else []
    if count > 1:
        parts.append((compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)) * (count - 1))
    parts.append(compressor.compress(bytes(rest)) + compressor.flush()[:-8])  # final block, without the trailer
    crc = zlib.crc32(bytes(rest), functools.reduce(lambda c, _: zlib.crc32(zeros, c), range(count), 0))
    return b"".join(parts) + struct.pack("<II", crc, size & 0xFFFFFFFF)


def _draw(seed: int, attempt: int, canonical_body: bytes) -> float:
    digest = hashlib.sha256(f"{seed}:{attempt}:".encode() + canonical_body).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def _json_response(payload: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=_dumps(payload), status=status, content_type="application/json", headers=headers)


# --------------------------------------------------------------------------------------------------
# Batch state
# --------------------------------------------------------------------------------------------------


@dataclass
class _StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class _Batch:
    id: str
    input_file_id: str
    endpoint: str
    completion_window: str
    metadata: dict[str, Any] | None
    created_at: int
    status: str = "validating"
    polls: int = 0
    output_file_id: str | None = None
    error_file_id: str | None = None
    errors: dict[str, Any] | None = None
    counts: dict[str, int] = field(default_factory=lambda: {"total": 0, "completed": 0, "failed": 0})
    stamps: dict[str, int | None] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "in_progress_at",
                "finalizing_at",
                "completed_at",
                "failed_at",
                "expired_at",
                "cancelling_at",
                "cancelled_at",
            )
        )
    )

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "batch",
            "endpoint": self.endpoint,
            "errors": self.errors,
            "input_file_id": self.input_file_id,
            "completion_window": self.completion_window,
            "status": self.status,
            "output_file_id": self.output_file_id,
            "error_file_id": self.error_file_id,
            "created_at": self.created_at,
            "expires_at": self.created_at + 24 * 3600,
            **self.stamps,
            "request_counts": dict(self.counts),
            "metadata": self.metadata,
        }


# --------------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------------

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeOpenAIServer:
    """OpenAI-compatible server on 127.0.0.1 in a background thread (context manager).

    ``requests`` / ``batch_requests`` return thread-safe snapshots. ``faults`` and ``latency_s`` may be
    changed at any time; the next request sees the new values.
    """

    def __init__(
        self,
        *,
        latency_s: float = 0.0,
        faults: FaultPlan | None = None,
        model_version: str = DEFAULT_MODEL_VERSION,
        omit_usage: bool = False,
        seed: int = 0,
        api_key: str | None = None,
        batch_polls_to_complete: int = 2,
        port: int = 0,
        redirect_to: str | None = None,
        echo_credentials: bool = False,
        gzip_bomb_bytes: int = 0,
        oversize_bytes: int = 0,
    ) -> None:
        self.latency_s = latency_s
        self.redirect_to = redirect_to
        self.echo_credentials = echo_credentials
        self.gzip_bomb_bytes = gzip_bomb_bytes
        self.oversize_bytes = oversize_bytes
        self._credentials: list[tuple[str, str, str, str]] = []
        self.faults = faults if faults is not None else FaultPlan()
        self.model_version = model_version
        self.omit_usage = omit_usage
        self.seed = seed
        self.api_key = api_key
        self.batch_polls_to_complete = batch_polls_to_complete
        self._requested_port = port
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._batch_requests: list[RecordedRequest] = []
        self._http_log: list[tuple[str, str, int]] = []
        self._attempts: dict[bytes, int] = {}
        self._chat_seen = 0  # chat requests that reached the fail_first_n stage, for the server's life
        self._seq = 0
        self._files: dict[str, _StoredFile] = {}
        self._batches: dict[str, _Batch] = {}
        self._batch_stats: dict[str, int] = dict.fromkeys(
            ("files_uploaded", "batches_created", "batch_polls", "batches_cancelled", "file_content_reads"), 0
        )
        self._port: int | None = None
        self._runner: web.AppRunner | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------------- public API
    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("server is not running")
        return self._port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/v1`` — pass as litellm ``api_base`` / openai ``base_url``."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every direct chat request received (batch lines are in ``batch_requests``)."""
        with self._lock:
            return list(self._requests)

    @property
    def batch_requests(self) -> list[RecordedRequest]:
        """Snapshot of every chat request served through a batch (one per JSONL line)."""
        with self._lock:
            return list(self._batch_requests)

    @property
    def http_log(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of every answered HTTP request, all endpoints, in order."""
        with self._lock:
            return list(self._http_log)

    @property
    def credentials_seen(self) -> list[tuple[str, str, str, str]]:
        """``(method, path, header, value)`` of every credential header received, all requests, in order."""
        with self._lock:
            return list(self._credentials)

    @property
    def batch_stats(self) -> dict[str, int]:
        with self._lock:
            return dict(self._batch_stats)

    def count(self, outcome: str | None = None) -> int:
        """Number of direct chat requests, optionally only those with ``outcome`` ("ok", "429", ...)."""
        with self._lock:
            if outcome is None:
                return len(self._requests)
            return sum(1 for r in self._requests if r.outcome == outcome)

    def count_batch(self, outcome: str | None = None) -> int:
        with self._lock:
            if outcome is None:
                return len(self._batch_requests)
            return sum(1 for r in self._batch_requests if r.outcome == outcome)

    def reset_log(self) -> None:
        """Forget recorded requests (direct, batch, http_log); attempt counters and fail_first_n stay."""
        with self._lock:
            self._requests.clear()
            self._batch_requests.clear()
            self._http_log.clear()

    def reset_attempts(self) -> None:
        """Forget how often each body was seen, so fault draws restart from attempt 0."""
        with self._lock:
            self._attempts.clear()

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError("server already started")
        sock = _bind_socket(self._requested_port)
        self._port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run_loop, args=(loop,), name="fake-openai", daemon=True)
        self._thread.start()
        try:
            asyncio.run_coroutine_threadsafe(self._start_async(sock, shutdown_timeout=0.25), loop).result(10)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            if self._runner is not None:
                asyncio.run_coroutine_threadsafe(self._stop_async(), loop).result(10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10)
            self._loop = self._thread = None
            self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- lifecycle internals
    @staticmethod
    def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=512 * 1024**2, middlewares=[self._error_middleware])
        app.router.add_post(CHAT_PATH, self._handle_chat)
        app.router.add_post(MESSAGES_PATH, self._handle_messages)
        app.router.add_get("/v1/models", self._handle_models)
        app.router.add_get("/v1/models/{model}", self._handle_model)
        app.router.add_post("/v1/files", self._handle_file_upload)
        app.router.add_get("/v1/files/{file_id}", self._handle_file_get)
        app.router.add_delete("/v1/files/{file_id}", self._handle_file_delete)
        app.router.add_get("/v1/files/{file_id}/content", self._handle_file_content)
        app.router.add_post("/v1/batches", self._handle_batch_create)
        app.router.add_get("/v1/batches", self._handle_batch_list)
        app.router.add_get("/v1/batches/{batch_id}", self._handle_batch_get)
        app.router.add_post("/v1/batches/{batch_id}/cancel", self._handle_batch_cancel)
        app.router.add_get("/health", self._handle_health)
        return app

    async def _start_async(self, sock: socket.socket, *, shutdown_timeout: float) -> None:
        try:
            runner = web.AppRunner(
                self.make_app(), access_log=None, handler_cancellation=True, shutdown_timeout=shutdown_timeout
            )
            await runner.setup()
            self._runner = runner
            await web.SockSite(runner, sock, backlog=2048).start()
        except BaseException:
            sock.close()
            raise

    async def _stop_async(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    # ---------------------------------------------------------------- plumbing
    def _next_id(self, prefix: str) -> str:
        with self._lock:
            self._seq += 1
            return f"{prefix}{self._seq:08d}"

    def _auth_error(self, request: web.Request) -> web.Response | None:
        if self.api_key is None:
            return None
        if request.headers.get("Authorization", "") == f"Bearer {self.api_key}":
            return None
        return _json_response(
            _error_body(
                "Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys."
                + self._echo(request),
                "invalid_request_error",
                "invalid_api_key",
            ),
            status=401,
        )

    def _echo(self, request: web.Request) -> str:
        """With ``echo_credentials``: the credential headers received, quoted back like a careless server."""
        if not self.echo_credentials:
            return ""
        sent = [f"{name}: {value}" for name, value in request.headers.items() if name.lower() in CREDENTIAL_HEADERS]
        return f" You sent {'; '.join(sent) or 'no credentials'}."

    def _redirect(self, request: web.Request) -> web.Response | None:
        if self.redirect_to is None or not request.path.startswith("/v1/"):
            return None
        location = self.redirect_to.rstrip("/") + request.path_qs
        if request.path in (CHAT_PATH, MESSAGES_PATH):
            headers = {k.lower(): v for k, v in request.headers.items()}
            self._record(RecordedRequest(request.path, None, headers, "307", 307, time.monotonic()))
        text = f"Moved to {location}.{self._echo(request)}"
        return web.Response(status=307, headers={"Location": location}, text=text)

    @web.middleware
    async def _error_middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        with self._lock:
            self._credentials.extend(
                (request.method, request.path, name.lower(), value)
                for name, value in request.headers.items()
                if name.lower() in CREDENTIAL_HEADERS
            )
        redirect = self._redirect(request)
        response = redirect if redirect is not None else await self._dispatch(request, handler)
        with self._lock:
            self._http_log.append((request.method, request.path, response.status))
        return response

    async def _dispatch(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        if request.path.startswith("/v1/") and request.path not in (CHAT_PATH, MESSAGES_PATH):
            denied = self._auth_error(request)
            if denied is not None:
                return denied
        try:
            return await handler(request)
        except _ApiError as exc:
            return exc.response
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            type_ = "invalid_request_error" if exc.status < 500 else "server_error"
            return _json_response(
                _error_body(f"{exc.reason}: {request.method} {request.path}", type_, None), status=exc.status
            )

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._requests.append(request)

    # ---------------------------------------------------------------- chat
    async def _handle_chat(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        faults = self.faults

        def record(outcome: str, status: int, body: Any, attempt: int = 0) -> None:
            self._record(RecordedRequest(CHAT_PATH, body, headers, outcome, status, arrived, attempt))

        denied = self._auth_error(request)
        if denied is not None:
            record("401", 401, _try_loads(raw))
            return await self._after_latency(denied)

        if faults.always_status is not None:
            status = faults.always_status
            record(str(status), status, _try_loads(raw))
            return await self._after_latency(self._status_response(status, faults, echo=self._echo(request)))

        try:
            body = _loads(raw)
        except _JSONDecodeError:
            record("400", 400, None)
            return await self._after_latency(
                _json_response(
                    _error_body("We could not parse the JSON body of your request.", "invalid_request_error", None),
                    status=400,
                )
            )
        problem = _validate_chat_body(body)
        if problem is not None:
            record("400", 400, body)
            return await self._after_latency(
                _json_response(_error_body(problem, "invalid_request_error", None), status=400)
            )

        with self._lock:
            self._chat_seen += 1
            first_n = self._chat_seen <= faults.fail_first_n
        if first_n:
            record("500", 500, body)
            return await self._after_latency(self._status_response(500, faults, echo=self._echo(request)))

        bomb = self._bomb_response(lambda: self._ok_response(body))
        if bomb is not None:
            record(bomb[0], 200, body)
            return await self._after_latency(bomb[1])

        outcome, attempt = self._decide(body, faults)
        record(outcome, _OUTCOME_STATUS[outcome], body, attempt)
        if outcome == "hang":
            await asyncio.sleep(faults.hang_s)
            return self._ok_response(body)
        if outcome == "ok":
            return await self._after_latency(self._ok_response(body))
        if outcome == "malformed":
            return await self._after_latency(
                web.Response(body=_MALFORMED_BODY, status=200, content_type="application/json")
            )
        if outcome == "400":
            return await self._after_latency(
                _json_response(
                    _error_body(
                        "Invalid request (injected bad_request fault)." + self._echo(request),
                        "invalid_request_error",
                        "invalid_value",
                    ),
                    status=400,
                )
            )
        return await self._after_latency(self._status_response(int(outcome), faults, echo=self._echo(request)))

    def _decide(self, body: Any, faults: FaultPlan) -> tuple[str, int]:
        thresholds = (
            ("429", faults.rate_limit),
            ("500", faults.server_error),
            ("hang", faults.hang),
            ("malformed", faults.malformed),
            ("400", faults.bad_request),
        )
        if not any(fraction > 0 for _, fraction in thresholds):
            return "ok", 0
        canonical = _stdjson.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
        key = hashlib.sha256(canonical).digest()
        with self._lock:
            attempt = self._attempts.get(key, 0)
            self._attempts[key] = attempt + 1
        u = _draw(self.seed, attempt, canonical)
        edge = 0.0
        for outcome, fraction in thresholds:
            edge += fraction
            if u < edge:
                return outcome, attempt
        return "ok", attempt

    async def _after_latency(self, response: web.Response) -> web.Response:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s)
        return response

    def _ok_response(self, body: dict[str, Any]) -> web.Response:
        completion_id = self._next_id("chatcmpl-fake")
        payload = _build_completion(
            body, completion_id=completion_id, model_version=self.model_version, include_usage=not self.omit_usage
        )
        return _json_response(
            payload,
            headers={"x-request-id": f"req_{completion_id[8:]}", "openai-processing-ms": "1"},
        )

    @staticmethod
    def _status_response(status: int, faults: FaultPlan, *, echo: str = "") -> web.Response:
        headers: dict[str, str] = {}
        if status == 429:
            body = _error_body(
                "Rate limit reached for requests (injected by the fake OpenAI server).",
                "requests",
                "rate_limit_exceeded",
            )
            headers["Retry-After"] = _format_seconds(faults.retry_after_s)
            headers["retry-after-ms"] = str(round(faults.retry_after_s * 1000))
        elif status == 401:
            body = _error_body("Incorrect API key provided (injected).", "invalid_request_error", "invalid_api_key")
        elif status >= 500:
            body = _error_body(
                "The server had an error while processing your request (injected).",
                "server_error",
                "server_error",
            )
        else:
            body = _error_body(f"Injected HTTP {status}.", "invalid_request_error", None)
        body["error"]["message"] += echo
        return _json_response(body, status=status, headers=headers)

    def _bomb_response(self, ok: Callable[[], web.Response]) -> tuple[str, web.Response] | None:
        """The hostile answer replacing a successful one, when a bomb mode is on: (outcome, response)."""
        if self.gzip_bomb_bytes > 0:
            bomb = gzip_bomb(self.gzip_bomb_bytes)
            headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
            return "gzip_bomb", web.Response(body=bomb, headers=headers)
        if self.oversize_bytes > 0:
            response = ok()
            assert isinstance(response.body, bytes)
            padded = response.body + b" " * self.oversize_bytes
            return "oversize", web.Response(body=padded, content_type="application/json")
        return None

    # ---------------------------------------------------------------- Anthropic messages
    async def _handle_messages(self, request: web.Request) -> web.StreamResponse:
        """``POST /v1/messages``, Anthropic-style: enough of the protocol for litellm's ``anthropic/`` path."""
        arrived = time.monotonic()
        raw = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = _try_loads(raw)

        def record(outcome: str, status: int) -> None:
            self._record(RecordedRequest(MESSAGES_PATH, body, headers, outcome, status, arrived))

        def error(status: int, type_: str, message: str) -> web.Response:
            payload = {"type": "error", "error": {"type": type_, "message": message + self._echo(request)}}
            return _json_response(payload, status=status)

        if self.api_key is not None and headers.get("x-api-key") != self.api_key:
            record("401", 401)
            return await self._after_latency(error(401, "authentication_error", "invalid x-api-key"))
        status = self.faults.always_status
        if status is not None:
            record(str(status), status)
            return await self._after_latency(error(status, "api_error", f"Injected HTTP {status}."))
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            record("400", 400)
            return await self._after_latency(error(400, "invalid_request_error", "messages: field required"))
        messages = body["messages"]
        reply = reply_for(messages)
        ok = _json_response(
            {
                "id": self._next_id("msg_fake"),
                "type": "message",
                "role": "assistant",
                "model": self.model_version,
                "content": [{"type": "text", "text": reply}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {
                    "input_tokens": sum(_count_words(_text_of(m.get("content"))) + 3 for m in messages),
                    "output_tokens": _count_words(reply),
                },
            }
        )
        bomb = self._bomb_response(lambda: ok)
        if bomb is not None:
            record(bomb[0], 200)
            return await self._after_latency(bomb[1])
        record("ok", 200)
        return await self._after_latency(ok)

    # ---------------------------------------------------------------- models, health
    async def _handle_models(self, request: web.Request) -> web.Response:
        return _json_response({"object": "list", "data": [self._model_json()]})

    async def _handle_model(self, request: web.Request) -> web.Response:
        return _json_response(self._model_json() | {"id": request.match_info["model"]})

    def _model_json(self) -> dict[str, Any]:
        return {"id": self.model_version, "object": "model", "created": 1767225600, "owned_by": "fake-openai"}

    async def _handle_health(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    # ---------------------------------------------------------------- files
    def _store_file(self, filename: str, purpose: str, data: bytes) -> _StoredFile:
        stored = _StoredFile(self._next_id("file-fake"), filename, purpose, data, int(time.time()))
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def _get_file(self, file_id: str) -> _StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None:
            raise _not_found(f"No such File object: {file_id}")
        return stored

    async def _handle_file_upload(self, request: web.Request) -> web.Response:
        purpose: str | None = None
        data: bytes | None = None
        filename = "upload.jsonl"
        if not request.content_type.startswith("multipart/"):
            return _bad_request("Expected a multipart/form-data upload with 'file' and 'purpose'.")
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "purpose":
                purpose = await part.text()
            elif part.name == "file":
                filename = part.filename or filename
                data = bytes(await part.read(decode=True))
            else:
                await part.release()
        if data is None or not purpose:
            return _bad_request("Both 'file' and 'purpose' are required.")
        stored = self._store_file(filename, purpose, data)
        with self._lock:
            self._batch_stats["files_uploaded"] += 1
        return _json_response(stored.to_json())

    async def _handle_file_get(self, request: web.Request) -> web.Response:
        return _json_response(self._get_file(request.match_info["file_id"]).to_json())

    async def _handle_file_delete(self, request: web.Request) -> web.Response:
        stored = self._get_file(request.match_info["file_id"])
        with self._lock:
            self._files.pop(stored.id, None)
        return _json_response({"id": stored.id, "object": "file", "deleted": True})

    async def _handle_file_content(self, request: web.Request) -> web.Response:
        stored = self._get_file(request.match_info["file_id"])
        with self._lock:
            self._batch_stats["file_content_reads"] += 1
        return web.Response(body=stored.data, content_type="application/octet-stream")

    # ---------------------------------------------------------------- batches
    def _get_batch(self, batch_id: str) -> _Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None:
            raise _not_found(f"No such Batch object: {batch_id}")
        return batch

    async def _handle_batch_create(self, request: web.Request) -> web.Response:
        try:
            body = _loads(await request.read())
        except _JSONDecodeError:
            return _bad_request("We could not parse the JSON body of your request.")
        if not isinstance(body, dict):
            return _bad_request("Request body must be a JSON object.")
        input_file_id = body.get("input_file_id")
        with self._lock:
            known = input_file_id in self._files
        if not isinstance(input_file_id, str) or not known:
            return _bad_request(f"Invalid 'input_file_id': {input_file_id!r}.", param="input_file_id")
        if body.get("endpoint") != CHAT_PATH:
            return _bad_request(
                f"The fake server only batches {CHAT_PATH}, got {body.get('endpoint')!r}.", param="endpoint"
            )
        if body.get("completion_window") != "24h":
            return _bad_request("completion_window must be '24h'.", param="completion_window")
        batch = _Batch(
            id=self._next_id("batch_fake"),
            input_file_id=input_file_id,
            endpoint=CHAT_PATH,
            completion_window="24h",
            metadata=body.get("metadata"),
            created_at=int(time.time()),
        )
        with self._lock:
            self._batches[batch.id] = batch
            self._batch_stats["batches_created"] += 1
        return _json_response(batch.to_json())

    async def _handle_batch_list(self, request: web.Request) -> web.Response:
        with self._lock:
            data = [b.to_json() for b in self._batches.values()]
        return _json_response(
            {
                "object": "list",
                "data": data,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
                "has_more": False,
            }
        )

    async def _handle_batch_get(self, request: web.Request) -> web.Response:
        batch = self._get_batch(request.match_info["batch_id"])
        now = int(time.time())
        with self._lock:
            self._batch_stats["batch_polls"] += 1
            batch.polls += 1
            run = False
            if batch.status == "cancelling":
                batch.status = "cancelled"
                batch.stamps["cancelled_at"] = now
            elif batch.status in ("validating", "in_progress"):
                if batch.polls >= self.batch_polls_to_complete:
                    run = True
                else:
                    batch.status = "in_progress"
                    batch.stamps["in_progress_at"] = batch.stamps["in_progress_at"] or now
        if run:
            self._run_batch(batch, now)
        with self._lock:
            return _json_response(batch.to_json())

    async def _handle_batch_cancel(self, request: web.Request) -> web.Response:
        batch = self._get_batch(request.match_info["batch_id"])
        with self._lock:
            if batch.status in _TERMINAL_BATCH and batch.status != "cancelled":
                return _bad_request(f"Cannot cancel a batch with status '{batch.status}'.")
            if batch.status in ("validating", "in_progress"):
                batch.status = "cancelling"
                batch.stamps["cancelling_at"] = int(time.time())
                self._batch_stats["batches_cancelled"] += 1
            return _json_response(batch.to_json())

    def _run_batch(self, batch: _Batch, now: int) -> None:
        """Validate the input file and serve every line (synchronously; lines are cheap)."""
        data = self._files[batch.input_file_id].data
        lines: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        for number, line in enumerate(data.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = _loads(line)
            except _JSONDecodeError:
                errors.append({"code": "invalid_json_line", "message": "Line is not valid JSON.", "line": number})
                continue
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("custom_id"), str)
                or item.get("method") != "POST"
                or item.get("url") != CHAT_PATH
                or not isinstance(item.get("body"), dict)
            ):
                errors.append(
                    {
                        "code": "invalid_request",
                        "message": "Each line needs custom_id, method POST, url /v1/chat/completions, body.",
                        "line": number,
                    }
                )
                continue
            lines.append(item)
        if not lines and not errors:
            errors.append({"code": "empty_file", "message": "The input file has no requests.", "line": None})
        custom_ids = [item["custom_id"] for item in lines]
        if len(set(custom_ids)) != len(custom_ids):
            errors.append({"code": "duplicate_custom_id", "message": "custom_id values must be unique.", "line": None})
        if errors:
            with self._lock:
                batch.status = "failed"
                batch.errors = {"object": "list", "data": errors}
                batch.stamps["failed_at"] = now
            return

        outputs: list[bytes] = []
        failures: list[bytes] = []
        served: list[RecordedRequest] = []
        arrived = time.monotonic()
        for item in lines:
            body = item["body"]
            request_id = self._next_id("req_fake")
            problem = _validate_chat_body(body)
            if problem is None:
                response = {
                    "status_code": 200,
                    "request_id": request_id,
                    "body": _build_completion(
                        body,
                        completion_id=self._next_id("chatcmpl-fake"),
                        model_version=self.model_version,
                        include_usage=not self.omit_usage,
                    ),
                }
                outcome, status, sink = "ok", 200, outputs
            else:
                response = {
                    "status_code": 400,
                    "request_id": request_id,
                    "body": _error_body(problem, "invalid_request_error", None),
                }
                outcome, status, sink = "400", 400, failures
            sink.append(
                _dumps(
                    {
                        "id": self._next_id("batch_req_fake"),
                        "custom_id": item["custom_id"],
                        "response": response,
                        "error": None,
                    }
                )
            )
            served.append(
                RecordedRequest(
                    item["url"],
                    body,
                    {},
                    outcome,
                    status,
                    arrived,
                    batch_id=batch.id,
                    custom_id=item["custom_id"],
                )
            )
        output = self._store_file(f"{batch.id}_output.jsonl", "batch_output", b"\n".join(outputs) + b"\n")
        error_file = (
            self._store_file(f"{batch.id}_error.jsonl", "batch_output", b"\n".join(failures) + b"\n")
            if failures
            else None
        )
        with self._lock:
            self._batch_requests.extend(served)
            batch.status = "completed"
            batch.output_file_id = output.id
            batch.error_file_id = error_file.id if error_file else None
            batch.counts = {"total": len(lines), "completed": len(outputs), "failed": len(failures)}
            batch.stamps["in_progress_at"] = batch.stamps["in_progress_at"] or now
            batch.stamps["finalizing_at"] = now
            batch.stamps["completed_at"] = now

    # ---------------------------------------------------------------- CLI mode
    async def serve_until_signal(self, *, announce: Callable[[str], None]) -> None:
        """Serve in the *current* event loop until SIGINT/SIGTERM (used by ``python -m ...``)."""
        sock = _bind_socket(self._requested_port)
        self._port = sock.getsockname()[1]
        await self._start_async(sock, shutdown_timeout=1.0)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        try:
            announce(f"LISTENING {self.base_url}")
            await stop.wait()
        finally:
            for signum in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(signum)
            await self._stop_async()
            self._port = None


_OUTCOME_STATUS: Final = {"ok": 200, "hang": 200, "malformed": 200, "429": 429, "500": 500, "400": 400}


def _try_loads(raw: bytes) -> Any:
    try:
        return _loads(raw)
    except _JSONDecodeError:
        return None


def _bad_request(message: str, param: str | None = None) -> web.Response:
    return _json_response(_error_body(message, "invalid_request_error", None, param), status=400)


class _ApiError(Exception):
    """Raised by handlers to answer with an OpenAI-style error response."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def _not_found(message: str) -> _ApiError:
    return _ApiError(_json_response(_error_body(message, "invalid_request_error", None), status=404))


def _bind_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
    except BaseException:
        sock.close()
        raise
    return sock


# --------------------------------------------------------------------------------------------------
# CLI: python -m eval_assets_tests.fake_openai.server --port 0 --latency-ms 50 ...
# --------------------------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m eval_assets_tests.fake_openai.server",
        description="Fake OpenAI-compatible server on 127.0.0.1 with fault injection.",
    )
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=0.0)
    parser.add_argument("--retry-after-s", type=float, default=0.05)
    parser.add_argument("--server-error", type=float, default=0.0)
    parser.add_argument("--hang", type=float, default=0.0)
    parser.add_argument("--hang-s", type=float, default=30.0)
    parser.add_argument("--malformed", type=float, default=0.0)
    parser.add_argument("--bad-request", type=float, default=0.0)
    parser.add_argument("--fail-first-n", type=int, default=0)
    parser.add_argument("--always-status", type=int, default=None)
    parser.add_argument("--model-version", default=DEFAULT_MODEL_VERSION)
    parser.add_argument("--omit-usage", action="store_true", help="leave `usage` out of every completion")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--batch-polls-to-complete", type=int, default=2)
    parser.add_argument("--redirect-to", default=None, help="answer every /v1 request with a 307 to this origin")
    parser.add_argument("--echo-credentials", action="store_true", help="quote received credentials in errors")
    parser.add_argument("--gzip-bomb-bytes", type=int, default=0, help="answer with a gzip stream of N zeros")
    parser.add_argument("--oversize-bytes", type=int, default=0, help="pad every answer with N spaces")
    parser.add_argument("--no-uvloop", action="store_true", help="use the stdlib event loop even if uvloop exists")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    faults = FaultPlan(
        rate_limit=args.rate_limit,
        retry_after_s=args.retry_after_s,
        server_error=args.server_error,
        hang=args.hang,
        hang_s=args.hang_s,
        malformed=args.malformed,
        bad_request=args.bad_request,
        fail_first_n=args.fail_first_n,
        always_status=args.always_status,
    )
    server = FakeOpenAIServer(
        latency_s=args.latency_ms / 1000.0,
        faults=faults,
        model_version=args.model_version,
        omit_usage=args.omit_usage,
        seed=args.seed,
        api_key=args.api_key,
        batch_polls_to_complete=args.batch_polls_to_complete,
        port=args.port,
        redirect_to=args.redirect_to,
        echo_credentials=args.echo_credentials,
        gzip_bomb_bytes=args.gzip_bomb_bytes,
        oversize_bytes=args.oversize_bytes,
    )
    loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = None
    if not args.no_uvloop:
        try:
            import uvloop

            loop_factory = uvloop.new_event_loop
        except ImportError:  # pragma: no cover - depends on the environment
            loop_factory = None

    def announce(line: str) -> None:
        print(line, flush=True)

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(server.serve_until_signal(announce=announce))
    return 0


if __name__ == "__main__":
    sys.exit(main())
