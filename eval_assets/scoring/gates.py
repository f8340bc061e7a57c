"""Threshold gates: compare a run's metrics with the config's thresholds (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eval_assets.config import Threshold
from eval_assets.scoring.metrics import ComparedMetric


@dataclass(frozen=True)
class GateOutcome:
    """A threshold's verdict on one run."""

    threshold: Threshold
    value: float | None
    n: int
    baseline_value: float | None
    passed: bool
    reason: str


def evaluate_thresholds(thresholds: Sequence[Threshold], metrics: Iterable[ComparedMetric]) -> list[GateOutcome]:
    """Judge every threshold; a metric with no data fails its gate (a gate that cannot see must not pass)."""
    by_key = {(m.metric, m.tag): m for m in metrics}
    outcomes = []
    for threshold in thresholds:
        metric = by_key.get((threshold.metric, threshold.tag))
        value = metric.value if metric else None
        n = metric.n if metric else 0
        baseline = metric.baseline_value if metric else None
        if value is None:
            outcomes.append(GateOutcome(threshold, None, n, baseline, False, f"no data for {threshold.describe()}"))
            continue
        failures = []
        if threshold.min is not None and value < threshold.min:
            failures.append(f"{value:.4g} < min {threshold.min:g}")
        if threshold.max is not None and value > threshold.max:
            failures.append(f"{value:.4g} > max {threshold.max:g}")
        reason = "; ".join(failures) if failures else f"{value:.4g} within {threshold.describe()}"
        outcomes.append(GateOutcome(threshold, value, n, baseline, not failures, reason))
    return outcomes
