"""Bounded body decoding: the cap holds however the bytes arrive, and honest bodies come through intact."""

from __future__ import annotations

import gzip
import zlib

import pytest
from hypothesis import given, strategies as st

from eval_assets.llm.bodies import BoundedBody, ResponseTooLargeError, UndecodableBodyError
from eval_assets_tests.fake_openai.server import gzip_bomb


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)] or [b""]


def decode(coding: str | None, data: bytes, *, limit: int = 1 << 20, chunk: int = 997) -> bytes:
    body = BoundedBody(coding, limit=limit)
    for piece in chunks(data, chunk):
        body.feed(piece)
    return body.finish()


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        (None, lambda b: b),
        ("identity", lambda b: b),
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("deflate", zlib.compress),  # what the HTTP spec calls deflate: zlib framing
        ("deflate", raw_deflate),  # what some servers send under that name
        ("GZip ", gzip.compress),  # header values are case-insensitive and may carry spaces
    ],
)
@given(payload=st.binary(max_size=5000))
def test_honest_bodies_round_trip(coding: str | None, encode: object, payload: bytes) -> None:
    assert callable(encode)
    assert decode(coding, encode(payload)) == payload


def test_a_gzip_bomb_stops_at_the_cap_without_decoding_the_rest() -> None:
    bomb = gzip_bomb(400 << 20)  # 400 MiB of zeros in ~400 KB
    body = BoundedBody("gzip", limit=1 << 20)
    pieces = chunks(bomb, 65536)
    fed = 0

    def feed_all() -> None:
        nonlocal fed
        for piece in pieces:
            fed += 1
            body.feed(piece)

    with pytest.raises(ResponseTooLargeError, match="larger than 1,048,576 bytes"):
        feed_all()
    # It gave up within the first network chunk that passed the cap, holding at most the cap.
    assert fed == 1 and body.size <= (1 << 20) + 1


def test_the_cap_is_exact() -> None:
    assert decode(None, b"x" * 100, limit=100) == b"x" * 100
    assert decode("gzip", gzip.compress(b"x" * 100), limit=100) == b"x" * 100
    with pytest.raises(ResponseTooLargeError):
        decode(None, b"x" * 101, limit=100)
    with pytest.raises(ResponseTooLargeError):
        decode("gzip", gzip.compress(b"x" * 101), limit=100)


@pytest.mark.parametrize(
    ("coding", "data", "message"),
    [
        ("br", b"...", "unsupported Content-Encoding 'br'"),
        ("gzip", b"this is not gzip at all", "corrupt gzip body"),
        # mtime=0: the header would carry the clock, and a test id must be the same in every xdist worker.
        ("gzip", gzip.compress(b"x" * 1000, mtime=0)[:-20], "truncated gzip body"),
    ],
    ids=["brotli", "corrupt-gzip", "truncated-gzip"],
)
def test_undecodable_bodies_are_refused_clearly(coding: str, data: bytes, message: str) -> None:
    with pytest.raises(UndecodableBodyError, match=message):
        decode(coding, data)


def test_an_empty_compressed_body_is_empty() -> None:
    # Error responses sometimes carry "Content-Encoding: gzip" and no body at all.
    assert decode("gzip", b"") == b""
