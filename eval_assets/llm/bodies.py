"""Response bodies read with a bound: a decoded size cap and streaming gzip/deflate decompression (pure).

A hostile or broken server can answer with a body far above any real completion, or a gzip bomb (400 MB of
zeros compress to ~400 KB): decompressed in full, four at once took 3.57 GB. :class:`BoundedBody` is fed
the body as it arrives, decompresses it chunk by chunk with ``zlib``'s ``max_length`` (so no chunk ever
expands beyond what is still allowed) and raises :class:`ResponseTooLargeError` the moment the decoded size passes
the cap; memory per response stays below the cap plus one network chunk. Both transports use it: the lean
aiohttp client (``openai_compat``) and the httpx transport guard under litellm (``litellm_transport``).

A body over the cap fails its call as ``response_too_large``, a permanent kind (see ``retry.PERMANENT_KINDS``):
no real completion is that large, so asking again would only download it again.
"""

from __future__ import annotations

import zlib
from typing import Final

#: Default cap of a decoded response body: real chat completions are kilobytes, rarely a few MB.
DEFAULT_MAX_BODY_BYTES: Final = 16 * 1024 * 1024
#: The content codings we can decode with a bound (and therefore the only ones we ask for).
ACCEPT_ENCODING: Final = "gzip, deflate"


class ResponseTooLargeError(Exception):
    """The decoded body passed the cap (the call fails as ``response_too_large``)."""


class UndecodableBodyError(Exception):
    """The body's Content-Encoding is unknown, or its compressed stream is corrupt or truncated."""


class BoundedBody:
    """Accumulates one response body, decoded, refusing to grow past ``limit`` bytes.

    Args:
        content_encoding: The response's ``Content-Encoding`` header ("" or None for none).
        limit: Largest decoded body accepted, in bytes.

    Raises:
        UndecodableBodyError: on construction, for a coding other than identity, gzip, x-gzip or deflate.
    """

    def __init__(self, content_encoding: str | None, *, limit: int = DEFAULT_MAX_BODY_BYTES) -> None:
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        self.limit = limit
        self.size = 0
        self._parts: list[bytes] = []
        self._coding = (content_encoding or "identity").strip().lower()
        self._decoder: zlib._Decompress | None = None
        if self._coding in ("gzip", "x-gzip"):
            self._decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._coding == "deflate":
            self._decoder = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib or gzip framing; raw deflate below
        elif self._coding != "identity":
            raise UndecodableBodyError(
                f"unsupported Content-Encoding {content_encoding!r} (we ask for {ACCEPT_ENCODING} only)"
            )
        self._started = False
        self._fed = 0

    def feed(self, chunk: bytes) -> None:
        """Add the next bytes as they came off the wire.

        Raises:
            ResponseTooLargeError: once the decoded body passes the limit.
            UndecodableBodyError: when the compressed stream is corrupt.
        """
        if not chunk:
            return
        self._fed += len(chunk)
        if self._decoder is None:
            self._add(chunk)
            return
        data = chunk
        while data:
            try:
                # At most one byte more than is still allowed: enough to know the cap is passed.
                out = self._decoder.decompress(data, self.limit - self.size + 1)
            except zlib.error as exc:
                if self._coding == "deflate" and not self._started:
                    # Some servers send raw deflate (no zlib header) under "deflate": start again that way.
                    self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise UndecodableBodyError(f"corrupt {self._coding} body: {exc}") from exc
            self._started = True
            self._add(out)
            data = self._decoder.unconsumed_tail
            if self._decoder.eof:
                break  # trailing bytes after the end of the stream are ignored, as zlib does

    def finish(self) -> bytes:
        """The decoded body (raises UndecodableBodyError when a compressed stream ended early)."""
        if self._decoder is not None and self._fed and not self._decoder.eof:
            raise UndecodableBodyError(f"truncated {self._coding} body")
        body = b"".join(self._parts)
        self._parts = [body]
        return body

    def _add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            self._parts.clear()  # let go of what was read at once: the point is to bound memory
            raise ResponseTooLargeError(too_large_message(self.limit))
        self._parts.append(data)


def too_large_message(limit: int, *, declared: int | None = None) -> str:
    """The error text of a body over the cap (``declared`` when Content-Length said so up front)."""
    if declared is not None:
        return f"response body of {declared:,} bytes (Content-Length) is larger than the {limit:,} byte cap: refused"
    return f"response body larger than {limit:,} bytes decoded: refused"
