"""review_queue: the night's review tasks (regression flips, judge conflicts, a calibration sample)."""

from collections import Counter

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import open_warehouse, stage_asset, stage_inputs
from eval_assets.resources import EvalProject
from eval_assets.review.night import night_inputs, task_rows
from eval_assets.review.selection import select_tasks


def review_queue(
    context: dg.AssetExecutionContext, project: EvalProject, warehouse: DuckDBResource
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Examples that need a person tonight, with a reason and a priority each."""
    inputs = stage_inputs(context, project, warehouse, after="runs", upstream="run_metrics")
    eval_date, config_name = inputs.eval_date, inputs.config_name
    config = inputs.plan.config.config
    with open_warehouse(warehouse) as conn:
        scores = wh.scores_with_outputs(conn, eval_date, config_name)
        night = night_inputs(
            eval_date,
            config,
            config_name,
            inputs.plan.rubrics,
            scores=scores,
            verdicts=wh.read_partition(conn, "judge_verdicts", eval_date, config_name),
            flips=wh.read_partition(conn, "flips", eval_date, config_name),
            comparisons=wh.read_partition(conn, "comparisons", eval_date, config_name),
            decided=wh.settled_keys(conn, other_than=(eval_date, config_name)),
        )
    tasks = select_tasks(night, config.review)
    ids = [wh.task_id(eval_date, config_name, *task.key) for task in tasks]
    rows = task_rows(tasks, scores, inputs.keys, ids=ids)
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(conn, eval_date, config_name, {"review_tasks": wh.frame("review_tasks", rows)})
    by_reason = Counter(reason for task in tasks for reason in task.reasons)
    return dg.MaterializeResult(
        metadata={
            "tasks": dg.MetadataValue.int(len(tasks)),
            **{f"tasks_{reason}": dg.MetadataValue.int(by_reason[reason]) for reason in config.review.reasons},
        }
    )


def build_review_queue(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The review_queue asset over the given partitions."""
    return stage_asset(review_queue, partitions, deps=["run_metrics"])
