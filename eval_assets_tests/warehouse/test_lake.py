"""The warehouse on DuckLake: readers beside a running run, several writers at once, moving an old file over.

Claims about processes are tested with processes: the run, the writers and the CLI are real subprocesses.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from eval_assets import warehouse as wh
from eval_assets.cli.main import main
from eval_assets.warehouse.location import parse_location
from eval_assets_tests.postgres import PostgresServer
from eval_assets_tests.warehouse.lake_writer import metric_rows
from eval_assets_tests.warehouse.test_migrations import v1_warehouse

WRITER = [sys.executable, "-m", "eval_assets_tests.warehouse.lake_writer"]


def lake(tmp_path: Path) -> str:
    """A DuckLake setting with a SQLite catalog in a temporary folder (the default's form)."""
    return f"ducklake:sqlite:{tmp_path / 'lake' / 'warehouse.sqlite'}"


def cli_env(data_dir: Path, tmp_path: Path) -> dict[str, str]:
    """The environment of an ``eval-assets`` subprocess on the default warehouse of ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVAL_ASSETS_")}
    env.update(
        EVAL_ASSETS_DATA_DIR=str(data_dir),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )
    return env


def test_setting_forms(tmp_path: Path) -> None:
    # The default is a lake under the data directory; a bare path stays a plain DuckDB file.
    default = parse_location(wh.default_setting(tmp_path))
    assert (default.kind, default.catalog) == ("ducklake", "sqlite")
    assert default.data_path == f"{tmp_path / 'warehouse.files'}{os.sep}"
    assert default.journal_dir == tmp_path / "warehouse.journal"
    plain = parse_location(tmp_path / "w.duckdb")
    assert (plain.kind, plain.journal_dir) == ("duckdb", tmp_path / "w.journal")
    # A connection string holds spaces and '='; the data path comes after '?data_path='.
    pg = parse_location("ducklake:postgres:dbname=evals host=db?data_path=s3://bucket/evals/", data_dir=tmp_path)
    assert (pg.catalog, pg.target, pg.data_path) == ("postgres", "dbname=evals host=db", "s3://bucket/evals/")
    assert parse_location(str(pg), data_dir=tmp_path) == pg
    with pytest.raises(wh.WarehouseSettingError, match="names no catalog"):
        parse_location("ducklake:sqlite:")


@pytest.mark.slow
def test_read_only_session_held_open_for_a_whole_run(data_dir: Path, tmp_path: Path) -> None:
    """An analyst's session stays open while `eval-assets run` writes; the run succeeds and the session sees it."""
    env = cli_env(data_dir, tmp_path)
    default = wh.default_setting(data_dir)
    with wh.connect(default) as conn:
        wh.ensure_schema(conn)
    notebook = wh.connect(default, read_only=True)
    sandbox = wh.connect_readonly(default)
    try:
        notebook.execute("BEGIN TRANSACTION")  # a reader holding a transaction open must not block commits
        assert notebook.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]  # its snapshot is taken here
        run = subprocess.Popen(
            [sys.executable, "-m", "eval_assets.cli", "run", "--config", "nightly", "--date", "2026-01-02", "--quiet"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        polls = 0
        while run.poll() is None:  # the sandboxed session queries throughout the run
            sandbox.sql("SELECT count(*) AS n FROM examples")
            polls += 1
            time.sleep(0.5)
        output, _ = run.communicate()
        assert run.returncode == 0, output
        assert polls > 3
        # Inside the transaction held since before the run the snapshot is the old one; after it, the new night.
        assert notebook.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
        notebook.execute("COMMIT")
        assert notebook.execute("SELECT config_name, eval_date FROM runs").fetchall() == [
            ("nightly", dt.date(2026, 1, 2))
        ]
        assert sandbox.sql("SELECT count(*) AS n FROM latest_runs")["n"].to_list() == [1]
    finally:
        notebook.close()
        sandbox.close()


def start_writers(tmp_path: Path, location: str, jobs: list[list[str]]) -> list[subprocess.Popen[str]]:
    """Writer processes that begin together (each waits for a start file)."""
    start = tmp_path / "start"
    env = {**os.environ, "LAKE_WRITER_START": str(start)}
    procs = [
        subprocess.Popen([*WRITER, location, *job], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for job in jobs
    ]
    time.sleep(3)  # each loads its extensions and attaches first
    start.touch()
    return procs


def wait_all(procs: list[subprocess.Popen[str]]) -> None:
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]


def cells_of(location: str) -> dict[tuple[dt.date, str], tuple[int, list[str]]]:
    """Rows and run ids per cell of ``metrics``."""
    with wh.connect(location, read_only=True) as conn:
        rows = conn.execute(
            "SELECT eval_date, config_name, count(*), list(DISTINCT run_id ORDER BY run_id) FROM metrics GROUP BY ALL"
        ).fetchall()
    return {(day, config): (n, run_ids) for day, config, n, run_ids in rows}


@pytest.mark.slow
def test_the_same_new_cell_written_by_two_processes_at_once_ends_with_one_copy(tmp_path: Path) -> None:
    # The cell is new to both: there is nothing to delete, so only the cell's write token makes them collide.
    location = lake(tmp_path)
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
    wait_all(
        start_writers(tmp_path, location, [["A", "3", "50", "2026-01-01:same"], ["B", "3", "50", "2026-01-01:same"]])
    )
    ((rows, run_ids),) = cells_of(location).values()
    assert rows == 50 and len(run_ids) == 1 and run_ids[0] in ("A-2", "B-2")


@pytest.mark.slow
def test_three_writers_on_a_postgres_catalog_lose_and_duplicate_nothing(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    postgres.create_database("lake_writers")
    location = (
        f"ducklake:postgres:dbname=lake_writers host=127.0.0.1 port={postgres.port} user=postgres"
        f"?data_path={tmp_path / 'files'}/"
    )
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
    jobs = [
        ["A", "4", "40", "2026-01-01:a", "2026-01-02:a", "2026-01-01:shared"],
        ["B", "4", "40", "2026-01-01:b", "2026-01-02:b", "2026-01-01:shared"],
        ["C", "4", "40", "2026-01-01:c", "2026-01-02:c", "2026-01-01:shared"],
    ]
    wait_all(start_writers(tmp_path, location, jobs))
    cells = cells_of(location)
    assert len(cells) == 7
    for (_, config), (rows, run_ids) in cells.items():
        assert rows == 40, (config, rows)  # nothing lost, nothing twice
        # Each writer's own cells end with its last round; the shared cell with exactly one writer's copy.
        assert run_ids == ([f"{config.upper()}-3"] if config != "shared" else run_ids[:1]), (config, run_ids)


def test_cache_keeps_the_newest_answer_when_two_writers_stored_one_request(tmp_path: Path) -> None:
    # Without a unique key two processes may both insert one request's answer; readers take the newest.
    location = lake(tmp_path)
    store = wh.DuckDBCacheStore(location)
    older = {"request_hash": "h", "model_id": "m", "output_text": "old", "created_at": dt.datetime(2026, 1, 1)}
    newer = {**older, "output_text": "new", "created_at": dt.datetime(2026, 1, 2)}
    store.store([newer])
    with wh.connect(location) as conn:  # what a racing writer leaves: a second row for the same request
        conn.register("late", wh.frame("response_cache", [older]))
        conn.execute("INSERT INTO response_cache BY NAME SELECT * FROM late")
    assert [row["output_text"] for row in store.lookup(["h"])] == ["new"]
    store.store([older])  # an older answer never replaces a newer one
    assert [row["output_text"] for row in store.lookup(["h"])] == ["new"]
    with wh.connect(location) as conn:
        assert wh.cache_stats(conn)["answers"].to_list() == [1]


def test_a_failed_cell_write_leaves_the_lake_as_it_was(tmp_path: Path) -> None:
    location = lake(tmp_path)
    day = dt.date(2026, 1, 1)
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        wh.replace_partition(conn, day, "c", {"metrics": wh.frame("metrics", metric_rows(day, "c", "r1", 5))})
        broken = wh.frame("metrics", metric_rows(day, "c", "r2", 5)).with_columns(n=None)  # n is NOT NULL
        with pytest.raises(duckdb.Error):
            wh.replace_partition(conn, day, "c", {"metrics": broken})
    assert cells_of(location) == {(day, "c"): (5, ["r1"])}


def test_migrate_copies_a_v1_duckdb_file_into_the_lake(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = v1_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(source), read_only=True) as conn:
        expected = {
            name: conn.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in ("examples", "runs")
        }
    os.environ["EVAL_ASSETS_WAREHOUSE"] = lake(tmp_path)
    try:
        assert main(["--data-dir", str(tmp_path), "warehouse", "migrate", "--from", str(source)]) == 0
        assert "counts match" in capsys.readouterr().out
        with wh.connect(lake(tmp_path), read_only=True) as conn:
            assert wh.schema_version(conn) == wh.SCHEMA_VERSION
            for name, rows in expected.items():
                assert conn.execute(f"SELECT count(*) FROM {name}").fetchall() == [(rows,)]
            assert rows > 0
            # Upgraded on the way: the version-2 columns are there (NULL for the old rows).
            assert conn.execute("SELECT count(*) FROM responses WHERE code_sha IS NULL").fetchall()[0][0] > 0
        # A second copy into the filled lake is refused: rows would be doubled.
        assert main(["--data-dir", str(tmp_path), "warehouse", "migrate", "--from", str(source)]) == 2
        assert "not empty" in capsys.readouterr().err
    finally:
        del os.environ["EVAL_ASSETS_WAREHOUSE"]


def test_migrate_explains_a_file_written_by_a_newer_duckdb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # DuckDB 2.0 files carry a storage version DuckDB 1.4 cannot read; forge one from a 1.4 file's header.
    source = v1_warehouse(tmp_path / "new.duckdb")
    with source.open("r+b") as file:
        file.seek(12)
        file.write((999).to_bytes(8, "little"))
    os.environ["EVAL_ASSETS_WAREHOUSE"] = lake(tmp_path)
    try:
        assert main(["--data-dir", str(tmp_path), "warehouse", "migrate", "--from", str(source)]) == 2
    finally:
        del os.environ["EVAL_ASSETS_WAREHOUSE"]
    err = capsys.readouterr().err
    assert "storage version 999" in err and "EXPORT DATABASE" in err and "duckdb==2.0.0" in err


def test_migrate_reads_an_export_folder(tmp_path: Path) -> None:
    source = v1_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(source)) as conn:
        conn.execute(f"EXPORT DATABASE '{tmp_path / 'export'}' (FORMAT parquet)")
        runs = conn.execute("SELECT count(*) FROM runs").fetchall()[0][0]
    with wh.connect(lake(tmp_path)) as conn:
        wh.ensure_schema(conn)
        copied = {c.table: c for c in wh.copy_warehouse(tmp_path / "export", conn)}
    assert copied["runs"].source_rows == copied["runs"].target_rows == runs > 0


@pytest.mark.slow
def test_the_readme_duckdb_cli_snippet_reads_the_lake(tmp_path: Path) -> None:
    location = lake(tmp_path)
    day = dt.date(2026, 1, 1)
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        wh.replace_partition(conn, day, "c", {"metrics": wh.frame("metrics", metric_rows(day, "c", "r1", 3))})
    # The README's line, with the venv's own binaries and a temporary file.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    documented = (
        ".venv/bin/eval-assets warehouse attach-sql > /tmp/warehouse.sql && .venv/bin/duckdb -init /tmp/warehouse.sql"
    )
    assert documented in readme
    (tmp_path / "warehouse.sql").write_text(wh.attach_sql(location) + "\n", encoding="utf-8")
    duckdb_cli = Path(sys.executable).with_name("duckdb")
    result = subprocess.run(
        [str(duckdb_cli), "-init", str(tmp_path / "warehouse.sql"), "-csv", "-c", "SELECT count(*) AS n FROM metrics"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["n", "3"]


def table_counts(location: str) -> dict[str, list[tuple[str, int]]]:
    """Rows per config of every partitioned table (run ids and timestamps differ between runs; counts may not)."""
    with wh.connect(location, read_only=True) as conn:
        return {
            table: conn.execute(f"SELECT config_name, count(*) FROM {table} GROUP BY ALL ORDER BY ALL").fetchall()
            for table in wh.PARTITIONED_TABLES
        }


@pytest.mark.slow
def test_two_runs_of_different_configs_at_once_write_what_one_sequential_run_writes(
    data_dir: Path, tmp_path: Path
) -> None:
    env = cli_env(data_dir, tmp_path)
    command = [sys.executable, "-m", "eval_assets.cli", "run", "--date", "2026-01-03", "--quiet"]
    parallel, sequential = lake(tmp_path / "parallel"), lake(tmp_path / "sequential")
    runs = [
        subprocess.Popen(
            [*command, "--config", config],
            env={**env, "EVAL_ASSETS_WAREHOUSE": parallel, "DAGSTER_HOME": str(tmp_path / f"home-{config}")},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for config in ("nightly", "candidate")
    ]
    for run in runs:
        output, _ = run.communicate(timeout=900)
        assert run.returncode == 0, output
    one = subprocess.run(
        [*command, "--config", "nightly", "--config", "candidate"],
        env={**env, "EVAL_ASSETS_WAREHOUSE": sequential},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert one.returncode == 0, one.stdout + one.stderr
    counts = table_counts(parallel)
    assert counts == table_counts(sequential)
    assert {config for config, _ in counts["responses"]} == {"nightly", "candidate"}
