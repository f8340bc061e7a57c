"""`eval-assets sql` and `connect_readonly` as an attacker would use them: every probe refused, nothing changed.

Each probe of issue 13 (part 1) runs through the CLI on a real warehouse file and must exit 2 with a
clear message, leave the warehouse byte-for-byte as it was and write no file anywhere under the test's
directory (which is also the working directory and ``$HOME``, where DuckDB would install extensions).
A second table sends the same attacks to the sandboxed DuckDB connection *behind* the statement check, so
the engine's own settings are tested for behaviour, not by name.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest

from eval_assets import warehouse as wh
from eval_assets.cli import main

DAY = dt.date(2026, 11, 7)
REPO_ROOT = Path(__file__).resolve().parent.parent
#: Model output a terminal would obey: OSC 8 link, OSC 0 title, clear screen, BEL, NUL, C1 CSI, RLO.
HOSTILE = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07\x1b]0;pwned\x07\x1b[2J\x07\x00\x9b31m\u202eevil"
_SAMPLE = {
    "VARCHAR": "x",
    "VARCHAR[]": ["billing"],
    "DATE": DAY,
    "INTEGER": 1,
    "BIGINT": 1,
    "DOUBLE": 0.5,
    "BOOLEAN": False,
    "TIMESTAMP": dt.datetime(2026, 11, 8, 2, 0),
}


def sample_row(table: str, **values: object) -> dict[str, object]:
    """A row with every column of ``table`` filled (so NOT NULL holds whatever the schema grows into)."""
    return {col.name: _SAMPLE[col.sql_type] for col in wh.TABLES[table]} | {"config_name": "nightly"} | values


def build_warehouse(path: Path) -> None:
    """One partition on which every README query returns rows; one answer is hostile model output."""
    rows = {
        "examples": [sample_row("examples")],
        "responses": [sample_row("responses", output_text=HOSTILE)],
        "scores": [sample_row("scores", scorer="contains", passed=False, score=0.0, detail=HOSTILE)],
        "metrics": [
            sample_row("metrics", metric="contains.pass_rate", tag=None),
            sample_row("metrics", metric="contains.pass_rate", tag="billing"),
        ],
        "runs": [sample_row("runs")],
        "flakiness": [sample_row("flakiness", stability="flaky")],
    }
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        for table, table_rows in rows.items():
            wh.replace_partition(conn, DAY, "nightly", {table: wh.frame(table, table_rows)})


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The warehouse and a second DuckDB file to attack, built once (copying them is faster)."""
    folder = tmp_path_factory.mktemp("template")
    build_warehouse(folder / "warehouse.duckdb")
    with duckdb.connect(str(folder / "other.duckdb")) as other:
        other.execute("CREATE TABLE precious AS SELECT 42 AS answer")
    return folder


@pytest.fixture(scope="module")
def template_rows(template: Path) -> dict[str, int]:
    return row_counts(template / "warehouse.duckdb")


@pytest.fixture
def sandbox(template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Copies of the template files in tmp_path, which is also the working directory and $HOME."""
    for name in ("warehouse.duckdb", "other.duckdb"):
        shutil.copy(template / name, tmp_path / name)
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def files_under(root: Path) -> dict[str, str]:
    """Every file under ``root`` with the hash of its bytes."""
    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def row_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as conn:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in (*wh.TABLES, "schema_version")}


# (probe, a fragment the message must contain). {dir} is the test's directory, {warehouse} the warehouse file.
PROBES = [
    # Another DuckDB file attached read-write, then dropped from.
    ("ATTACH '{dir}/other.duckdb' AS other (READ_WRITE)", "type ATTACH"),
    (
        "ATTACH '{dir}/other.duckdb' AS other (READ_WRITE); DROP TABLE other.precious",
        "statement 1 of 2 is a statement of type ATTACH",
    ),
    ("DETACH memory", "type DETACH"),
    ("USE other", "type SET/RESET/USE"),
    # COPY anywhere: a CSV, a .py picked up by sitecustomize, the warehouse itself; EXPORT DATABASE.
    ("COPY runs TO '{dir}/stolen.csv'", "type COPY"),
    ("COPY (SELECT 'import os') TO '{dir}/sitecustomize.py' (FORMAT csv, HEADER false)", "type COPY"),
    ("COPY runs TO '{warehouse}' (FORMAT csv)", "type COPY"),
    ("EXPORT DATABASE '{dir}/export'", "type EXPORT"),
    # Reading the process environment (API keys), system files, directory listings, URLs.
    ("SELECT * FROM read_text('/proc/self/environ')", "cannot read or write files"),
    ("SELECT * FROM read_csv('/etc/passwd')", "cannot read or write files"),
    ("SELECT * FROM glob('/root/**')", "cannot read or write files"),
    ("SELECT * FROM '{dir}/secrets.csv'", "cannot read or write files"),  # a replacement scan of a file
    ("SELECT * FROM read_parquet('https://example.invalid/x.parquet')", "cannot read or write files"),
    # Extensions: explicit install/load, and autoload through a function of a known extension.
    ("INSTALL httpfs", "type INSTALL/LOAD"),
    ("LOAD httpfs", "type INSTALL/LOAD"),
    ("SELECT st_point(1, 2)", "installs and loads no extensions"),
    ("SELECT * FROM read_xlsx('{dir}/x.xlsx')", "installs and loads no extensions"),
    # Turning the sandbox off again.
    ("SET enable_external_access = true", "type SET/RESET/USE"),
    ("RESET enable_external_access", "type SET/RESET/USE"),
    ("SET lock_configuration = false", "type SET/RESET/USE"),
    ("PRAGMA enable_profiling", "refused"),
    # Writes to the warehouse.
    ("DELETE FROM runs", "type DELETE"),
    ("DROP TABLE runs", "type DROP"),
    ("CREATE TABLE runs2 AS SELECT * FROM runs", "type CREATE"),
    ("CREATE OR REPLACE VIEW runs AS SELECT 1 AS faked", "type CREATE"),
    ("UPDATE runs SET cost_usd = 0", "type UPDATE"),
    ("INSERT INTO runs SELECT * FROM runs", "type INSERT"),
    ("CHECKPOINT", "refused"),
    # A harmless statement first, the attack after it.
    ("SELECT 1; DROP TABLE runs", "statement 2 of 2 is a statement of type DROP"),
    ("SELECT 1; COPY runs TO '{dir}/stolen.csv'", "statement 2 of 2 is a statement of type COPY"),
    (
        "SELECT 1; SET enable_external_access = true; COPY runs TO '{dir}/x.csv'",
        "statement 2 of 3 is a statement of type SET/RESET/USE",
    ),
    ("SELECT 1; SELECT 2", "holds 2 statements"),
    # Dynamic SQL could name the attached file's catalog (or anything else) from a string.
    (
        "SELECT * FROM query('SELECT * FROM ' || (SELECT max(database_name) FROM duckdb_databases()) || '.runs')",
        "query()",
    ),
    ("SELECT * FROM query_table('runs')", "query_table()"),
    ("", "empty"),
]


@pytest.mark.parametrize(("probe", "expected"), PROBES, ids=[p for p, _ in PROBES])
def test_cli_refuses_the_probe_and_nothing_changes(
    sandbox: Path, template_rows: dict[str, int], probe: str, expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = sandbox / "warehouse.duckdb"
    before_files = files_under(sandbox)
    query = probe.format(dir=sandbox, warehouse=warehouse)

    assert main(["sql", query]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ") and expected in captured.err, captured.err
    assert "Traceback" not in captured.err
    assert files_under(sandbox) == before_files  # nothing written: no CSV, .py, export, extension, spill file
    assert row_counts(warehouse) == template_rows
    with duckdb.connect(str(sandbox / "other.duckdb"), read_only=True) as other:
        assert other.execute("SELECT answer FROM precious").fetchall() == [(42,)]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # 4·10^10 rows: stopped by the timer, fast, with the timeout and how to change it in the message.
        (["--timeout", "0.5", "SELECT count(*) FROM range(200000) a, range(200000) b"], "stopped after 0.5 s"),
        (["--memory-limit", "64MB", "SELECT list(range) FROM range(100000000)"], "64MB memory limit"),
        (["SELECT * FROM range(200000) a, range(200000) b"], "more than 100,000 rows"),
        (["--max-rows", "5", "SELECT * FROM range(6)"], "more than 5 rows"),
    ],
    ids=["timeout", "memory", "rows", "max-rows"],
)
def test_expensive_queries_are_stopped_with_a_way_out(
    sandbox: Path, args: list[str], expected: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = files_under(sandbox)
    assert main(["sql", *args]) == 2
    err = capsys.readouterr().err
    assert expected in err and ("--timeout" in err or "--memory-limit" in err or "--max-rows" in err), err
    assert files_under(sandbox) == before  # no spill files (an in-memory database spills to ./.tmp by default)


def test_the_timeout_stops_a_query_promptly_and_the_session_stays_usable(sandbox: Path) -> None:
    with wh.connect_readonly(sandbox / "warehouse.duckdb", timeout_s=0.3) as session:
        started = dt.datetime.now()
        with pytest.raises(wh.QueryRefusedError, match=r"stopped after 0\.3 s"):
            session.sql("SELECT count(*) FROM range(200000) a, range(200000) b")
        assert (dt.datetime.now() - started).total_seconds() < 5
        assert session.sql("SELECT count(*) AS n FROM runs").item() == 1


def test_the_attached_file_cannot_be_named(sandbox: Path) -> None:
    with wh.connect_readonly(sandbox / "warehouse.duckdb") as session:
        alias = session.sql("SELECT max(database_name) FROM duckdb_databases() WHERE path IS NOT NULL").item()
        for query in (f"SELECT * FROM {alias}.runs", f'SELECT * FROM "{alias.upper()}".main.schema_version'):
            with pytest.raises(wh.QueryRefusedError, match="not the attached warehouse file"):
                session.sql(query)
        assert set(session.tables) == set(wh.QUERYABLE)


# Attacks sent to the DuckDB connection behind the statement check: the engine settings must hold alone.
ENGINE_PROBES = [
    "ATTACH '{dir}/other.duckdb' AS other (READ_WRITE)",
    "COPY (SELECT 1) TO '{dir}/stolen.csv'",
    "COPY (SELECT 1) TO '{warehouse}' (FORMAT csv)",
    "EXPORT DATABASE '{dir}/export'",
    "SELECT * FROM read_text('/proc/self/environ')",
    "SELECT * FROM glob('/root/**')",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SELECT st_point(1, 2)",  # would autoload (and autoinstall) spatial
    "SET enable_external_access = true",
    "RESET enable_external_access",
    "SET lock_configuration = false",
    "SET autoinstall_known_extensions = true",
    "SET autoload_known_extensions = true",
    "SET allow_community_extensions = true",
    "SET memory_limit = '100GB'",
    "SET threads = 64",
    "SET temp_directory = '{dir}/spill'",
    "DELETE FROM runs",
    "DROP TABLE {alias}.runs",
    "CREATE TABLE {alias}.main.t AS SELECT 1",
    "SELECT list(range) FROM range(100000000)",  # memory limit, and no spilling to disk
]


@pytest.mark.parametrize("probe", ENGINE_PROBES)
def test_the_engine_refuses_without_the_statement_check(
    sandbox: Path, template_rows: dict[str, int], probe: str
) -> None:
    warehouse = sandbox / "warehouse.duckdb"
    before_files = files_under(sandbox)
    with wh.connect_readonly(warehouse, memory_limit="64MB") as session:
        raw = session._conn  # deliberately behind the check
        with pytest.raises(duckdb.Error):
            raw.execute(probe.format(dir=sandbox, warehouse=warehouse, alias=session._alias)).fetchall()
        settings = dict(raw.execute("SELECT name, value FROM duckdb_settings()").fetchall())
    assert settings["enable_external_access"] == "false" and settings["lock_configuration"] == "true"
    assert files_under(sandbox) == before_files
    assert row_counts(warehouse) == template_rows


def test_thread_cap_holds(sandbox: Path) -> None:
    with wh.connect_readonly(sandbox / "warehouse.duckdb", threads=1) as session:
        assert session.sql("SELECT current_setting('threads') AS t").item() == 1


def readme_queries() -> list[str]:
    readme = (REPO_ROOT / "README.md").read_text()
    return re.findall(r"```sql\n(.*?)```", readme, flags=re.S)


@pytest.mark.parametrize(
    "query",
    [
        *readme_queries(),
        "DESCRIBE scored_examples",
        "SHOW TABLES",
        "FROM latest_runs SELECT config_name",
        "WITH m AS (SELECT * FROM metrics) SELECT count(*) FROM m",
        "SELECT version FROM schema_version",
        "SUMMARIZE runs",
    ],
)
def test_legitimate_queries_still_work(sandbox: Path, query: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", query, "--format", "json"]) == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)  # rows on the small warehouse


def test_the_readme_notebook_example_runs(sandbox: Path) -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    (example,) = [code for code in re.findall(r"```python\n(.*?)```", readme, flags=re.S) if "connect_readonly" in code]
    namespace: dict[str, object] = {}
    exec(example.replace("data/warehouse.duckdb", str(sandbox / "warehouse.duckdb")), namespace)
    frame = namespace["nightly"]
    assert isinstance(frame, pl.DataFrame) and sorted(frame["tag"].to_list()) == ["(all)", "billing"]


def test_a_file_that_is_not_a_warehouse_gives_a_clear_error(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A broken file fails cleanly (exit 2, no traceback), as the old direct connect did.
    (sandbox / "warehouse.duckdb").write_bytes(b"not a database")
    assert main(["sql", "SELECT 1"]) == 2
    assert "query failed" in capsys.readouterr().err


@pytest.mark.parametrize("fmt", ["table", "csv"])
def test_table_and_csv_escape_control_characters(sandbox: Path, fmt: str, capsys: pytest.CaptureFixture[str]) -> None:
    query = "SELECT output_text, [output_text] AS as_list, {'k': output_text} AS as_struct FROM responses"
    assert main(["sql", query, "--format", fmt]) == 0
    out = capsys.readouterr().out
    for control in ("\x1b", "\x07", "\x00", "\x9b", "\u202e"):
        assert control not in out
    assert "\\x1b]8;;http://evil.example\\x07click" in out  # visible, not obeyed (the table cuts long cells)
    if fmt == "csv":
        assert "\\x1b[2J\\x07\\x00\\x9b31m\\u202eevil" in out


def test_json_stays_exact(sandbox: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql", "SELECT output_text, [output_text] AS l FROM responses", "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert not set(out) & {"\x1b", "\x07", "\x00", "\x9b", "\u202e"}
    assert json.loads(out) == [{"output_text": HOSTILE, "l": [HOSTILE]}]
