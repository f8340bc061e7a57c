"""The report's quality gates: thresholds, the regression gate, scoring health, and the gate_results rows.

Checks are declared on ``eval_report`` (see :func:`eval_assets.assets.report.build_eval_report`); this module
turns stored metrics and comparisons into their results, and into what ``eval-assets gate`` reads.
"""

import json
from collections.abc import Mapping, Sequence
from typing import Any

import dagster as dg
import polars as pl

from eval_assets.assets.common import float_metadata
from eval_assets.config import RegressionPolicy, Threshold
from eval_assets.project import EvalPlan
from eval_assets.reporting.format import (
    comparison_metric,
    describe_comparison,
    describe_power,
    format_delta,
    format_interval,
    format_p_value,
    format_power,
)
from eval_assets.reporting.model import ComparisonLine, GateLine
from eval_assets.scoring.gates import (
    GateOutcome,
    HealthGate,
    evaluate_thresholds,
    judge_health_gate,
    no_data_reasons,
    scorer_coverage_gate,
)
from eval_assets.scoring.health import judge_health, scorer_coverage
from eval_assets.scoring.metrics import ComparedMetric
from eval_assets.scoring.regressions import gate_candidates, gate_verdict, gated_regressions, inconclusive, largest_drop


def gate_outcomes(
    thresholds: Sequence[Threshold], metrics: pl.DataFrame, no_data: Mapping[str, str] | None = None
) -> list[GateOutcome]:
    """The config's thresholds judged against the stored metrics (``no_data``: why a scorer has none)."""
    compared = [
        ComparedMetric(r["metric"], r["tag"], r["value"], r["n"], r["baseline_value"])
        for r in metrics.iter_rows(named=True)
    ]
    return evaluate_thresholds(thresholds, compared, no_data=no_data)


def health_gates(
    plan: EvalPlan, scores: pl.DataFrame, verdicts: pl.DataFrame
) -> tuple[list[HealthGate], dict[str, str]]:
    """The built-in gates on the scoring itself, and why each scorer's metrics may be empty."""
    runtime = plan.config.config.runtime
    coverage = scorer_coverage(scores)
    gates = [
        judge_health_gate(judge_health(verdicts), max_error_rate=runtime.max_judge_error_rate),
        scorer_coverage_gate(coverage, min_share=runtime.min_scored_share),
    ]
    return gates, no_data_reasons(coverage)


def health_check_results(gates: Sequence[HealthGate]) -> list[dg.AssetCheckResult]:
    """The built-in gates as check results (a failed ``warn`` gate is a warning: it blocks nothing)."""
    return [
        dg.AssetCheckResult(
            check_name=gate.check_name,
            passed=gate.passed,
            severity=dg.AssetCheckSeverity.ERROR if gate.severity == "error" else dg.AssetCheckSeverity.WARN,
            metadata={key: _metadata_value(value) for key, value in gate.metadata.items()},
            description=gate.detail,
        )
        for gate in gates
    ]


def _metadata_value(value: Any) -> Any:
    if isinstance(value, dict | list):
        return dg.MetadataValue.json(value)
    if isinstance(value, float):
        return float_metadata(value)
    return value


def health_gate_lines(gates: Sequence[HealthGate]) -> list[GateLine]:
    """The built-in gates as report lines."""
    return [GateLine(g.check_name, g.description, g.severity, g.passed, g.detail) for g in gates]


def health_alerts(gates: Sequence[HealthGate]) -> list[str]:
    """Headline lines of the report when the scoring itself failed (the night says nothing about the model)."""
    return [line for gate in gates if not gate.passed and gate.severity == "error" for line in gate.headline]


def threshold_check_results(
    check_names: Sequence[str], outcomes: Sequence[GateOutcome], config_name: str
) -> list[dg.AssetCheckResult]:
    """One result per declared threshold check; a check this config does not set passes as 'not configured'."""
    by_name = {o.threshold.check_name: o for o in outcomes}
    results = []
    for name in check_names:
        outcome = by_name.get(name)
        if outcome is None:
            results.append(
                dg.AssetCheckResult(
                    check_name=name,
                    passed=True,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"configured": False},
                    description=f"config {config_name} sets no such threshold",
                )
            )
            continue
        t = outcome.threshold
        metadata: dict[str, Any] = {
            "configured": True,
            "metric": t.metric,
            "tag": t.tag or "(all)",
            "value": float_metadata(outcome.value) if outcome.value is not None else "no data",
            "n": outcome.n,
            "gate": t.describe(),
            "severity": t.severity,
        }
        if t.min is not None:
            metadata["min"] = float_metadata(t.min)
        if t.max is not None:
            metadata["max"] = float_metadata(t.max)
        if outcome.baseline_value is not None:
            metadata["baseline_value"] = float_metadata(outcome.baseline_value)
        results.append(
            dg.AssetCheckResult(
                check_name=name,
                passed=outcome.passed,
                severity=dg.AssetCheckSeverity.ERROR if t.severity == "error" else dg.AssetCheckSeverity.WARN,
                metadata=metadata,
                description=outcome.reason,
            )
        )
    return results


NO_REGRESSION = "no_regression_vs_baseline"


def regression_check(
    comparisons: pl.DataFrame, policy: RegressionPolicy, baseline_label: str | None, baseline_reason: str | None = None
) -> dg.AssetCheckResult:
    """The regression gate: fails only on a drop larger than min_effect AND significant at alpha.

    ``baseline_reason`` says why that baseline was chosen (or why there is none); it is in the metadata.
    """
    lines = comparison_lines(comparisons)
    gated = gate_candidates(lines)
    failing = gated_regressions(lines)
    severity = dg.AssetCheckSeverity.ERROR if policy.severity == "error" else dg.AssetCheckSeverity.WARN
    metadata: dict[str, Any] = {
        "baseline": baseline_label or "none",
        "baseline_reason": baseline_reason or "",
        "min_effect": float_metadata(policy.min_effect),
        "alpha": float_metadata(policy.alpha),
    }
    worst = failing[0] if failing else largest_drop(lines)
    if baseline_label is None or worst is None:
        return dg.AssetCheckResult(
            check_name=NO_REGRESSION,
            passed=True,
            severity=severity,
            metadata=metadata,
            description=(
                f"no baseline to compare with: {baseline_reason or 'first run'}"
                if baseline_label is None
                else "no comparable examples"
            ),
        )
    metadata.update(
        {
            "scorer": worst.scorer,
            "test": "exact McNemar" if worst.kind == "pass_fail" else "paired bootstrap",
            "delta": float_metadata(worst.delta or 0.0),
            "ci_low": float_metadata(worst.ci_low or 0.0),
            "ci_high": float_metadata(worst.ci_high or 0.0),
            "p_value": float_metadata(worst.p_value) if worst.p_value is not None else "n/a (too few pairs)",
            "n": int(worst.n),
            "flipped_to_fail": int(worst.flipped_to_fail),
            "comparisons": dg.MetadataValue.md(_comparison_table(gated)),
        }
    )
    outcome = gate_verdict(lines) or "PASS"
    weak = inconclusive(lines)
    metadata["verdict"] = outcome
    metadata["power"] = float_metadata(policy.power)
    passed = not failing
    if failing:
        description = f"regression vs {baseline_label}: " + "; ".join(describe_comparison(c) for c in failing)
    elif weak:
        # The data could not have seen a drop of min_effect: say so, with what it would take.
        passed = policy.inconclusive == "pass"
        severity = dg.AssetCheckSeverity.ERROR if policy.inconclusive == "error" else dg.AssetCheckSeverity.WARN
        metadata.update({"mde": float_metadata(weak[0].mde or 1.0), "n_needed": weak[0].n_needed or 0})
        description = (
            f"inconclusive vs {baseline_label}: "
            + "; ".join(describe_power(c, policy.min_effect) for c in weak)
            + f" (largest drop: {describe_comparison(worst)})"
        )
    else:
        description = f"no significant drop vs {baseline_label} (largest: {describe_comparison(worst)})"
    return dg.AssetCheckResult(
        check_name=NO_REGRESSION,
        passed=passed,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def _comparison_table(lines: Sequence[ComparisonLine]) -> str:
    rows = [
        "| scorer | n | delta | 95% CI | p | detectable drop (n needed) | verdict |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for c in lines:
        delta = format_delta(comparison_metric(c.kind), c.delta)
        interval = format_interval(c.kind, c.ci_low, c.ci_high)
        p = format_p_value(c.p_value)
        rows.append(f"| {c.scorer} | {c.n:,} | {delta} | {interval} | {p} | {format_power(c)} | {c.verdict or '—'} |")
    return "\n".join(rows)


def gate_result_rows(
    outcomes: Sequence[GateOutcome],
    regression: dg.AssetCheckResult,
    keys: dict[str, Any],
    health: Sequence[HealthGate] = (),
) -> list[dict[str, Any]]:
    """What ``eval-assets gate`` reads: every threshold the config sets (declared as a check or not yet, e.g.
    added while the code location was loaded), the regression gate and the built-in health gates."""
    rows = [
        {
            **keys,
            "check_name": o.threshold.check_name,
            "severity": o.threshold.severity,
            "passed": o.passed,
            "description": o.reason,
            "metadata_json": json.dumps({"value": o.value, "n": o.n, "gate": o.threshold.describe()}),
        }
        for o in outcomes
    ]
    rows.append(
        {
            **keys,
            "check_name": regression.check_name,
            "severity": "error" if regression.severity == dg.AssetCheckSeverity.ERROR else "warn",
            "passed": regression.passed,
            "description": regression.description,
            "metadata_json": json.dumps({k: _value(v) for k, v in regression.metadata.items()}, default=str),
        }
    )
    rows.extend(
        {
            **keys,
            "check_name": gate.check_name,
            "severity": gate.severity,
            "passed": gate.passed,
            "description": gate.detail,
            "metadata_json": json.dumps(gate.metadata, default=str),
        }
        for gate in health
    )
    return rows


def _value(value: Any) -> Any:
    return getattr(value, "value", value)


def comparison_lines(comparisons: pl.DataFrame) -> list[ComparisonLine]:
    """Report lines of the comparisons table: overall first, then tags."""
    ordered = comparisons.sort(["tag", "scorer"], nulls_last=False) if comparisons.height else comparisons
    return [
        ComparisonLine(
            scorer=r["scorer"],
            tag=r["tag"],
            kind=r["kind"],
            n=r["n"],
            baseline=r["baseline_value"],
            current=r["current_value"],
            delta=r["delta"],
            ci_low=r["ci_low"],
            ci_high=r["ci_high"],
            p_value=r["p_value"],
            flipped_to_fail=r["flipped_to_fail"],
            flipped_to_pass=r["flipped_to_pass"],
            regression=r["regression"],
            gated=r["gated"],
            verdict=r["verdict"],
            mde=r["mde"],
            n_needed=r["n_needed"],
            p_adjusted=r["p_adjusted"],
        )
        for r in ordered.iter_rows(named=True)
    ]
