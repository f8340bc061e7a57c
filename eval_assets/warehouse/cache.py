"""The response cache table, and the DuckDB implementation of ``eval_assets.llm.cache.CacheStore``."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from eval_assets.warehouse.columns import STR
from eval_assets.warehouse.connection import connect, in_transaction, scalar, sql_frame
from eval_assets.warehouse.location import WarehouseLocation, parse_location
from eval_assets.warehouse.migrations import ensure_schema
from eval_assets.warehouse.rows import frame


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
    conn.register("incoming_cache", df)

    def store() -> None:
        # No unique key (DuckLake has none): replace what this answer supersedes, keep what is newer. Two
        # processes storing one request at once may both insert; readers take the newest row per request.
        conn.execute(
            "DELETE FROM response_cache WHERE EXISTS (SELECT 1 FROM incoming_cache i "
            "WHERE i.request_hash = response_cache.request_hash AND i.created_at >= response_cache.created_at)"
        )
        conn.execute(
            "INSERT INTO response_cache BY NAME SELECT i.* FROM incoming_cache i WHERE NOT EXISTS "
            "(SELECT 1 FROM response_cache c WHERE c.request_hash = i.request_hash AND c.created_at > i.created_at)"
        )

    try:
        in_transaction(conn, store)
    finally:
        conn.unregister("incoming_cache")


def lookup_cached_responses(conn: duckdb.DuckDBPyConnection, request_hashes: Sequence[str]) -> pl.DataFrame:
    """Cached answers for the given request hashes."""
    if not request_hashes:
        return frame("response_cache", [])
    keys = pl.DataFrame({"request_hash": list(request_hashes)}, schema={"request_hash": STR})
    conn.register("wanted_hashes", keys)
    try:
        return sql_frame(
            conn,
            "SELECT c.* FROM response_cache c JOIN wanted_hashes w USING (request_hash) "
            "QUALIFY row_number() OVER (PARTITION BY c.request_hash ORDER BY c.created_at DESC) = 1",
        )
    finally:
        conn.unregister("wanted_hashes")


class DuckDBCacheStore:
    """The response cache in the warehouse (implements ``eval_assets.llm.cache.CacheStore``).

    Its answer journal lives beside the catalog or file (``warehouse.sqlite`` -> ``warehouse.journal/``).
    Connections are opened per call and closed at once. A lake is never locked (write conflicts are retried
    in the transaction). A plain DuckDB file is: ``store`` retries a locked file only briefly (``store_wait_s``):
    the rows are safe in the journal, so waiting minutes for the lock buys nothing. ``lookup`` waits
    longer (``lookup_wait_s``, as long as the Dagster DuckDB resource does): without it the stage cannot
    know what is paid for already. It reads read-only when another process holds the file read-only (an
    analyst's session).

    Args:
        database: The warehouse setting (a lake, or the path of a DuckDB file).
        store_wait_s: About how long ``store`` retries a locked file before giving up.
        lookup_wait_s: About how long ``lookup`` retries a file locked by a writer before giving up.
    """

    def __init__(
        self, database: str | Path | WarehouseLocation, *, store_wait_s: float = 1.5, lookup_wait_s: float = 100.0
    ) -> None:
        self.location = parse_location(database)
        self.database = Path(self.location.target)
        self.store_wait_s = store_wait_s
        self.lookup_wait_s = lookup_wait_s
        self._schema_ensured = False

    @property
    def journal_dir(self) -> Path:
        """``<warehouse dir>/<warehouse name>.journal`` (a PostgreSQL catalog: ``<data dir>/warehouse.journal``)."""
        return self.location.journal_dir

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
        if self.location.is_lake:
            return self._with_schema(connect(self.location))
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
            return self._with_schema(conn)

    def _with_schema(self, conn: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """``conn``, the schema ensured the first time (closed if that fails)."""
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


def cache_stats(conn: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Cached answers per model: how many, what they cost when first paid, and their age range."""
    return sql_frame(
        conn,
        "SELECT model_id, count(*) AS answers, sum(cost_usd) AS cost_usd, count(cost_usd) AS priced, "
        "min(created_at) AS oldest, max(created_at) AS newest FROM (SELECT * FROM response_cache "
        "QUALIFY row_number() OVER (PARTITION BY request_hash ORDER BY created_at DESC) = 1) "
        "GROUP BY model_id ORDER BY model_id",
    )


def clear_cache(
    conn: duckdb.DuckDBPyConnection, *, config_name: str | None = None, before: dt.date | None = None
) -> int:
    """Delete cached answers (of one config's requests, received before a date, or all); returns how many.

    A config's requests are those its stored answers and judge verdicts name: the cache itself keys answers
    by request only, so two configs sending the same request share (and lose) one cached answer.
    """
    conditions: list[str] = []
    params: list[object] = []
    if config_name is not None:
        conditions.append(
            "request_hash IN (SELECT request_hash FROM responses WHERE config_name = ? "
            "UNION SELECT request_hash FROM judge_verdicts WHERE config_name = ?)"
        )
        params += [config_name, config_name]
    if before is not None:
        conditions.append("created_at < ?")
        params.append(dt.datetime.combine(before, dt.time()))
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    found = scalar(conn, f"SELECT count(DISTINCT request_hash) FROM response_cache{where}", params)
    conn.execute(f"DELETE FROM response_cache{where}", params)
    return int(found or 0)
