"""run_metrics: per-scorer and per-tag metrics, operational figures, and deltas against the baseline."""

import datetime as dt
import json
from collections import Counter
from typing import Any

import dagster as dg
import duckdb
import polars as pl
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import (
    float_metadata,
    open_warehouse,
    stage_asset,
    stage_inputs,
)
from eval_assets.assets.partitions import cell_key
from eval_assets.project import EvalPlan
from eval_assets.reporting.changes import run_factors
from eval_assets.reproducibility import stored_hashes
from eval_assets.resources import EvalProject
from eval_assets.scoring.comparison import ScorerComparison, compare_runs, flipped
from eval_assets.scoring.flakiness import ledger_from_history, ledger_rows, set_apart_from_gate, stability_counts
from eval_assets.scoring.metrics import ComparedMetric, MetricValue, compare, response_metrics, scorer_metrics
from eval_assets.scoring.regressions import gated_regressions


def baseline_metrics(conn: duckdb.DuckDBPyConnection, baseline: tuple[str, dt.date] | None) -> list[MetricValue]:
    """The metrics stored for the baseline partition (empty without a baseline)."""
    if baseline is None:
        return []
    frame = wh.read_partition(conn, "metrics", baseline[1], baseline[0])
    return [MetricValue(r["metric"], r["tag"], r["value"], r["n"]) for r in frame.iter_rows(named=True)]


def comparison_rows(
    comparisons: list[ScorerComparison], baseline: tuple[str, dt.date], keys: dict[str, Any]
) -> list[dict[str, Any]]:
    """One comparisons row per scorer and tag."""
    return [
        {
            **keys,
            "scorer": c.scorer,
            "tag": c.tag,
            "kind": c.comparison.kind,
            "baseline_config": baseline[0],
            "baseline_date": baseline[1],
            "n": c.comparison.n,
            "baseline_value": c.comparison.baseline,
            "current_value": c.comparison.current,
            "delta": c.comparison.delta,
            "ci_low": c.comparison.ci_low,
            "ci_high": c.comparison.ci_high,
            "p_value": c.comparison.p_value,
            "flipped_to_fail": len(c.comparison.flipped_to_fail),
            "flipped_to_pass": len(c.comparison.flipped_to_pass),
            "regression": c.regression,
            "gated": c.gated,
            "verdict": c.verdict,
            "mde": c.mde,
            "n_needed": c.n_needed,
            "p_adjusted": c.p_adjusted,
            "set_apart": c.set_apart,
        }
        for c in comparisons
    ]


def flip_rows(
    comparisons: list[ScorerComparison],
    baseline: tuple[str, dt.date],
    current: pl.DataFrame,
    previous: pl.DataFrame,
    keys: dict[str, Any],
) -> list[dict[str, Any]]:
    """One flips row per example whose verdict changed, with both answers and both explanations."""
    now = {(r["dataset"], r["example_id"], r["scorer"]): r for r in current.iter_rows(named=True)}
    then = {(r["dataset"], r["example_id"], r["scorer"]): r for r in previous.iter_rows(named=True)}
    rows = []
    for scorer, (dataset, example_id), direction in flipped(comparisons):
        mine, theirs = now.get((dataset, example_id, scorer), {}), then.get((dataset, example_id, scorer), {})
        rows.append(
            {
                **keys,
                "dataset": dataset,
                "example_id": example_id,
                "scorer": scorer,
                "direction": direction,
                "baseline_config": baseline[0],
                "baseline_date": baseline[1],
                "baseline_output": theirs.get("output_text"),
                "current_output": mine.get("output_text"),
                "baseline_detail": theirs.get("detail"),
                "current_detail": mine.get("detail"),
            }
        )
    return rows


def metric_rows(compared: list[ComparedMetric], baseline: dt.date | None, keys: dict[str, Any]) -> list[dict[str, Any]]:
    """One metrics row per (metric, tag)."""
    return [
        {
            **keys,
            "metric": m.metric,
            "tag": m.tag,
            "value": m.value,
            "n": m.n,
            "baseline_date": baseline,
            "baseline_value": m.baseline_value,
            "delta": m.delta,
        }
        for m in compared
    ]


def factors_of(
    plan: EvalPlan, responses: pl.DataFrame, verdicts: pl.DataFrame, scores: pl.DataFrame, keys: dict[str, Any]
) -> dict[str, str]:
    """What the report compares with the baseline's: model, prompt, sampling, inputs, judges, scorers, code."""
    model = plan.config.config.model

    def most_common(values: list[str | None]) -> str | None:
        found = Counter(v for v in values if v)
        return found.most_common(1)[0][0] if found else None

    judges = {
        str(judge): most_common(rows.get_column("judge_model_version").to_list())
        for (judge,), rows in verdicts.group_by(["judge_model"])
    }
    scorer_versions = {
        str(r["scorer"]): str(r["scorer_version"]) for r in scores.unique(["scorer"]).iter_rows(named=True)
    }
    return run_factors(
        model_id=model.id,
        model_version=most_common(responses.get_column("model_version").to_list()),
        system_prompt=model.system_prompt,
        sampling={"temperature": model.temperature, "max_tokens": model.max_tokens, "seed": model.seed},
        dataset_hashes={n: d.content_hash for n, d in plan.datasets.items()},
        rubric_hashes={n: r.content_hash for n, r in plan.rubrics.items()},
        judges=judges,
        scorer_versions=scorer_versions,
        code_sha=str(keys.get("code_sha", "")),
        git_sha=str(keys.get("git_sha", "")),
        reproducibility=stored_hashes(responses.get_column("reproducibility_json").to_list()),
    )


def headline_metadata(compared: list[ComparedMetric]) -> dict[str, Any]:
    """Overall metrics as floats, so the Dagster UI can plot them across partitions."""
    return {m.metric: float_metadata(m.value) for m in compared if m.tag is None and m.value is not None}


#: How long a night waits for an earlier night still running to store its gate verdicts (60 x 30 s).
BASELINE_WAIT_RETRIES, BASELINE_WAIT_S = 60, 30
_IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def wait_for_undecided_nights(
    context: dg.AssetExecutionContext, choice: wh.BaselineChoice | wh.NoBaseline, config_name: str
) -> None:
    """Retry later while an earlier night that could become the baseline is still running.

    A backfill runs nights in parallel; a sequential run would have waited for the earlier night's gates, so
    this one does too (the baseline is chosen by data, not by which run got there first). A night that
    stopped before its gates (no run in flight) is simply not a baseline.
    """
    for day in choice.undecided:
        records = context.instance.get_run_records(
            dg.RunsFilter(tags={"dagster/partition": str(cell_key(day, config_name))}, statuses=_IN_FLIGHT)
        )
        if any(r.dagster_run.run_id != context.run_id for r in records):
            context.log.info(f"waiting for {config_name} {day} to store its gate verdicts: it may be the baseline")
            raise dg.RetryRequested(max_retries=BASELINE_WAIT_RETRIES, seconds_to_wait=BASELINE_WAIT_S)


def run_metrics(
    context: dg.AssetExecutionContext, project: EvalProject, warehouse: DuckDBResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Pass rates and means per scorer and tag, error rate, latency, tokens and cost, with deltas."""
    inputs = stage_inputs(context, project, warehouse, after="scores", upstream="example_scores")
    eval_date, config_name, plan, keys = inputs.eval_date, inputs.config_name, inputs.plan, inputs.keys
    with open_warehouse(warehouse) as conn:
        scores = wh.read_partition(conn, "scores", eval_date, config_name)
        responses = wh.read_partition(conn, "responses", eval_date, config_name)
        verdicts = wh.read_partition(conn, "judge_verdicts", eval_date, config_name)
        pinned = plan.config.config.baseline
        choice = wh.choose_baseline(conn, config_name, eval_date, pinned_config=pinned.config, pinned_date=pinned.date)
        wait_for_undecided_nights(context, choice, config_name)
        baseline = choice.key if isinstance(choice, wh.BaselineChoice) else None
        previous = baseline_metrics(conn, baseline)
        current_scores = wh.scores_with_outputs(conn, eval_date, config_name)
        baseline_scores = wh.scores_with_outputs(conn, baseline[1], baseline[0]) if baseline else current_scores.clear()
        policy = plan.config.config.regression
        history = wh.score_history(conn, config_name, eval_date, nights=policy.flaky_window)
    current = [*scorer_metrics(scores), *response_metrics(responses, verdicts)]
    compared = compare(current, previous)
    # Flaky examples are set apart: counted and reported, never gated. Flaky means on the nights before tonight
    # or among tonight's repeats; the ledger written below includes tonight, for the report and the alert.
    ledger = ledger_from_history(history)
    set_apart = frozenset() if policy.gate_flaky else set_apart_from_gate(history, eval_date)
    comparisons = compare_runs(current_scores, baseline_scores, policy=policy, set_apart=set_apart)
    versions = Counter(v for v in responses.get_column("model_version").to_list() if v)
    cost = next((m.value for m in compared if m.metric == "cost_usd" and m.tag is None), None)
    run_row = {
        **keys,
        "model_id": plan.config.config.model.id,
        "model_version": versions.most_common(1)[0][0] if versions else None,
        "dataset_hashes_json": json.dumps({n: d.content_hash for n, d in plan.datasets.items()}, sort_keys=True),
        "prompt_hashes_json": json.dumps({n: r.content_hash for n, r in plan.rubrics.items()}, sort_keys=True),
        "n_examples": responses.unique(["dataset", "example_id"]).height,  # repeats are not more examples
        "n_errors": responses.filter(pl.col("error_type").is_not_null()).height,
        "cost_usd": cost,
        "baseline_date": baseline[1] if baseline else None,
        "baseline_config": baseline[0] if baseline else None,
        "baseline_reason": choice.reason,
        "factors_json": json.dumps(factors_of(plan, responses, verdicts, scores, keys)),
        "finished_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
    }
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(
            conn,
            eval_date,
            config_name,
            {
                "metrics": wh.frame("metrics", metric_rows(compared, baseline[1] if baseline else None, keys)),
                "runs": wh.frame("runs", [run_row]),
                "comparisons": wh.frame(
                    "comparisons", comparison_rows(comparisons, baseline, keys) if baseline else []
                ),
                "flips": wh.frame(
                    "flips", flip_rows(comparisons, baseline, current_scores, baseline_scores, keys) if baseline else []
                ),
                "flakiness": wh.frame("flakiness", ledger_rows(ledger, keys)),
            },
        )
    return dg.MaterializeResult(
        metadata={
            **headline_metadata(compared),
            "baseline": f"{baseline[0]} {baseline[1]}" if baseline else "none",
            "baseline_reason": choice.reason,
            "regressions": dg.MetadataValue.int(len(gated_regressions(comparisons))),
            "metric_rows": dg.MetadataValue.int(len(compared)),
            **{f"ledger_{name}": dg.MetadataValue.int(n) for name, n in stability_counts(ledger).items()},
        }
    )


def build_run_metrics(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The run_metrics asset over the given partitions."""
    return stage_asset(run_metrics, partitions, deps=["example_scores"])
