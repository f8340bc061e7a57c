"""Cleaning untrusted text: invariants (hypothesis) and the tricky cases by name."""

from __future__ import annotations

import json
import re
import unicodedata

import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.reporting.sanitize import (
    BIDI_CONTROLS,
    MAX_MARKS,
    TERMINAL_CONTROLS,
    anchor_id,
    cell_text,
    clean_text,
    json_terminal_text,
    terminal_text,
)

# Characters hypothesis rarely draws on its own but that matter here.
SPECIAL = [
    "\r",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\x9b",
    "\u2028",
    "\u2029",
    "\ud800",
    "\udfff",
    *sorted(BIDI_CONTROLS),
    "\u0301",
    "\u0335",
    "\u20dd",
    "`",
    "|",
    "\n",
    "\t",
    "…",
]
texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(SPECIAL)), max_size=400)
limits = st.one_of(st.none(), st.integers(min_value=0, max_value=200))
# The first clean_text call builds the combining-mark table (~0.2 s): no per-example deadline.
no_deadline = settings(deadline=None)


def _forbidden(char: str) -> bool:
    category = unicodedata.category(char)
    return char in BIDI_CONTROLS or category == "Cs" or (category == "Cc" and char not in "\n\t")


def _longest_mark_run(text: str) -> int:
    longest = run = 0
    for char in text:
        run = run + 1 if unicodedata.category(char) in ("Mn", "Me") else 0
        longest = max(longest, run)
    return longest


@no_deadline
@given(texts, limits, st.booleans())
def test_clean_text_leaves_no_controls_bidi_or_surrogates(text: str, limit: int | None, one_line: bool) -> None:
    cleaned = clean_text(text, limit=limit, one_line=one_line)
    assert not [c for c in cleaned if _forbidden(c)]
    if one_line:
        assert "\n" not in cleaned
        assert "\t" not in cleaned
    cleaned.encode("utf-8")  # a lone surrogate would raise here, when the report is written


@no_deadline
@given(texts, limits, st.booleans())
def test_clean_text_is_bounded_and_idempotent(text: str, limit: int | None, one_line: bool) -> None:
    cleaned = clean_text(text, limit=limit, one_line=one_line)
    if limit is not None:
        assert len(cleaned) <= limit
    assert clean_text(cleaned, limit=limit, one_line=one_line) == cleaned


@no_deadline
@given(texts)
def test_clean_text_caps_combining_marks(text: str) -> None:
    assert _longest_mark_run(clean_text(text)) <= MAX_MARKS


@no_deadline
@given(st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=120))
def test_plain_text_is_unchanged(text: str) -> None:
    assert clean_text(text, limit=120, one_line=True) == text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nb\rc", "a\nb\nc"),  # Windows and old-Mac line ends become \n, not nothing
        ("\x00\x1b[31mred\x1b[0m", "[31mred[0m"),  # ESC goes; the visible rest of the sequence stays
        ("abc\u202egnp.exe", "abc\\u202egnp.exe"),  # the override is shown, so the trick is visible
        ("x\u2066y\u2069", "x\\u2066y\\u2069"),
        ("a\u2028b\x85c", "a\nb\nc"),  # Unicode line separators and NEL are line breaks
        ("bad\ud800byte", "bad\ufffdbyte"),  # surrogateescape leftovers would crash utf-8 encoding
        ("e\u0302\u0323", "e\u0302\u0323"),  # Vietnamese "ệ" decomposed: two marks are legitimate
        ("Z\u0335\u0321\u0322\u031b\u0317", "Z\u0335\u0321"),
        ("a\u0301\x00\u0301\u0301", "a\u0301\u0301"),  # removing NUL joins two runs: still capped
    ],
)
def test_clean_text_cases(raw: str, expected: str) -> None:
    assert clean_text(raw) == expected


def test_zalgo_from_the_wild_collapses() -> None:
    zalgo = "Z̵̡̢̛̗̘̙̜̝̞̟̠̣̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼ͅ"
    assert clean_text(zalgo) == zalgo[:3]


def test_one_line_marks_line_breaks() -> None:
    assert cell_text("a\nb\tc") == "a ⏎ b c"
    assert cell_text(None) == ""


def test_megabyte_string_is_cut_quickly_with_a_count() -> None:
    cleaned = clean_text("x" * 2_000_000, limit=300)
    assert len(cleaned) == 300
    assert cleaned.endswith("… (1,999,724 more chars)")


def test_text_that_cleans_to_nothing_is_not_reported_as_truncated() -> None:
    # Two megabytes of NUL: the window keeps widening until the whole text is seen.
    assert clean_text("\x00" * 2_000_000 + "ok", limit=300) == "ok"


@pytest.mark.parametrize(("limit", "expected"), [(10, "abcdefghij"), (3, "abc"), (0, "")])
def test_a_limit_too_small_for_the_suffix_cuts_bare(limit: int, expected: str) -> None:
    # "… (40 more chars)" alone is 17 characters: below that, a bare prefix is all that fits.
    assert clean_text("abcdefghijklmnopqrstuvwxyz" * 2, limit=limit) == expected


def test_the_cut_counts_dropped_chars() -> None:
    # Room is reserved for "(100 more chars)"; once 12 are kept only 88 are dropped, one char spare.
    assert clean_text("a" * 100, limit=30) == "a" * 12 + "… (88 more chars)"
    assert clean_text("short", limit=30) == "short"
    with pytest.raises(ValueError, match="limit"):
        clean_text("x", limit=-1)


@given(st.text(max_size=200))
def test_anchor_id_is_a_safe_bounded_id(anchor: str) -> None:
    element_id = anchor_id(anchor)
    assert re.fullmatch(r"ex-[A-Za-z0-9_-]*", element_id)
    assert len(element_id) <= len("ex-") + 96


@given(st.text(max_size=20), st.text(max_size=20))
def test_anchor_id_keeps_short_keys_apart(a: str, b: str) -> None:
    # "qa/1" and "qa_1" must not land on the same element.
    if a != b:
        assert anchor_id(a) != anchor_id(b)


def test_anchor_id_examples() -> None:
    assert anchor_id("qa/q17") == "ex-qa_2f_q17"
    assert anchor_id("qa_q17") == "ex-qa_5f_q17"
    long_id = anchor_id("x" * 10_000)
    assert long_id != anchor_id("x" * 10_001)  # the hash tells long keys apart


# --- terminal_text: escaping for terminals, logs and chat ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, café, 日本, 🙂", "plain text, café, 日本, 🙂"),
        # Backslashes stay as they are: paths and regexes must read unchanged.
        (r"C:\runs\x1b and ^\d+$", r"C:\runs\x1b and ^\d+$"),
        ("\x1b]8;;http://evil.example\x07click\x1b]8;;\x07", r"\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"),
        ("\x1b]0;new title\x07", r"\x1b]0;new title\x07"),  # OSC 0 retitles the terminal window
        ("\x1b[2J\x1b[H", r"\x1b[2J\x1b[H"),  # clear the screen, cursor home
        ("ding\x07", r"ding\x07"),
        ("nul\x00byte", r"nul\x00byte"),
        ("\x9b31m", r"\x9b31m"),  # C1 CSI: one byte does what ESC [ does
        ("\x85next", r"\x85next"),  # NEL would start a new line in some viewers
        ("ok\rFAILED", r"ok\x0dFAILED"),  # a bare CR overwrites the start of the line
        ("\u202eevil\u202c", r"\u202eevil\u202c"),  # RLO reverses what follows
        ("\u2066isolated\u2069", r"\u2066isolated\u2069"),
        ("a\u2028b\u2029c", r"a\u2028b\u2029c"),
        ("\x7f", r"\x7f"),
        ("lone \ud800 surrogate", r"lone \ud800 surrogate"),
        ("two\nlines\tand tab", r"two\x0alines\x09and tab"),
    ],
)
def test_terminal_text_makes_controls_visible(text: str, expected: str) -> None:
    assert terminal_text(text) == expected


def test_terminal_text_keeps_what_the_caller_lays_out_itself() -> None:
    assert terminal_text("a\nb\tc\x1b", keep="\n\t") == "a\nb\tc\\x1b"


@no_deadline
@given(text=texts)
def test_terminal_text_leaves_no_control_and_is_idempotent(text: str) -> None:
    escaped = terminal_text(text)
    assert not any(char in TERMINAL_CONTROLS or unicodedata.category(char) == "Cs" for char in escaped)
    assert terminal_text(escaped) == escaped
    if not any(char in TERMINAL_CONTROLS or unicodedata.category(char) == "Cs" for char in text):
        assert escaped == text


# JSON text is UTF-8: no lone surrogates (SPECIAL[:8] are the controls listed before them).
json_texts = st.text(alphabet=st.one_of(st.characters(exclude_categories=["Cs"]), st.sampled_from(SPECIAL[:8])))


@no_deadline
@given(values=st.lists(json_texts))
def test_json_terminal_text_parses_back_to_the_same_values(values: list[str]) -> None:
    document = json_terminal_text(json.dumps(values, ensure_ascii=False))
    assert not any(char in TERMINAL_CONTROLS for char in document)
    assert json.loads(document) == values
