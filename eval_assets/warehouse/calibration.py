"""Queries of the ``calibration`` table and of the pairs it is computed from (judge verdicts vs people)."""

from __future__ import annotations

import datetime as dt

import duckdb
import polars as pl

from eval_assets.warehouse.connection import sql_frame

#: Each key's latest settling decision with a score (agree or override), on one config's tasks up to a night,
#: paired with every judge's own verdict on the decided task.
_DECIDED_PAIRS = """
WITH latest AS (
    SELECT * FROM review_decisions WHERE decision <> 'skip'
    QUALIFY row_number() OVER (
        PARTITION BY dataset, example_id, output_hash, scorer ORDER BY decided_at DESC, decision_id DESC) = 1
)
SELECT d.scorer, v.judge_model, v.judge_model_version, v.score AS judge_score, d.score AS person_score,
       d.dataset, d.example_id, d.eval_date AS decided_on
FROM latest d
JOIN judge_verdicts v USING (eval_date, config_name, dataset, example_id, scorer)
WHERE d.config_name = $config AND d.eval_date <= $until AND d.score IS NOT NULL AND v.score IS NOT NULL
ORDER BY d.scorer, v.judge_model, d.dataset, d.example_id"""


def decided_pairs(conn: duckdb.DuckDBPyConnection, config_name: str, until: dt.date) -> pl.DataFrame:
    """Judge verdicts on the tasks people decided (agree or override) on ``config_name``'s nights up to ``until``."""
    return sql_frame(conn, _DECIDED_PAIRS, {"config": config_name, "until": until})


def calibration_history(
    conn: duckdb.DuckDBPyConnection,
    config_name: str | None = None,
    *,
    until: dt.date | None = None,
    sample: str = "decisions",
) -> pl.DataFrame:
    """Calibration rows of one sample (of one config, up to a night; default all), oldest first (trend charts)."""
    where, params = ["sample = $sample"], {"sample": sample}
    if config_name is not None:
        where.append("config_name = $config")
        params["config"] = config_name
    if until is not None:
        where.append("eval_date <= $until")
        params["until"] = until  # type: ignore[assignment]  # a date, bound as a parameter like the others
    return sql_frame(
        conn,
        "SELECT eval_date, config_name, scorer, judge_model, n, agreement, kappa, kappa_low, kappa_high, calibrated "
        f"FROM calibration WHERE {' AND '.join(where)} ORDER BY eval_date, config_name, scorer, judge_model",
        params,
    )


def previous_judge_versions(
    conn: duckdb.DuckDBPyConnection, config_name: str, before: dt.date
) -> dict[tuple[str, str], str]:
    """Each (scorer, judge model)'s reported version on the latest earlier night that graded anchors."""
    rows = conn.execute(
        "SELECT scorer, judge_model, judge_model_version FROM calibration "
        "WHERE config_name = ? AND eval_date < ? AND sample = 'anchors' AND n > 0 "
        "AND judge_model_version IS NOT NULL "
        "QUALIFY row_number() OVER (PARTITION BY scorer, judge_model ORDER BY eval_date DESC) = 1",
        [config_name, before],
    ).fetchall()
    return {(scorer, judge): str(version) for scorer, judge, version in rows}


def review_task_counts(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> dict[str, int]:
    """The night's review tasks by their most urgent reason, most urgent first."""
    rows = conn.execute(
        "SELECT reason, count(*) FROM review_tasks WHERE eval_date = ? AND config_name = ? "
        "GROUP BY reason ORDER BY min(priority), reason",
        [eval_date, config_name],
    ).fetchall()
    return {str(reason): int(count) for reason, count in rows}


#: Each key's latest settling decision, when it overrides the evaluator, with what the person saw.
_OVERRIDES = """
WITH latest AS (
    SELECT * FROM review_decisions WHERE decision <> 'skip'
    QUALIFY row_number() OVER (
        PARTITION BY dataset, example_id, output_hash, scorer ORDER BY decided_at DESC, decision_id DESC) = 1
)
SELECT d.task_id, d.config_name, d.eval_date, d.dataset, d.example_id, d.scorer, d.score, d.raw_score, d.note,
       d.reviewer, d.decided_at, e.input_text, e.reference, r.output_text
FROM latest d
JOIN examples e USING (eval_date, config_name, dataset, example_id)
JOIN responses r USING (eval_date, config_name, dataset, example_id)
WHERE d.decision = 'override' AND r.output_text IS NOT NULL {where}
ORDER BY d.decided_at, d.decision_id"""


def decided_overrides(conn: duckdb.DuckDBPyConnection, *, config_name: str | None = None) -> pl.DataFrame:
    """People's standing overrides of an evaluator, with the input, references and output they judged."""
    where, params = ("AND d.config_name = $config", {"config": config_name}) if config_name else ("", {})
    return sql_frame(conn, _OVERRIDES.format(where=where), params)
