"""Parsing an LLM judge's answer into a verdict on the rubric's scale.

Rubrics ask the judge for ``{"score": <number on the scale>, "rationale": "<text>"}``. Judges wrap that
in prose or code fences, quote the score as a string, or call the rationale "reasoning"; those are
accepted. Anything that leaves the score in doubt raises :class:`JudgeParseError`, which the caller
records as a judge error rather than guessing a score.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

# Plain decimal notation only: float() alone would also accept "1_000", "infinity" and non-ASCII digits.
_NUMERIC_STRING = re.compile(r"\s*[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*")
_RATIONALE_KEYS = ("rationale", "reasoning", "explanation")
_JSON_TYPE_NAMES = {dict: "an object", list: "an array", str: "a string", type(None): "null"}


@dataclass(frozen=True)
class JudgeVerdict:
    """A judge's parsed verdict.

    Attributes:
        raw_score: The score on the rubric's scale, as the judge gave it.
        normalized: The score mapped linearly to [0, 1] (``scale_min`` -> 0, ``scale_max`` -> 1).
        rationale: The judge's explanation; empty when it gave none.
    """

    raw_score: float
    normalized: float
    rationale: str


class JudgeParseError(ValueError):
    """The judge's answer holds no usable score; the message says what was wrong."""


def _preview(text: str, limit: int = 80) -> str:
    return repr(text) if len(text) <= limit else repr(text[:limit]) + f"... ({len(text)} chars)"


def first_object_with(text: str, key: str) -> dict[str, Any] | None:
    """The first top-level JSON object in ``text`` that has ``key`` (``"score"``, ``"label"``).

    Objects nested inside another object are not considered: in ``{"criteria": [{"score": 2}], ...}``
    the inner score is a sub-score, not the verdict.
    """
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, end = decoder.raw_decode(text, start)
        except (ValueError, RecursionError):
            # Not JSON here (a brace in prose, a Python dict, a truncated object): try the next brace.
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict) and key in value:
            return value
        start = text.find("{", end)
    return None


def _score_as_float(value: object) -> float:
    # bool is an int subclass, but `true` is not a score.
    if isinstance(value, bool):
        raise JudgeParseError(f"score must be a number, got a boolean ({json.dumps(value)})")
    if isinstance(value, str):
        if not _NUMERIC_STRING.fullmatch(value):
            raise JudgeParseError(f"score must be a number, got the string {_preview(value)}")
        score = float(value)
    elif isinstance(value, int | float):
        try:
            score = float(value)
        except OverflowError:
            raise JudgeParseError("score is an integer too large for any scale") from None
    else:
        kind = _JSON_TYPE_NAMES.get(type(value), "a non-number")
        raise JudgeParseError(f"score must be a number, got {kind}")
    if not math.isfinite(score):
        raise JudgeParseError(f"score must be a finite number, got {score}")
    return score


def _rationale(answer: dict[str, Any]) -> str:
    for key in _RATIONALE_KEYS:
        value = answer.get(key)
        if value is None:
            continue
        # A structured rationale (a list of points, an object) is still worth keeping for reviewers.
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return ""


def parse_judge_answer(text: str, *, scale_min: float, scale_max: float) -> JudgeVerdict:
    """Parse a judge's answer.

    Accepted: a bare JSON object ``{"score": 4, "rationale": "..."}``, the object inside a fenced code
    block, or prose before and after it; the first top-level object with a ``"score"`` key is used. The
    score may be an integer, a float or a numeric string (``"4"``); ``"reasoning"`` and ``"explanation"``
    stand in for ``"rationale"``, which may be missing.

    Args:
        text: The judge's raw answer; any string.
        scale_min: Lowest score on the rubric's scale.
        scale_max: Highest score on the rubric's scale.

    Returns:
        The verdict, with the score normalized to [0, 1].

    Raises:
        JudgeParseError: If there is no JSON object with a ``"score"`` key, or the score is not a finite
            number (booleans, NaN and non-numeric strings included) within ``[scale_min, scale_max]``.
        ValueError: If the scale itself is invalid (not finite, or ``scale_min >= scale_max``).
    """
    if not (math.isfinite(scale_min) and math.isfinite(scale_max) and scale_min < scale_max):
        raise ValueError(f"invalid rubric scale [{scale_min}, {scale_max}]: need finite min < max")
    span = scale_max - scale_min
    if not math.isfinite(span):
        raise ValueError(f"rubric scale [{scale_min}, {scale_max}] is too wide to normalize")
    answer = first_object_with(text, "score")
    if answer is None:
        raise JudgeParseError(f'no JSON object with a "score" key in the judge answer {_preview(text)}')
    score = _score_as_float(answer["score"])
    if not scale_min <= score <= scale_max:
        raise JudgeParseError(f"score {score:g} is outside the rubric scale [{scale_min:g}, {scale_max:g}]")
    # Clamped because float rounding must never push a valid score outside [0, 1].
    normalized = min(1.0, max(0.0, (score - scale_min) / span))
    return JudgeVerdict(raw_score=score, normalized=normalized, rationale=_rationale(answer))
