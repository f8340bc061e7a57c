"""Issue 9, item 5: ``eval-assets warehouse migrate`` copies a warehouse built by the old schema, every table counted.

The source is the frozen version-1 fixture (eval_assets 0.1's own DDL and rows) in a plain DuckDB file; the
120-night retention test migrates a current-schema file the same way (test_retention).
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from eval_assets import warehouse as wh
from eval_assets.cli.main import main
from eval_assets_tests.warehouse.test_migrations import v1_warehouse


def test_issue9_5_migrate_copies_every_table_of_a_version_1_file_with_its_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    source = v1_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(source), read_only=True) as conn:
        present = {row[0] for row in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        expected = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in wh.TABLES if t in present}
    assert sum(expected.values()) > 5 and len(expected) >= 9  # the fixture holds rows in most tables
    lake = wh.default_setting(tmp_path / "new")
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", lake)
    assert main(["--data-dir", str(tmp_path), "warehouse", "migrate", "--from", str(source)]) == 0
    out = capsys.readouterr().out
    with wh.connect(lake, read_only=True) as conn:
        copied = {t: int(wh.scalar(conn, f"SELECT count(*) FROM {t}")) for t in wh.TABLES}
        assert wh.schema_version(conn) == wh.SCHEMA_VERSION
        # The old rows answer today's views (the scored_examples join works on upgraded rows).
        assert wh.scalar(conn, "SELECT count(*) FROM scored_examples") > 0
    assert copied == {t: expected.get(t, 0) for t in wh.TABLES}
    for table, rows in expected.items():  # the printed counts are the real ones, both sides
        assert re.search(rf"{table}\s+{rows:,} rows ->\s+{rows:,}", out), (table, out)
    assert "counts match" in out
    with duckdb.connect(str(source), read_only=True) as conn:  # the source is untouched
        assert "code_sha" not in {r[0] for r in conn.execute("DESCRIBE responses").fetchall()}
