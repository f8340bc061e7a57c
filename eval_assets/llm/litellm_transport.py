"""A guard around the httpx transports litellm creates: no credentials across origins, bounded bodies.

What litellm 1.106.2 does (read in ``litellm/llms/custom_httpx/http_handler.py`` and
``litellm/llms/openai/common_utils.py``): every async provider call goes through an ``httpx.AsyncClient``
built with ``follow_redirects=True`` (``AsyncHTTPHandler`` defaults to it; the OpenAI-SDK route hard-codes
it), over the transport returned by ``AsyncHTTPHandler.create_async_transport`` (litellm's aiohttp
transport, which itself never follows redirects and never decompresses). httpx then follows a 307 to any
host and strips only ``Authorization`` when the origin changes: Anthropic's ``x-api-key`` (and Azure's
``api-key``, Google's ``x-goog-api-key``) went along to the other origin, with the prompt. And httpx
decompresses gzip in full, so a gzip bomb grows memory without bound.

:func:`install` guards every response those transports return (both routes create their transport with
that one static method, and litellm's aiohttp transport is guarded in place; see :func:`install`):

* turns a redirect to another origin (scheme, host or port) into a plain 3xx response without
  ``Location``, so httpx cannot follow it; the refused target is kept in :data:`REFUSED_REDIRECT_HEADER`,
  and the call fails as ``redirect`` (see ``litellm_provider.classify_exception``). Same-origin redirects
  are left to httpx, as before: they carry nothing to anyone new.
* reads the body itself through :class:`bodies.BoundedBody` (gzip/deflate decoded with a bound, capped at
  ``max_body_bytes``) and hands httpx the decoded bytes; a body over the cap raises
  :class:`bodies.ResponseTooLargeError`, which the call reports as ``response_too_large``.

Calls are never streamed here (``LiteLLMProvider`` asks for whole answers), so reading the body in the
transport changes nothing else. A test against a fake Anthropic endpoint pins this behaviour, so an
upgrade of litellm that routes around the hook fails loudly instead of silently.
"""

from __future__ import annotations

from typing import Any, Final

import httpx

from eval_assets.llm.bodies import ACCEPT_ENCODING, DEFAULT_MAX_BODY_BYTES, BoundedBody, UndecodableBodyError

#: Response header naming a cross-origin redirect the guard refused to let httpx follow.
REFUSED_REDIRECT_HEADER: Final = "x-eval-assets-refused-redirect"
_REDIRECT_STATUSES: Final = frozenset({301, 302, 303, 307, 308})
_DROPPED_HEADERS: Final = frozenset({"content-encoding", "content-length", "transfer-encoding", "location"})


def same_origin(a: httpx.URL, b: httpx.URL) -> bool:
    """Whether two URLs share scheme, host and port (the origin credentials were meant for)."""
    return (a.scheme, a.host, a.port or _default_port(a)) == (b.scheme, b.host, b.port or _default_port(b))


async def guard_response(
    request: httpx.Request, response: httpx.Response, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
) -> httpx.Response:
    """The response httpx should see: fully read and decoded within the cap, cross-origin redirects disarmed.

    Raises:
        bodies.ResponseTooLargeError: when the decoded body passes ``max_body_bytes``.
        httpx.DecodingError: when the body's coding is unknown or its compressed stream corrupt.
    """
    try:
        headers = [(k, v) for k, v in response.headers.multi_items() if k.lower() not in _DROPPED_HEADERS]
        location = response.headers.get("location")
        if response.status_code in _REDIRECT_STATUSES and location is not None:
            target = request.url.join(location)
            if same_origin(request.url, target):
                headers.append(("location", location))  # httpx follows it; credentials stay at their origin
            else:
                headers.append((REFUSED_REDIRECT_HEADER, str(target)))
        if response.is_stream_consumed:
            # Already in memory and decoded by httpx (only a transport handing over bytes does this): cap it.
            body = BoundedBody(None, limit=max_body_bytes)
            body.feed(response.content)
        else:
            body = BoundedBody(response.headers.get("content-encoding"), limit=max_body_bytes)
            async for chunk in response.aiter_raw():
                body.feed(chunk)
        content = body.finish()
    except UndecodableBodyError as exc:
        raise httpx.DecodingError(str(exc), request=request) from exc
    finally:
        await response.aclose()
    return httpx.Response(response.status_code, headers=headers, content=content, request=request)


class GuardedTransport(httpx.AsyncBaseTransport):
    """Wraps an httpx transport with :func:`guard_response` (used when litellm is not on its aiohttp transport).

    Args:
        inner: The transport that really sends.
        max_body_bytes: Largest decoded body accepted.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, *, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.inner = inner
        self.max_body_bytes = max_body_bytes

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send through the inner transport and return a guarded response."""
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING
        response = await self.inner.handle_async_request(request)
        return await guard_response(request, response, max_body_bytes=self.max_body_bytes)

    async def aclose(self) -> None:
        """Close the inner transport."""
        await self.inner.aclose()


def install(*, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
    """Guard every response litellm's async transports return from now on (idempotent; litellm imported).

    litellm's own aiohttp transport (its default) is guarded in place, by wrapping its
    ``handle_async_request``: litellm's clean-up code checks the transport's class, so it must stay a
    ``LiteLLMAiohttpTransport``. Any other transport litellm creates (aiohttp disabled, HTTP/2, forced IPv4)
    is wrapped in a :class:`GuardedTransport`.
    """
    from litellm.llms.custom_httpx.aiohttp_transport import LiteLLMAiohttpTransport
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    send = LiteLLMAiohttpTransport.handle_async_request
    if getattr(send, _MARK, False):
        return

    async def guarded_send(self: LiteLLMAiohttpTransport, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = ACCEPT_ENCODING  # only codings we decode with a bound
        return await guard_response(request, await send(self, request), max_body_bytes=max_body_bytes)

    create = AsyncHTTPHandler.create_async_transport

    def create_async_transport(*args: Any, **kwargs: Any) -> httpx.AsyncBaseTransport:
        inner = create(*args, **kwargs)
        if isinstance(inner, LiteLLMAiohttpTransport):
            return inner
        # None means "httpx's default transport": guard that one too.
        return GuardedTransport(inner or httpx.AsyncHTTPTransport(), max_body_bytes=max_body_bytes)

    setattr(guarded_send, _MARK, True)
    LiteLLMAiohttpTransport.handle_async_request = guarded_send  # type: ignore[method-assign]
    AsyncHTTPHandler.create_async_transport = staticmethod(create_async_transport)  # type: ignore[method-assign,assignment]
    AsyncHTTPHandler._create_async_transport = staticmethod(create_async_transport)  # type: ignore[assignment]


_MARK: Final = "_eval_assets_guard"


def _default_port(url: httpx.URL) -> int | None:
    return {"http": 80, "https": 443}.get(url.scheme)
