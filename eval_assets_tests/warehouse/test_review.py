"""Issue 10, items 1 and 3: review tasks as a cell, decisions appended with their history, never lost."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest

from eval_assets import warehouse as wh

NIGHT = dt.date(2026, 11, 20)
KEYS = {"run_id": "r1", "git_sha": "g", "config_hash": "h", "code_sha": "c"}


def task(example: str, *, night: dt.date = NIGHT, output_hash: str = "o1", score: float = 0.25) -> dict[str, Any]:
    return {
        **KEYS,
        "eval_date": night,
        "config_name": "nightly",
        "task_id": wh.task_id(night, "nightly", "faq", example, "faithfulness"),
        "dataset": "faq",
        "dataset_hash": "d",
        "example_id": example,
        "scorer": "faithfulness",
        "output_hash": output_hash,
        "reason": "judge_conflict",
        "reasons": ["judge_conflict", "calibration_sample"],
        "priority": 2,
        "rank": 1,
        "detail": "judges disagree",
        "score": score,
        "passed": False,
    }


def write_night(conn: duckdb.DuckDBPyConnection, tasks: list[dict[str, Any]], night: dt.date = NIGHT) -> None:
    wh.replace_partition(conn, night, "nightly", {"review_tasks": wh.frame("review_tasks", tasks)})


def decide(conn: duckdb.DuckDBPyConnection, task_id: str, decision: str, **kwargs: Any) -> dict[str, Any]:
    found = wh.task_by_id(conn, task_id)
    assert found is not None
    new = wh.NewDecision(
        decision,
        kwargs.get("reviewer", "ana"),
        kwargs.get("score"),
        kwargs.get("raw_score"),
        kwargs.get("reference"),
        kwargs.get("note", ""),
    )
    return wh.record_decision(conn, found, new)


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    wh.ensure_schema(connection)
    yield connection  # type: ignore[misc]
    connection.close()


def test_task_ids_are_stable_and_distinct() -> None:
    one = wh.task_id(NIGHT, "nightly", "faq", "a", "tone")
    assert one == wh.task_id(NIGHT, "nightly", "faq", "a", "tone")  # a rerun of the night: the same task
    others = {
        wh.task_id(NIGHT + dt.timedelta(1), "nightly", "faq", "a", "tone"),
        wh.task_id(NIGHT, "candidate", "faq", "a", "tone"),
        wh.task_id(NIGHT, "nightly", "faq", "a", "faith"),
    }
    assert one not in others and len(others) == 3


def test_a_changed_decision_keeps_its_history_with_who_when_and_the_previous_value(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    write_night(conn, [task("a")])
    tid = task("a")["task_id"]
    first = decide(conn, tid, "agree", score=0.25)
    assert (first["previous_decision_id"], first["previous_decision"], first["previous_score"]) == (None, None, 0.25)
    second = decide(conn, tid, "override", score=1.0, raw_score=5, note="the answer is right", reviewer="bo")
    assert second["previous_decision_id"] == first["decision_id"]
    assert (second["previous_decision"], second["previous_score"], second["evaluator_score"]) == ("agree", 0.25, 0.25)
    history = wh.decisions(conn)
    assert history.get_column("decision").to_list() == ["agree", "override"]  # appended, the first one kept
    assert history.get_column("reviewer").to_list() == ["ana", "bo"]
    assert history.get_column("decided_at").null_count() == 0
    queue = wh.review_queue(conn)
    assert queue.select("status", "decision", "human_score", "reviewer").row(0) == ("decided", "override", 1.0, "bo")
    assert wh.human_verdicts(conn, [("faq", "a", "o1", "faithfulness")]) == {
        ("faq", "a", "o1", "faithfulness"): (1.0, "bo")
    }


def test_scores_need_matching_only_once_someone_gave_a_score(conn: duckdb.DuckDBPyConnection) -> None:
    write_night(conn, [task("a"), task("b")])
    assert not wh.has_human_verdicts(conn)
    decide(conn, task("a")["task_id"], "skip")
    assert not wh.has_human_verdicts(conn)  # a skip has no score: no night's score can change
    decide(conn, task("b")["task_id"], "override", score=1.0)
    assert wh.has_human_verdicts(conn)


def test_a_skip_is_kept_but_settles_nothing(conn: duckdb.DuckDBPyConnection) -> None:
    write_night(conn, [task("a")])
    decide(conn, task("a")["task_id"], "skip")
    assert wh.review_queue(conn).get_column("status").to_list() == ["skipped"]
    assert wh.settled_keys(conn) == set()
    assert wh.decisions(conn).height == 1


def test_decisions_survive_a_rerun_of_the_night_and_settle_other_nights(conn: duckdb.DuckDBPyConnection) -> None:
    write_night(conn, [task("a"), task("b")])
    decide(conn, task("a")["task_id"], "ambiguous", note="two readings")
    write_night(conn, [task("a"), task("b")])  # the night is re-materialized: its cell is replaced
    assert wh.decisions(conn).height == 1
    statuses = dict(wh.review_queue(conn).select("example_id", "status").iter_rows())
    assert statuses == {"a": "decided", "b": "open"}
    # The night's own decisions do not hide its tasks when it is written again; other nights' do.
    assert wh.settled_keys(conn, other_than=(NIGHT, "nightly")) == set()
    assert wh.settled_keys(conn, other_than=(NIGHT - dt.timedelta(1), "nightly")) == {
        ("faq", "a", "o1", "faithfulness")
    }


def test_a_task_on_the_same_output_another_night_shows_as_decided_but_a_new_output_is_open(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    later = NIGHT + dt.timedelta(1)
    write_night(conn, [task("a")])
    write_night(conn, [task("a", night=later), task("b", night=later, output_hash="o2")], night=later)
    decide(conn, task("a")["task_id"], "agree", score=0.25)
    queue = wh.review_queue(conn, eval_date=later)
    assert dict(queue.select("example_id", "status").iter_rows()) == {"a": "decided", "b": "open"}


def test_the_queue_filters(conn: duckdb.DuckDBPyConnection) -> None:
    write_night(conn, [task("a"), {**task("b"), "reason": "regression_flip", "reasons": ["regression_flip"]}])
    assert wh.review_queue(conn, reason="calibration_sample").get_column("example_id").to_list() == ["a"]
    assert wh.review_queue(conn, reason="regression_flip").get_column("example_id").to_list() == ["b"]
    assert wh.review_queue(conn, config_name="candidate").is_empty()
    assert wh.review_queue(conn, scorer="faithfulness", status="open", limit=1).height == 1
    with pytest.raises(ValueError, match="unknown status"):
        wh.review_queue(conn, status="done")


def test_rescoring_a_night_clears_its_tasks_but_never_the_decisions(conn: duckdb.DuckDBPyConnection) -> None:
    write_night(conn, [task("a")])
    decide(conn, task("a")["task_id"], "remove", note="duplicate of faq-002")
    wh.replace_partition(conn, NIGHT, "nightly", {"flips": wh.frame("flips", [])})
    assert wh.count_partition(conn, "review_tasks", NIGHT, "nightly") == 0  # derived from the flips: stale now
    assert wh.decisions(conn).height == 1


def test_a_decision_waits_for_a_writer_holding_the_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "w.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
    # Another process holds the file for a moment, as a nightly stage's write does.
    script = (
        f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(1.5); c.close()"
    )
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.IOException):
            duckdb.connect(str(path)).close()  # the file is really held: a plain connection fails
        with wh.open_for_decisions(path, wait_s=30) as conn:
            write_night(conn, [task("a")])
            decide(conn, task("a")["task_id"], "agree", score=0.25)
        assert holder.wait(timeout=30) == 0
    with wh.connect(path, read_only=True) as conn:
        assert wh.decisions(conn).height == 1
