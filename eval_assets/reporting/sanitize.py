"""Make untrusted text (model outputs, dataset inputs, provider strings) safe to lay out in a report (pure).

This module only *cleans* text; it does not escape it. Each renderer escapes for its own syntax
(``html.escape`` for HTML, backslash/entity escapes for Markdown) after cleaning. Cleaning:

* removes C0/C1 control characters except ``\\n`` and ``\\t`` (terminal escapes, NUL), turning
  ``\\r\\n``, ``\\r``, NEL and the Unicode line/paragraph separators into ``\\n``;
* makes bidi embedding/override/isolate/mark characters visible as ``\\u202e``-style text, so a
  reviewer sees that an output tried to reorder what is displayed instead of silently losing it;
* replaces lone surrogates (from undecodable bytes) with U+FFFD, so writing the report cannot fail;
* keeps at most :data:`MAX_MARKS` combining marks in a row ("zalgo" text stacked over neighbouring lines);
* optionally folds everything onto one line (for table cells);
* optionally truncates to a length *including* the ``… (N more chars)`` suffix.

:func:`clean_text` is idempotent and its output length never exceeds ``limit``.

:func:`terminal_text` is the counterpart for terminals, logs and chat messages: instead of removing
controls it *escapes* them (``\\x1b``, ``\\u202e``), so what a model wrote stays readable but can
neither drive the terminal nor reorder the line.
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata

#: Length of untrusted text in a table cell.
CELL_LIMIT = 120
#: Length of untrusted text in a list or a Markdown block.
LIST_LIMIT = 300
#: Combining marks kept after one another (two covers Vietnamese and most pointed scripts).
MAX_MARKS = 2
#: What a line break becomes in one-line text.
LINE_BREAK = " ⏎ "

#: Bidi controls: Arabic letter mark, LRM/RLM, LRE/RLE/PDF/LRO/RLO, LRI/RLI/FSI/PDI.
BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f" + "".join(map(chr, range(0x202A, 0x202F))) + "".join(map(chr, range(0x2066, 0x206A)))
)

_NEWLINES = "\x85\u2028\u2029"


def _translation_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {}
    for code in [*range(0x00, 0x20), *range(0x7F, 0xA0)]:
        table[code] = None
    del table[ord("\n")], table[ord("\t")]
    for char in _NEWLINES:
        table[ord(char)] = "\n"
    for char in BIDI_CONTROLS:
        table[ord(char)] = f"\\u{ord(char):04x}"
    for code in range(0xD800, 0xE000):
        table[code] = "\ufffd"
    return table


_TABLE = _translation_table()


def _char_class(codes: list[int]) -> str:
    """A regex character class matching exactly ``codes`` (sorted), written as ranges."""
    ranges: list[tuple[int, int]] = []
    for code in codes:
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    return "[" + "".join(re.escape(chr(a)) + (f"-{re.escape(chr(b))}" if b > a else "") for a, b in ranges) + "]"


#: Any character cleaning changes (``\r`` included). ``str.translate`` looks every character up in a dict
#: (~0.2 µs a character, even for ASCII); a search of this class is ~10x faster, and most texts have none.
_TO_CLEAN = re.compile(_char_class(sorted(_TABLE)))
_ASCII = frozenset(map(chr, range(128)))


@functools.cache
def _mark_runs() -> re.Pattern[str]:
    # Built on first use: scanning every code point takes ~0.1 s, not worth paying at import time.
    marks = [c for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) in ("Mn", "Me")]
    klass = _char_class(marks)
    return re.compile(f"((?:{klass}){{{MAX_MARKS}}}){klass}+")


#: What a terminal, a log viewer or a chat client could interpret instead of showing: C0 controls, DEL,
#: C1 controls (``\x9b`` is a one-byte CSI), bidi controls and the Unicode line/paragraph separators.
TERMINAL_CONTROLS = frozenset(
    [*map(chr, range(0x20)), *map(chr, range(0x7F, 0xA0)), *BIDI_CONTROLS, "\u2028", "\u2029"]
)


def _escape_sequence(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


_TERMINAL_TABLE = {ord(c): _escape_sequence(c) for c in TERMINAL_CONTROLS} | {
    code: f"\\u{code:04x}" for code in range(0xD800, 0xE000)
}


def terminal_text(text: str, *, keep: str = "") -> str:
    """``text`` with every control character written as a visible escape, for terminals, logs and chat.

    OSC 8 links, OSC 0 title changes, CSI clears, BEL, NUL, C1 controls, bidi overrides and lone
    surrogates become ``\\x1b``, ``\\x9b``, ``\\u202e``, ``\\ud800``...; everything else, backslashes
    included, is kept as it is (so ordinary text, paths and regexes read unchanged).

    Args:
        text: Untrusted text.
        keep: Controls to leave as they are, e.g. ``"\\n"`` where line breaks are laid out safely.

    Returns:
        Text whose only control characters are those in ``keep``.
    """
    return text.translate(_terminal_table(keep))


@functools.cache
def _terminal_table(keep: str) -> dict[int, str]:
    return {code: escape for code, escape in _TERMINAL_TABLE.items() if chr(code) not in keep}


def json_terminal_text(document: str) -> str:
    """A JSON document with the controls JSON allows raw (DEL, C1, bidi, U+2028/9) written as ``\\uXXXX``.

    Those characters can only occur inside JSON strings, so the document still parses to exactly the
    same values; it just cannot drive the terminal it is printed on.
    """
    return document.translate(_JSON_TABLE)


_JSON_TABLE = {ord(c): f"\\u{ord(c):04x}" for c in TERMINAL_CONTROLS if ord(c) >= 0x7F}


def _truncate(text: str, limit: int, *, unseen: int) -> str:
    if limit < 0:
        raise ValueError(f"limit must be >= 0, got {limit}")
    if len(text) <= limit and not unseen:
        return text
    # The suffix for the whole length is at least as long as the real one, so this always fits.
    keep = limit - len(_suffix(len(text) + unseen))
    if keep <= 0:
        return text[:limit]
    return text[:keep] + _suffix(len(text) - keep + unseen)


def _suffix(dropped: int) -> str:
    return f"… ({dropped:,} more chars)"


def _has_marks(text: str) -> bool:
    """Whether ``text`` holds any combining mark (category Mn or Me); ASCII never does."""
    return not text.isascii() and any(unicodedata.category(c) in ("Mn", "Me") for c in set(text) - _ASCII)


def _clean(text: str, *, one_line: bool) -> str:
    cleaned = text
    if _TO_CLEAN.search(text):
        cleaned = text.replace("\r\n", "\n").replace("\r", "\n").translate(_TABLE)
    if _has_marks(cleaned):  # the pattern's first build scans every code point (~0.3 s): only when needed
        cleaned = _mark_runs().sub(r"\1", cleaned)
    if one_line:
        cleaned = cleaned.replace("\n", LINE_BREAK).replace("\t", " ")
    return cleaned


def clean_text(text: str, *, limit: int | None = None, one_line: bool = False) -> str:
    """Clean untrusted text for display (see the module docstring for what changes).

    With a limit only a prefix of a long text is cleaned (cleaning megabytes takes seconds), so the
    ``N more chars`` of a truncated text counts raw characters past that prefix: it is approximate.

    Args:
        text: Untrusted text of any length and content.
        limit: Maximum length of the result (the truncation notice included); None keeps everything.
        one_line: Replace line breaks with `` ⏎ `` and tabs with a space (for table cells and titles).

    Returns:
        Text without control characters other than ``\\n``/``\\t`` (none at all when ``one_line``),
        without bidi controls or surrogates, and at most ``limit`` long. ``clean_text`` applied to its
        own result with the same options returns it unchanged.
    """
    if limit is None:
        return _clean(text, one_line=one_line)
    # Cleaning drops characters (controls, surplus marks) and grows others (bidi, line breaks): widen
    # the prefix until its cleaned form no longer fits, or it is the whole text.
    window = 2 * limit + 16
    while True:
        head = text[:window]
        cleaned = _clean(head, one_line=one_line)
        if len(cleaned) > limit or len(head) == len(text):
            break
        window *= 2
    return _truncate(cleaned, limit, unseen=len(text) - len(head))


def cell_text(text: str | None, *, limit: int = CELL_LIMIT) -> str:
    """One-line cleaned text for a table cell or heading; ``""`` for None."""
    return "" if text is None else clean_text(text, limit=limit, one_line=True)


def anchor_id(anchor: str, *, prefix: str = "ex-") -> str:
    """An HTML id / URL fragment for an example key such as ``dataset/example id``.

    Letters, digits and ``-`` are kept and every other character becomes ``_<hex>_``, so distinct
    short keys get distinct ids. Long keys are cut and end with a hash of the whole key.

    Args:
        anchor: Untrusted key.
        prefix: Prepended to the id (ids should start with a letter).

    Returns:
        A string matching ``[A-Za-z0-9_-]+`` of at most ``len(prefix) + 96`` characters.
    """
    escaped = _ANCHOR_UNSAFE.sub(_anchor_escape, anchor)
    if len(escaped) > 96:
        digest = hashlib.sha256(anchor.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        return f"{prefix}{escaped[:80]}-{digest}"
    return prefix + escaped


#: What :func:`anchor_id` escapes: anything but ASCII letters, digits and ``-``.
_ANCHOR_UNSAFE = re.compile(r"[^A-Za-z0-9-]")


def _anchor_escape(match: re.Match[str]) -> str:
    return f"_{ord(match.group()):x}_"
