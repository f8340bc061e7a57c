"""Create a warehouse, upgrade an older one in place, and refuse one written by a newer eval_assets.

Migrations are an ordered list, each numbered and named (as in simonw/llm's ``migrations.py``); the
``schema_version`` table records the versions the warehouse went through and when. A fresh warehouse is
created from the current schema (``schema.TABLES``) at the latest version; an older one gets the missing
migrations in order, in one transaction, so a failed upgrade leaves it as it was. A migration's statements are frozen
history: they name the tables and columns as they were, never the current schema, and a test checks that an
upgraded version-1 warehouse ends with exactly the columns of a fresh one, rows kept.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from eval_assets.warehouse.connection import scalar
from eval_assets.warehouse.schema import TABLES, VIEWS


class WarehouseVersionError(RuntimeError):
    """The warehouse was written by a newer eval_assets than the one running."""


@dataclass(frozen=True)
class Migration:
    """One step of the schema's history."""

    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _initial(conn: duckdb.DuckDBPyConnection) -> None:
    """Version 1 is what eval_assets 0.1 created; there is nothing to upgrade to it."""


# The run tables of version 1: every one carried the lineage keys.
_V1_LINEAGE_TABLES = (
    "examples", "responses", "scores", "judge_verdicts", "metrics", "runs", "comparisons", "flips", "gate_results"
)  # fmt: skip


def _code_sha_and_total_latency(conn: duckdb.DuckDBPyConnection) -> None:
    """Which code wrote a row (beside the data's commit), and a call's total time with retries."""
    for table in _V1_LINEAGE_TABLES:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN code_sha VARCHAR")
    conn.execute("ALTER TABLE responses ADD COLUMN total_latency_ms DOUBLE")


def _accepted_baselines_and_verdicts(conn: duckdb.DuckDBPyConnection) -> None:
    """Accepted baselines, why a run's baseline was chosen (and what differs from it), each comparison's verdict,
    power and adjusted p."""
    conn.execute("ALTER TABLE runs ADD COLUMN baseline_config VARCHAR")
    conn.execute("ALTER TABLE runs ADD COLUMN baseline_reason VARCHAR")
    conn.execute("ALTER TABLE runs ADD COLUMN factors_json VARCHAR")
    for column, sql_type in (("verdict", "VARCHAR"), ("mde", "DOUBLE"), ("n_needed", "BIGINT")):
        conn.execute(f"ALTER TABLE comparisons ADD COLUMN {column} {sql_type}")
    conn.execute("ALTER TABLE comparisons ADD COLUMN p_adjusted DOUBLE")
    # No key constraint (DuckLake has none): the latest acceptance of a night is the one that counts.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS baseline_acceptances (config_name VARCHAR NOT NULL, eval_date DATE NOT NULL, "
        "accepted_by VARCHAR NOT NULL, accepted_at TIMESTAMP NOT NULL, reason VARCHAR)"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "code_sha on every run table; responses.total_latency_ms", _code_sha_and_total_latency),
    Migration(3, "accepted baselines; baseline reason; verdicts with power and BH", _accepted_baselines_and_verdicts),
)
#: The schema version this code writes.
SCHEMA_VERSION = MIGRATIONS[-1].version


def table_ddl(name: str) -> str:
    """CREATE TABLE statement for one table of the current schema."""
    cols = ",\n  ".join(f"{col.name} {col.sql_type}{'' if col.nullable else ' NOT NULL'}" for col in TABLES[name])
    key = ",\n  PRIMARY KEY (request_hash)" if name == "response_cache" else ""
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}{key}\n)"


def schema_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version; None when it holds no eval_assets schema yet."""
    if not _tables(conn) & {"schema_version", *TABLES}:
        return None
    if "schema_version" not in _tables(conn):
        return 1  # tables without a version table: the first release, before it recorded one
    found = scalar(conn, "SELECT max(version) FROM schema_version")
    return int(found) if found is not None else 1


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the schema, or upgrade an older one in place; views are (re)created either way.

    Raises:
        WarehouseVersionError: the warehouse was written by a newer eval_assets (it is left untouched).
    """
    current = schema_version(conn)
    if current is not None and current > SCHEMA_VERSION:
        raise WarehouseVersionError(
            f"the warehouse has schema version {current}, written by a newer eval_assets; this one knows versions "
            f"up to {SCHEMA_VERSION}. Upgrade eval_assets (the warehouse was not changed)."
        )
    if current == SCHEMA_VERSION and set(TABLES) | set(VIEWS) <= _tables(conn):
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
        if current is None:
            pending = MIGRATIONS[-1:]  # a new warehouse: the current schema at once, recorded as its version
            for name in TABLES:
                conn.execute(table_ddl(name))
        else:
            if not scalar(conn, "SELECT count(*) FROM schema_version"):
                conn.execute("INSERT INTO schema_version VALUES (1, now())")
            pending = tuple(m for m in MIGRATIONS if m.version > current)
            for migration in pending:
                migration.apply(conn)
            for name in TABLES:  # tables a migration dropped by mistake would otherwise go unnoticed here
                conn.execute(table_ddl(name))
        for migration in pending:
            conn.execute("INSERT INTO schema_version VALUES (?, now())", [migration.version])
        for name, query in VIEWS.items():
            conn.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _tables(conn: duckdb.DuckDBPyConnection) -> set[str]:
    rows = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return {row[0] for row in rows}
