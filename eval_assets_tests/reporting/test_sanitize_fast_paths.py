"""The fast paths of cleaning give exactly what the plain definitions gave (the report's HTML must not change).

``reference_*`` are the implementations as they were before the fast paths (a character-by-character loop
for ids; ``str.translate`` on every text), kept here as the specification.
"""

from __future__ import annotations

import hashlib
import unicodedata

from hypothesis import given, settings, strategies as st

from eval_assets.reporting.sanitize import _TABLE, MAX_MARKS, anchor_id, clean_text

from .test_sanitize import SPECIAL, texts


def reference_anchor_id(anchor: str, *, prefix: str = "ex-") -> str:
    parts: list[str] = []
    size = 0
    for char in anchor:
        part = char if (char.isascii() and char.isalnum()) or char == "-" else f"_{ord(char):x}_"
        parts.append(part)
        size += len(part)
        if size > 96:
            digest = hashlib.sha256(anchor.encode("utf-8", "surrogatepass")).hexdigest()[:12]
            return f"{prefix}{''.join(parts)[:80]}-{digest}"
    return prefix + "".join(parts)


def reference_clean(text: str) -> str:
    """clean_text without a limit, as it was: translate every text, then cap runs of combining marks."""
    cleaned = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE)
    out: list[str] = []
    run = 0
    for char in cleaned:
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        if run <= MAX_MARKS:
            out.append(char)
    return "".join(out)


# Long keys (the cut at 96 characters), keys of escaped characters only, and plain ids.
anchors = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from("ab-/ é_\u202e\ud800"), max_size=120),
    st.from_regex(r"[A-Za-z0-9-]{0,130}", fullmatch=True),
)


@given(anchors, st.sampled_from(["ex-", "worst-ex-", "flip-", ""]))
def test_anchor_id_is_the_character_by_character_definition(anchor: str, prefix: str) -> None:
    assert anchor_id(anchor, prefix=prefix) == reference_anchor_id(anchor, prefix=prefix)


def test_anchor_id_at_the_cut() -> None:
    for length in range(90, 100):
        plain, escaped = "a" * length, "a" * (length - 3) + "/"
        assert anchor_id(plain) == reference_anchor_id(plain)
        assert anchor_id(escaped) == reference_anchor_id(escaped)


@settings(deadline=None)  # the first call builds the combining-mark table
@given(st.one_of(texts, st.text(alphabet=st.sampled_from([*SPECIAL, "a", " ", "é"]), max_size=60)))
def test_clean_text_is_the_translate_everything_definition(text: str) -> None:
    assert clean_text(text) == reference_clean(text)
