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

from eval_assets.warehouse.connection import current_tables, in_transaction, scalar
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


#: One row per (date, config) cell, rewritten by every write of the cell. DuckLake has no unique keys, but two
#: transactions deleting the same row conflict at commit: so two writers of one cell never both commit (the
#: loser is retried and then replaces the winner's rows), even for a cell new to both. Not a documented table.
PARTITION_WRITES_DDL = (
    "CREATE TABLE IF NOT EXISTS partition_writes "
    "(eval_date DATE NOT NULL, config_name VARCHAR NOT NULL, writes BIGINT NOT NULL, written_at TIMESTAMP)"
)


def _partition_writes(conn: duckdb.DuckDBPyConnection) -> None:
    """The per-cell write token that serializes concurrent writers of one cell."""
    conn.execute(PARTITION_WRITES_DDL)


def _review_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """The nightly review queue and people's decisions (issue 10); no keys or UNIQUE: DuckLake has none.

    Scores gain where a person's verdict replaced the evaluator's.
    """
    conn.execute("ALTER TABLE scores ADD COLUMN human_labelled BOOLEAN")
    conn.execute("ALTER TABLE scores ADD COLUMN evaluator_score DOUBLE")
    conn.execute(
        "CREATE TABLE review_tasks (eval_date DATE NOT NULL, config_name VARCHAR NOT NULL, run_id VARCHAR NOT NULL, "
        "git_sha VARCHAR NOT NULL, config_hash VARCHAR NOT NULL, task_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, "
        "dataset_hash VARCHAR NOT NULL, example_id VARCHAR NOT NULL, scorer VARCHAR NOT NULL, "
        "output_hash VARCHAR NOT NULL, reason VARCHAR NOT NULL, reasons VARCHAR[] NOT NULL, priority INTEGER NOT NULL, "
        "rank INTEGER NOT NULL, detail VARCHAR NOT NULL, score DOUBLE, passed BOOLEAN, code_sha VARCHAR)"
    )
    conn.execute(
        "CREATE TABLE review_decisions (decision_id VARCHAR NOT NULL, task_id VARCHAR NOT NULL, "
        "eval_date DATE NOT NULL, config_name VARCHAR NOT NULL, dataset VARCHAR NOT NULL, example_id VARCHAR NOT NULL, "
        "scorer VARCHAR NOT NULL, output_hash VARCHAR NOT NULL, decision VARCHAR NOT NULL, score DOUBLE, "
        "raw_score DOUBLE, proposed_reference VARCHAR, note VARCHAR NOT NULL, reviewer VARCHAR NOT NULL, "
        "decided_at TIMESTAMP NOT NULL, evaluator_score DOUBLE, previous_decision_id VARCHAR, "
        "previous_decision VARCHAR, previous_score DOUBLE)"
    )


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


def _calibration(conn: duckdb.DuckDBPyConnection) -> None:
    """Judges measured against people each night (issue 10): agreement and weighted kappa per judge."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS calibration (eval_date DATE NOT NULL, config_name VARCHAR NOT NULL, "
        "run_id VARCHAR NOT NULL, git_sha VARCHAR NOT NULL, config_hash VARCHAR NOT NULL, scorer VARCHAR NOT NULL, "
        "rubric VARCHAR NOT NULL, judge_model VARCHAR NOT NULL, judge_model_version VARCHAR, sample VARCHAR NOT NULL, "
        "n BIGINT NOT NULL, agreement DOUBLE, kappa DOUBLE, kappa_low DOUBLE, kappa_high DOUBLE, "
        "weighting VARCHAR NOT NULL, calibrated BOOLEAN NOT NULL, reason VARCHAR NOT NULL, code_sha VARCHAR)"
    )


def _reproducibility_hashes(conn: duckdb.DuckDBPyConnection) -> None:
    """The hashes of the config's reproducibility: inputs on every answer and score (issue 12)."""
    for table in ("responses", "scores"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN reproducibility_json VARCHAR")


def _repeats_and_flakiness(conn: duckdb.DuckDBPyConnection) -> None:
    """Which repeat of an example a row is (earlier rows were the only sample: 0), how many flaky examples a
    comparison set apart, and the flakiness ledger."""
    for table in ("responses", "scores", "judge_verdicts"):
        conn.execute(f"ALTER TABLE {table} ADD COLUMN repeat_index INTEGER")
        conn.execute(f"UPDATE {table} SET repeat_index = 0")
    conn.execute("ALTER TABLE comparisons ADD COLUMN set_apart BIGINT")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS flakiness (eval_date DATE NOT NULL, config_name VARCHAR NOT NULL, "
        "run_id VARCHAR NOT NULL, git_sha VARCHAR NOT NULL, config_hash VARCHAR NOT NULL, dataset VARCHAR NOT NULL, "
        "example_id VARCHAR NOT NULL, scorer VARCHAR NOT NULL, nights INTEGER NOT NULL, outcomes INTEGER NOT NULL, "
        "passes INTEGER NOT NULL, pass_probability DOUBLE NOT NULL, wilson_low DOUBLE NOT NULL, "
        "wilson_high DOUBLE NOT NULL, flip_rate DOUBLE NOT NULL, last_outcomes VARCHAR NOT NULL, "
        "stability VARCHAR NOT NULL, code_sha VARCHAR)"
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema", _initial),
    Migration(2, "code_sha on every run table; responses.total_latency_ms", _code_sha_and_total_latency),
    Migration(3, "partition_writes: one writer per cell at a time, on DuckLake too", _partition_writes),
    Migration(4, "review_tasks and review_decisions; scores.human_labelled, evaluator_score", _review_tables),
    Migration(5, "accepted baselines; baseline reason; verdicts with power and BH", _accepted_baselines_and_verdicts),
    Migration(6, "calibration: judges' agreement with people per night", _calibration),
    Migration(7, "responses and scores: reproducibility_json", _reproducibility_hashes),
    Migration(8, "repeat_index on responses, scores and judge_verdicts; the flakiness ledger", _repeats_and_flakiness),
)
#: The schema version this code writes.
SCHEMA_VERSION = MIGRATIONS[-1].version


def table_ddl(name: str) -> str:
    """CREATE TABLE statement for one table of the current schema.

    No keys: DuckLake has no PRIMARY KEY, UNIQUE or indexes, so no query relies on them (the response cache
    keeps the newest answer per request itself). Warehouses created before schema 3 keep their key.
    """
    cols = ",\n  ".join(f"{col.name} {col.sql_type}{'' if col.nullable else ' NOT NULL'}" for col in TABLES[name])
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}\n)"


def schema_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    """The warehouse's schema version; None when it holds no eval_assets schema yet."""
    if not current_tables(conn) & {"schema_version", *TABLES}:
        return None
    if "schema_version" not in current_tables(conn):
        return 1  # tables without a version table: the first release, before it recorded one
    found = scalar(conn, "SELECT max(version) FROM schema_version")
    return int(found) if found is not None else 1


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the schema, or upgrade an older one in place; views are (re)created either way.

    Several processes may race to create or upgrade a lake: the losers' commits conflict and are retried,
    and then find the work done.

    Raises:
        WarehouseVersionError: the warehouse was written by a newer eval_assets (it is left untouched).
    """
    if _current(conn):
        return
    in_transaction(conn, lambda: _upgrade(conn))


def _current(conn: duckdb.DuckDBPyConnection) -> bool:
    current = schema_version(conn)
    if current is not None and current > SCHEMA_VERSION:
        raise WarehouseVersionError(
            f"the warehouse has schema version {current}, written by a newer eval_assets; this one knows versions "
            f"up to {SCHEMA_VERSION}. Upgrade eval_assets (the warehouse was not changed)."
        )
    return current == SCHEMA_VERSION and set(TABLES) | set(VIEWS) | {"partition_writes"} <= current_tables(conn)


def _upgrade(conn: duckdb.DuckDBPyConnection) -> None:
    if _current(conn):  # another process did it while this one waited
        return
    current = schema_version(conn)
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    if current is None:
        pending = MIGRATIONS[-1:]  # a new warehouse: the current schema at once, recorded as its version
        for name in TABLES:
            conn.execute(table_ddl(name))
        conn.execute(PARTITION_WRITES_DDL)
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
