"""The DuckDB warehouse: the one home of the schema (tables, views, version) and of partition writes.

Every table holding run data carries the run keys (``eval_date``, ``config_name``) and the lineage keys
(``run_id``, ``git_sha``, ``config_hash``). Writes replace one (date, config) cell in a single
transaction (delete, then ``INSERT ... BY NAME``), so re-materializing never duplicates or half-writes.
This module knows nothing of Dagster: it takes a DuckDB connection.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Column:
    """One column: its DuckDB type, its Polars type, and whether it may be null."""

    name: str
    sql_type: str
    dtype: pl.DataType
    nullable: bool = True
    doc: str = ""


def _c(name: str, sql_type: str, dtype: pl.DataType, doc: str = "", *, nullable: bool = True) -> Column:
    return Column(name, sql_type, dtype, nullable, doc)


STR, FLOAT, INT, BOOL, DATE, TS = (
    pl.Utf8(),
    pl.Float64(),
    pl.Int64(),
    pl.Boolean(),
    pl.Date(),
    pl.Datetime("us"),
)
STR_LIST = pl.List(pl.Utf8())

RUN_KEYS = (
    _c("eval_date", "DATE", DATE, "the partition's date", nullable=False),
    _c("config_name", "VARCHAR", STR, "the partition's config (file stem in data/configs)", nullable=False),
)
LINEAGE_KEYS = (
    _c("run_id", "VARCHAR", STR, "Dagster run that wrote the row", nullable=False),
    _c(
        "git_sha",
        "VARCHAR",
        STR,
        "commit of the repository ('-dirty' when it had local changes)",
        nullable=False,
    ),
    _c("config_hash", "VARCHAR", STR, "hash of the validated config", nullable=False),
)
EXAMPLE_KEYS = (
    _c("dataset", "VARCHAR", STR, "dataset name (file stem)", nullable=False),
    _c("dataset_hash", "VARCHAR", STR, "hash of the dataset file's bytes", nullable=False),
    _c("example_id", "VARCHAR", STR, "example id within the dataset", nullable=False),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "examples": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("line", "INTEGER", INT, "line in the dataset file", nullable=False),
        _c("input_json", "VARCHAR", STR, "the input as JSON (string or chat messages)", nullable=False),
        _c("input_text", "VARCHAR", STR, "the input as text (chats as 'role: content' lines)", nullable=False),
        _c("reference", "VARCHAR[]", STR_LIST, "acceptable answers", nullable=False),
        _c("tags", "VARCHAR[]", STR_LIST, "tags used to slice metrics", nullable=False),
        _c("metadata_json", "VARCHAR", STR, "free-form metadata from the dataset"),
    ),
    "responses": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("model_id", "VARCHAR", STR, "litellm model id from the config", nullable=False),
        _c("model_version", "VARCHAR", STR, "model name the provider reported"),
        _c("request_hash", "VARCHAR", STR, "hash of everything that determines the answer", nullable=False),
        _c("output_text", "VARCHAR", STR, "the model's answer (null on error)"),
        _c("finish_reason", "VARCHAR", STR, "stop, length, ..."),
        _c("input_tokens", "BIGINT", INT, "prompt tokens reported by the provider"),
        _c("output_tokens", "BIGINT", INT, "completion tokens reported by the provider"),
        _c(
            "cost_usd",
            "DOUBLE",
            FLOAT,
            "price of the answer from litellm's price map (null if unknown; cached answers keep their price)",
        ),
        _c("latency_ms", "DOUBLE", FLOAT, "wall time of the successful attempt"),
        _c(
            "attempts",
            "INTEGER",
            INT,
            "calls made, retries included (0 when served from cache)",
            nullable=False,
        ),
        _c(
            "cached",
            "BOOLEAN",
            BOOL,
            "served without a new provider call (cache or duplicate request)",
            nullable=False,
        ),
        _c(
            "error_type",
            "VARCHAR",
            STR,
            "rate_limit, timeout, server_error, bad_request, auth, ... (null if ok)",
        ),
        _c("error_message", "VARCHAR", STR, "the provider's error message"),
        _c("created_at", "TIMESTAMP", TS, "when the answer was received", nullable=False),
    ),
    "scores": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("scorer", "VARCHAR", STR, "scorer name from the config", nullable=False),
        _c("scorer_kind", "VARCHAR", STR, "exact_match, contains, rubric_judge, ...", nullable=False),
        _c("scorer_version", "VARCHAR", STR, "version of the scoring function", nullable=False),
        _c("scorer_args_json", "VARCHAR", STR, "the scorer's arguments as configured", nullable=False),
        _c("score", "DOUBLE", FLOAT, "normalized score in [0, 1] (null when not scorable)"),
        _c("passed", "BOOLEAN", BOOL, "score >= pass_score (null when not scorable)"),
        _c("detail", "VARCHAR", STR, "why: matched reference, judge rationale, or why it was not scored"),
        _c("tags", "VARCHAR[]", STR_LIST, "the example's tags", nullable=False),
        _c("judge_models", "VARCHAR", STR, "judge model ids, comma-separated (judges only)"),
        _c("prompt_hash", "VARCHAR", STR, "hash of the rubric file (judges only)"),
        _c("judge_error", "VARCHAR", STR, "why a judge verdict is missing (judges only)"),
        _c("judge_spread", "DOUBLE", FLOAT, "max - min of the judges' normalized scores (several judges only)"),
        _c(
            "judges_disagree",
            "BOOLEAN",
            BOOL,
            "judge_spread > the scorer's disagreement_margin, or judges on both sides of the pass line",
        ),
    ),
    "judge_verdicts": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        *EXAMPLE_KEYS,
        _c("scorer", "VARCHAR", STR, "rubric_judge scorer name", nullable=False),
        _c("judge_model", "VARCHAR", STR, "judge's litellm model id", nullable=False),
        _c("judge_model_version", "VARCHAR", STR, "model name the judge's provider reported"),
        _c("prompt_hash", "VARCHAR", STR, "hash of the rubric file", nullable=False),
        _c("request_hash", "VARCHAR", STR, "hash of the judge request", nullable=False),
        _c("raw_score", "DOUBLE", FLOAT, "score on the rubric's scale"),
        _c("score", "DOUBLE", FLOAT, "normalized score in [0, 1]"),
        _c("rationale", "VARCHAR", STR, "the judge's rationale"),
        _c("raw_answer", "VARCHAR", STR, "the judge's answer as received"),
        _c("error", "VARCHAR", STR, "call failure or unparseable answer"),
        _c("input_tokens", "BIGINT", INT, "judge prompt tokens"),
        _c("output_tokens", "BIGINT", INT, "judge completion tokens"),
        _c("cost_usd", "DOUBLE", FLOAT, "judge call cost"),
        _c("cached", "BOOLEAN", BOOL, "served from the response cache", nullable=False),
    ),
    "metrics": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("metric", "VARCHAR", STR, "e.g. contains.pass_rate, error_rate, latency_p95_ms", nullable=False),
        _c("tag", "VARCHAR", STR, "null for the whole run, else the tag slice"),
        _c("value", "DOUBLE", FLOAT, "the metric's value (null when nothing was scorable)"),
        _c("n", "BIGINT", INT, "examples behind the value", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition (null when none)"),
        _c("baseline_value", "DOUBLE", FLOAT, "the metric in the baseline partition"),
        _c("delta", "DOUBLE", FLOAT, "value - baseline_value"),
    ),
    "runs": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("model_id", "VARCHAR", STR, "model under test", nullable=False),
        _c("model_version", "VARCHAR", STR, "most common model version reported"),
        _c("dataset_hashes_json", "VARCHAR", STR, "{dataset: hash}", nullable=False),
        _c("prompt_hashes_json", "VARCHAR", STR, "{rubric: hash}", nullable=False),
        _c("n_examples", "BIGINT", INT, "examples replayed", nullable=False),
        _c("n_errors", "BIGINT", INT, "model calls that failed", nullable=False),
        _c("cost_usd", "DOUBLE", FLOAT, "model + judge cost"),
        _c("baseline_date", "DATE", DATE, "partition compared against"),
        _c("finished_at", "TIMESTAMP", TS, "when the metrics were computed", nullable=False),
    ),
    "comparisons": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("scorer", "VARCHAR", STR, "scorer name", nullable=False),
        _c("tag", "VARCHAR", STR, "null for the whole run, else the tag slice"),
        _c("kind", "VARCHAR", STR, "pass_fail (exact McNemar) or graded (paired bootstrap)", nullable=False),
        _c("baseline_config", "VARCHAR", STR, "config of the baseline partition", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition", nullable=False),
        _c("n", "BIGINT", INT, "examples scored in both runs", nullable=False),
        _c("baseline_value", "DOUBLE", FLOAT, "pass rate or mean score on the paired examples, baseline"),
        _c("current_value", "DOUBLE", FLOAT, "the same, this run"),
        _c("delta", "DOUBLE", FLOAT, "current_value - baseline_value"),
        _c("ci_low", "DOUBLE", FLOAT, "lower bound of the 95% interval of delta"),
        _c("ci_high", "DOUBLE", FLOAT, "upper bound of the 95% interval of delta"),
        _c("p_value", "DOUBLE", FLOAT, "two-sided p-value of the paired test"),
        _c("flipped_to_fail", "BIGINT", INT, "examples that passed in the baseline and fail now", nullable=False),
        _c("flipped_to_pass", "BIGINT", INT, "examples that failed in the baseline and pass now", nullable=False),
        _c("regression", "BOOLEAN", BOOL, "drop > min_effect and p < alpha", nullable=False),
        _c("gated", "BOOLEAN", BOOL, "whether this comparison can fail the regression gate", nullable=False),
    ),
    "flips": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("dataset", "VARCHAR", STR, "dataset name", nullable=False),
        _c("example_id", "VARCHAR", STR, "example id", nullable=False),
        _c("scorer", "VARCHAR", STR, "scorer whose verdict flipped", nullable=False),
        _c("direction", "VARCHAR", STR, "pass_to_fail or fail_to_pass", nullable=False),
        _c("baseline_config", "VARCHAR", STR, "config of the baseline partition", nullable=False),
        _c("baseline_date", "DATE", DATE, "date of the baseline partition", nullable=False),
        _c("baseline_output", "VARCHAR", STR, "the baseline's answer"),
        _c("current_output", "VARCHAR", STR, "this run's answer"),
        _c("baseline_detail", "VARCHAR", STR, "why the baseline passed or failed"),
        _c("current_detail", "VARCHAR", STR, "why this run passes or fails"),
    ),
    "gate_results": (
        *RUN_KEYS,
        *LINEAGE_KEYS,
        _c("check_name", "VARCHAR", STR, "asset check name", nullable=False),
        _c("severity", "VARCHAR", STR, "error or warn", nullable=False),
        _c("passed", "BOOLEAN", BOOL, "the gate's verdict", nullable=False),
        _c("description", "VARCHAR", STR, "what was measured against what"),
        _c("metadata_json", "VARCHAR", STR, "value, bounds, delta, interval, p-value, n"),
    ),
    "response_cache": (
        _c("request_hash", "VARCHAR", STR, "hash of everything that determines the answer", nullable=False),
        _c("model_id", "VARCHAR", STR, "litellm model id", nullable=False),
        _c("model_version", "VARCHAR", STR, "model name the provider reported"),
        _c("output_text", "VARCHAR", STR, "the answer", nullable=False),
        _c("finish_reason", "VARCHAR", STR, "stop, length, ..."),
        _c("input_tokens", "BIGINT", INT, "prompt tokens"),
        _c("output_tokens", "BIGINT", INT, "completion tokens"),
        _c("cost_usd", "DOUBLE", FLOAT, "what the original call cost"),
        _c("latency_ms", "DOUBLE", FLOAT, "latency of the original call"),
        _c("created_at", "TIMESTAMP", TS, "when it was first received", nullable=False),
    ),
}
#: Which tables are computed directly from each table. Rewriting a table's cell clears everything downstream
#: of it in the same transaction, so a rerun that stops at a gate never leaves the previous run's verdicts
#: looking current.
DERIVED_FROM_HERE: dict[str, tuple[str, ...]] = {
    "examples": ("responses",),
    "responses": ("scores", "judge_verdicts"),
    "scores": ("metrics", "runs", "comparisons", "flips"),
    "judge_verdicts": ("metrics", "runs"),
    "metrics": ("gate_results",),
    "runs": ("gate_results",),
    "comparisons": ("gate_results",),
}


def downstream_of(table: str) -> set[str]:
    """Every table computed, directly or not, from ``table``."""
    found: set[str] = set()
    pending = list(DERIVED_FROM_HERE.get(table, ()))
    while pending:
        current = pending.pop()
        if current not in found:
            found.add(current)
            pending.extend(DERIVED_FROM_HERE.get(current, ()))
    return found


#: Tables written per (eval_date, config_name) cell.
PARTITIONED_TABLES = tuple(name for name, columns in TABLES.items() if columns[0].name == "eval_date")

VIEWS: dict[str, str] = {
    "pass_rates": """
        SELECT eval_date, config_name, split_part(metric, '.', 1) AS scorer, coalesce(tag, '(all)') AS tag,
               value AS pass_rate, n, baseline_value AS baseline_pass_rate, delta, run_id, git_sha, config_hash
        FROM metrics WHERE metric LIKE '%.pass_rate'""",
    "latest_runs": """
        SELECT * FROM runs QUALIFY row_number() OVER (PARTITION BY config_name ORDER BY eval_date DESC) = 1""",
    "scored_examples": """
        SELECT s.eval_date, s.config_name, s.dataset, s.example_id, s.scorer, s.score, s.passed, s.detail,
               s.tags, e.input_text, e.reference, r.output_text, r.model_id, r.model_version, r.error_type,
               r.latency_ms, r.cost_usd, s.run_id, s.git_sha, s.config_hash, s.dataset_hash, s.prompt_hash
        FROM scores s
        JOIN examples e USING (eval_date, config_name, dataset, example_id)
        JOIN responses r USING (eval_date, config_name, dataset, example_id)""",
}


def scalar(conn: duckdb.DuckDBPyConnection, query: str, params: Sequence[Any] = ()) -> Any:
    """The single value of a query. Fetches every row: DuckDB 2.0 refuses new work while a result is unread."""
    rows = conn.execute(query, list(params)).fetchall()
    return rows[0][0] if rows else None


def sql_frame(
    conn: duckdb.DuckDBPyConnection, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> pl.DataFrame:
    """Run a query and return a Polars frame (DuckDB 2.0 removed ``execute(...).pl()``: use a relation)."""
    frame: pl.DataFrame = conn.sql(query, params=params).pl() if params is not None else conn.sql(query).pl()
    return frame


class WarehouseVersionError(RuntimeError):
    """The warehouse was written by a newer eval_assets than the one running."""


def table_ddl(name: str) -> str:
    """CREATE TABLE statement for one table."""
    cols = ",\n  ".join(f"{col.name} {col.sql_type}{'' if col.nullable else ' NOT NULL'}" for col in TABLES[name])
    key = ",\n  PRIMARY KEY (request_hash)" if name == "response_cache" else ""
    return f"CREATE TABLE IF NOT EXISTS {name} (\n  {cols}{key}\n)"


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and views and record the schema version.

    Raises:
        WarehouseVersionError: the file was written by a newer schema version.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL, applied_at TIMESTAMP)")
    current = scalar(conn, "SELECT max(version) FROM schema_version")
    if current is not None and current > SCHEMA_VERSION:
        raise WarehouseVersionError(
            f"the warehouse has schema version {current}, newer than this eval_assets ({SCHEMA_VERSION}): upgrade"
        )
    if current == SCHEMA_VERSION and _has_all_tables(conn):
        return
    conn.execute("BEGIN TRANSACTION")
    try:
        for name in TABLES:
            conn.execute(table_ddl(name))
        for name, query in VIEWS.items():
            conn.execute(f"CREATE OR REPLACE VIEW {name} AS {query}")
        if current != SCHEMA_VERSION:
            conn.execute("INSERT INTO schema_version VALUES (?, now())", [SCHEMA_VERSION])
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _has_all_tables(conn: duckdb.DuckDBPyConnection) -> bool:
    rows = conn.execute("SELECT table_name FROM information_schema.tables").fetchall()
    return set(TABLES) | set(VIEWS) <= {row[0] for row in rows}


def frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows as a DataFrame with exactly the table's columns and types (missing keys become null)."""
    columns = TABLES[table]
    schema = {col.name: col.dtype for col in columns}
    data = {col.name: [row.get(col.name) for row in rows] for col in columns}
    return pl.DataFrame(data, schema=schema)


def replace_partition(
    conn: duckdb.DuckDBPyConnection,
    eval_date: dt.date,
    config_name: str,
    tables: Mapping[str, pl.DataFrame],
) -> dict[str, int]:
    """Replace one (date, config) cell of several tables, and clear their downstream cells, in one transaction.

    Returns:
        Rows written per table.
    """
    for table in tables:
        if table not in PARTITIONED_TABLES:
            raise ValueError(f"{table} is not a partitioned table")
    # Views are registered outside the transaction: unregistering inside an aborted one would mask the error.
    views = {table: f"incoming_{table}" for table, df in tables.items() if df.height}
    for table, view in views.items():
        conn.register(view, tables[table])
    written: dict[str, int] = {}
    try:
        conn.execute("BEGIN TRANSACTION")
        try:
            stale = set().union(*(downstream_of(table) for table in tables)) - set(tables)
            for table in sorted(stale):
                conn.execute(f"DELETE FROM {table} WHERE eval_date = ? AND config_name = ?", [eval_date, config_name])
            for table, df in tables.items():
                conn.execute(f"DELETE FROM {table} WHERE eval_date = ? AND config_name = ?", [eval_date, config_name])
                if table in views:
                    conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {views[table]}")
                written[table] = df.height
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        for view in views.values():
            conn.unregister(view)
    return written


def read_partition(conn: duckdb.DuckDBPyConnection, table: str, eval_date: dt.date, config_name: str) -> pl.DataFrame:
    """All rows of one cell of a table."""
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table} is not a partitioned table")
    return sql_frame(
        conn,
        f"SELECT * FROM {table} WHERE eval_date = $date AND config_name = $config",
        {"date": eval_date, "config": config_name},
    )


def count_partition(conn: duckdb.DuckDBPyConnection, table: str, eval_date: dt.date, config_name: str) -> int:
    """Rows in one cell of a table."""
    return int(
        scalar(
            conn,
            f"SELECT count(*) FROM {table} WHERE eval_date = ? AND config_name = ?",
            [eval_date, config_name],
        )
    )


def resolve_baseline(
    conn: duckdb.DuckDBPyConnection,
    config_name: str,
    eval_date: dt.date,
    *,
    pinned_config: str | None = None,
    pinned_date: dt.date | None = None,
) -> tuple[str, dt.date] | None:
    """The (config, date) a partition is compared with, if that partition's metrics exist.

    Default: the previous completed partition of the same config. A pinned config compares with that
    config on the same date (or its latest earlier run); a pinned date compares with exactly that date.
    """
    config = pinned_config or config_name
    if pinned_date is not None:
        found = scalar(conn, "SELECT count(*) FROM runs WHERE config_name = ? AND eval_date = ?", [config, pinned_date])
        return (config, pinned_date) if found else None
    if pinned_config is None:
        previous = previous_run_date(conn, config_name, eval_date)
        return (config, previous) if previous else None
    latest = scalar(
        conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date <= ?", [config, eval_date]
    )
    return (config, latest) if isinstance(latest, dt.date) else None


def store_cached_responses(conn: duckdb.DuckDBPyConnection, rows: Sequence[Mapping[str, Any]]) -> None:
    """Keep fresh answers so no later run pays for the same request again.

    The newest answer wins, by ``created_at`` (a later row wins a tie), whatever order rows arrive in:
    after a ``--no-cache`` rerun the cache holds what the run stored in ``responses``, so the next
    cached rerun reproduces it, even when an older run's journal is settled after it.
    """
    if not rows:
        return
    df = (
        frame("response_cache", rows)
        .with_row_index("arrival")
        .sort("created_at", "arrival")
        .unique(subset=["request_hash"], keep="last", maintain_order=True)
        .drop("arrival")
    )
    updates = ", ".join(f"{c.name} = excluded.{c.name}" for c in TABLES["response_cache"] if c.name != "request_hash")
    conn.register("incoming_cache", df)
    try:
        conn.execute(
            "INSERT INTO response_cache BY NAME SELECT * FROM incoming_cache ON CONFLICT (request_hash) "
            f"DO UPDATE SET {updates} WHERE excluded.created_at >= response_cache.created_at"
        )
    finally:
        conn.unregister("incoming_cache")


def lookup_cached_responses(conn: duckdb.DuckDBPyConnection, request_hashes: Sequence[str]) -> pl.DataFrame:
    """Cached answers for the given request hashes."""
    if not request_hashes:
        return frame("response_cache", [])
    keys = pl.DataFrame({"request_hash": list(request_hashes)}, schema={"request_hash": STR})
    conn.register("wanted_hashes", keys)
    try:
        return sql_frame(conn, "SELECT c.* FROM response_cache c JOIN wanted_hashes w USING (request_hash)")
    finally:
        conn.unregister("wanted_hashes")


class DuckDBCacheStore:
    """The response cache in a DuckDB warehouse file (implements ``eval_assets.llm.cache.CacheStore``).

    Its answer journal lives beside the file (``warehouse.duckdb`` -> ``warehouse.journal/``). Connections
    are opened per call and closed at once. ``store`` retries a locked file only briefly (``store_wait_s``):
    the rows are safe in the journal, so waiting minutes for the lock buys nothing. ``lookup`` waits
    longer (``lookup_wait_s``, as long as the Dagster DuckDB resource does): without it the stage cannot
    know what is paid for already. It reads read-only when another process holds the file read-only (an
    analyst's session).

    Args:
        database: Path of the DuckDB file.
        store_wait_s: About how long ``store`` retries a locked file before giving up.
        lookup_wait_s: About how long ``lookup`` retries a file locked by a writer before giving up.
    """

    def __init__(self, database: str | Path, *, store_wait_s: float = 1.5, lookup_wait_s: float = 100.0) -> None:
        self.database = Path(database)
        self.store_wait_s = store_wait_s
        self.lookup_wait_s = lookup_wait_s
        self._schema_ensured = False

    @property
    def journal_dir(self) -> Path:
        """``<warehouse dir>/<warehouse name>.journal``."""
        return self.database.with_name(f"{self.database.stem}.journal")

    def lookup(self, request_hashes: Sequence[str]) -> list[dict[str, Any]]:
        """Stored rows for these hashes (raises if the file stays locked by a writer for ``lookup_wait_s``)."""
        if not request_hashes:
            return []
        conn = self._connect(wait_s=self.lookup_wait_s, read_only_too=True)
        try:
            if not self._schema_ensured and not _has_table(conn, "response_cache"):
                return []  # opened read-only on a warehouse that has never held answers
            return lookup_cached_responses(conn, request_hashes).to_dicts()
        finally:
            conn.close()

    def store(self, rows: Sequence[Mapping[str, Any]]) -> None:
        """Keep rows in one transaction; the newest ``created_at`` per request hash wins."""
        if not rows:
            return
        conn = self._connect(wait_s=self.store_wait_s, read_only_too=False)
        try:
            store_cached_responses(conn, rows)
        finally:
            conn.close()

    def _connect(self, *, wait_s: float, read_only_too: bool) -> duckdb.DuckDBPyConnection:
        """A read-write connection (schema ensured), else, if allowed, a read-only one; retried until ``wait_s``."""
        delay, waited = 0.05, 0.0
        while True:
            try:
                conn = duckdb.connect(str(self.database))
            except duckdb.IOException:
                if read_only_too and self.database.exists():
                    try:  # another process reads the file: so may we
                        return duckdb.connect(str(self.database), read_only=True)
                    except duckdb.IOException:
                        pass  # a writer holds it: wait
                if waited >= wait_s:
                    raise
                time.sleep(delay)
                waited += delay
                delay = min(delay * 2, 1.0)
                continue
            if not self._schema_ensured:
                try:
                    ensure_schema(conn)
                except BaseException:
                    conn.close()
                    raise
                self._schema_ensured = True
            return conn


def _has_table(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    return bool(scalar(conn, "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]))


def previous_run_date(conn: duckdb.DuckDBPyConnection, config_name: str, before: dt.date) -> dt.date | None:
    """The latest earlier date whose metrics completed for this config: the default baseline."""
    found = scalar(
        conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date < ?", [config_name, before]
    )
    return found if isinstance(found, dt.date) else None


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection that is always closed (for the CLI and tests; assets use DuckDBResource)."""
    conn = duckdb.connect(str(path), read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()


def describe_tables() -> str:
    """Markdown listing of tables and columns (kept in the README)."""
    out = []
    for table, columns in TABLES.items():
        out.append(f"### `{table}`\n\n| column | type | meaning |\n|---|---|---|")
        out.extend(f"| `{c.name}` | {c.sql_type} | {c.doc} |" for c in columns)
        out.append("")
    return "\n".join(out)


# --- The read-only query surface: `eval-assets sql` and notebooks ---------------------------------------------

#: What a query may name: the documented tables and views (README "Tables and views"), nothing else.
QUERYABLE = (*TABLES, *VIEWS, "schema_version")
#: Table functions that run SQL given as a string, which could name the attached file's own catalog.
_DYNAMIC_SQL = frozenset({"query", "query_table", "json_execute_serialized_sql"})
_ONLY_SELECT = "this read-only connection runs one SELECT query (WITH, FROM-first, DESCRIBE, SHOW, SUMMARIZE)"
#: DuckDB's statement types that cover several keywords, named by those keywords.
_STATEMENT_KEYWORDS = {"LOAD": "INSTALL/LOAD", "SET": "SET/RESET/USE"}


class QueryRefusedError(ValueError):
    """The read-only session would not run a query, or stopped it; the message says why and what to do."""


class ReadOnlySession:
    """A sandboxed, read-only session on the warehouse; make one with :func:`connect_readonly`.

    Attributes:
        timeout_s: Statement timeout in seconds.
        max_rows: Largest result :meth:`sql` returns.
        tables: The tables and views queries may name.
    """

    def __init__(
        self,
        conn: duckdb.DuckDBPyConnection,
        alias: str,
        tables: Sequence[str],
        *,
        timeout_s: float,
        max_rows: int,
        memory_limit: str,
    ) -> None:
        self._conn, self._alias, self._memory_limit = conn, alias, memory_limit
        self.timeout_s, self.max_rows, self.tables = timeout_s, max_rows, tuple(tables)

    def sql(self, query: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> pl.DataFrame:
        """Check and run one SELECT query and return its result.

        Args:
            query: One SELECT statement (``$name`` or ``?`` placeholders for ``params``).
            params: Values of the placeholders.

        Raises:
            QueryRefusedError: the query is not a single SELECT, names the attached file or runs SQL from a
                string, touches files or extensions, or exceeds the timeout, the memory limit or ``max_rows``.
            duckdb.Error: any other error (syntax, unknown table or column, ...).
        """
        self._check(query)
        frame = self._within_limits(lambda: self._conn.sql(query, params=params).limit(self.max_rows + 1).pl())
        if frame.height > self.max_rows:
            raise QueryRefusedError(
                f"the result has more than {self.max_rows:,} rows: add a LIMIT or aggregate "
                "(or raise the cap: `--max-rows N`, `max_rows=` in connect_readonly)"
            )
        return frame

    def close(self) -> None:
        """Close the session (the warehouse file is released)."""
        self._conn.close()

    def __enter__(self) -> ReadOnlySession:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _check(self, query: str) -> None:
        statements = self._conn.extract_statements(query)
        if not statements:
            raise QueryRefusedError("the query is empty")
        for number, statement in enumerate(statements, 1):
            if statement.type != duckdb.StatementType.SELECT:
                which = f"statement {number} of {len(statements)}" if len(statements) > 1 else "the query"
                kind = _STATEMENT_KEYWORDS.get(statement.type.name, statement.type.name)
                raise QueryRefusedError(f"refused: {which} is a statement of type {kind}; {_ONLY_SELECT}")
        if len(statements) > 1:
            raise QueryRefusedError(f"refused: the query holds {len(statements)} statements; {_ONLY_SELECT}")
        if self._alias in query.lower():
            raise QueryRefusedError("refused: name the documented tables and views, not the attached warehouse file")
        tree = json.loads(scalar(self._conn, "SELECT json_serialize_sql(?)", [query]))
        if tree.get("error"):
            raise QueryRefusedError(f"refused: the query could not be checked ({tree.get('error_message')})")
        called = sorted(_DYNAMIC_SQL.intersection(_function_names(tree)))
        if called:
            raise QueryRefusedError(f"refused: {called[0]}() runs SQL from a string; write the query itself")

    def _within_limits(self, work: Callable[[], pl.DataFrame]) -> pl.DataFrame:
        # DuckDB has no statement timeout of its own: a timer interrupts the connection. The lock makes
        # "finished" and "interrupted" exclusive, so a late timer never hits the session's next query.
        lock, state = threading.Lock(), {"done": False, "fired": False}

        def stop() -> None:
            with lock:
                if not state["done"]:
                    state["fired"] = True
                    self._conn.interrupt()

        timer = threading.Timer(self.timeout_s, stop)
        timer.daemon = True
        timer.start()
        try:
            return work()
        except duckdb.Error as exc:
            refusal = self._refusal(exc, interrupted=state["fired"])
            if refusal is None:
                raise
            raise refusal from None
        finally:
            with lock:
                state["done"] = True
            timer.cancel()

    def _refusal(self, exc: duckdb.Error, *, interrupted: bool) -> QueryRefusedError | None:
        """What to tell the user when the sandbox stopped a query (None: an ordinary SQL error)."""
        first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if isinstance(exc, duckdb.InterruptException) and interrupted:
            return QueryRefusedError(
                f"the query was stopped after {self.timeout_s:g} s (the statement timeout); make it cheaper "
                "or raise the timeout (`--timeout SECONDS`, `timeout_s=` in connect_readonly)"
            )
        if isinstance(exc, duckdb.OutOfMemoryException):
            return QueryRefusedError(
                f"the query needs more than the {self._memory_limit} memory limit; filter or aggregate more "
                "(or raise it: `--memory-limit 4GB`, `memory_limit=` in connect_readonly)"
            )
        if isinstance(exc, duckdb.PermissionException):
            return QueryRefusedError(
                f"refused: queries here cannot read or write files, attach databases or load extensions ({first_line})"
            )
        if isinstance(exc, duckdb.CatalogException) and "extension" in first_line:
            # DuckDB's own advice (INSTALL, LOAD, SET autoinstall...) cannot work here: do not repeat it.
            return QueryRefusedError(f"refused: {first_line} This connection installs and loads no extensions.")
        return None


def _function_names(node: object) -> Iterator[str]:
    """Every function name in a serialized query tree (json_serialize_sql), at any depth."""
    if isinstance(node, dict):
        name = node.get("function_name")
        if isinstance(name, str):
            yield name.lower()
        for value in node.values():
            yield from _function_names(value)
    elif isinstance(node, list):
        for item in node:
            yield from _function_names(item)


def connect_readonly(
    path: str | Path,
    *,
    timeout_s: float = 30.0,
    memory_limit: str = "1GB",
    threads: int = 2,
    max_rows: int = 100_000,
) -> ReadOnlySession:
    """A read-only session on the warehouse that is safe to hand to a dashboard user or a notebook.

    The session is an in-memory DuckDB database in which the warehouse file is attached ``READ_ONLY``
    under a random name, and the documented tables and views (:data:`QUERYABLE`) are views onto it.
    Then the configuration is locked: no file access (no ``COPY``/``EXPORT``, ``read_*``, ``glob``,
    ``ATTACH``, spilling to disk), no extension install, autoload or community extensions, no persistent
    secrets, the memory limit and thread cap fixed. :meth:`ReadOnlySession.sql` also refuses anything but
    one SELECT statement and applies the timeout and row cap. Example::

        from eval_assets.warehouse import connect_readonly
        with connect_readonly("data/warehouse.duckdb") as session:
            frame = session.sql("SELECT * FROM pass_rates WHERE tag = '(all)'")

    Args:
        path: The warehouse file.
        timeout_s: Statement timeout in seconds.
        memory_limit: DuckDB memory limit, e.g. ``"1GB"``.
        threads: DuckDB worker threads (at most the machine's cores).
        max_rows: Largest result a query may return.

    Raises:
        duckdb.Error: the file cannot be opened read-only (e.g. a run is writing it) or is not a warehouse.
    """
    if not (timeout_s > 0 and max_rows > 0 and threads > 0):
        raise ValueError("timeout_s, max_rows and threads must be positive")
    alias = f"warehouse_{secrets.token_hex(8)}"
    conn = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            "allow_persistent_secrets": False,
            "memory_limit": memory_limit,
            "threads": min(threads, os.cpu_count() or 1),
            "temp_directory": "",  # an in-memory database would otherwise spill to ./.tmp
        },
    )
    try:
        quoted = str(path).replace("'", "''")
        conn.execute(f"ATTACH '{quoted}' AS {alias} (READ_ONLY)")
        present = {
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ?", [alias]
            ).fetchall()
        }
        tables = [name for name in QUERYABLE if name in present]
        for name in tables:
            conn.execute(f'CREATE VIEW memory.main."{name}" AS SELECT * FROM {alias}.main."{name}"')
        # Access to files ends here: from now on the session can read only what it has attached.
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
        return ReadOnlySession(conn, alias, tables, timeout_s=timeout_s, max_rows=max_rows, memory_limit=memory_limit)
    except BaseException:
        conn.close()
        raise
