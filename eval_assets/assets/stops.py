"""Glue: a stage that stops the night writes the night's report itself (nothing downstream will).

:func:`reporting_stops` wraps a stage's compute function: when it raises, or returns a failed blocking
gate, the cell's folder gets a stopped-night report (:mod:`eval_assets.reporting.stopped`) built from what
the warehouse holds for the cell, then the stage ends as it would have.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.partitions import partition_cell
from eval_assets.leases import CellBusyError
from eval_assets.reporting.stopped import StoppedNight, publish_stopped_report
from eval_assets.resources import EvalProject

#: The cell's tables in the order the stages fill them: "what ran" lists them so.
STAGE_TABLES = ("examples", "responses", "scores")
#: What a stopped night's report keeps of each answer received.
OUTPUT_FIELDS = ("dataset", "example_id", "output_text", "error_type", "error_message", "cached")


def reporting_stops(
    compute: Callable[..., dg.MaterializeResult],  # type: ignore[type-arg]
    *,
    blocking_checks: Collection[str],
) -> Callable[..., dg.MaterializeResult]:  # type: ignore[type-arg]
    """``compute``, writing a stopped-night report when it raises or fails one of ``blocking_checks``."""

    @functools.wraps(compute)
    def run(context: dg.AssetExecutionContext, **kwargs: Any) -> dg.MaterializeResult:  # type: ignore[type-arg]
        project, resource = kwargs.get("project"), kwargs.get("warehouse")
        try:
            result = compute(context, **kwargs)
        except CellBusyError:  # another run holds the cell: its report is the one to keep
            raise
        except Exception as exc:
            if isinstance(project, EvalProject):
                reason = exc.description if isinstance(exc, dg.Failure) and exc.description else _describe(exc)
                write_stopped_report(context, project, resource, compute.__name__, [reason])
            raise
        failed = [
            check.description or f"{check.check_name} failed"
            for check in result.check_results or []
            if check.check_name in blocking_checks and not check.passed
        ]
        if failed and isinstance(project, EvalProject):
            write_stopped_report(context, project, resource, compute.__name__, failed)
        return result

    return run


def write_stopped_report(
    context: dg.AssetExecutionContext,
    project: EvalProject,
    resource: object,
    stage: str,
    reasons: Sequence[str],
) -> None:
    """Write the cell's stopped-night report; a failure here is logged, never raised over the real one."""
    try:
        eval_date, config_name = partition_cell(context)
        stored, outputs = _stored(resource, eval_date, config_name)
        night = StoppedNight(
            config_name=config_name,
            eval_date=str(eval_date),
            run_id=context.run.run_id,
            stage=stage,
            reasons=tuple(reasons),
            next_step=(
                "Fix the cause above, then rerun the cell: "
                f"eval-assets run --config {config_name} --date {eval_date} "
                "(answers already received are reused from the cache, nothing is paid twice)."
            ),
            stored=stored,
            errors_by_type=dict(
                Counter(str(row["error_type"]) for row in outputs if row.get("error_type") is not None)
            ),
            outputs=outputs,
        )
        files = publish_stopped_report(project.run_folder(eval_date, config_name), night)
        context.log.error(f"{night.headline}; report: {files['report_html']}")
    except Exception as exc:  # the stage's own failure is what the user must see
        context.log.warning(f"could not write the stopped night's report: {_describe(exc)}")


def _stored(resource: object, eval_date: Any, config_name: str) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Rows per stage table for the cell, and the answers received (none when the warehouse is unreadable)."""
    if not isinstance(resource, DuckDBResource):
        return {}, []
    try:
        with resource.get_connection() as conn:
            stored = {table: wh.count_partition(conn, table, eval_date, config_name) for table in STAGE_TABLES}
            responses = wh.read_partition(conn, "responses", eval_date, config_name)
    except Exception:  # e.g. the warehouse is what failed: the report still says what failed
        return {}, []
    outputs = [{name: row.get(name) for name in OUTPUT_FIELDS} for row in responses.to_dicts()]
    return stored, outputs


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
