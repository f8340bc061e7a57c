"""Untrusted text as Markdown that shows it literally: escaped lines, code spans, fenced blocks, tables (pure).

Short text is cleaned to one line (:mod:`eval_assets.reporting.sanitize`) and escaped
(:func:`escape_inline`); long text goes into fenced blocks whose fence is longer than any backtick run
inside (:func:`fenced`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from eval_assets.reporting.sanitize import CELL_LIMIT, LIST_LIMIT, cell_text, clean_text

# Entities rather than backslashes for < > &: every Markdown dialect decodes them, not all honour "\<".
# Escaping & also stops "&#x202e;" in an output from decoding into the bidi override cleaning removed.
_INLINE_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "|": "\\|",
        "#": "\\#",
        "~": "\\~",
        "$": "\\$",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
    }
)
_BACKTICK_RUN = re.compile(r"`+")
# Text that would open a list or draw a rule when it starts a line ("- x", "1. x", "---"); "-8.0 pp" does not.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+])(?=\s|$|[-\s]*$)")


def escape_inline(text: str) -> str:
    """Escape already-cleaned one-line text so Markdown shows it literally, in a cell or at a line start."""
    escaped = text.translate(_INLINE_ESCAPES)
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped, count=1)


def md_text(text: str | None, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as one escaped line of Markdown, at most ``limit`` characters before escaping."""
    # Leading blanks would make an indented code block after a list marker; cells trim them anyway.
    return escape_inline(cell_text(text, limit=limit).lstrip())


def code_span(text: str, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as an inline code span (not for table cells: GFM splits cells on ``|`` first)."""
    cleaned = cell_text(text, limit=limit)
    if not cleaned.strip():
        return "(empty)"
    fence = "`" * (_longest_backtick_run(cleaned) + 1)
    pad = " " if cleaned.startswith("`") or cleaned.endswith("`") else ""
    return f"{fence}{pad}{cleaned}{pad}{fence}"


def fenced(text: str, *, indent: str = "", limit: int = LIST_LIMIT) -> str:
    """Untrusted multi-line text as a fenced code block no line of the content can close.

    Args:
        text: Untrusted text.
        indent: Prefix of every line, so the block stays inside a list item.
        limit: Maximum length of the content.
    """
    cleaned = clean_text(text, limit=limit)
    fence = "`" * max(3, _longest_backtick_run(cleaned) + 1)
    lines = [f"{fence}text", *cleaned.split("\n"), fence]
    return "\n".join(f"{indent}{line}" for line in lines)


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in _BACKTICK_RUN.findall(text)), default=0)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool] = ()) -> str:
    """A GFM table from already-escaped cells."""
    align = [("---:" if i < len(numeric) and numeric[i] else "---") for i in range(len(header))]
    lines = [_row(header), _row(align), *(_row(r) for r in rows)]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"
