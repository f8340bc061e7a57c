"""Warehouse writes: one transaction per cell, idempotent, never half-written; lineage columns required."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from eval_assets import warehouse as wh

DAY = dt.date(2026, 11, 7)


def unchecked_frame(table: str, rows: list[dict[str, object]]) -> pl.DataFrame:
    """A frame with the table's columns that skips the row checks, to reach the database's own."""
    columns = wh.TABLES[table]
    return pl.DataFrame(
        {c.name: [r.get(c.name) for r in rows] for c in columns}, schema={c.name: c.dtype for c in columns}
    )


def metric_row(metric: str, value: float | None, *, config: str = "nightly", day: dt.date = DAY) -> dict[str, object]:
    return {
        "eval_date": day,
        "config_name": config,
        "run_id": "r1",
        "git_sha": "abc",
        "code_sha": "c",
        "config_hash": "h",
        "metric": metric,
        "tag": None,
        "value": value,
        "n": 3,
    }


@pytest.fixture
def conn(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "w.duckdb"))
    wh.ensure_schema(connection)
    yield connection
    connection.close()


@settings(max_examples=25, deadline=None)
@given(
    values=st.lists(st.floats(allow_nan=False, allow_infinity=False) | st.none(), max_size=20),
    reruns=st.integers(1, 3),
)
def test_rewriting_a_cell_leaves_exactly_the_last_write(
    tmp_path_factory: pytest.TempPathFactory, values: list[float | None], reruns: int
) -> None:
    path = tmp_path_factory.mktemp("w") / "w.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        other = wh.frame("metrics", [metric_row("x", 1.0, config="candidate")])
        wh.replace_partition(conn, DAY, "candidate", {"metrics": other})
        rows = [metric_row(f"m{i}", v) for i, v in enumerate(values)]
        for _ in range(reruns):
            wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", rows)})
        assert wh.count_partition(conn, "metrics", DAY, "nightly") == len(values)
        # Other cells are untouched by a rewrite.
        assert wh.count_partition(conn, "metrics", DAY, "candidate") == 1


def test_failed_write_rolls_back_every_table(conn: duckdb.DuckDBPyConnection) -> None:
    wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", [metric_row("a", 1.0)])})
    bad_run = unchecked_frame("runs", [{"eval_date": DAY, "config_name": "nightly", "run_id": None}])  # NOT NULL
    with pytest.raises(duckdb.ConstraintException):
        wh.replace_partition(
            conn,
            DAY,
            "nightly",
            {
                "metrics": wh.frame("metrics", [metric_row("b", 2.0)]),
                "runs": bad_run,
            },
        )
    kept = wh.read_partition(conn, "metrics", DAY, "nightly")
    assert kept.get_column("metric").to_list() == ["a"]


def test_lineage_keys_are_not_nullable(conn: duckdb.DuckDBPyConnection) -> None:
    row = {**metric_row("a", 1.0), "git_sha": None}
    with pytest.raises(wh.RowError, match="git_sha may not be null"):
        wh.frame("metrics", [row])
    # The warehouse refuses it too, whatever builds the frame.
    with pytest.raises(duckdb.ConstraintException):
        wh.replace_partition(conn, DAY, "nightly", {"metrics": unchecked_frame("metrics", [row])})


def test_schema_is_created_once_and_versioned(conn: duckdb.DuckDBPyConnection) -> None:
    wh.ensure_schema(conn)
    assert conn.execute("SELECT count(*), max(version) FROM schema_version").fetchall() == [(1, wh.SCHEMA_VERSION)]
    conn.execute("INSERT INTO schema_version VALUES (?, now())", [wh.SCHEMA_VERSION + 1])
    with pytest.raises(wh.WarehouseVersionError, match="newer"):
        wh.ensure_schema(conn)


def test_cache_keeps_the_newest_answer(conn: duckdb.DuckDBPyConnection) -> None:
    # A --no-cache rerun pays for fresh answers: the next cached rerun must reproduce those, not older ones.
    now = dt.datetime(2026, 11, 7, 2, 0)
    first = {"request_hash": "h1", "model_id": "m", "output_text": "first", "created_at": now}
    wh.store_cached_responses(conn, [first])
    wh.store_cached_responses(conn, [{**first, "output_text": "second"}, {**first, "request_hash": "h2"}])
    found = wh.lookup_cached_responses(conn, ["h1", "h2", "h3"]).sort("request_hash")
    assert found.get_column("output_text").to_list() == ["second", "first"]


def test_rewriting_a_cell_clears_what_was_derived_from_it(conn: duckdb.DuckDBPyConnection) -> None:
    # A rerun that stops at a blocking gate must not leave the previous run's verdicts looking current.
    gate = {
        "eval_date": DAY,
        "config_name": "nightly",
        "run_id": "r0",
        "git_sha": "g",
        "code_sha": "c",
        "config_hash": "h",
        "check_name": "threshold_x",
        "severity": "error",
        "passed": True,
    }
    wh.replace_partition(
        conn,
        DAY,
        "nightly",
        {"metrics": wh.frame("metrics", [metric_row("a", 1.0)]), "gate_results": wh.frame("gate_results", [gate])},
    )
    wh.replace_partition(conn, DAY, "nightly", {"responses": wh.frame("responses", [])})
    assert wh.count_partition(conn, "metrics", DAY, "nightly") == 0
    assert wh.count_partition(conn, "gate_results", DAY, "nightly") == 0


def test_an_empty_write_of_an_empty_cell_commits_nothing(conn: duckdb.DuckDBPyConnection) -> None:
    # A night without judges writes no verdicts: no write transaction (a catalog commit on a lake) for it.
    written = wh.replace_partition(conn, DAY, "nightly", {"calibration": wh.frame("calibration", [])})
    assert written == {"calibration": 0}
    assert conn.execute("SELECT count(*) FROM partition_writes").fetchone() == (0,)
    # Once the cell holds rows downstream, the same empty write clears them, in a write transaction.
    wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", [metric_row("a", 1.0)])})
    wh.replace_partition(conn, DAY, "nightly", {"scores": wh.frame("scores", [])})
    assert wh.count_partition(conn, "metrics", DAY, "nightly") == 0


def test_previous_run_date_is_the_latest_earlier_run(conn: duckdb.DuckDBPyConnection) -> None:
    base = {
        "config_name": "nightly",
        "run_id": "r",
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
    for day in (dt.date(2026, 11, 3), dt.date(2026, 11, 5), dt.date(2026, 11, 9)):
        wh.replace_partition(conn, day, "nightly", {"runs": wh.frame("runs", [{**base, "eval_date": day}])})
    assert wh.previous_run_date(conn, "nightly", dt.date(2026, 11, 7)) == dt.date(2026, 11, 5)
    assert wh.previous_run_date(conn, "nightly", dt.date(2026, 11, 3)) is None
    assert wh.previous_run_date(conn, "candidate", dt.date(2026, 11, 7)) is None


def test_rewriting_examples_invalidates_every_other_partitioned_table() -> None:
    # A new table must be wired into DERIVED_FROM_HERE, or a failed rerun could leave it stale.
    assert wh.downstream_of("examples") == set(wh.PARTITIONED_TABLES) - {"examples"}
    assert wh.downstream_of("gate_results") == set()


def test_a_cells_stamp_changes_when_another_run_rewrites_it(conn: duckdb.DuckDBPyConnection) -> None:
    assert wh.partition_stamp(conn, "metrics", DAY, "nightly") == (0, "", "")
    wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", [metric_row("a", 1.0)])})
    first = wh.partition_stamp(conn, "metrics", DAY, "nightly")
    assert first == (1, "r1", "r1")
    rewritten = {**metric_row("a", 2.0), "run_id": "r2"}  # same count, another run
    wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", [rewritten])})
    assert wh.partition_stamp(conn, "metrics", DAY, "nightly") == (1, "r2", "r2")
    with pytest.raises(ValueError, match="not a partitioned table"):
        wh.partition_stamp(conn, "cache", DAY, "nightly")
