"""What the flakiness ledger reads: each example's scored verdicts over a config's latest nights."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from eval_assets.warehouse.connection import sql_frame


def score_history(conn: duckdb.DuckDBPyConnection, config_name: str, until: dt.date, *, nights: int) -> pl.DataFrame:
    """Scored verdicts of a config's latest ``nights`` nights up to ``until`` (included), oldest first.

    Columns ``eval_date``, ``dataset``, ``example_id``, ``scorer``, ``repeat_index``, ``passed``; unscored
    rows (failed calls or judges) are left out: they say nothing about the example.
    """
    return sql_frame(
        conn,
        """
        WITH recent AS (
            SELECT DISTINCT eval_date FROM scores WHERE config_name = $c AND eval_date <= $until
            ORDER BY eval_date DESC LIMIT $nights
        )
        SELECT s.eval_date, s.dataset, s.example_id, s.scorer, coalesce(s.repeat_index, 0) AS repeat_index, s.passed
        FROM scores s JOIN recent USING (eval_date)
        WHERE s.config_name = $c AND s.passed IS NOT NULL
        ORDER BY s.eval_date, s.dataset, s.example_id, s.scorer, repeat_index
        """,
        {"c": config_name, "until": until, "nights": nights},
    )


def ledger_highlights(
    conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str, *, limit: int
) -> tuple[list[tuple[str, str, str, str]], int]:
    """A night's newly broken examples ``(dataset, example id, scorer, latest outcomes)``, first ``limit``, and
    how many examples the ledger classed flaky (set apart from the gate)."""
    broken = conn.execute(
        "SELECT dataset, example_id, scorer, last_outcomes FROM flakiness WHERE config_name = ? AND eval_date = ? "
        "AND stability = 'newly_broken' ORDER BY scorer, dataset, example_id LIMIT ?",
        [config_name, eval_date, limit],
    ).fetchall()
    flaky = conn.execute(
        "SELECT count(*) FROM flakiness WHERE config_name = ? AND eval_date = ? AND stability = 'flaky'",
        [config_name, eval_date],
    ).fetchone()
    return [(str(d), str(e), str(s), str(o)) for d, e, s, o in broken], int(flaky[0]) if flaky else 0
