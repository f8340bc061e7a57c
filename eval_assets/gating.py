"""Read a partition's stored gate verdicts for ``eval-assets gate`` (no Dagster: CI needs no instance)."""

from __future__ import annotations

import datetime as dt

import duckdb

from eval_assets import warehouse as wh
from eval_assets.reporting.folder import RunsFolder
from eval_assets.reporting.format import cost_of
from eval_assets.reporting.gate import GateEntry, GateVerdict, headline_rows
from eval_assets.settings import Settings


def load_verdict(settings: Settings, config_name: str, eval_date: dt.date | None) -> GateVerdict:
    """The verdict of one partition (default: the config's latest evaluated date).

    Raises:
        UsageError: nothing was evaluated for that config and date.
    """
    from eval_assets.outcome import UsageError

    try:
        with wh.connect(settings.warehouse_path, read_only=True) as conn:
            day = eval_date or wh.latest_evaluated_date(conn, config_name)
            if day is None:
                raise UsageError(f"no evaluation of config {config_name!r} in {settings.warehouse_path}")
            return _verdict(conn, settings, config_name, day)
    except duckdb.IOException as exc:
        raise UsageError(f"cannot read {settings.warehouse_path} (is a run writing it?): {exc}") from exc


def _verdict(conn: duckdb.DuckDBPyConnection, settings: Settings, config_name: str, day: dt.date) -> GateVerdict:
    from eval_assets.outcome import UsageError

    # A night whose examples retention removed still has its run, gates and metrics.
    started = wh.count_partition(conn, "examples", day, config_name) or wh.count_partition(
        conn, "runs", day, config_name
    )
    if not started:
        raise UsageError(f"config {config_name!r} was not evaluated on {day}")
    gates = tuple(
        GateEntry(check_name=g.check_name, severity=g.severity, passed=g.passed, description=g.description)
        for g in wh.stored_gates(conn, day, config_name)
    )
    model = wh.model_of(conn, day, config_name)
    metrics = [(m.metric, m.value, m.n, m.delta) for m in wh.overall_metrics(conn, day, config_name)]
    run_id = wh.gate_run_id(conn, day, config_name)
    incomplete = None
    if not gates:
        incomplete = (
            "the run stopped before its quality gates (a blocking check such as the error rate or budget "
            "failed, or the run crashed): see the Dagster run, then rerun the partition"
        )
    folder = RunsFolder(settings.runs_dir).run(day, config_name)
    links = settings.links()
    return GateVerdict(
        config_name=config_name,
        eval_date=str(day),
        model_id=str(model or ""),
        gates=gates,
        headline=headline_rows([(m, v, d) for m, v, _, d in metrics]),
        report_path=links.report(folder) if folder.report_html.exists() else None,
        incomplete=incomplete,
        run_url=links.dagster_run(str(run_id)) if run_id else None,
        cost=cost_of({m: (v, n) for m, v, n, _ in metrics}, model_id=str(model or "")) if metrics else None,
    )
