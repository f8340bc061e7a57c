"""Compare a run's scores with its baseline's, example by example (pure; Polars in, plain data out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import polars as pl

from eval_assets.config import RegressionPolicy
from eval_assets.scoring.registry import is_graded
from eval_assets.scoring.statistics import PairedComparison, compare_pass_fail, compare_scores, is_regression

ExampleKey = tuple[str, str]  # (dataset, example id)


@dataclass(frozen=True)
class ScorerComparison:
    """One scorer (overall or on one tag) against the baseline."""

    scorer: str
    tag: str | None
    comparison: PairedComparison
    regression: bool
    gated: bool  # whether this comparison takes part in the regression gate (overall, selected scorers)

    @property
    def n(self) -> int:
        """Examples scored in both runs."""
        return self.comparison.n

    @property
    def delta(self) -> float | None:
        """Current minus baseline."""
        return self.comparison.delta

    @property
    def p_value(self) -> float | None:
        """Two-sided p-value of the paired test."""
        return self.comparison.p_value


def _by_key(rows: pl.DataFrame, column: str) -> dict[ExampleKey, object]:
    return {(r["dataset"], r["example_id"]): r[column] for r in rows.iter_rows(named=True)}


def compare_runs(
    current: pl.DataFrame, baseline: pl.DataFrame, *, policy: RegressionPolicy, confidence: float = 0.95
) -> list[ScorerComparison]:
    """Paired comparisons per scorer, overall and per tag, on the examples both runs scored.

    Pass/fail scorers use the exact McNemar test; rubric judges (graded) a paired bootstrap of the mean
    score. Only overall comparisons of the gated scorers (``policy.scorers``, default all) can fail the gate.

    Args:
        current: Score rows (``dataset``, ``example_id``, ``scorer``, ``scorer_kind``, ``score``, ``passed``,
            ``tags``) of the run.
        baseline: The same columns for the baseline run.
        policy: Minimum effect, significance level, gated scorers, bootstrap settings.
        confidence: Confidence level of the intervals.
    """
    out: list[ScorerComparison] = []
    if current.is_empty() or baseline.is_empty():
        return out
    for scorer in sorted(current.get_column("scorer").unique().to_list()):
        mine = current.filter(pl.col("scorer") == scorer)
        theirs = baseline.filter(pl.col("scorer") == scorer)
        graded = is_graded(mine.get_column("scorer_kind")[0])
        gated = not policy.scorers or scorer in policy.scorers
        slices: list[tuple[str | None, pl.DataFrame]] = [(None, mine)]
        exploded = mine.explode("tags").filter(pl.col("tags").is_not_null())
        for tag in sorted(exploded.get_column("tags").unique().to_list()):
            slices.append((tag, mine.filter(pl.col("tags").list.contains(tag))))
        for tag, rows in slices:
            comparison = _compare(rows, theirs, graded=graded, policy=policy, confidence=confidence)
            regression = is_regression(comparison, min_effect=policy.min_effect, alpha=policy.alpha)
            out.append(ScorerComparison(scorer, tag, comparison, regression, gated and tag is None))
    return out


def _compare(
    rows: pl.DataFrame, baseline: pl.DataFrame, *, graded: bool, policy: RegressionPolicy, confidence: float
) -> PairedComparison:
    if graded:
        scores = compare_scores(
            _by_key(baseline, "score"),  # type: ignore[arg-type]
            _by_key(rows, "score"),  # type: ignore[arg-type]
            confidence=confidence,
            resamples=policy.resamples,
            seed=policy.seed,
        )
        # A judge's verdict also passes or fails at pass_score: list those flips for reviewers.
        verdicts = compare_pass_fail(_by_key(baseline, "passed"), _by_key(rows, "passed"))  # type: ignore[arg-type]
        return replace(scores, flipped_to_fail=verdicts.flipped_to_fail, flipped_to_pass=verdicts.flipped_to_pass)
    return compare_pass_fail(
        _by_key(baseline, "passed"),  # type: ignore[arg-type]
        _by_key(rows, "passed"),  # type: ignore[arg-type]
        confidence=confidence,
    )


def flipped(comparisons: Iterable[ScorerComparison]) -> list[tuple[str, ExampleKey, str]]:
    """(scorer, example, direction) of every example whose pass/fail verdict flipped, overall comparisons only."""
    out: list[tuple[str, ExampleKey, str]] = []
    for c in comparisons:
        if c.tag is not None:
            continue
        out.extend((c.scorer, key, "pass_to_fail") for key in c.comparison.flipped_to_fail)  # type: ignore[misc]
        out.extend((c.scorer, key, "fail_to_pass") for key in c.comparison.flipped_to_pass)  # type: ignore[misc]
    return out
