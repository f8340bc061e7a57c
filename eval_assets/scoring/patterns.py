"""Regular expressions on a linear-time engine (RE2), for patterns from configs and datasets.

Python's ``re`` backtracks: ``^(\\w+\\s?)*$`` takes seconds on 24 characters of a hostile model output,
and the time doubles with each few more. RE2 (the ``google-re2`` package) matches in time linear in the
text, whatever the pattern, so neither a config nor a model's output can stall scoring. The price is
RE2's syntax: no backreferences (``\\1``), no lookaround (``(?=``, ``(?!``, ``(?<=``, ``(?<!``), no
possessive or atomic groups, ``\\z`` instead of ``\\Z``; ``\\w``, ``\\d``, ``\\s`` and ``\\b`` are ASCII
(use ``\\pL`` or ``\\p{Greek}`` for letters of any script). Patterns RE2 cannot compile are refused when
the config is validated, with the reason.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import re2

#: Lone surrogates (from a JSON ``\\ud800`` escape) cannot be encoded for RE2; they match as U+FFFD.
_SURROGATE = re.compile("[\ud800-\udfff]")


class PatternError(ValueError):
    """A pattern that RE2 cannot compile; the message says why and what to use instead."""


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False  # RE2 would print every rejected pattern on stderr
    return options


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Any:
    """Compile ``pattern`` with RE2 (cached: a run scores the same few patterns thousands of times).

    Raises:
        PatternError: RE2 cannot compile it (a syntax error, or a feature that needs backtracking).
    """
    if _SURROGATE.search(pattern):
        raise PatternError("the pattern contains a lone surrogate (an invalid \\ud800-\\udfff escape)")
    try:
        return re2.compile(pattern, options=_options())
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(_explain(reason)) from None


def _explain(reason: str) -> str:
    hint = ""
    if "\\Z" in reason:
        hint = "; use \\z for the end of the text"
    elif "invalid perl operator" in reason or ("invalid escape sequence: \\" in reason and reason[-1:].isdigit()):
        hint = (
            "; patterns run on RE2, a linear-time engine without backreferences or lookaround "
            "((?=, (?!, (?<=, (?<!, \\1)"
        )
    return f"not a valid RE2 regular expression: {reason}{hint}"


def search(pattern: str, text: str) -> tuple[int, str] | None:
    """Find ``pattern`` in ``text``; the (offset, matched text) of the first match, or None.

    ``$`` keeps the meaning Python gives it: the end of the text, or just before a final newline (RE2's
    ``$`` only means the end), so ``^42$`` still matches an answer "42\\n".

    Raises:
        PatternError: if the pattern does not compile.
    """
    compiled = compile_pattern(pattern)
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", text)
    match = compiled.search(text)
    if match is None and text.endswith("\n"):
        match = compiled.search(text[:-1])
    if match is None:
        return None
    return match.start(), match.group(0)
