"""Gates on a run: the config's thresholds, and the built-in health of its scoring (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from eval_assets.config import Threshold
from eval_assets.scoring.health import JudgeHealth, ScorerCoverage
from eval_assets.scoring.metrics import ComparedMetric

JUDGE_ERROR_RATE_WITHIN_LIMIT = "judge_error_rate_within_limit"
SCORER_COVERAGE_SUFFICIENT = "scorer_coverage_sufficient"


@dataclass(frozen=True)
class GateOutcome:
    """A threshold's verdict on one run."""

    threshold: Threshold
    value: float | None
    n: int
    baseline_value: float | None
    passed: bool
    reason: str


@dataclass(frozen=True)
class HealthGate:
    """A built-in gate's verdict: ``passed`` False with ``severity`` "warn" is a warning, not a failure."""

    check_name: str
    description: str  # what the gate asserts, e.g. "judge error rate <= 5%"
    passed: bool
    severity: Literal["error", "warn"]
    detail: str
    metadata: dict[str, Any] = field(default_factory=dict)
    headline: tuple[str, ...] = ()  # short lines for the top of the report when the gate fails


def no_data_reasons(coverage: Iterable[ScorerCoverage]) -> dict[str, str]:
    """Why each scorer's metrics may be empty, by scorer name (for threshold verdicts on missing data)."""
    return {c.scorer: c.explain() for c in coverage}


def evaluate_thresholds(
    thresholds: Sequence[Threshold],
    metrics: Iterable[ComparedMetric],
    *,
    no_data: Mapping[str, str] | None = None,
) -> list[GateOutcome]:
    """Judge every threshold; a metric with no data fails its gate (a gate that cannot see must not pass).

    Args:
        thresholds: The config's thresholds.
        metrics: The run's metrics with their baseline values.
        no_data: Why a scorer's metrics may be empty, by scorer name (see :func:`no_data_reasons`), so a
            failed gate says "no data: 0 of 82 examples scored: 82 judge answers unparseable".
    """
    by_key = {(m.metric, m.tag): m for m in metrics}
    reasons = no_data or {}
    outcomes = []
    for threshold in thresholds:
        metric = by_key.get((threshold.metric, threshold.tag))
        value = metric.value if metric else None
        n = metric.n if metric else 0
        baseline = metric.baseline_value if metric else None
        if value is None:
            why = reasons.get(threshold.metric.split(".", 1)[0]) if "." in threshold.metric else None
            reason = f"no data for {threshold.describe()}: {why or 'nothing was measured'}"
            outcomes.append(GateOutcome(threshold, None, n, baseline, False, reason))
            continue
        failures = []
        if threshold.min is not None and value < threshold.min:
            failures.append(f"{value:.4g} < min {threshold.min:g}")
        if threshold.max is not None and value > threshold.max:
            failures.append(f"{value:.4g} > max {threshold.max:g}")
        reason = "; ".join(failures) if failures else f"{value:.4g} within {threshold.describe()}"
        outcomes.append(GateOutcome(threshold, value, n, baseline, not failures, reason))
    return outcomes


def judge_health_gate(health: Sequence[JudgeHealth], *, max_error_rate: float) -> HealthGate:
    """Fail the night when a judge's verdicts are unusable beyond ``max_error_rate``; warn on any below it.

    A judge that answers free text on every example leaves its scorer's metrics empty, and a night
    with empty metrics must not look green: the verdict says the judge is broken, not the model.
    """
    description = f"every judge's unusable verdicts <= {max_error_rate:.1%} (runtime.max_judge_error_rate)"
    asked = sum(h.verdicts for h in health)
    failed = sum(h.errors for h in health)
    metadata: dict[str, Any] = {
        "verdicts": asked,
        "unusable": failed,
        "max_judge_error_rate": max_error_rate,
        "judges": {f"{h.scorer}/{h.judge_model}": h.error_rate for h in health},
    }
    if not asked:
        return HealthGate(JUDGE_ERROR_RATE_WITHIN_LIMIT, description, True, "error", "no judge verdicts", metadata)
    broken = [h for h in health if (h.error_rate or 0.0) > max_error_rate]
    if broken:
        parts = [f"{h.describe()}, {h.error_rate or 0.0:.1%} > {max_error_rate:.1%}; {h.evidence()}" for h in broken]
        fix = (
            "Fix the judge (its model, prompt or the rubric's answer format), then rerun the partition: "
            "the model's answers are reused from the cache."
        )
        detail = "the judge is broken, not the model: " + " | ".join(parts) + ". " + fix
        headline = (*(f"The judge is broken, not the model: {part}" for part in parts), fix)
        return HealthGate(JUDGE_ERROR_RATE_WITHIN_LIMIT, description, False, "error", detail, metadata, headline)
    noisy = [h for h in health if h.errors]
    if noisy:
        parts = [f"{h.describe()}, {h.error_rate or 0.0:.1%}; {h.evidence()}" for h in noisy]
        detail = f"within the {max_error_rate:.1%} limit, but: " + " | ".join(parts)
        return HealthGate(JUDGE_ERROR_RATE_WITHIN_LIMIT, description, False, "warn", detail, metadata)
    return HealthGate(
        JUDGE_ERROR_RATE_WITHIN_LIMIT, description, True, "error", f"all {asked:,} judge verdicts usable", metadata
    )


def scorer_coverage_gate(coverage: Sequence[ScorerCoverage], *, min_share: float) -> HealthGate:
    """Fail the night when a scorer scored fewer than ``min_share`` of the examples it applies to."""
    description = f"every scorer scores >= {min_share:.0%} of its examples (runtime.min_scored_share)"
    metadata: dict[str, Any] = {
        "min_scored_share": min_share,
        "scored_share": {c.scorer: c.share for c in coverage},
    }
    short = [c for c in coverage if c.share is not None and c.share < min_share]
    if short:
        parts = [f"{c.scorer}: {c.explain()} ({c.share or 0.0:.1%} < {min_share:.0%})" for c in short]
        headline = tuple(f"No data: {part}" for part in parts)
        detail = "no data: " + "; ".join(parts)
        return HealthGate(SCORER_COVERAGE_SUFFICIENT, description, False, "error", detail, metadata, headline)
    scored = ", ".join(f"{c.scorer} {c.share or 0.0:.0%}" for c in coverage if c.share is not None)
    detail = f"scored: {scored or 'nothing'}"
    return HealthGate(SCORER_COVERAGE_SUFFICIENT, description, True, "error", detail, metadata)
