"""The guard under litellm's httpx clients: cross-origin redirects disarmed, bodies decoded with a bound."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator

import httpx
import pytest

from eval_assets.llm.bodies import ResponseTooLargeError
from eval_assets.llm.litellm_provider import import_litellm
from eval_assets.llm.litellm_transport import REFUSED_REDIRECT_HEADER, GuardedTransport, same_origin
from eval_assets_tests.fake_openai.server import gzip_bomb


class Streamed(httpx.AsyncByteStream):
    """A body that arrives in chunks, as from a real transport (a plain ``content=`` is read at once)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.data), 65536):
            yield self.data[start : start + 65536]


def send(handler: httpx.MockTransport, url: str = "https://api.example.com/v1/messages", **kw: int) -> httpx.Response:
    """One POST through a client that follows redirects, as litellm's clients do."""

    async def go() -> httpx.Response:
        async with httpx.AsyncClient(transport=GuardedTransport(handler, **kw), follow_redirects=True) as client:
            return await client.post(url, headers={"x-api-key": "secret-value"}, content=b"{}")

    return asyncio.run(go())


def test_a_cross_origin_redirect_is_not_followed() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.host == "api.example.com":
            return httpx.Response(307, headers={"Location": "https://elsewhere.example.net/v1/messages"})
        return httpx.Response(200, json={"stolen": request.headers.get("x-api-key")})

    response = send(httpx.MockTransport(handler))
    assert seen == ["https://api.example.com/v1/messages"]  # httpx would have re-sent x-api-key over there
    assert response.status_code == 307 and "location" not in response.headers
    assert response.headers[REFUSED_REDIRECT_HEADER] == "https://elsewhere.example.net/v1/messages"


def test_a_same_origin_redirect_is_still_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/messages":
            return httpx.Response(307, headers={"Location": "/v2/messages"})
        return httpx.Response(200, json={"path": request.url.path})

    response = send(httpx.MockTransport(handler))
    assert response.status_code == 200 and response.json() == {"path": "/v2/messages"}


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("https://h/x", "https://h:443/y", True),
        ("https://h/x", "http://h/x", False),  # a downgrade is another origin
        ("http://h:8000/x", "http://h:8001/x", False),
        ("https://h/x", "https://evil.h/x", False),
    ],
)
def test_same_origin(a: str, b: str, same: bool) -> None:
    assert same_origin(httpx.URL(a), httpx.URL(b)) is same


def test_bodies_are_decoded_here_and_bounded() -> None:
    gzipped = {"Content-Encoding": "gzip"}
    honest = httpx.MockTransport(
        lambda r: httpx.Response(200, headers=gzipped, stream=Streamed(gzip.compress(b'{"ok": 1}')))
    )
    assert send(honest).json() == {"ok": 1}
    bomb = httpx.MockTransport(lambda r: httpx.Response(200, headers=gzipped, stream=Streamed(gzip_bomb(64 << 20))))
    with pytest.raises(ResponseTooLargeError):
        send(bomb, max_body_bytes=1 << 20)
    # A transport that hands over bytes already read is capped too.
    eager = httpx.MockTransport(lambda r: httpx.Response(200, content=b"x" * 2048))
    with pytest.raises(ResponseTooLargeError):
        send(eager, max_body_bytes=1024)


def test_install_guards_every_transport_litellm_creates(monkeypatch: pytest.MonkeyPatch) -> None:
    litellm = import_litellm()  # installs the guard
    from litellm.llms.custom_httpx.aiohttp_transport import LiteLLMAiohttpTransport
    from litellm.llms.custom_httpx.http_handler import AsyncHTTPHandler

    # Its default aiohttp transport stays what litellm's clean-up code expects, guarded in place...
    assert getattr(LiteLLMAiohttpTransport.handle_async_request, "_eval_assets_guard", False)
    # ...and any other transport (aiohttp disabled, HTTP/2, forced IPv4) is wrapped.
    monkeypatch.setattr(litellm, "disable_aiohttp_transport", True)
    assert isinstance(AsyncHTTPHandler.create_async_transport(), GuardedTransport)
