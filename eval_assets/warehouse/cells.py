"""Partition writes and reads: one (date, config) cell of a table, replaced in one transaction.

Writes replace the cell (delete, then ``INSERT ... BY NAME``) and clear the cells derived from it in the
same transaction, so re-materializing never duplicates, half-writes, or leaves a stale verdict current. Writers
of one cell at once (two runs, a retried step) are serialized by the cell's row in ``partition_writes``: the
commit that loses the race is retried with backoff and then replaces the winner's rows, so one copy remains.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import duckdb
import polars as pl

from eval_assets.warehouse.connection import in_transaction, scalar, sql_frame
from eval_assets.warehouse.schema import PARTITIONED_TABLES, TABLES, downstream_of


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
        _require_partitioned(table)
    cell = [eval_date, config_name]
    stale = set().union(*(downstream_of(table) for table in tables)) - set(tables)
    if not any(df.height for df in tables.values()) and not _tables_holding(conn, sorted(stale | set(tables)), cell):
        # Nothing to write and nothing to clear (a night without judges, without review tasks): a write
        # transaction would cost a catalog commit (~30 ms on a lake) and change nothing. A writer that adds
        # rows to the cell meanwhile is as if it came after this empty write.
        return {table: 0 for table in tables}
    # Views are registered outside the transaction: unregistering inside an aborted one would mask the error.
    views = {table: f"incoming_{table}" for table, df in tables.items() if df.height}
    for table, view in views.items():
        conn.register(view, tables[table])

    def write() -> dict[str, int]:
        # Take the cell's write token first: a concurrent writer of the same cell conflicts on it at commit.
        conn.execute(
            "UPDATE partition_writes SET writes = writes + 1, written_at = now() "
            "WHERE eval_date = ? AND config_name = ?",
            cell,
        )
        written: dict[str, int] = {}
        # One query finds which tables hold the cell: on a lake each DELETE costs a catalog round trip
        # (~0.15 s here) even when it deletes nothing, and a new night's downstream cells are empty.
        holding = _tables_holding(conn, sorted(stale | set(tables)), cell)
        for table in sorted(stale & holding):
            conn.execute(f"DELETE FROM {table} WHERE eval_date = ? AND config_name = ?", cell)
        for table, df in tables.items():
            if table in holding:
                conn.execute(f"DELETE FROM {table} WHERE eval_date = ? AND config_name = ?", cell)
            if table in views:
                conn.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {views[table]}")
            written[table] = df.height
        return written

    try:
        _ensure_token(conn, eval_date, config_name)
        return in_transaction(conn, write)
    finally:
        for view in views.values():
            conn.unregister(view)


def _tables_holding(conn: duckdb.DuckDBPyConnection, names: list[str], cell: list[object]) -> set[str]:
    """Which of these tables have rows in the cell (one query)."""
    query = " UNION ALL ".join(
        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name} WHERE eval_date = ? AND config_name = ?)" for name in names
    )
    return {row[0] for row in conn.execute(query, cell * len(names)).fetchall()}


def _ensure_token(conn: duckdb.DuckDBPyConnection, eval_date: dt.date, config_name: str) -> None:
    """Create the cell's write token, committed before the write that takes it.

    Two writers may both create one; that is harmless: each write then updates every token row of the cell.
    """
    cell = [eval_date, config_name]
    if not scalar(conn, "SELECT count(*) FROM partition_writes WHERE eval_date = ? AND config_name = ?", cell):
        in_transaction(conn, lambda: conn.execute("INSERT INTO partition_writes VALUES (?, ?, 0, now())", cell))


def read_partition(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    eval_date: dt.date,
    config_name: str,
    *,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """All rows of one cell of a table: every column, or only ``columns`` (a lake then reads only theirs).

    Raises:
        ValueError: ``table`` is not partitioned, or it has no column of that name.
    """
    _require_partitioned(table)
    known = {column.name for column in TABLES[table]}
    unknown = [name for name in columns or () if name not in known]
    if unknown:
        raise ValueError(f"{table} has no column(s) {', '.join(map(repr, unknown))}")
    selected = ", ".join(columns) if columns else "*"
    return sql_frame(
        conn,
        f"SELECT {selected} FROM {table} WHERE eval_date = $date AND config_name = $config",
        {"date": eval_date, "config": config_name},
    )


def partition_stamp(
    conn: duckdb.DuckDBPyConnection, table: str, eval_date: dt.date, config_name: str
) -> tuple[int, str, str]:
    """Rows in one cell of a table and the first and last run that wrote them.

    Every write of a cell replaces all its rows under the writing run's id, so the stamp changes whenever
    another run rewrites the cell: a process may keep what it decoded from the cell while the stamp holds.
    """
    _require_partitioned(table)
    found = conn.execute(
        f"SELECT count(*), coalesce(min(run_id), ''), coalesce(max(run_id), '') FROM {table} "
        "WHERE eval_date = ? AND config_name = ?",
        [eval_date, config_name],
    ).fetchone()
    assert found is not None  # an aggregate always returns one row
    return int(found[0]), str(found[1]), str(found[2])


def count_partition(conn: duckdb.DuckDBPyConnection, table: str, eval_date: dt.date, config_name: str) -> int:
    """Rows in one cell of a table."""
    _require_partitioned(table)
    return int(
        scalar(
            conn,
            f"SELECT count(*) FROM {table} WHERE eval_date = ? AND config_name = ?",
            [eval_date, config_name],
        )
    )


def _require_partitioned(table: str) -> None:
    """Refuse a table that is not cut into (date, config) cells (its name is also put into SQL)."""
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"{table} is not a partitioned table")
