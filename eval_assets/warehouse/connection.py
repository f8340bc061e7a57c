"""Connections and the two query helpers every warehouse module uses (DuckDB 2.0's result rules)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl


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


@contextmanager
def connect(path: str | Path, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """A short-lived connection that is always closed (for the CLI and tests; assets use DuckDBResource)."""
    conn = duckdb.connect(str(path), read_only=read_only)
    try:
        yield conn
    finally:
        conn.close()
