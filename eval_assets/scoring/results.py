"""What a scorer returns (:class:`ScoreResult`) and the small helpers every scorer uses to explain it."""

from __future__ import annotations

from dataclasses import dataclass

References = tuple[str, ...]
"""An example's acceptable answers; any one suffices."""


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of scoring one output.

    Attributes:
        score: In [0, 1]; the deterministic scorers only give 0.0 or 1.0.
        passed: Whether the output is acceptable.
        detail: Short human-readable explanation: which reference matched, or why it failed.
    """

    score: float
    passed: bool
    detail: str

    def __post_init__(self) -> None:
        # Written as a positive range test so NaN is rejected too.
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score!r}")


def verdict(passed: bool, detail: str) -> ScoreResult:
    """A pass/fail result: score 1.0 or 0.0."""
    return ScoreResult(score=1.0 if passed else 0.0, passed=passed, detail=detail)


def preview(text: str, limit: int = 60) -> str:
    """``repr`` of ``text``, shortened so a detail line stays readable."""
    if len(text) <= limit:
        return repr(text)
    return repr(text[:limit]) + f"... ({len(text)} chars)"


def check_references(references: References) -> None:
    """Refuse a bare string: it would silently be treated as one reference per character."""
    if isinstance(references, str):
        raise TypeError("references must be a tuple of strings, not a single string")
