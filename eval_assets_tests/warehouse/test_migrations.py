"""Schema migrations: a warehouse of an older release is upgraded in place, rows kept; a newer one is refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from eval_assets import warehouse as wh

V1_FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "warehouse_v1.sql"


def v1_warehouse(path: Path) -> Path:
    """A DuckDB file built by eval_assets 0.1's own DDL, with one night of rows."""
    with duckdb.connect(str(path)) as conn:
        conn.execute(V1_FIXTURE.read_text(encoding="utf-8"))
    return path


def columns(conn: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable, ordinal_position FROM information_schema.columns "
        "WHERE table_schema = 'main' ORDER BY table_name, ordinal_position"
    ).fetchall()


def counts(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows per table the warehouse has (a version-1 file lacks the tables added later)."""
    present = {row[0] for row in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in wh.TABLES if t in present}


def test_a_version_1_warehouse_is_upgraded_in_place_with_its_rows(tmp_path: Path) -> None:
    path = v1_warehouse(tmp_path / "old.duckdb")
    with duckdb.connect(str(path)) as conn:
        before = counts(conn)
        scored = conn.execute("SELECT * FROM scored_examples").fetchall()
    assert before["responses"] == 2 and before["response_cache"] == 1

    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        assert wh.schema_version(conn) == wh.SCHEMA_VERSION
        after = counts(conn)
        assert {t: n for t, n in after.items() if t in before} == before
        assert after["review_tasks"] == after["review_decisions"] == 0  # created empty by migration 4
        assert after["baseline_acceptances"] == 0  # added by version 5, empty
        assert conn.execute("SELECT * FROM scored_examples").fetchall() == scored  # views still answer the same
        versions = conn.execute("SELECT version FROM schema_version ORDER BY version").fetchall()
        assert versions == [(m.version,) for m in wh.MIGRATIONS]
        # Rows written before a column existed say so with NULL, never a made-up value.
        assert conn.execute("SELECT count(*) FROM responses WHERE code_sha IS NULL").fetchall() == [(2,)]
        upgraded = columns(conn)

    with wh.connect(tmp_path / "fresh.duckdb") as conn:
        wh.ensure_schema(conn)
        fresh = columns(conn)
    assert upgraded == fresh  # same tables, columns, types, nullability and order as a new warehouse


def test_an_upgraded_warehouse_takes_new_writes_and_the_cache_still_works(tmp_path: Path) -> None:
    path = v1_warehouse(tmp_path / "old.duckdb")
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        found = wh.lookup_cached_responses(conn, ["req1"])
        assert found.get_column("output_text").to_list() == ["Plus is $9.99."]
        row = conn.execute("SELECT * FROM metrics LIMIT 1").fetchall()
        assert row


def test_a_failed_upgrade_leaves_the_warehouse_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = v1_warehouse(tmp_path / "old.duckdb")

    def broken(conn: duckdb.DuckDBPyConnection) -> None:
        conn.execute("ALTER TABLE examples ADD COLUMN half_done VARCHAR")
        raise RuntimeError("disk full")

    monkeypatch.setattr(wh.migrations, "MIGRATIONS", (*wh.MIGRATIONS, wh.migrations.Migration(99, "broken", broken)))
    monkeypatch.setattr(wh.migrations, "SCHEMA_VERSION", 99)
    with wh.connect(path) as conn, pytest.raises(RuntimeError, match="disk full"):
        wh.ensure_schema(conn)
    with duckdb.connect(str(path)) as conn:
        assert wh.schema_version(conn) == 1
        names = {c[1] for c in columns(conn) if c[0] == "examples"}
        assert "half_done" not in names and "code_sha" not in names


def test_a_warehouse_from_a_newer_release_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        conn.execute("INSERT INTO schema_version VALUES (?, now())", [wh.SCHEMA_VERSION + 1])
        before = columns(conn)
    with wh.connect(path) as conn:
        with pytest.raises(wh.WarehouseVersionError, match=r"newer eval_assets.*Upgrade eval_assets"):
            wh.ensure_schema(conn)
        assert columns(conn) == before


def test_schema_version_of_an_empty_file_is_none(tmp_path: Path) -> None:
    with wh.connect(tmp_path / "empty.duckdb") as conn:
        assert wh.schema_version(conn) is None
