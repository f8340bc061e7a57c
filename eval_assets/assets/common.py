"""Glue shared by the asset modules: plans as Dagster failures, lineage columns, warehouse connections."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse
from eval_assets.assets.partitions import WAREHOUSE_POOL
from eval_assets.config import ModelSpec
from eval_assets.errors import InvalidInputError
from eval_assets.lineage import code_sha
from eval_assets.project import EvalPlan
from eval_assets.resources import EvalProject

GROUP = "evaluation"


def stage_asset(
    compute: Callable[..., dg.MaterializeResult],  # type: ignore[type-arg]
    partitions: dg.PartitionsDefinition,
    *,
    deps: Sequence[str] = (),
    check_specs: Sequence[dg.AssetCheckSpec] = (),
    kinds: frozenset[str] = frozenset({"duckdb"}),
) -> dg.AssetsDefinition:
    """Declare one stage of the graph with the policy every stage shares (group, pool, partitions)."""
    return dg.asset(
        name=compute.__name__,
        partitions_def=partitions,
        deps=list(deps),
        check_specs=list(check_specs),
        group_name=GROUP,
        kinds=set(kinds),
        pool=WAREHOUSE_POOL,
        code_version="1",
    )(compute)


def float_metadata(value: float) -> dg.FloatMetadataValue:
    """A float the UI can plot; sums of nothing arrive as int 0, which Dagster rejects as a float."""
    return dg.MetadataValue.float(float(value))


def plan_or_fail(project: EvalProject, config_name: str) -> EvalPlan:
    """The config's plan, or a Dagster Failure listing every input problem (no retries: input is wrong)."""
    try:
        return project.plan(config_name)
    except InvalidInputError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


#: Databases whose schema this process has already ensured (a check costs ~10 ms per connection).
_SCHEMA_ENSURED: set[str] = set()


@contextmanager
def open_warehouse(resource: DuckDBResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection with the schema in place (checked once per process and database)."""
    with resource.get_connection() as conn:
        if resource.database not in _SCHEMA_ENSURED:
            warehouse.ensure_schema(conn)
            _SCHEMA_ENSURED.add(resource.database)
        yield conn


def lineage(context: dg.AssetExecutionContext, plan: EvalPlan, eval_date: dt.date, git_sha: str) -> dict[str, Any]:
    """Run and lineage keys carried by every row of this partition."""
    return {
        "eval_date": eval_date,
        "config_name": plan.config.name,
        "run_id": context.run.run_id,
        "git_sha": git_sha,
        "code_sha": code_sha(),
        "config_hash": plan.config.content_hash,
    }


def require_upstream(
    conn: duckdb.DuckDBPyConnection, table: str, eval_date: dt.date, config_name: str, upstream: str
) -> None:
    """Fail clearly when the upstream asset of this partition was never materialized."""
    if warehouse.count_partition(conn, table, eval_date, config_name) == 0:
        raise dg.Failure(
            description=f"no rows in {table} for {config_name} on {eval_date}: materialize {upstream} first",
            allow_retries=False,
        )


def require_same_inputs(conn: duckdb.DuckDBPyConnection, plan: EvalPlan, eval_date: dt.date, config_name: str) -> None:
    """Fail clearly when the config or a dataset changed since eval_examples stored this partition.

    Later stages read the current files for references, tags and rubrics; mixing them with answers to
    another version would score old outputs against new references under the old dataset hash.
    """
    stored = warehouse.stored_input_hashes(conn, eval_date, config_name)
    now = {(plan.config.content_hash, name, d.content_hash) for name, d in plan.datasets.items()}
    if set(stored) != now:
        changed = sorted(
            {f"{name} ({old})" for _, name, old in set(stored) - now}
            | ({"config"} if {c for c, _, _ in stored} != {plan.config.content_hash} else set())
        )
        raise dg.Failure(
            description=(
                f"inputs of {config_name} {eval_date} changed since eval_examples stored them ({', '.join(changed)}): "
                "re-materialize the partition from eval_examples (eval-assets run does)"
            ),
            allow_retries=False,
        )


def require_api_keys(plan: EvalPlan, models: Sequence[ModelSpec]) -> None:
    """Fail before any call when a model's key variable is unset (every call would fail as ``auth``).

    Also logs, once per stage, which key variable goes to which host.
    """
    from eval_assets.llm.routing import key_route_lines, unset_key_variables

    missing = unset_key_variables(models)
    if missing:
        raise dg.Failure(
            description=f"{plan.config.path}: API key variable(s) not set: {', '.join('$' + v for v in missing)}",
            allow_retries=False,
        )
    for line in key_route_lines(models):
        dg.get_dagster_logger().warning(f"{plan.config.path}: {line}")
