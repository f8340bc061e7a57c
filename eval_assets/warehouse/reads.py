"""What the stages, the gate, the alerts and the pages read: every query of the package besides cell writes.

Each function names what it answers; none returns more than its caller needs. They take a connection, so a
caller reading several things opens one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb
import polars as pl

from eval_assets.warehouse.connection import scalar, sql_frame


@dataclass(frozen=True)
class StoredGate:
    """A gate's verdict as the report stage stored it."""

    check_name: str
    severity: str
    passed: bool
    description: str


@dataclass(frozen=True)
class OverallMetric:
    """A run-wide metric (tag NULL) of one partition."""

    metric: str
    value: float | None
    n: int
    delta: float | None


def latest_evaluated_date(conn: duckdb.DuckDBPyConnection, config_name: str) -> dt.date | None:
    """The latest date this config has examples stored for (or a run: retention may have removed its examples)."""
    found = scalar(
        conn,
        "SELECT max(eval_date) FROM (SELECT eval_date FROM examples WHERE config_name = ? "
        "UNION ALL SELECT eval_date FROM runs WHERE config_name = ?)",
        [config_name, config_name],
    )
    return found if isinstance(found, dt.date) else None


def details_pruned(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> bool:
    """Whether retention removed the night's per-example detail: its run is stored, with fewer examples than it
    replayed (none, or only those a person decided)."""
    found = scalar(
        conn,
        "SELECT (SELECT max(n_examples) FROM runs WHERE eval_date = ? AND config_name = ?) > "
        "(SELECT count(*) FROM examples WHERE eval_date = ? AND config_name = ?)",
        [eval_date, config_name, eval_date, config_name],
    )
    return bool(found)


def stored_gates(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> list[StoredGate]:
    """The partition's gate verdicts, failed first, then errors before warnings, then by name."""
    rows = conn.execute(
        "SELECT check_name, severity, passed, description FROM gate_results "
        "WHERE eval_date = ? AND config_name = ? ORDER BY passed, severity, check_name",
        [eval_date, config_name],
    ).fetchall()
    return [StoredGate(name, severity, passed, description or "") for name, severity, passed, description in rows]


def gate_run_id(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> str | None:
    """The Dagster run that wrote the partition's gate verdicts."""
    found = scalar(
        conn,
        "SELECT any_value(run_id) FROM gate_results WHERE eval_date = ? AND config_name = ?",
        [eval_date, config_name],
    )
    return str(found) if found is not None else None


def model_of(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> str | None:
    """The model under test of a partition (from its answers, so a run stopped before its metrics has one; from
    its run when retention removed the answers)."""
    found = scalar(
        conn,
        "SELECT coalesce((SELECT any_value(model_id) FROM responses WHERE eval_date = ? AND config_name = ?), "
        "(SELECT any_value(model_id) FROM runs WHERE eval_date = ? AND config_name = ?))",
        [eval_date, config_name, eval_date, config_name],
    )
    return str(found) if found is not None else None


def overall_metrics(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> list[OverallMetric]:
    """The partition's run-wide metrics with their deltas against the baseline."""
    rows = conn.execute(
        "SELECT metric, value, n, delta FROM metrics WHERE eval_date = ? AND config_name = ? AND tag IS NULL",
        [eval_date, config_name],
    ).fetchall()
    return [OverallMetric(metric, value, int(n), delta) for metric, value, n, delta in rows]


def flipped_to_fail(
    conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str, *, limit: int
) -> list[tuple[str, str, str]]:
    """(dataset, example id, scorer) of examples that passed in the baseline and fail now, first ``limit``."""
    rows = conn.execute(
        "SELECT dataset, example_id, scorer FROM flips WHERE config_name = ? AND eval_date = ? "
        "AND direction = 'pass_to_fail' ORDER BY scorer, dataset, example_id LIMIT ?",
        [config_name, eval_date, limit],
    ).fetchall()
    return [(dataset, example_id, scorer) for dataset, example_id, scorer in rows]


def spent_in_run(
    conn: duckdb.DuckDBPyConnection, run_id: str, eval_date: dt.date, config_name: str
) -> tuple[float, int]:
    """Dollars and tokens the model-under-test calls of one run paid for (cached answers cost nothing again)."""
    rows = conn.execute(
        "SELECT coalesce(sum(cost_usd), 0), coalesce(sum(input_tokens + output_tokens), 0) FROM responses "
        "WHERE eval_date = ? AND config_name = ? AND run_id = ? AND NOT cached",
        [eval_date, config_name, run_id],
    ).fetchall()
    return float(rows[0][0]), int(rows[0][1])


def scored_examples(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> pl.DataFrame:
    """The partition's rows of the ``scored_examples`` view (scores with inputs, references and answers)."""
    return sql_frame(
        conn,
        "SELECT * FROM scored_examples WHERE eval_date = $d AND config_name = $c",
        {"d": eval_date, "c": config_name},
    )


def scores_with_outputs(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> pl.DataFrame:
    """A partition's scores with the answers they judged."""
    return sql_frame(
        conn,
        "SELECT s.*, r.output_text FROM scores s "
        "JOIN responses r USING (eval_date, config_name, dataset, example_id, repeat_index) "
        "WHERE s.eval_date = $d AND s.config_name = $c",
        {"d": eval_date, "c": config_name},
    )


def metric_history(
    conn: duckdb.DuckDBPyConnection, *, config_names: Sequence[str] | None = None, until: dt.date | None = None
) -> pl.DataFrame:
    """Every metric row over time (optionally of some configs, up to a date), oldest first: what trends plot."""
    conditions: list[str] = []
    params: dict[str, object] = {}
    if config_names is not None:
        conditions.append("list_contains($configs, config_name)")
        params["configs"] = list(config_names)
    if until is not None:
        conditions.append("eval_date <= $until")
        params["until"] = until
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return sql_frame(
        conn, f"SELECT eval_date, config_name, metric, tag, value, n FROM metrics {where} ORDER BY eval_date", params
    )


def latest_run_summaries(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """The latest run of each config with its failed blocking gates, how much of its cost is priced, and its
    model calls (``calls``, the ``error_rate`` metric's n: with repeats, more than its examples)."""
    return sql_frame(
        conn,
        """
        SELECT r.eval_date, r.config_name, r.model_id, r.model_version, r.n_examples, r.n_errors, r.cost_usd,
               (SELECT count(*) FROM gate_results g WHERE g.eval_date = r.eval_date AND g.config_name = r.config_name
                  AND NOT g.passed AND g.severity = 'error') AS gates_failed,
               m.value AS priced_calls, m.n AS cost_calls, e.n AS calls
        FROM latest_runs r
        LEFT JOIN metrics m ON m.eval_date = r.eval_date AND m.config_name = r.config_name
          AND m.metric = 'priced_calls' AND m.tag IS NULL
        LEFT JOIN metrics e ON e.eval_date = r.eval_date AND e.config_name = r.config_name
          AND e.metric = 'error_rate' AND e.tag IS NULL
        ORDER BY r.config_name
        """,
    )
