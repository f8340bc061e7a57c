"""A lean provider for OpenAI-compatible ``/chat/completions`` endpoints: one aiohttp session per loop, orjson.

Why it exists: ``litellm.acompletion`` spends ~3.5 ms of CPU per call on request building, logging payloads
and response objects, which caps a 2-core replay at ~22% of the ideal rate; a shared aiohttp session posting
orjson bytes costs ~0.2 ms (see /work/shared/notes/provider-performance.md). ``routing.RoutingProvider``
decides which models take this path; everything else keeps litellm.

Bypassing litellm's request path means this module owns what litellm did for these endpoints:

* one explicit total timeout per request (connection wait, send and body read included);
* error classes the engine's RetryPolicy understands (:func:`error_from_response`); the *engine* retries,
  honouring ``retry-after-ms`` / ``Retry-After`` passed on as ``ProviderError.retry_after_s``;
* ``usage`` read straight from the body, cached-prompt and reasoning details included; an answer without
  usage has unknown tokens and cost ``None``, never a silent 0;
* prices from litellm's local price map (``litellm.cost_per_token``), looked up by the configured model id;
* per-model parameter differences: reasoning families take ``max_completion_tokens`` (see
  :func:`token_limit_field`);
* ``HTTP(S)_PROXY`` / ``NO_PROXY`` from the environment, read once per endpoint (litellm honours them too);
* bounded bodies: at most ``max_body_bytes`` decoded (16 MiB by default), gzip/deflate decompressed as the
  body streams in (``bodies.BoundedBody``, so a gzip bomb stops at the cap), else the call fails as
  ``response_too_large`` (permanent: no real completion is that big);
* no redirects: a 3xx is never followed (the ``Authorization`` header must not travel to wherever a
  server points) and fails the call as ``redirect``, naming the target.

The API key is read from ``model.api_key_env`` at call time and sent only as a header, to ``api_base``
only; error messages go through ``redaction.redact`` before they can reach an outcome, a log or the
warehouse.
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final, Literal, Protocol, Self
from urllib.parse import urlsplit

import aiohttp
import orjson

from eval_assets.config import ModelSpec
from eval_assets.llm.bodies import (
    ACCEPT_ENCODING,
    DEFAULT_MAX_BODY_BYTES,
    BoundedBody,
    ResponseTooLargeError,
    UndecodableBodyError,
    too_large_message,
)
from eval_assets.llm.calls import ProviderReply
from eval_assets.llm.litellm_provider import MissingApiKeyError, import_litellm, resolve_api_key
from eval_assets.llm.redaction import redact
from eval_assets.llm.retry import ProviderError, parse_retry_after

#: Bare model names (provider prefix removed) that reject ``max_tokens`` and want ``max_completion_tokens``:
#: OpenAI's reasoning families o1, o3, o4-mini... and gpt-5, gpt-5-mini, gpt-5.1... Everything else gets
#: ``max_tokens``, which every OpenAI-compatible server (vLLM, Ollama, llama.cpp) understands.
MAX_COMPLETION_TOKENS_MODELS: Final = re.compile(r"^(?:o\d|gpt-5)(?:[-.]|$)")

#: Error codes and message fragments with which OpenAI-compatible servers report an over-long prompt
#: (OpenAI: code ``context_length_exceeded``; vLLM: "This model's maximum context length is ..." in a 400).
_CONTEXT_WINDOW_CODES: Final = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WINDOW_PHRASES: Final = (
    "maximum context length",
    "context length exceeded",
    "context_length_exceeded",
    "longer than the model's context length",
    "prompt is too long",
    "too many tokens",
    "reduce the length of the messages",
)
_CONTENT_FILTER_CODES: Final = frozenset({"content_filter", "content_policy_violation"})
_MAX_ERROR_TEXT: Final = 500


@dataclass(frozen=True)
class Usage:
    """Token counts of one answer, as the server reported them.

    Attributes:
        prompt_tokens: Prompt tokens, cached ones included (OpenAI's convention).
        completion_tokens: Completion tokens, reasoning ones included.
        cached_tokens: ``prompt_tokens_details.cached_tokens`` (billed at the cache-read price), when given.
        reasoning_tokens: ``completion_tokens_details.reasoning_tokens``, when given.
    """

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


class Pricing(Protocol):
    """Prices one answer, or says it cannot (``None``)."""

    def cost(self, model_id: str, usage: Usage) -> float | None:
        """USD cost of ``usage`` on ``model_id``, or None when the price is unknown."""
        ...


class LitellmPricing:
    """Prices from litellm's bundled price map (imported on construction: ~2 s, so never inside a replay).

    Whether a model is priced is remembered per model id: an unknown model costs one failing lookup per
    provider instance instead of one per call (a failing ``cost_per_token`` takes ~0.13 ms).
    """

    def __init__(self) -> None:
        self._litellm = import_litellm()
        self._known: dict[str, bool] = {}

    def cost(self, model_id: str, usage: Usage) -> float | None:
        """USD cost of ``usage`` on ``model_id`` via ``litellm.cost_per_token``; None when unpriced."""
        if self._known.get(model_id) is False:
            return None
        usage_object = None
        if usage.cached_tokens or usage.reasoning_tokens:
            # Only the usage object carries OpenAI-style cached-token details to litellm; its plain
            # ``cache_read_input_tokens`` argument means Anthropic-style (not included in prompt_tokens).
            usage_object = self._litellm.Usage(  # litellm.types.utils.Usage
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.prompt_tokens + usage.completion_tokens,
                prompt_tokens_details={"cached_tokens": usage.cached_tokens or 0},
                completion_tokens_details={"reasoning_tokens": usage.reasoning_tokens or 0},
            )
        try:
            prompt_cost, completion_cost = self._litellm.cost_per_token(
                model=model_id,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                usage_object=usage_object,
            )
        except Exception:  # litellm raises its own exception types for unmapped models: record null, not 0
            self._known.setdefault(model_id, False)
            return None
        self._known[model_id] = True
        return float(prompt_cost) + float(completion_cost)


def wire_model_name(model_id: str) -> str:
    """The model name the server expects: the litellm id without its provider prefix.

    ``openai/gpt-4o-mini`` -> ``gpt-4o-mini``; ``hosted_vllm/meta-llama/Llama-3.1-8B`` ->
    ``meta-llama/Llama-3.1-8B`` (only the first segment is the provider).
    """
    _, sep, name = model_id.partition("/")
    return name if sep else model_id


def token_limit_field(wire_name: str) -> Literal["max_tokens", "max_completion_tokens"]:
    """Which body field carries ``ModelSpec.max_tokens`` for this model (see MAX_COMPLETION_TOKENS_MODELS)."""
    return "max_completion_tokens" if MAX_COMPLETION_TOKENS_MODELS.match(wire_name) else "max_tokens"


def request_body(model: ModelSpec, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The chat-completions JSON body for one call (no streaming; ``seed`` only when configured)."""
    name = wire_model_name(model.id)
    body: dict[str, Any] = {"model": name, "messages": messages, token_limit_field(name): model.max_tokens}
    # Reasoning models (o-series, gpt-5) reject any temperature but their default of 1: leave it out.
    if not MAX_COMPLETION_TOKENS_MODELS.match(name) or model.temperature == 1:
        body["temperature"] = model.temperature
    if model.seed is not None:
        body["seed"] = model.seed
    return body


def parse_usage(usage: object) -> tuple[int | None, int | None, Usage | None]:
    """Prompt tokens, completion tokens and the priceable Usage of a body's ``usage`` member.

    Each count is None when absent or not a non-negative integer; the Usage (what pricing needs) exists
    only when both counts do. A malformed usage block does not make the answer malformed: the answer is
    paid for already, so it is kept with unknown tokens and cost rather than requested again.
    """
    if not isinstance(usage, dict):
        return None, None, None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    if prompt is None or completion is None:
        return prompt, completion, None
    cached = _detail(usage, "prompt_tokens_details", "cached_tokens")
    reasoning = _detail(usage, "completion_tokens_details", "reasoning_tokens")
    return prompt, completion, Usage(prompt, completion, cached, reasoning)


def reply_from_body(raw: bytes, *, model_id: str, pricing: Pricing) -> ProviderReply:
    """The reply of a 200 response body; ProviderError ``malformed_response`` if it is not a chat completion.

    A 200 whose only choice was blocked (``finish_reason == "content_filter"``, no text) is a permanent
    ``content_filter`` error, as litellm reports it.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProviderError("malformed_response", f"HTTP 200 with a body that is not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise ProviderError("malformed_response", "HTTP 200 with a JSON body that is not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        detail = _error_text(body.get("error"))
        raise ProviderError("malformed_response", f"HTTP 200 without choices{': ' + detail if detail else ''}")
    choice = choices[0]
    finish_reason = choice.get("finish_reason")
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if text is None and finish_reason == "length":
        # A reasoning model spent max_tokens before answering: a paid, empty answer, not a reason to pay again.
        text = ""
    if not isinstance(text, str):
        if finish_reason == "content_filter":
            raise ProviderError("content_filter", "the provider's content filter withheld the answer")
        raise ProviderError("malformed_response", "HTTP 200 with a choice without text content")
    input_tokens, output_tokens, usage = parse_usage(body.get("usage"))
    version = body.get("model")
    return ProviderReply(
        text=text,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        model_version=version if isinstance(version, str) else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=pricing.cost(model_id, usage) if usage is not None else None,
    )


def error_from_response(
    status: int, headers: Mapping[str, str], raw: bytes, *, secret: str | None = None
) -> ProviderError:
    """Classify a non-200 response for the retry policy (pure; the message never contains ``secret``).

    429 -> ``rate_limit`` with the server's Retry-After; 408, 409 and 5xx -> ``server_error`` (retryable);
    400/413 naming the context length -> ``context_window``; 400 naming a content policy -> ``content_filter``;
    other 400, 413 and 422 -> ``bad_request``; 401/403 -> ``auth``; 404 -> ``not_found``; 3xx -> ``redirect``
    (never followed: credentials stay at ``api_base``); anything else (an unexpected 2xx/4xx) -> ``error``,
    which is permanent.
    """
    if 300 <= status < 400:
        target = headers.get("Location") or headers.get("location") or "nowhere (no Location header)"
        message = f"HTTP {status} redirect to {target} not followed: credentials go to the configured api_base only"
        return ProviderError("redirect", redact(message)[:_MAX_ERROR_TEXT])
    error = _error_member(raw)
    detail = _error_text(error) or raw[:_MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
    code = error.get("code") if isinstance(error, dict) else None
    code = code.lower() if isinstance(code, str) else None
    message = _redact(f"HTTP {status}{': ' + detail if detail else ''}", secret)
    if status == 429:
        return ProviderError("rate_limit", message, retry_after_s=parse_retry_after(headers))
    if status in (408, 409) or status >= 500:
        return ProviderError("server_error", message, retry_after_s=parse_retry_after(headers))
    if status in (400, 413, 422):
        lowered = detail.lower()
        if code in _CONTEXT_WINDOW_CODES or any(phrase in lowered for phrase in _CONTEXT_WINDOW_PHRASES):
            return ProviderError("context_window", message)
        if code in _CONTENT_FILTER_CODES:
            return ProviderError("content_filter", message)
        return ProviderError("bad_request", message)
    if status in (401, 403):
        return ProviderError("auth", message)
    if status == 404:
        return ProviderError("not_found", message)
    return ProviderError("error", message)


class OpenAICompatProvider:
    """Sends chat requests to OpenAI-compatible endpoints over one shared aiohttp session per event loop.

    Args:
        max_connections: Connector limit (default: ``runtime.concurrency``'s upper bound). Keep it >= the
            replay's concurrency, which is what really bounds requests in flight: a request waiting for a
            pooled connection spends its own timeout waiting.
        default_api_base: Endpoint for models whose spec has no ``api_base`` (None: such a model is a
            ``bad_request``).
        pricing: Where prices come from (default: litellm's local price map).
        max_body_bytes: Largest decoded response body accepted (see ``bodies``).

    The session is created lazily inside the running loop. Close it with ``await provider.aclose()`` (or
    ``async with provider:``) in that loop. A session the caller never closes is closed when its loop is
    shut down by ``asyncio.run`` / ``asyncio.Runner`` (they cancel leftover tasks, and a small guard task
    closes the session when cancelled), so a provider shared by several ``asyncio.run`` replays never
    leaks sockets.
    """

    def __init__(
        self,
        *,
        max_connections: int = 1024,
        default_api_base: str | None = None,
        pricing: Pricing | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self._max_connections = max_connections
        self._max_body_bytes = max_body_bytes
        self._default_api_base = default_api_base
        self._pricing = pricing if pricing is not None else LitellmPricing()
        self._sessions: dict[asyncio.AbstractEventLoop, tuple[aiohttp.ClientSession, asyncio.Task[None]]] = {}
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._proxies: dict[str, str | None] = {}

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        """Send one request; raise ProviderError with a kind the retry policy understands."""
        try:
            api_key = resolve_api_key(model)
        except MissingApiKeyError as exc:
            raise ProviderError("auth", str(exc)) from exc
        api_base = model.api_base or self._default_api_base
        if not api_base:
            raise ProviderError("bad_request", f"model {model.id!r} has no api_base")
        url = f"{api_base.rstrip('/')}/chat/completions"
        # Only codings BoundedBody decodes with a bound (aiohttp would also offer br/zstd when installed).
        headers = {"Content-Type": "application/json", "Accept": "application/json", "Accept-Encoding": ACCEPT_ENCODING}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        payload = orjson.dumps(request_body(model, messages))
        session = self._session()
        try:
            async with session.post(
                url,
                data=payload,
                headers=headers,
                timeout=self._timeout(timeout_s),
                proxy=self._proxy(api_base),
                allow_redirects=False,
            ) as response:
                raw = await read_bounded(response, self._max_body_bytes)
                status = response.status
                response_headers = response.headers
        except TimeoutError as exc:  # aiohttp's total timeout; its socket timeouts subclass it too
            raise ProviderError("timeout", f"no complete response from {url} within {timeout_s:g} s") from exc
        except (aiohttp.ClientError, OSError) as exc:  # refused, reset, disconnected, truncated body
            detail = _redact(f"{type(exc).__name__}: {exc}", api_key)
            raise ProviderError("connection", f"{url}: {detail}"[:_MAX_ERROR_TEXT]) from exc
        except ResponseTooLargeError as exc:
            raise ProviderError("response_too_large", f"{url}: {exc}") from exc
        except UndecodableBodyError as exc:
            raise ProviderError("malformed_response", f"{url}: {exc}") from exc
        if status != 200:
            raise error_from_response(status, response_headers, raw, secret=api_key)
        return reply_from_body(raw, model_id=model.id, pricing=self._pricing)

    async def aclose(self) -> None:
        """Close the running loop's session (sessions of other loops close when their loop shuts down)."""
        entry = self._sessions.pop(asyncio.get_running_loop(), None)
        if entry is None:
            return
        session, guard = entry
        guard.cancel()
        await session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _session(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        entry = self._sessions.get(loop)
        if entry is not None and not entry[0].closed:
            return entry[0]
        if entry is not None:
            entry[1].cancel()  # closed behind our back: retire its guard and start afresh
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections, limit_per_host=0, ttl_dns_cache=300),
            cookie_jar=aiohttp.DummyCookieJar(),  # an API client has no use for cookies
            auto_decompress=False,  # read_bounded decompresses, with a bound
        )
        guard = loop.create_task(self._close_at_loop_shutdown(loop, session), name="openai-compat-session-guard")
        self._sessions[loop] = (session, guard)
        return session

    async def _close_at_loop_shutdown(self, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession) -> None:
        try:
            await loop.create_future()  # never resolves: this task only ends by being cancelled
        finally:
            # aclose() unregisters the session before cancelling us and closes it itself.
            entry = self._sessions.get(loop)
            if entry is not None and entry[0] is session:
                del self._sessions[loop]
                await session.close()

    def _timeout(self, seconds: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(seconds)
        if timeout is None:
            timeout = self._timeouts[seconds] = aiohttp.ClientTimeout(total=seconds)
        return timeout

    def _proxy(self, api_base: str) -> str | None:
        if api_base not in self._proxies:
            self._proxies[api_base] = _env_proxy(api_base)
        return self._proxies[api_base]


async def read_bounded(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """The decoded body of ``response``, refusing more than ``limit`` bytes (see ``bodies``).

    Raises:
        ResponseTooLargeError: when the body (as declared, or as decoded so far) passes ``limit``.
        UndecodableBodyError: for an unknown Content-Encoding or a corrupt compressed stream.
    """
    declared = response.content_length
    if declared is not None and declared > limit:
        raise ResponseTooLargeError(too_large_message(limit, declared=declared))
    coding = response.headers.get("Content-Encoding")
    if declared is not None and (not coding or coding.strip().lower() == "identity"):
        return await response.read()  # the common case: an uncompressed body of known, acceptable size
    body = BoundedBody(coding, limit=limit)
    async for chunk in response.content.iter_any():
        body.feed(chunk)
    return body.finish()


def _env_proxy(url: str) -> str | None:
    """The proxy ``HTTP(S)_PROXY`` / ``NO_PROXY`` choose for ``url`` (read at call time, once per endpoint)."""
    parts = urlsplit(url)
    if parts.hostname is None or urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _detail(usage: Mapping[str, Any], group: str, name: str) -> int | None:
    details = usage.get(group)
    return _count(details.get(name)) if isinstance(details, dict) else None


def _error_member(raw: bytes) -> object:
    """OpenAI's ``{"error": {...}}``, or a flat ``{"message": ...}`` body (older vLLM), or None."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    return body.get("error") or (body if "message" in body else None)


def _error_text(error: object) -> str:
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("type", "code") if error.get(k)]
        message = str(error.get("message") or "")
        text = f"{message} ({', '.join(parts)})" if parts else message
    elif isinstance(error, str):
        text = error
    else:
        return ""
    return _redact(text.strip(), None)[:_MAX_ERROR_TEXT]


def _redact(text: str, secret: str | None) -> str:
    if secret:
        text = text.replace(secret, "[redacted]")  # the key we sent, whatever variable it came from
    return redact(text)
