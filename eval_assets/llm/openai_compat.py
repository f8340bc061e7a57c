"""A lean provider for OpenAI-compatible ``/chat/completions`` endpoints: one aiohttp session per loop, orjson.

Why it exists: ``litellm.acompletion`` spends ~3.5 ms of CPU per call on request building, logging payloads
and response objects, which caps a 2-core replay at ~22% of the ideal rate; a shared aiohttp session posting
orjson bytes costs ~0.2 ms (``benchmarks/replay_benchmark.py`` measures both). ``routing.RoutingProvider``
decides which models take this path; everything else keeps litellm.

Bypassing litellm's request path means this module owns what litellm did for these endpoints:

* one explicit total timeout per request (connection wait, send and body read included);
* error classes the engine's RetryPolicy understands (``openai_errors.error_from_response``); the *engine*
  retries, honouring ``retry-after-ms`` / ``Retry-After`` passed on as ``ProviderError.retry_after_s``;
* ``usage`` read straight from the body, cached-prompt and reasoning details included; an answer without
  usage has unknown tokens and cost ``None``, never a silent 0 (``openai_format.reply_from_body``);
* prices from litellm's local price map (``litellm.cost_per_token``), looked up by the configured model id
  (``pricing.LitellmPricing``);
* per-model parameter differences: reasoning families take ``max_completion_tokens`` (see
  ``openai_format.token_limit_field``);
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
import urllib.request
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Self
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
from eval_assets.llm.litellm_provider import MissingApiKeyError, resolve_api_key
from eval_assets.llm.openai_errors import MAX_ERROR_TEXT, error_from_response, redact_secret
from eval_assets.llm.openai_format import reply_from_body, request_body
from eval_assets.llm.pricing import LitellmPricing, Pricing
from eval_assets.llm.retry import ProviderError


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
        # Lazy: litellm is imported by warm_up only for a model the bundled price table cannot price.
        self._pricing = pricing if pricing is not None else LitellmPricing(lazy=True)
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
            detail = redact_secret(f"{type(exc).__name__}: {exc}", api_key)
            raise ProviderError("connection", f"{url}: {detail}"[:MAX_ERROR_TEXT]) from exc
        except ResponseTooLargeError as exc:
            raise ProviderError("response_too_large", f"{url}: {exc}") from exc
        except UndecodableBodyError as exc:
            raise ProviderError("malformed_response", f"{url}: {exc}") from exc
        if status != 200:
            raise error_from_response(status, response_headers, raw, secret=api_key)
        return reply_from_body(raw, model_id=model.id, pricing=self._pricing)

    async def warm_up(self, models: Iterable[ModelSpec]) -> None:
        """Prepare these models' pricing before any call is timed (it may import litellm: seconds)."""
        prepare = getattr(self._pricing, "prepare", None)
        if prepare is not None:
            for model in models:
                prepare(model.id)

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
