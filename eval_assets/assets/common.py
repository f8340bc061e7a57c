"""Glue shared by the asset modules: plans as Dagster failures, lineage columns, warehouse connections."""

from __future__ import annotations

import datetime as dt
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse
from eval_assets.assets.partitions import WAREHOUSE_POOL, partition_cell
from eval_assets.assets.stops import reporting_stops
from eval_assets.config import ModelSpec
from eval_assets.errors import InvalidInputError
from eval_assets.lineage import code_sha
from eval_assets.project import EvalPlan
from eval_assets.resources import CellLeases, EvalProject
from eval_assets.scoring.registry import scorer_versions
from eval_assets.stored_inputs import STORED_COLUMNS, StoredExamples, StoredInputsChangedError, plan_from_stored

GROUP = "evaluation"
#: The resource every stage holds its cell's lease through (:class:`~eval_assets.resources.CellLeases`).
CELL_LEASES = "cell_leases"


def code_version(*, scorers: bool = False) -> str:
    """What a stage's results depend on in this code: the warehouse schema and, for scoring, every scorer.

    Dagster marks a partition stale when its asset's code version changes, so bumping a scorer's version
    (or the schema) shows which nights were scored by older code.
    """
    parts = [f"schema{warehouse.SCHEMA_VERSION}"]
    if scorers:
        parts += [f"{name}@{version}" for name, version in sorted(scorer_versions().items())]
    return ";".join(parts)


def stage_asset(
    compute: Callable[..., dg.MaterializeResult],  # type: ignore[type-arg]
    partitions: dg.PartitionsDefinition,
    *,
    deps: Sequence[str] = (),
    check_specs: Sequence[dg.AssetCheckSpec] = (),
    kinds: frozenset[str] = frozenset({"duckdb"}),
    version: str | None = None,
    gates_stop_the_night: bool = True,
) -> dg.AssetsDefinition:
    """Declare one stage of the graph with the policy every stage shares (group, pool, partitions).

    A stage that raises, or fails a blocking gate when ``gates_stop_the_night``, writes the night's
    stopped report (nothing downstream of it runs to write one). The report stage's own gates only
    decide the verdict: it passes False.
    """
    blocking = {spec.name for spec in check_specs if spec.blocking} if gates_stop_the_night else set()
    return dg.asset(
        name=compute.__name__,
        partitions_def=partitions,
        deps=list(deps),
        check_specs=list(check_specs),
        group_name=GROUP,
        kinds=set(kinds),
        pool=WAREHOUSE_POOL,
        code_version=version or code_version(),
    )(reporting_stops(holding_the_cell(compute), blocking_checks=blocking))


def float_metadata(value: float) -> dg.FloatMetadataValue:
    """A float the UI can plot; sums of nothing arrive as int 0, which Dagster rejects as a float."""
    return dg.MetadataValue.float(float(value))


def plan_or_fail(project: EvalProject, config_name: str) -> EvalPlan:
    """The config's plan, or a Dagster Failure listing every input problem (no retries: input is wrong)."""
    try:
        return project.plan(config_name)
    except InvalidInputError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc


@dataclass(frozen=True)
class StageInputs:
    """What a later stage works on: its cell, the plan rebuilt from the stored examples, and the row keys."""

    eval_date: dt.date
    config_name: str
    plan: EvalPlan
    keys: dict[str, Any]


def stage_inputs(
    context: dg.AssetExecutionContext, project: EvalProject, resource: DuckDBResource, *, after: str, upstream: str
) -> StageInputs:
    """The shared preamble of every stage after ``eval_examples``: read the inputs once, as stored.

    Args:
        context: The asset's context (its partition is the cell).
        project: Where the config and rubric files are.
        resource: The warehouse.
        after: The table the stage reads, which its upstream asset writes.
        upstream: That asset, named in the failure when it was never materialized.

    Raises:
        dg.Failure: the upstream stage has not run, the config or a rubric is invalid, or the config changed
            since ``eval_examples`` stored the cell (no retries: they would fail the same way).
    """
    eval_date, config_name = partition_cell(context)
    with open_warehouse(resource) as conn:
        require_upstream(conn, after, eval_date, config_name, upstream)
        stored = _stored_examples(conn, resource.database, eval_date, config_name)
    try:
        plan = plan_from_stored(Path(project.data_dir), config_name, stored)
    except InvalidInputError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    except StoredInputsChangedError as exc:
        raise dg.Failure(
            description=f"{exc}: re-materialize the partition from eval_examples (eval-assets run does)",
            allow_retries=False,
        ) from exc
    # The data's commit is the one the first stage saw: every row of a night names the same inputs.
    keys = lineage(context, plan, eval_date, str(stored.git_sha))
    return StageInputs(eval_date, config_name, plan, keys)


#: The last cell whose examples this process decoded, with the cell's stamp when it was read: the later stages
#: of one in-process run share one decode (~0.1 s per stage at 5,000 examples) instead of one each. One cell
#: only: a process running many cells keeps none but the latest.
_last_decoded: tuple[tuple[str, dt.date, str], tuple[int, str, str], StoredExamples] | None = None


def _stored_examples(
    conn: duckdb.DuckDBPyConnection, database: str, eval_date: dt.date, config_name: str
) -> StoredExamples:
    """The cell's stored examples, decoded again only when another write of the cell changed its stamp."""
    global _last_decoded
    cell = (database, eval_date, config_name)
    stamp = warehouse.partition_stamp(conn, "examples", eval_date, config_name)
    if _last_decoded is not None and _last_decoded[:2] == (cell, stamp):
        return _last_decoded[2]
    _last_decoded = None  # let the previous cell go before this one is decoded: never two in memory at once
    rows = warehouse.read_partition(conn, "examples", eval_date, config_name, columns=STORED_COLUMNS)
    stored = StoredExamples.from_rows(rows.to_dicts())
    _last_decoded = (cell, stamp, stored)
    return stored


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


def holding_the_cell(compute: Callable[..., dg.MaterializeResult]) -> Callable[..., dg.MaterializeResult]:  # type: ignore[type-arg]
    """``compute`` run with the cell's lease held from the first stage to the end of the run
    (:meth:`~eval_assets.resources.CellLeases.hold`): a second run of the cell waits, then pays nothing and
    rewrites nothing the first still reads. The stage takes one more resource, the leases, which ``compute``
    never sees."""

    @functools.wraps(compute)
    def run(context: dg.AssetExecutionContext, **kwargs: Any) -> dg.MaterializeResult:  # type: ignore[type-arg]
        leases: CellLeases = kwargs.pop(CELL_LEASES)
        project = kwargs.get("project")
        if not isinstance(project, EvalProject):
            return compute(context, **kwargs)
        eval_date, config_name = partition_cell(context)
        lease = project.run_folder(eval_date, config_name).lease
        cell = f"{config_name} {eval_date}"
        with leases.hold(lease, run_id=context.run.run_id, cell=cell, log=context.log.warning):
            return compute(context, **kwargs)

    signature = inspect.signature(compute)
    extra = inspect.Parameter(CELL_LEASES, inspect.Parameter.KEYWORD_ONLY, annotation=CellLeases)
    params = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    run.__signature__ = signature.replace(parameters=[*params, extra])  # type: ignore[attr-defined]
    run.__annotations__ = {**compute.__annotations__, CELL_LEASES: CellLeases}
    return run


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
