"""eval_examples: the config's datasets, validated and stored with their content hashes."""

import json
from collections.abc import Iterator
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import lineage, open_warehouse, plan_or_fail, stage_asset
from eval_assets.assets.partitions import partition_cell
from eval_assets.datasets import Example
from eval_assets.project import EvalPlan, limit_plan
from eval_assets.resources import EvalProject, ExampleOptions

EXAMPLES_COMPLETE = "examples_complete"


def example_rows(plan: EvalPlan, keys: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """One examples row per selected example, made as :func:`warehouse.frame` takes them (a batch at a time)."""
    return (
        {
            **keys,
            "dataset": example.dataset,
            "dataset_hash": plan.datasets[example.dataset].content_hash,
            "example_id": example.id,
            "line": example.line,
            "input_json": json.dumps(example.input if isinstance(example.input, str) else list(example.input)),
            "input_text": example.transcript,
            "reference": list(example.references),
            "tags": list(example.tags),
            "metadata_json": json.dumps(example.metadata) if example.metadata else None,
        }
        for example in plan.examples
    )


def completeness(plan: EvalPlan, stored: int) -> dg.AssetCheckResult:
    """Every selected example landed, every configured dataset contributed, keys are unique."""
    expected = len(plan.examples)
    per_dataset: dict[str, int] = {}
    for example in plan.examples:
        per_dataset[example.dataset] = per_dataset.get(example.dataset, 0) + 1
    keys = {(e.dataset, e.id) for e in plan.examples}
    empty = [ref.name for ref in plan.config.config.datasets if per_dataset.get(ref.name, 0) == 0]
    passed = stored == expected and not empty and len(keys) == expected and expected > 0
    return dg.AssetCheckResult(
        check_name=EXAMPLES_COMPLETE,
        passed=passed,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "expected_rows": expected,
            "stored_rows": stored,
            "examples_per_dataset": dg.MetadataValue.json(per_dataset),
            "empty_datasets": dg.MetadataValue.json(empty),
        },
        description=None if passed else f"stored {stored} of {expected} examples; empty datasets: {empty}",
    )


def eval_examples(
    context: dg.AssetExecutionContext, project: EvalProject, warehouse: DuckDBResource, config: ExampleOptions
) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Golden examples selected by the config, validated, with their dataset hashes."""
    eval_date, config_name = partition_cell(context)
    plan = limit_plan(plan_or_fail(project, config_name), config.limit)
    if config.limit is not None:
        context.log.info(f"smoke run: the first {config.limit} examples of each dataset ({len(plan.examples)} in all)")
    keys = lineage(context, plan, eval_date, project.git_sha())
    examples = wh.frame("examples", example_rows(plan, keys))
    with open_warehouse(warehouse) as conn:
        wh.replace_partition(conn, eval_date, config_name, {"examples": examples})
        stored = wh.count_partition(conn, "examples", eval_date, config_name)
    # The cell's previous report describes answers that are now being replaced.
    project.run_folder(eval_date, config_name).clear_reports()
    hashes = {name: dataset.content_hash for name, dataset in plan.datasets.items()}
    return dg.MaterializeResult(
        metadata={
            "examples": dg.MetadataValue.int(examples.height),
            "dataset_hashes": dg.MetadataValue.json(hashes),
            "config_hash": plan.config.content_hash,
            "git_sha": keys["git_sha"],
        },
        check_results=[completeness(plan, stored)],
        data_version=dg.DataVersion(f"{plan.config.content_hash}:" + ",".join(sorted(hashes.values()))),
    )


def example_by_key(plan: EvalPlan) -> dict[tuple[str, str], Example]:
    """The plan's examples by (dataset, id)."""
    return {(e.dataset, e.id): e for e in plan.examples}


def build_eval_examples(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """The eval_examples asset over the given partitions."""
    return stage_asset(
        eval_examples,
        partitions,
        check_specs=[
            dg.AssetCheckSpec(
                EXAMPLES_COMPLETE,
                asset="eval_examples",
                blocking=True,
                description="Datasets valid; every selected example stored once; no configured dataset empty.",
            )
        ],
    )
