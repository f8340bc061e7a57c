"""Typed rows: a table's rows as a frame with exactly its columns and types.

A row is a mapping of column names. A key the table does not have, or a required column left out, is an
error naming the table, the row and the key: a misspelt ``valeu`` must never become a silent NULL in
``value``. Optional columns (nullable and not required) may be left out; they are stored as NULL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any

import polars as pl

from eval_assets.warehouse.schema import TABLES


class RowError(ValueError):
    """A row does not fit its table: an unknown key, or a required column missing."""


def frame(table: str, rows: Sequence[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows as a DataFrame with exactly the table's columns and types.

    Raises:
        RowError: a row has a key the table does not have, or lacks a required column.
        KeyError: ``table`` is not a table of the warehouse.
    """
    columns = TABLES[table]
    names = {col.name for col in columns}
    required = [col.name for col in columns if col.required]
    for index, row in enumerate(rows):
        unknown = [key for key in row if key not in names]
        if unknown:
            hints = [_with_hint(key, names) for key in unknown]
            raise RowError(f"{table} row {index}: unknown column(s) {', '.join(hints)}")
        missing = [name for name in required if name not in row]
        if missing:
            raise RowError(f"{table} row {index}: missing required column(s) {', '.join(missing)}")
        nulls = [col.name for col in columns if not col.nullable and row.get(col.name) is None]
        if nulls:
            raise RowError(f"{table} row {index}: column(s) {', '.join(nulls)} may not be null")
    schema = {col.name: col.dtype for col in columns}
    data = {col.name: [row.get(col.name, col.default) for row in rows] for col in columns}
    return pl.DataFrame(data, schema=schema)


def _with_hint(key: str, names: set[str]) -> str:
    close = get_close_matches(key, names, 1)
    return f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)
