"""Compare a run's scores with its baseline's, example by example (pure; Polars in, plain data out)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

import polars as pl

from eval_assets.config import RegressionPolicy
from eval_assets.scoring.power import (
    Verdict,
    benjamini_hochberg,
    mcnemar_mde,
    mcnemar_n_needed,
    mean_mde,
    mean_n_needed,
    sample_sd,
    verdict,
)
from eval_assets.scoring.registry import is_graded
from eval_assets.scoring.statistics import PairedComparison, compare_pass_fail, compare_scores

ExampleKey = tuple[str, str]  # (dataset, example id)


@dataclass(frozen=True)
class ScorerComparison:
    """One scorer (overall or on one tag) against the baseline."""

    scorer: str
    tag: str | None
    comparison: PairedComparison
    regression: bool  # verdict FAIL: a drop > min_effect, significant (secondary: on the adjusted p-value)
    gated: bool  # primary: takes part in the regression gate (overall, scorers in regression.scorers)
    verdict: Verdict | None = None  # None when nothing is paired
    mde: float | None = None  # minimum detectable drop at regression.alpha and regression.power
    n_needed: int | None = None  # pairs needed to detect regression.min_effect
    p_adjusted: float | None = None  # Benjamini-Hochberg over the night's comparisons

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


def _scores(rows: pl.DataFrame) -> dict[ExampleKey, float | None]:
    return {(r["dataset"], r["example_id"]): r["score"] for r in rows.iter_rows(named=True)}


def compare_runs(
    current: pl.DataFrame, baseline: pl.DataFrame, *, policy: RegressionPolicy, confidence: float = 0.95
) -> list[ScorerComparison]:
    """Paired comparisons per scorer, overall and per tag, on the examples both runs scored.

    Pass/fail scorers use the exact McNemar test; rubric judges (graded) a paired bootstrap of the mean
    score. Only overall comparisons of the primary scorers (``policy.scorers``, default all) can fail the gate,
    judged on their raw p-value at ``policy.alpha``; every other comparison (tags, secondary scorers) is
    advisory and judged on its Benjamini-Hochberg adjusted p-value over the night's whole family. Each one
    carries its minimum detectable effect and the n needed for ``policy.min_effect``, hence its verdict.

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
    powers: list[tuple[float | None, int | None]] = []
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
            out.append(ScorerComparison(scorer, tag, comparison, False, gated and tag is None))
            powers.append(_power(rows, theirs, comparison, graded=graded, policy=policy))
    return _judge(out, powers, policy)


def _power(
    rows: pl.DataFrame, baseline: pl.DataFrame, comparison: PairedComparison, *, graded: bool, policy: RegressionPolicy
) -> tuple[float | None, int | None]:
    """(MDE, n needed for min_effect) of one comparison, from its n and the spread of its paired data."""
    options = {"alpha": policy.alpha, "power": policy.power}
    if comparison.n == 0:
        return None, None
    if graded:
        now = _scores(rows)
        diffs = [
            later - was
            for key, was in _scores(baseline).items()
            if was is not None and (later := now.get(key)) is not None
        ]
        sd = sample_sd(diffs)
        return mean_mde(comparison.n, sd, **options), mean_n_needed(policy.min_effect, sd, **options)
    discordance = (len(comparison.flipped_to_fail) + len(comparison.flipped_to_pass)) / comparison.n
    return (
        mcnemar_mde(comparison.n, discordance, **options),
        mcnemar_n_needed(policy.min_effect, discordance, **options),
    )


def _judge(
    comparisons: list[ScorerComparison], powers: list[tuple[float | None, int | None]], policy: RegressionPolicy
) -> list[ScorerComparison]:
    """Each comparison's verdict: primary ones on the raw p-value, the others on the BH-adjusted one."""
    adjusted = benjamini_hochberg([c.p_value for c in comparisons])
    judged = []
    for c, (mde, n_needed), q in zip(comparisons, powers, adjusted, strict=True):
        p = c.p_value if c.gated else q
        drop = -c.delta if c.delta is not None else None
        outcome = verdict(drop=drop, p_value=p, mde=mde, min_effect=policy.min_effect, alpha=policy.alpha)
        judged.append(
            replace(c, regression=outcome == "FAIL", verdict=outcome, mde=mde, n_needed=n_needed, p_adjusted=q)
        )
    return judged


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
