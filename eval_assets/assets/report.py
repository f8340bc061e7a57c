"""eval_report: Markdown + HTML report and raw outputs on disk; the config's thresholds as checks."""

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import (
    float_metadata,
    open_warehouse,
    plan_or_fail,
    require_same_inputs,
    require_upstream,
    stage_asset,
)
from eval_assets.assets.partitions import partition_cell
from eval_assets.config import RegressionPolicy, Threshold
from eval_assets.project import EvalPlan
from eval_assets.reporting.build import build_report, example_lines, gate_lines, outputs_document
from eval_assets.reporting.format import (
    comparison_metric,
    describe_comparison,
    format_delta,
    format_interval,
    format_p_value,
)
from eval_assets.reporting.model import ComparisonLine, FlipLine, GateLine, RunSummary
from eval_assets.reporting.publish import publish_report
from eval_assets.resources import EvalProject
from eval_assets.scoring.gates import (
    JUDGE_ERROR_RATE_WITHIN_LIMIT,
    SCORER_COVERAGE_SUFFICIENT,
    GateOutcome,
    HealthGate,
    evaluate_thresholds,
    judge_health_gate,
    no_data_reasons,
    scorer_coverage_gate,
)
from eval_assets.scoring.health import judge_health, scorer_coverage
from eval_assets.scoring.metrics import CallCosts, ComparedMetric, call_costs
from eval_assets.scoring.regressions import gate_candidates, gated_regressions, largest_drop


def run_summary(plan: EvalPlan, run: Mapping[str, object], costs: CallCosts | None = None) -> RunSummary:
    """The report header from the stored runs row (``costs``: how much of the cost is priced)."""
    baseline = run["baseline_date"]
    return RunSummary(
        config_name=plan.config.name,
        eval_date=str(run["eval_date"]),
        description=plan.config.config.description,
        model_id=str(run["model_id"]),
        model_version=run["model_version"] if isinstance(run["model_version"], str) else None,
        run_id=str(run["run_id"]),
        git_sha=str(run["git_sha"]),
        config_hash=str(run["config_hash"]),
        dataset_hashes=json.loads(str(run["dataset_hashes_json"])),
        prompt_hashes=json.loads(str(run["prompt_hashes_json"])),
        baseline_date=str(baseline) if baseline else None,
        n_examples=int(run["n_examples"]),  # type: ignore[call-overload]
        n_errors=int(run["n_errors"]),  # type: ignore[call-overload]
        cost_usd=run["cost_usd"] if isinstance(run["cost_usd"], float) else None,
        simulated=str(run["model_id"]).startswith("offline/"),
        priced_calls=costs.priced if costs else None,
        cost_calls=costs.calls if costs else None,
        unpriced_models=costs.unpriced_models if costs else (),
    )


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
    comparisons: pl.DataFrame, policy: RegressionPolicy, baseline_label: str | None
) -> dg.AssetCheckResult:
    """The regression gate: fails only on a drop larger than min_effect AND significant at alpha."""
    lines = comparison_lines(comparisons)
    gated = gate_candidates(lines)
    failing = gated_regressions(lines)
    severity = dg.AssetCheckSeverity.ERROR if policy.severity == "error" else dg.AssetCheckSeverity.WARN
    metadata: dict[str, Any] = {
        "baseline": baseline_label or "none (first run)",
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
            description="no baseline to compare with yet" if baseline_label is None else "no comparable examples",
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
    if failing:
        description = f"regression vs {baseline_label}: " + "; ".join(describe_comparison(c) for c in failing)
    else:
        description = f"no significant drop vs {baseline_label} (largest: {describe_comparison(worst)})"
    return dg.AssetCheckResult(
        check_name=NO_REGRESSION,
        passed=not failing,
        severity=severity,
        metadata=metadata,
        description=description,
    )


def _comparison_table(lines: Sequence[ComparisonLine]) -> str:
    rows = ["| scorer | n | delta | 95% CI | p | regression |", "|---|---:|---:|---:|---:|---|"]
    for c in lines:
        delta = format_delta(comparison_metric(c.kind), c.delta)
        interval = format_interval(c.kind, c.ci_low, c.ci_high)
        rows.append(f"| {c.scorer} | {c.n:,} | {delta} | {interval} | {format_p_value(c.p_value)} | {c.regression} |")
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


def eval_report(
    context: dg.AssetExecutionContext, project: EvalProject, warehouse: DuckDBResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Markdown and HTML report (prev vs current, gates, regressions, trends) and raw outputs."""
    eval_date, config_name = partition_cell(context)
    plan = plan_or_fail(project, config_name)
    config = plan.config.config
    with open_warehouse(warehouse) as conn:
        require_upstream(conn, "runs", eval_date, config_name, "run_metrics")
        require_same_inputs(conn, plan, eval_date, config_name)
        run = wh.read_partition(conn, "runs", eval_date, config_name).row(0, named=True)
        cell = {name: wh.read_partition(conn, name, eval_date, config_name) for name in REPORT_TABLES}
        scored = wh.sql_frame(
            conn,
            "SELECT * FROM scored_examples WHERE eval_date = $d AND config_name = $c",
            {"d": eval_date, "c": config_name},
        )
        history = wh.sql_frame(
            conn,
            "SELECT eval_date, config_name, metric, tag, value, n FROM metrics "
            "WHERE config_name = $c AND eval_date <= $d ORDER BY eval_date",
            {"c": config_name, "d": eval_date},
        )
    summary = run_summary(plan, run, call_costs(cell["responses"], cell["judge_verdicts"]))
    health, no_data = health_gates(plan, cell["scores"], cell["judge_verdicts"])
    outcomes = gate_outcomes(config.thresholds, cell["metrics"], no_data)
    comparisons = cell["comparisons"]
    baseline_label = _baseline_label(comparisons, summary)
    declared = declared_threshold_checks(context)
    undeclared = [o.threshold.check_name for o in outcomes if o.threshold.check_name not in declared]
    if undeclared:
        context.log.warning(
            f"thresholds {undeclared} have no asset check yet (added after the code location loaded): they are "
            "in the report and in `eval-assets gate`; reload definitions to get their checks and alerts"
        )
    checks = [
        *threshold_check_results(declared, outcomes, config_name),
        regression_check(comparisons, config.regression, baseline_label),
    ]
    regression = checks[-1]
    checks.extend(health_check_results(health))
    report = replace(
        build_report(summary, cell["metrics"], outcomes, scored),
        gates=[
            *health_gate_lines(health),
            *gate_lines(outcomes),
            *_regression_gate_line(regression, config.regression.severity),
        ],
        alerts=health_alerts(health),
        baseline_label=baseline_label,
        comparisons=comparison_lines(comparisons),
        flips=flip_lines(cell["flips"], cell["examples"]),
    )
    published = publish_report(
        project.run_folder(eval_date, config_name),
        report,
        all_examples=example_lines(_one_per_example(scored)),
        history=history,
        outputs=outputs_document(summary, cell["examples"], cell["responses"], cell["scores"]),
        links=project.links(),
    )
    keys = {name: run[name] for name in ("eval_date", "config_name", "run_id", "git_sha", "config_hash")}
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(
            conn,
            eval_date,
            config_name,
            {"gate_results": wh.frame("gate_results", gate_result_rows(outcomes, regression, keys, health))},
        )
    failed = [c for c in checks if not c.passed]
    files = {name: dg.MetadataValue.path(str(path.resolve())) for name, path in published.files.items()}
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(published.markdown),
            **files,
            "example_pages": dg.MetadataValue.int(published.pages),
            "gates_failed": dg.MetadataValue.int(len(failed)),
            "baseline": baseline_label or "none (first run)",
        },
        check_results=checks,
    )


REPORT_TABLES = ("metrics", "examples", "responses", "scores", "judge_verdicts", "comparisons", "flips")


def _baseline_label(comparisons: pl.DataFrame, summary: RunSummary) -> str | None:
    if comparisons.height:
        row = comparisons.row(0, named=True)
        return f"{row['baseline_config']} {row['baseline_date']}"
    return f"{summary.config_name} {summary.baseline_date}" if summary.baseline_date else None


def _regression_gate_line(check: dg.AssetCheckResult, severity: str) -> list[GateLine]:
    return [GateLine(NO_REGRESSION, "no significant drop vs baseline", severity, check.passed, check.description or "")]


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
        )
        for r in ordered.iter_rows(named=True)
    ]


def flip_lines(flips: pl.DataFrame, examples: pl.DataFrame) -> list[FlipLine]:
    """Report lines of the flipped examples, pass -> fail first."""
    inputs = {(r["dataset"], r["example_id"]): r["input_text"] for r in examples.iter_rows(named=True)}
    ordered = flips.sort(["direction", "scorer", "dataset", "example_id"], descending=[True, False, False, False])
    return (
        [
            FlipLine(
                dataset=r["dataset"],
                example_id=r["example_id"],
                scorer=r["scorer"],
                direction=r["direction"],
                input_text=inputs.get((r["dataset"], r["example_id"]), ""),
                baseline_output=r["baseline_output"],
                current_output=r["current_output"],
                baseline_detail=r["baseline_detail"],
                current_detail=r["current_detail"],
            )
            for r in ordered.iter_rows(named=True)
        ]
        if flips.height
        else []
    )


#: Checks of eval_report that every config has, whatever its thresholds.
BUILTIN_REPORT_CHECKS = (NO_REGRESSION, JUDGE_ERROR_RATE_WITHIN_LIMIT, SCORER_COVERAGE_SUFFICIENT)


def declared_threshold_checks(context: dg.AssetExecutionContext) -> list[str]:
    """Threshold checks this asset declares (one per threshold found across all configs)."""
    return sorted(key.name for key in context.assets_def.check_keys if key.name not in BUILTIN_REPORT_CHECKS)


def build_eval_report(
    partitions: dg.PartitionsDefinition,
    threshold_checks: Mapping[str, str],
) -> dg.AssetsDefinition:
    """The report asset, declaring one blocking check per threshold found across all configs.

    Checks are declared per metric across configs because Dagster's checks are static; a config
    without that threshold reports it as passed and 'not configured'. Severity comes from each config:
    a failed ``error`` threshold blocks downstream assets, a failed ``warn`` one does not.
    """
    specs = [
        dg.AssetCheckSpec(name, asset="eval_report", blocking=True, description=description)
        for name, description in sorted(threshold_checks.items())
    ]
    specs.append(
        dg.AssetCheckSpec(
            NO_REGRESSION,
            asset="eval_report",
            blocking=True,
            description="No scorer dropped by more than regression.min_effect with p < regression.alpha (paired test).",
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            JUDGE_ERROR_RATE_WITHIN_LIMIT,
            asset="eval_report",
            blocking=True,
            description="No judge's verdicts failed or were unparseable beyond runtime.max_judge_error_rate "
            "(warns on any).",
        )
    )
    specs.append(
        dg.AssetCheckSpec(
            SCORER_COVERAGE_SUFFICIENT,
            asset="eval_report",
            blocking=True,
            description="Every scorer scored at least runtime.min_scored_share of the examples it applies to.",
        )
    )
    return stage_asset(
        eval_report, partitions, deps=["run_metrics"], check_specs=specs, kinds=frozenset({"duckdb", "html"})
    )


def _one_per_example(scored: pl.DataFrame) -> pl.DataFrame:
    return scored.sort(["dataset", "example_id", "scorer"]).unique(
        subset=["dataset", "example_id"], keep="first", maintain_order=True
    )
