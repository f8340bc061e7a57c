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

from eval_assets.warehouse.connection import connect, in_transaction, scalar, sql_frame
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

    A commit that loses a race with a nightly run writing the same lake is retried (the previous decision is
    read again then), so a reviewer's decision neither fails nor goes missing while a run writes.

    Returns:
        The row written.
    """
    key = [task["dataset"], task["example_id"], task["output_hash"], task["scorer"]]
    decision_id = uuid.uuid4().hex  # one id for every attempt: a retried commit cannot write two rows

    def write() -> dict[str, Any]:
        previous = conn.execute(
            "SELECT decision_id, decision, score FROM review_decisions "
            "WHERE dataset = ? AND example_id = ? AND output_hash = ? AND scorer = ? AND decision <> 'skip' "
            "ORDER BY decided_at DESC, decision_id DESC LIMIT 1",
            key,
        ).fetchall()
        before = previous[0] if previous else (None, None, task["score"])
        row = {
            "decision_id": decision_id,
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
        return row

    return in_transaction(conn, write)


def decisions(conn: duckdb.DuckDBPyConnection, *, config_name: str | None = None) -> pl.DataFrame:
    """Every decision ever made (optionally on one config's tasks), oldest first."""
    where, params = ("WHERE config_name = $config", {"config": config_name}) if config_name else ("", {})
    return sql_frame(conn, f"SELECT * FROM review_decisions {where} ORDER BY decided_at, decision_id", params)


def has_human_verdicts(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether any decision has a score: until someone decides, a night's scores need no matching at all."""
    return bool(scalar(conn, "SELECT EXISTS (SELECT 1 FROM review_decisions WHERE score IS NOT NULL)"))


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


def queue_counts(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Tasks per config, night, reasons, scorer and status: what the review page's filters offer and count."""
    return sql_frame(
        conn,
        f"SELECT config_name, eval_date, reasons, scorer, status, count(*) AS n FROM ({_QUEUE}) "
        "GROUP BY ALL ORDER BY ALL",
    )


def reviewer_progress(conn: duckdb.DuckDBPyConnection, *, today: dt.date) -> pl.DataFrame:
    """Per reviewer: decisions made (skips apart), skips, decisions made on ``today`` (UTC), and the latest time."""
    return sql_frame(
        conn,
        "SELECT reviewer, count(*) FILTER (WHERE decision <> 'skip') AS decided, "
        "count(*) FILTER (WHERE decision = 'skip') AS skipped, "
        "count(*) FILTER (WHERE decision <> 'skip' AND CAST(decided_at AS DATE) = $today) AS decided_today, "
        "max(decided_at) AS last_decided_at FROM review_decisions GROUP BY reviewer ORDER BY decided DESC, reviewer",
        {"today": today},
    )


@dataclass(frozen=True)
class TaskContext:
    """What a reviewer needs beside the task: the example, the answer, every evaluator, the flip, the history.

    Attributes:
        example: The ``examples`` row of the task's night (None if it was pruned).
        response: The ``responses`` row (None if pruned).
        scores: Every scorer's row on the example that night.
        verdicts: Every judge's verdict on the example that night (each judge separately).
        flip: The ``flips`` row of the task's scorer, when the example flipped against the baseline.
        history: The example's scores on the task's scorer over the config's latest nights up to the task's,
            newest first, with each night's answer.
        decisions: Every decision on the example and scorer (any output), oldest first.
    """

    example: dict[str, Any] | None
    response: dict[str, Any] | None
    scores: pl.DataFrame
    verdicts: pl.DataFrame
    flip: dict[str, Any] | None
    history: pl.DataFrame
    decisions: pl.DataFrame


def task_context(conn: duckdb.DuckDBPyConnection, task: dict[str, Any], *, nights: int = 10) -> TaskContext:
    """Everything the task view shows besides the task row (``nights``: how much history)."""
    cell = {"d": task["eval_date"], "c": task["config_name"], "ds": task["dataset"], "e": task["example_id"]}
    on_example = "eval_date = $d AND config_name = $c AND dataset = $ds AND example_id = $e"

    def first(query: str, params: dict[str, Any]) -> dict[str, Any] | None:
        found = sql_frame(conn, query, params)
        return found.row(0, named=True) if found.height else None

    scorer = {**cell, "s": task["scorer"]}
    return TaskContext(
        example=first(f"SELECT * FROM examples WHERE {on_example} LIMIT 1", cell),
        response=first(f"SELECT * FROM responses WHERE {on_example} LIMIT 1", cell),
        scores=sql_frame(conn, f"SELECT * FROM scores WHERE {on_example} ORDER BY scorer", cell),
        verdicts=sql_frame(conn, f"SELECT * FROM judge_verdicts WHERE {on_example} ORDER BY scorer, judge_model", cell),
        flip=first(f"SELECT * FROM flips WHERE {on_example} AND scorer = $s LIMIT 1", scorer),
        history=sql_frame(
            conn,
            "SELECT s.eval_date, s.score, s.passed, s.human_labelled, s.evaluator_score, s.detail, r.output_text "
            "FROM scores s LEFT JOIN responses r USING (eval_date, config_name, dataset, example_id) "
            "WHERE s.config_name = $c AND s.dataset = $ds AND s.example_id = $e AND s.scorer = $s "
            "AND s.eval_date <= $d ORDER BY s.eval_date DESC LIMIT $n",
            {**scorer, "n": nights},
        ),
        decisions=sql_frame(
            conn,
            "SELECT * FROM review_decisions WHERE dataset = $ds AND example_id = $e AND scorer = $s "
            "ORDER BY decided_at, decision_id",
            {"ds": task["dataset"], "e": task["example_id"], "s": task["scorer"]},
        ),
    )


class WarehouseBusyError(RuntimeError):
    """A plain DuckDB warehouse stayed locked by another process for longer than a reviewer waits."""


@contextmanager
def open_for_decisions(
    location: str | Path | WarehouseLocation, *, wait_s: float = 30.0
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection with the schema in place, retried while a nightly run holds the warehouse.

    A DuckLake takes readers and writers beside a run; a plain DuckDB file allows one writing process and
    runs hold it only for short writes, so a reviewer's decision waits for the write in progress instead
    of failing.

    Raises:
        WarehouseBusyError: the file was still locked after ``wait_s`` seconds (the message names it).
    """
    delay, waited = 0.05, 0.0
    while True:
        try:
            conn = connect(location)
            break
        except duckdb.IOException as exc:
            if waited >= wait_s:
                raise WarehouseBusyError(
                    f"the warehouse {location} is locked by another process (a run or an open session?); "
                    f"waited {waited:.0f} s: try again when it finishes"
                ) from exc
            time.sleep(delay)
            waited += delay
            delay = min(delay * 2, 1.0)
    try:
        ensure_schema(conn)
        yield conn
    finally:
        conn.close()
