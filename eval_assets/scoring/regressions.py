"""Which comparisons with the baseline take part in the regression gate, and its PASS/FAIL/INCONCLUSIVE (pure).

One rule for everyone: the regression check, the report's banner, the run metadata and the alerts all
select gated regressions here, from any comparison shape with these attributes (the scoring's
:class:`~eval_assets.scoring.comparison.ScorerComparison`, the report's
:class:`~eval_assets.reporting.model.ComparisonLine`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TypeVar


class Comparison(Protocol):
    """What the selection reads of a comparison."""

    @property
    def tag(self) -> str | None:
        """None for the whole run."""

    @property
    def gated(self) -> bool:
        """Whether this scorer's comparison may fail the regression gate (config ``regression.scorers``)."""

    @property
    def regression(self) -> bool:
        """Drop larger than ``min_effect`` and significant at ``alpha``."""

    @property
    def n(self) -> int:
        """Examples scored in both runs."""

    @property
    def delta(self) -> float | None:
        """Current minus baseline."""

    @property
    def p_value(self) -> float | None:
        """Two-sided p-value of the paired test."""

    @property
    def verdict(self) -> str | None:
        """PASS, FAIL or INCONCLUSIVE (None: nothing paired, or stored before verdicts existed)."""


C = TypeVar("C", bound=Comparison)


def gate_candidates(comparisons: Iterable[C]) -> list[C]:
    """The comparisons the regression gate judges: gated scorers, whole run, with paired examples.

    A scorer added since the baseline has no paired examples (n = 0, no delta): nothing to compare yet.
    """
    return [c for c in comparisons if c.gated and c.tag is None and c.n > 0 and c.delta is not None]


def gated_regressions(comparisons: Iterable[C]) -> list[C]:
    """The comparisons that fail the regression gate, most significant first (then the largest drop)."""
    failing = [c for c in gate_candidates(comparisons) if c.regression]
    # A missing p-value sorts last; p = 0.0 is the most significant of all (not "missing").
    return sorted(failing, key=lambda c: (1.0 if c.p_value is None else c.p_value, c.delta or 0.0))


def inconclusive(comparisons: Iterable[C]) -> list[C]:
    """Gate candidates whose data cannot detect ``min_effect``, the least powerful (fewest pairs) first."""
    return sorted((c for c in gate_candidates(comparisons) if c.verdict == "INCONCLUSIVE"), key=lambda c: c.n)


def gate_verdict(comparisons: Iterable[C]) -> str | None:
    """The regression gate's three-way verdict: FAIL on any gated regression, else INCONCLUSIVE when a gated
    comparison cannot detect ``min_effect``, else PASS; None when nothing can be compared."""
    candidates = gate_candidates(comparisons)
    if not candidates:
        return None
    if any(c.regression for c in candidates):
        return "FAIL"
    return "INCONCLUSIVE" if inconclusive(candidates) else "PASS"


def largest_drop(comparisons: Iterable[C]) -> C | None:
    """The gate candidate whose value fell most (or rose least), for "no significant drop (largest: ...)"."""
    candidates = gate_candidates(comparisons)
    return min(candidates, key=lambda c: c.delta or 0.0) if candidates else None
