"""Request hashes are cache keys: these values were computed by the code before it was made faster.

A change that alters any of them would make every cached answer of every past night miss (and be paid
for again), so they are pinned byte for byte, with the awkward inputs a faster encoder could get wrong:
non-ASCII text, quotes, backslashes, control characters, U+2028, floats, the largest seed, repeats.
"""

from __future__ import annotations

import datetime as dt

import pytest

from eval_assets.config import ModelSpec
from eval_assets.lineage import stable_hash
from eval_assets.llm.calls import build_call, repeat_model, request_hash

TRICKY = 'Héllo "wörld" \\ ✓ 🚀\n\t\u2028 \x00 end'

CASES = [
    (
        "plain",
        ModelSpec(id="openai/gpt-4o-mini"),
        [{"role": "user", "content": "What is 2+2?"}],
        "2026-11-07",
        0,
        "65c7b7bbcf3097972eb1f9ac97c0b176",
    ),
    (
        "every-field",
        ModelSpec(
            id="openai/gpt-4o-mini", api_base="http://127.0.0.1:8000/v1", temperature=0.7, max_tokens=64, seed=42
        ),
        [{"role": "system", "content": "Be brief."}, {"role": "user", "content": TRICKY}],
        "2026-11-07",
        0,
        "0f983b0265740fcde9351e077ad19850",
    ),
    (
        "repeat-of-the-largest-seed",  # repeat_model wraps the seed past 2**63 - 1 to a negative one
        repeat_model(ModelSpec(id="m", seed=2**63 - 1), 3),
        [{"role": "user", "content": "x"}],
        "2026-01-01",
        3,
        "a811139569a5807b6609ea099ac873c9",
    ),
    (
        "multi-turn",
        ModelSpec(id="m", temperature=1.5),
        [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"}],
        "scope",
        1,
        "85907c9ed182b9922a1b69b2b742200e",
    ),
]


@pytest.mark.parametrize(
    ("model", "messages", "scope", "repeat", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_request_hash_is_the_one_computed_before(
    model: ModelSpec, messages: list[dict[str, str]], scope: str, repeat: int, expected: str
) -> None:
    assert request_hash(model, messages, scope=scope, repeat=repeat) == expected
    assert build_call(("d", "1", repeat), model, messages, scope=scope, repeat=repeat).request_hash == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [1.5, None, True, 'é✓🚀\x00"\\']}, "68184af65d5deefbb71b452520aa3f1d"),
        # default=str for the date; float and big-integer spelling as Python's json writes them
        ([dt.date(2026, 11, 7), 1e16, -0.0, 2**70], "3ed4a3fa85a254b3945d87e943408312"),
        ("plain", "945603a8f587786b463c3f94fce115c0"),
    ],
)
def test_stable_hash_is_the_one_computed_before(value: object, expected: str) -> None:
    assert stable_hash(value) == expected
    assert stable_hash(value, length=16) == expected[:16]
