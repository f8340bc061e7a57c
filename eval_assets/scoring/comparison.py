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
SetApartKey = tuple[str, str, str]  # (dataset, example id, scorer): a flaky example, kept out of the gate


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
    set_apart: int = 0  # flaky examples of this slice kept out of the comparison (reported by the ledger)
    repeats: bool = False  # examples were sampled several times: compared on their mean pass rate

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


def collapse_repeats(rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (example, scorer) whose ``score`` is the mean over its scored repeats.

    Pass/fail scorers get their pass rate as the score (so the repeats of an example are one cluster, and
    the paired test runs on per-example means); ``passed`` is whether at least half the repeats passed.
    """
    scored = rows.filter(pl.col("score").is_not_null())
    graded_kinds = [kind for kind in scored.get_column("scorer_kind").unique().to_list() if is_graded(kind)]
    value = pl.when(pl.col("scorer_kind").is_in(graded_kinds)).then(pl.col("score")).otherwise(pl.col("passed"))
    return scored.group_by("dataset", "example_id", "scorer", maintain_order=True).agg(
        pl.col("scorer_kind").first(),
        pl.col("tags").first(),
        score=value.cast(pl.Float64).mean(),
        passed=pl.col("passed").cast(pl.Float64).mean() >= 0.5,
    )


def _repeated(rows: pl.DataFrame) -> bool:
    return "repeat_index" in rows.columns and not rows.is_empty() and bool(rows.get_column("repeat_index").max())


def compare_runs(
    current: pl.DataFrame,
    baseline: pl.DataFrame,
    *,
    policy: RegressionPolicy,
    confidence: float = 0.95,
    set_apart: frozenset[SetApartKey] = frozenset(),
) -> list[ScorerComparison]:
    """Paired comparisons per scorer, overall and per tag, on the examples both runs scored.

    Pass/fail scorers use the exact McNemar test; rubric judges (graded) a paired bootstrap of the mean
    score. Only overall comparisons of the primary scorers (``policy.scorers``, default all) can fail the gate,
    judged on their raw p-value at ``policy.alpha``; every other comparison (tags, secondary scorers) is
    advisory and judged on its Benjamini-Hochberg adjusted p-value over the night's whole family. Each one
    carries its minimum detectable effect and the n needed for ``policy.min_effect``, hence its verdict.

    With repeats (either run sampled an example more than once) each example is one cluster: its repeats
    are averaged and the paired bootstrap runs on the per-example means, so K samples of one example never
    count as K independent examples. Examples in ``set_apart`` (flaky in the ledger) are left out of every
    comparison and counted in ``set_apart``: one coin-flip example cannot fail the gate.

    Args:
        current: Score rows (``dataset``, ``example_id``, ``scorer``, ``scorer_kind``, ``score``, ``passed``,
            ``tags``) of the run.
        baseline: The same columns for the baseline run.
        policy: Minimum effect, significance level, gated scorers, bootstrap settings.
        confidence: Confidence level of the intervals.
        set_apart: ``(dataset, example_id, scorer)`` of the examples to leave out.
    """
    out: list[ScorerComparison] = []
    if current.is_empty() or baseline.is_empty():
        return out
    repeats = _repeated(current) or _repeated(baseline)
    if repeats:
        current, baseline = collapse_repeats(current), collapse_repeats(baseline)
    apart = pl.lit(False)
    if set_apart:
        keys = pl.DataFrame(
            [list(k) for k in set_apart], schema=["dataset", "example_id", "scorer"], orient="row"
        ).with_columns(_apart=pl.lit(True))
        current = current.join(keys, on=["dataset", "example_id", "scorer"], how="left")
        baseline = baseline.join(keys, on=["dataset", "example_id", "scorer"], how="left")
        apart = pl.col("_apart").fill_null(False)
    powers: list[tuple[float | None, int | None]] = []
    for scorer in sorted(current.get_column("scorer").unique().to_list()):
        everyone = current.filter(pl.col("scorer") == scorer)
        mine = everyone.filter(~apart)
        theirs = baseline.filter((pl.col("scorer") == scorer) & ~apart)
        graded = repeats or is_graded(everyone.get_column("scorer_kind")[0])
        gated = not policy.scorers or scorer in policy.scorers
        slices: list[tuple[str | None, pl.DataFrame]] = [(None, mine)]
        exploded = mine.explode("tags").filter(pl.col("tags").is_not_null())
        for tag in sorted(exploded.get_column("tags").unique().to_list()):
            slices.append((tag, mine.filter(pl.col("tags").list.contains(tag))))
        apart_rows = everyone.filter(apart)
        for tag, rows in slices:
            comparison = _compare(rows, theirs, graded=graded, policy=policy, confidence=confidence)
            left_out = apart_rows if tag is None else apart_rows.filter(pl.col("tags").list.contains(tag))
            out.append(
                ScorerComparison(
                    scorer,
                    tag,
                    comparison,
                    False,
                    gated and tag is None,
                    set_apart=left_out.unique(["dataset", "example_id"]).height,
                    repeats=repeats,
                )
            )
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
