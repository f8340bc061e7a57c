"""Review tasks and people's decisions: the queries of the review queue, the CLI and the metrics.

The night's tasks are a cell of ``review_tasks`` (written with :func:`~eval_assets.warehouse.cells.replace_partition`
like every stage). Decisions are append-only rows of ``review_decisions``: deciding again writes a new row
that names the one it replaces, with its value, so the history of every example is kept and nothing is
lost. Portable SQL without keys or UNIQUE constraints (the ids are made unique here).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from eval_assets.warehouse.connection import connect, sql_frame
from eval_assets.warehouse.location import WarehouseLocation
from eval_assets.warehouse.migrations import ensure_schema
from eval_assets.warehouse.rows import frame

#: What a decision is keyed by: dataset, example id, output hash, scorer.
DecisionKey = tuple[str, str, str, str]
Status = str  # "open", "skipped" or "decided"
STATUSES = ("open", "skipped", "decided")


def task_id(eval_date: dt.date, config_name: str, dataset: str, example_id: str, scorer: str) -> str:
    """The stable id of a night's task on one example and scorer (a rerun of the night gives the same id)."""
    text = "\x1f".join((eval_date.isoformat(), config_name, dataset, example_id, scorer))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def settled_keys(conn: duckdb.DuckDBPyConnection, *, other_than: tuple[dt.date, str] | None = None) -> set[DecisionKey]:
    """Keys a person decided (anything but a skip), optionally leaving out decisions on one cell's tasks.

    Leaving out the cell being written keeps a rerun of a decided night showing its decided tasks, instead
    of dropping them because they are decided.
    """
    condition, params = "decision <> 'skip'", []
    if other_than is not None:
        condition += " AND NOT (eval_date = ? AND config_name = ?)"
        params = [other_than[0], other_than[1]]
    rows = conn.execute(
        f"SELECT DISTINCT dataset, example_id, output_hash, scorer FROM review_decisions WHERE {condition}", params
    ).fetchall()
    return {(d, e, o, s) for d, e, o, s in rows}


def review_queue(
    conn: duckdb.DuckDBPyConnection,
    *,
    config_name: str | None = None,
    eval_date: dt.date | None = None,
    reason: str | None = None,
    scorer: str | None = None,
    status: Status | None = None,
    limit: int | None = None,
) -> pl.DataFrame:
    """Tasks with their status and latest decision: newest night first, then by rank.

    A task is ``decided`` once a person settled its key (same example, scorer and output) on any night's
    task, ``skipped`` when its own latest decision is a skip, else ``open``.
    """
    conditions, params = [], {}
    for column, value in (("config_name", config_name), ("eval_date", eval_date), ("scorer", scorer)):
        if value is not None:
            conditions.append(f"t.{column} = ${column}")
            params[column] = value
    if reason is not None:
        conditions.append("list_contains(t.reasons, $reason)")
        params["reason"] = reason
    if status is not None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}; one of {', '.join(STATUSES)}")
        conditions.append("status = $status")
        params["status"] = status
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    cap = f"LIMIT {int(limit)}" if limit is not None else ""
    return sql_frame(conn, f"{_QUEUE} {where} ORDER BY t.eval_date DESC, t.config_name, t.rank {cap}", params)


#: Tasks joined with the latest settling decision on their key and their own latest decision.
_QUEUE = """
WITH settled AS (
    SELECT * FROM review_decisions WHERE decision <> 'skip'
    QUALIFY row_number() OVER (
        PARTITION BY dataset, example_id, output_hash, scorer ORDER BY decided_at DESC, decision_id DESC) = 1
), own AS (
    SELECT * FROM review_decisions
    QUALIFY row_number() OVER (PARTITION BY task_id ORDER BY decided_at DESC, decision_id DESC) = 1
), queue AS (
    SELECT t.*,
           CASE WHEN s.decision IS NOT NULL THEN 'decided' WHEN o.decision = 'skip' THEN 'skipped' ELSE 'open' END
               AS status,
           coalesce(s.decision, o.decision) AS decision, s.score AS human_score, s.reviewer, s.decided_at, s.note
    FROM review_tasks t
    LEFT JOIN settled s USING (dataset, example_id, output_hash, scorer)
    LEFT JOIN own o ON o.task_id = t.task_id
)
SELECT * FROM queue t"""


def task_by_id(conn: duckdb.DuckDBPyConnection, task: str) -> dict[str, Any] | None:
    """One task with its status, or None."""
    found = sql_frame(conn, f"{_QUEUE} WHERE t.task_id = $task ORDER BY t.eval_date DESC LIMIT 1", {"task": task})
    return found.row(0, named=True) if found.height else None


@dataclass(frozen=True)
class NewDecision:
    """What a person decided on a task (checked by ``eval_assets.review.decisions`` beforehand)."""

    decision: str
    reviewer: str
    score: float | None
    raw_score: float | None
    proposed_reference: str | None
    note: str


def record_decision(conn: duckdb.DuckDBPyConnection, task: dict[str, Any], new: NewDecision) -> dict[str, Any]:
    """Append a decision on ``task``, naming the decision it replaces and its value, in one transaction.

    Returns:
        The row written.
    """
    key = [task["dataset"], task["example_id"], task["output_hash"], task["scorer"]]
    conn.execute("BEGIN TRANSACTION")
    try:
        previous = conn.execute(
            "SELECT decision_id, decision, score FROM review_decisions "
            "WHERE dataset = ? AND example_id = ? AND output_hash = ? AND scorer = ? AND decision <> 'skip' "
            "ORDER BY decided_at DESC, decision_id DESC LIMIT 1",
            key,
        ).fetchall()
        before = previous[0] if previous else (None, None, task["score"])
        row = {
            "decision_id": uuid.uuid4().hex,
            "task_id": task["task_id"],
            "eval_date": task["eval_date"],
            "config_name": task["config_name"],
            "dataset": task["dataset"],
            "example_id": task["example_id"],
            "scorer": task["scorer"],
            "output_hash": task["output_hash"],
            "decision": new.decision,
            "score": new.score,
            "raw_score": new.raw_score,
            "proposed_reference": new.proposed_reference,
            "note": new.note,
            "reviewer": new.reviewer,
            "decided_at": dt.datetime.now(dt.UTC).replace(tzinfo=None),
            "evaluator_score": task["score"],
            "previous_decision_id": before[0],
            "previous_decision": before[1],
            "previous_score": before[2],
        }
        conn.register("incoming_decision", frame("review_decisions", [row]))
        try:
            conn.execute("INSERT INTO review_decisions BY NAME SELECT * FROM incoming_decision")
        finally:
            conn.unregister("incoming_decision")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return row


def decisions(conn: duckdb.DuckDBPyConnection, *, config_name: str | None = None) -> pl.DataFrame:
    """Every decision ever made (optionally on one config's tasks), oldest first."""
    where, params = ("WHERE config_name = $config", {"config": config_name}) if config_name else ("", {})
    return sql_frame(conn, f"SELECT * FROM review_decisions {where} ORDER BY decided_at, decision_id", params)


def human_verdicts(
    conn: duckdb.DuckDBPyConnection, keys: Sequence[DecisionKey]
) -> dict[DecisionKey, tuple[float, str]]:
    """The latest settling decision's score and reviewer for each of these keys whose decision has a score.

    A key whose latest decision has no score (ambiguous, remove, reference_wrong) has no human verdict.
    """
    if not keys:
        return {}
    wanted = pl.DataFrame(
        [list(key) for key in keys], schema=["dataset", "example_id", "output_hash", "scorer"], orient="row"
    )
    conn.register("wanted_verdicts", wanted)
    try:
        rows = conn.execute(
            "SELECT d.dataset, d.example_id, d.output_hash, d.scorer, d.score, d.reviewer FROM review_decisions d "
            "JOIN wanted_verdicts USING (dataset, example_id, output_hash, scorer) WHERE d.decision <> 'skip' "
            "QUALIFY row_number() OVER (PARTITION BY d.dataset, d.example_id, d.output_hash, d.scorer "
            "ORDER BY d.decided_at DESC, d.decision_id DESC) = 1"
        ).fetchall()
    finally:
        conn.unregister("wanted_verdicts")
    return {(d, e, o, s): (float(score), str(who)) for d, e, o, s, score, who in rows if score is not None}


@contextmanager
def open_for_decisions(
    location: str | Path | WarehouseLocation, *, wait_s: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection with the schema in place, retried while a nightly run holds the warehouse.

    A DuckLake takes readers and writers beside a run; a plain DuckDB file allows one writing process and
    runs hold it only for short writes, so a reviewer's decision waits for the write in progress instead
    of failing.
    """
    delay, waited = 0.05, 0.0
    while True:
        try:
            conn = connect(location)
            break
        except duckdb.IOException:
            if waited >= wait_s:
                raise
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)
    try:
        ensure_schema(conn)
        yield conn
    finally:
        conn.close()
