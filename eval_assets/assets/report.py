"""eval_report: Markdown + HTML report and raw outputs on disk; the config's thresholds as checks."""

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import replace

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import (
    open_warehouse,
    stage_asset,
    stage_inputs,
)
from eval_assets.assets.report_checks import (
    NO_REGRESSION,
    comparison_lines,
    gate_outcomes,
    gate_result_rows,
    health_alerts,
    health_check_results,
    health_gate_lines,
    health_gates,
    regression_check,
    threshold_check_results,
)
from eval_assets.assets.report_pruned import pruned_report
from eval_assets.frames import column_rows
from eval_assets.project import EvalPlan
from eval_assets.reporting.build import build_report, example_lines, gate_lines
from eval_assets.reporting.changes import FactorChange, changed_factors
from eval_assets.reporting.model import FlipLine, GateLine, RunSummary
from eval_assets.reporting.outputs import OutputsDocument
from eval_assets.reporting.people_chart import calibration_figure
from eval_assets.reporting.publish import publish_report
from eval_assets.reporting.stability import stability_lines
from eval_assets.reproducibility import stored_hashes
from eval_assets.resources import EvalProject
from eval_assets.review import reported as people
from eval_assets.review.calibration import uncalibrated_scorers, warn_uncalibrated
from eval_assets.scoring.gates import (
    JUDGE_ERROR_RATE_WITHIN_LIMIT,
    SCORER_COVERAGE_SUFFICIENT,
)
from eval_assets.scoring.metrics import CallCosts, call_costs


def run_summary(
    plan: EvalPlan, run: Mapping[str, object], costs: CallCosts | None = None, responses: pl.DataFrame | None = None
) -> RunSummary:
    """The report header from the stored runs row (``costs``: how much of the cost is priced; ``responses``:
    the cell's answers, which carry the reproducibility inputs' hashes the replay took)."""
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
        reproducibility=stored_reproducibility(responses) if responses is not None else {},
        n_calls=(responses.height or None) if responses is not None else None,  # 0 rows: the detail was pruned
    )


def stored_reproducibility(responses: pl.DataFrame) -> dict[str, str]:
    """The reproducibility hashes the night's answers carry ({} for a config without inputs, or older rows)."""
    if "reproducibility_json" not in responses.columns:
        return {}
    return stored_hashes(responses.get_column("reproducibility_json").to_list())


def eval_report(
    context: dg.AssetExecutionContext, project: EvalProject, warehouse: DuckDBResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Markdown and HTML report (prev vs current, gates, regressions, trends) and raw outputs."""
    pruned = pruned_report(context, project, warehouse, run_summary)
    if pruned is not None:  # retention removed the night's examples: the report from its aggregates
        return pruned
    inputs = stage_inputs(context, project, warehouse, after="runs", upstream="run_metrics")
    eval_date, config_name, plan = inputs.eval_date, inputs.config_name, inputs.plan
    config = plan.config.config
    with open_warehouse(warehouse) as conn:
        run = wh.read_partition(conn, "runs", eval_date, config_name).row(0, named=True)
        cell = {name: wh.read_partition(conn, name, eval_date, config_name) for name in REPORT_TABLES}
        scored = wh.scored_examples(conn, eval_date, config_name)
        history = wh.metric_history(conn, config_names=[config_name], until=eval_date)
        judged = wh.calibration_history(conn, config_name, until=eval_date)
        baseline_run = _baseline_run(conn, run)
    summary = run_summary(plan, run, call_costs(cell["responses"], cell["judge_verdicts"]), cell["responses"])
    health, no_data = health_gates(plan, cell["scores"], cell["judge_verdicts"])
    # A judge's error thresholds block only while the judge is calibrated against people (issue 10).
    outcomes = warn_uncalibrated(
        gate_outcomes(config.thresholds, cell["metrics"], no_data), uncalibrated_scorers(cell["calibration"].to_dicts())
    )
    comparisons = cell["comparisons"]
    baseline_label = _baseline_label(comparisons, summary)
    baseline_reason = run.get("baseline_reason")  # None for runs stored before schema 3
    declared = declared_threshold_checks(context)
    undeclared = [o.threshold.check_name for o in outcomes if o.threshold.check_name not in declared]
    if undeclared:
        context.log.warning(
            f"thresholds {undeclared} have no asset check yet (added after the code location loaded): they are "
            "in the report and in `eval-assets gate`; reload definitions to get their checks and alerts"
        )
    checks = [
        *threshold_check_results(declared, outcomes, config_name),
        regression_check(comparisons, config.regression, baseline_label, baseline_reason),
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
        baseline_reason=baseline_reason,
        changes=_changes(run, baseline_run),
        comparisons=comparison_lines(comparisons),
        flips=flip_lines(cell["flips"], cell["examples"]),
        review=people.review_summary(
            config.review, cell["review_tasks"], config_name=config_name, eval_date=str(eval_date)
        ),
        calibration=people.calibration_lines(cell["calibration"]),
        stability=stability_lines(cell["flakiness"]),
    )
    published = publish_report(
        project.run_folder(eval_date, config_name),
        report,
        all_examples=example_lines(_one_per_example(scored)),
        history=history,
        outputs=OutputsDocument(summary, cell["examples"], cell["responses"], cell["scores"]),
        links=project.links(),
        extra_figures=[f for f in [calibration_figure(judged)] if f is not None],
    )
    keys = inputs.keys
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
            "baseline": baseline_label or "none",
            "baseline_reason": baseline_reason or "",
        },
        check_results=checks,
    )


REPORT_TABLES = (
    "metrics", "examples", "responses", "scores", "judge_verdicts", "comparisons", "flips", "review_tasks",
    "calibration", "flakiness",
)  # fmt: skip


def _baseline_run(conn: duckdb.DuckDBPyConnection, run: Mapping[str, object]) -> Mapping[str, object] | None:
    """The baseline partition's runs row (None without a baseline)."""
    config, day = run.get("baseline_config"), run.get("baseline_date")
    if not isinstance(config, str) or not isinstance(day, dt.date):
        return None
    rows = wh.read_partition(conn, "runs", day, config)
    return rows.row(0, named=True) if rows.height else None


def _changes(run: Mapping[str, object], baseline: Mapping[str, object] | None) -> tuple[FactorChange, ...] | None:
    """What differs from the baseline; None when either side has no recorded factors."""
    mine, theirs = run.get("factors_json"), baseline.get("factors_json") if baseline else None
    if not isinstance(mine, str) or not isinstance(theirs, str):
        return None
    return tuple(changed_factors(json.loads(mine), json.loads(theirs)))


def _baseline_label(comparisons: pl.DataFrame, summary: RunSummary) -> str | None:
    if comparisons.height:
        row = comparisons.row(0, named=True)
        return f"{row['baseline_config']} {row['baseline_date']}"
    return f"{summary.config_name} {summary.baseline_date}" if summary.baseline_date else None


def _regression_gate_line(check: dg.AssetCheckResult, severity: str) -> list[GateLine]:
    return [GateLine(NO_REGRESSION, "no significant drop vs baseline", severity, check.passed, check.description or "")]


def flip_lines(flips: pl.DataFrame, examples: pl.DataFrame) -> list[FlipLine]:
    """Report lines of the flipped examples, pass -> fail first."""
    flipped = set(column_rows(flips, "dataset", "example_id"))
    inputs = {
        (dataset, example_id): text
        for dataset, example_id, text in column_rows(examples, "dataset", "example_id", "input_text")
        if (dataset, example_id) in flipped
    }
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
        eval_report,
        partitions,
        deps=["run_metrics", "review_queue", "judge_calibration"],
        check_specs=specs,
        kinds=frozenset({"duckdb", "html"}),
        gates_stop_the_night=False,
    )


def _one_per_example(scored: pl.DataFrame) -> pl.DataFrame:
    return scored.sort(["dataset", "example_id", "scorer"]).unique(
        subset=["dataset", "example_id"], keep="first", maintain_order=True
    )
