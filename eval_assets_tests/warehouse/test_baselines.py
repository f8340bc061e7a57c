"""Issue 11, item 1: the baseline is the latest accepted night, chosen by data (not by run order)."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from eval_assets import warehouse as wh

NIGHTS = [dt.date(2026, 11, d) for d in range(1, 6)]


def run_row(day: dt.date, config: str = "nightly") -> dict[str, object]:
    return {
        "eval_date": day,
        "config_name": config,
        "run_id": f"r-{day}",
        "git_sha": "g",
        "code_sha": "c",
        "config_hash": "h",
        "model_id": "m",
        "dataset_hashes_json": "{}",
        "prompt_hashes_json": "{}",
        "n_examples": 1,
        "n_errors": 0,
        "finished_at": dt.datetime(2026, 11, 7),
        "baseline_config": None,
        "baseline_reason": None,
        "factors_json": None,
    }


def gate_row(day: dt.date, name: str, *, passed: bool, severity: str = "error") -> dict[str, object]:
    keys = {"eval_date": day, "config_name": "nightly", "run_id": "r", "git_sha": "g", "code_sha": "c"}
    return {**keys, "config_hash": "h", "check_name": name, "severity": severity, "passed": passed}


def example_row(day: dt.date) -> dict[str, object]:
    keys = {"eval_date": day, "config_name": "nightly", "run_id": "r", "git_sha": "g", "code_sha": "c"}
    return {
        **keys,
        "config_hash": "h",
        "dataset": "faq",
        "dataset_hash": "d",
        "example_id": "e1",
        "line": 1,
        "input_json": '"hi"',
        "input_text": "hi",
        "reference": [],
        "tags": [],
    }


@pytest.fixture
def conn(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    wh.ensure_schema(connection)
    yield connection
    connection.close()


def store_night(conn: duckdb.DuckDBPyConnection, day: dt.date, *, gates: list[dict[str, object]] | None) -> None:
    """A night whose metrics completed; ``gates`` None: its gate verdicts are not stored (yet)."""
    tables = {"examples": wh.frame("examples", [example_row(day)]), "runs": wh.frame("runs", [run_row(day)])}
    if gates is not None:
        tables["gate_results"] = wh.frame("gate_results", gates)
    wh.replace_partition(conn, day, "nightly", tables)


def test_a_failed_night_is_passed_over_so_a_sustained_regression_keeps_failing(
    conn: duckdb.DuckDBPyConnection,
) -> None:
    store_night(conn, NIGHTS[0], gates=[gate_row(NIGHTS[0], "no_regression_vs_baseline", passed=True)])
    store_night(conn, NIGHTS[1], gates=[gate_row(NIGHTS[1], "no_regression_vs_baseline", passed=False)])
    # A failed warning is not a failed blocking gate: night 3 is a good baseline.
    store_night(conn, NIGHTS[2], gates=[gate_row(NIGHTS[2], "latency", passed=False, severity="warn")])
    store_night(conn, NIGHTS[3], gates=[gate_row(NIGHTS[3], "contains_min", passed=False)])

    choice = wh.choose_baseline(conn, "nightly", NIGHTS[4])
    assert isinstance(choice, wh.BaselineChoice)
    assert choice.key == ("nightly", NIGHTS[2])
    assert choice.reason == "the latest earlier night that passed its blocking gates"
    assert choice.passed_over == ((NIGHTS[3], "failed contains_min"),)
    assert choice.undecided == ()
    # Night 3 itself compares with night 1: night 2 failed its regression gate.
    third = wh.choose_baseline(conn, "nightly", NIGHTS[2])
    assert isinstance(third, wh.BaselineChoice) and third.eval_date == NIGHTS[0]


def test_an_accepted_night_is_the_baseline_even_though_it_failed(conn: duckdb.DuckDBPyConnection) -> None:
    store_night(conn, NIGHTS[0], gates=[gate_row(NIGHTS[0], "no_regression_vs_baseline", passed=True)])
    store_night(conn, NIGHTS[1], gates=[gate_row(NIGHTS[1], "no_regression_vs_baseline", passed=False)])
    when = dt.datetime(2026, 11, 3, 9, 30)
    wh.accept_baseline(conn, "nightly", NIGHTS[1], accepted_by="alice", reason="model v3 is intended", accepted_at=when)

    choice = wh.choose_baseline(conn, "nightly", NIGHTS[2])
    assert isinstance(choice, wh.BaselineChoice) and choice.eval_date == NIGHTS[1]
    assert choice.reason == "accepted by alice on 2026-11-03 09:30 UTC: model v3 is intended"
    # The acceptance counts for later nights only: night 2 itself keeps its verdict against night 1.
    assert wh.resolve_baseline(conn, "nightly", NIGHTS[1]) == ("nightly", NIGHTS[0])
    # Rewriting the night's cell (a rerun) keeps the person's decision.
    store_night(conn, NIGHTS[1], gates=[gate_row(NIGHTS[1], "no_regression_vs_baseline", passed=False)])
    assert wh.resolve_baseline(conn, "nightly", NIGHTS[2]) == ("nightly", NIGHTS[1])


def test_only_a_completed_night_can_be_accepted(conn: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(ValueError, match="no completed night on 2026-11-01"):
        wh.accept_baseline(conn, "nightly", NIGHTS[0], accepted_by="alice", reason=None)
    assert conn.execute("SELECT count(*) FROM baseline_acceptances").fetchall() == [(0,)]


def test_a_pinned_baseline_wins_over_acceptance(conn: duckdb.DuckDBPyConnection) -> None:
    for day in NIGHTS[:3]:
        store_night(conn, day, gates=[gate_row(day, "no_regression_vs_baseline", passed=True)])
    wh.accept_baseline(conn, "nightly", NIGHTS[2], accepted_by="alice", reason=None)
    choice = wh.choose_baseline(conn, "nightly", NIGHTS[4], pinned_date=NIGHTS[0])
    assert isinstance(choice, wh.BaselineChoice) and choice.eval_date == NIGHTS[0]
    assert choice.reason == "pinned in the config (baseline.date: 2026-11-01)"
    missing = wh.choose_baseline(conn, "nightly", NIGHTS[4], pinned_date=NIGHTS[3])
    assert isinstance(missing, wh.NoBaseline) and "no completed metrics" in missing.reason


def test_no_baseline_says_why(conn: duckdb.DuckDBPyConnection) -> None:
    first = wh.choose_baseline(conn, "nightly", NIGHTS[0])
    assert isinstance(first, wh.NoBaseline) and first.reason == "the first night of this config"
    store_night(conn, NIGHTS[0], gates=[gate_row(NIGHTS[0], "contains_min", passed=False)])
    none = wh.choose_baseline(conn, "nightly", NIGHTS[1])
    assert isinstance(none, wh.NoBaseline)
    assert "no earlier night of nightly passed its blocking gates or was accepted" in none.reason


def test_nights_without_gate_verdicts_are_reported_as_undecided(conn: duckdb.DuckDBPyConnection) -> None:
    """What a parallel run cannot know yet: the caller waits for those nights instead of choosing differently."""
    store_night(conn, NIGHTS[0], gates=[gate_row(NIGHTS[0], "no_regression_vs_baseline", passed=True)])
    store_night(conn, NIGHTS[1], gates=None)  # metrics stored, report not yet
    wh.replace_partition(conn, NIGHTS[2], "nightly", {"examples": wh.frame("examples", [example_row(NIGHTS[2])])})
    choice = wh.choose_baseline(conn, "nightly", NIGHTS[3])
    assert isinstance(choice, wh.BaselineChoice) and choice.eval_date == NIGHTS[0]
    assert choice.undecided == (NIGHTS[2], NIGHTS[1])


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_the_choice_depends_on_the_data_not_on_the_order_nights_were_written(
    tmp_path: Path, order: tuple[int, ...]
) -> None:
    outcomes = [True, False, True, False]  # nights 1..4: passed, failed, passed, failed
    with wh.connect(tmp_path / f"w{''.join(map(str, order))}.duckdb") as conn:
        wh.ensure_schema(conn)
        for index in order:
            day = NIGHTS[index]
            store_night(conn, day, gates=[gate_row(day, "no_regression_vs_baseline", passed=outcomes[index])])
        chosen = [wh.resolve_baseline(conn, "nightly", day) for day in NIGHTS]
    assert chosen == [
        None,
        ("nightly", NIGHTS[0]),
        ("nightly", NIGHTS[0]),
        ("nightly", NIGHTS[2]),
        ("nightly", NIGHTS[2]),
    ]
