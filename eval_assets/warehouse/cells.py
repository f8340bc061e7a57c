"""Partition writes and reads: one (date, config) cell of a table, replaced in one transaction.

Writes replace the cell (delete, then ``INSERT ... BY NAME``) and clear the cells derived from it in the
same transaction, so re-materializing never duplicates, half-writes, or leaves a stale verdict current.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb
import polars as pl

from eval_assets.warehouse.connection import scalar, sql_frame
from eval_assets.warehouse.schema import PARTITIONED_TABLES, downstream_of


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
