"""eval_report of a night whose per-example detail retention removed: the report from the aggregates alone.

The run, metrics, comparisons and gate verdicts of every night are kept forever, so the report's header,
metrics table, comparisons, gates and trend charts render as before; the examples sections say the detail
was removed. The stored gate verdicts are the night's checks: they are not recomputed (their evidence is
gone) nor rewritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import open_warehouse, plan_or_fail
from eval_assets.assets.partitions import partition_cell
from eval_assets.assets.report_checks import comparison_lines, gate_outcomes
from eval_assets.project import EvalPlan
from eval_assets.reporting.build import metric_lines
from eval_assets.reporting.model import GateLine, ReportData, RunSummary
from eval_assets.reporting.publish import publish_pruned_report
from eval_assets.resources import EvalProject

#: What the report says in place of its examples.
PRUNED_NOTE = (
    "The per-example detail of this night (inputs, answers, scores, judge verdicts) was removed by retention "
    "(the config's retention: windows). Metrics, comparisons, gates and trends come from the stored aggregates; "
    "raw outputs written by the night's run, if kept, are in outputs.json."
)


def pruned_report(
    context: dg.AssetExecutionContext,
    project: EvalProject,
    warehouse: DuckDBResource,
    summary_of: Callable[[EvalPlan, Mapping[str, object]], RunSummary],
) -> dg.MaterializeResult | None:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """The night's report from its aggregates, or None when its detail is there (the ordinary report)."""
    eval_date, config_name = partition_cell(context)
    with open_warehouse(warehouse) as conn:
        if not wh.details_pruned(conn, eval_date, config_name):
            return None
        run = wh.read_partition(conn, "runs", eval_date, config_name).row(0, named=True)
        metrics = wh.read_partition(conn, "metrics", eval_date, config_name)
        comparisons = wh.read_partition(conn, "comparisons", eval_date, config_name)
        gates = wh.stored_gates(conn, eval_date, config_name)
        history = wh.metric_history(conn, config_names=[config_name], until=eval_date)
    plan = plan_or_fail(project, config_name)  # the stored inputs went with the examples: today's file
    summary = summary_of(plan, run)
    overall, by_tag = metric_lines(metrics, gate_outcomes(plan.config.config.thresholds, metrics), summary.cost)
    baseline = run.get("baseline_config"), run.get("baseline_date")
    report = ReportData(
        summary=summary,
        metrics=overall,
        tag_metrics=by_tag,
        gates=[GateLine(g.check_name, g.check_name, g.severity, g.passed, g.description) for g in gates],
        worst=[],
        notes=[PRUNED_NOTE],
        baseline_label=f"{baseline[0]} {baseline[1]}" if isinstance(baseline[1], dt.date) else None,
        baseline_reason=run.get("baseline_reason") if isinstance(run.get("baseline_reason"), str) else None,
        comparisons=comparison_lines(comparisons),
        details_pruned=PRUNED_NOTE,
    )
    published = publish_pruned_report(
        project.run_folder(eval_date, config_name), report, history=history, links=project.links()
    )
    stored = {g.check_name: g for g in gates}
    checks = []
    for key in context.assets_def.check_keys:
        gate = stored.get(key.name)
        checks.append(
            dg.AssetCheckResult(
                check_name=key.name,
                passed=gate.passed if gate else True,
                severity=dg.AssetCheckSeverity.ERROR
                if gate and gate.severity == "error"
                else dg.AssetCheckSeverity.WARN,
                description=(gate.description if gate else "no stored verdict") + " (stored; details pruned)",
                metadata={"details_pruned": True},
            )
        )
    context.log.info(f"{config_name} {eval_date}: per-example detail pruned; report rendered from aggregates")
    return dg.MaterializeResult(
        metadata={
            "report": dg.MetadataValue.md(published.markdown),
            **{name: dg.MetadataValue.path(str(path.resolve())) for name, path in published.files.items()},
            "details_pruned": True,
        },
        check_results=checks,
    )
