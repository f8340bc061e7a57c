"""Typed rows: a table's rows as a frame with exactly its columns and types.

A row is a mapping of column names. A key the table does not have, or a required column left out, is an
error naming the table, the row and the key: a misspelt ``valeu`` must never become a silent NULL in
``value``. Optional columns (nullable and not required) may be left out; they are stored as NULL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from difflib import get_close_matches
from itertools import islice
from operator import itemgetter
from typing import Any

import polars as pl

from eval_assets.warehouse.columns import STR_LIST, Column
from eval_assets.warehouse.schema import TABLES


class RowError(ValueError):
    """A row does not fit its table: an unknown key, or a required column missing."""


#: Rows turned into a frame at a time: a producer that yields its rows (a generator) never has more than
#: this many row dicts alive; a 100,000-row table of ~30 columns was ~150 MB of dicts built all at once.
BATCH_ROWS = 10_000


def frame(table: str, rows: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Rows as a DataFrame with exactly the table's columns and types, ``BATCH_ROWS`` rows at a time.

    Raises:
        RowError: a row has a key the table does not have, lacks a required column, or leaves a non-nullable
            column null (the first such row is named, as a row-by-row check would name it).
        KeyError: ``table`` is not a table of the warehouse.
    """
    columns = TABLES[table]
    parts: list[pl.DataFrame] = []
    remaining = iter(rows)
    while batch := list(islice(remaining, BATCH_ROWS)):
        parts.append(_batch_frame(table, batch, columns, offset=BATCH_ROWS * len(parts)))
    return pl.concat(parts) if parts else _batch_frame(table, [], columns, offset=0)


def _batch_frame(table: str, rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], offset: int) -> pl.DataFrame:
    """One batch of :func:`frame`; ``offset`` is the number of rows before it, so errors name the row's place."""
    # The rows of one table almost always share one key set: check each distinct key set once (at its first
    # row), and the values of non-nullable columns with the frame's null counts, not row by row in Python.
    first_of_keys: dict[tuple[str, ...], int] = {}
    for index, row in enumerate(rows):
        first_of_keys.setdefault(tuple(row), index)
    bad = [index for index in first_of_keys.values() if _row_problem(table, index, rows[index], columns)]
    uniform = len(first_of_keys) == 1
    present = set(next(iter(first_of_keys))) if uniform else set()
    data = {
        col.name: _series(
            col,
            list(map(itemgetter(col.name), rows))
            if col.name in present
            else [row.get(col.name, col.default) for row in rows],
        )
        for col in columns
    }
    try:
        built = pl.DataFrame(data, schema={col.name: col.dtype for col in columns})
    except Exception:
        # A value polars cannot store: the row-by-row check, as before, names a bad row before it, if any.
        _raise_first(table, range(len(rows)), rows, columns, offset)
        raise
    for col in columns:
        if not col.nullable and built.get_column(col.name).null_count():
            bad.append(int(built.get_column(col.name).is_null().arg_true()[0]))
    _raise_first(table, sorted(bad), rows, columns, offset)
    return built


def _series(col: Column, values: list[Any]) -> pl.Series | list[Any]:
    """A list-of-strings column built through Arrow (~50x faster than polars from Python lists); else as is.

    Only lists of ``str`` (or None) take that way, so whatever else a row holds meets polars' own checks.
    """
    if col.dtype != STR_LIST or not all(
        value is None or (type(value) is list and all(type(item) is str for item in value)) for value in values
    ):
        return values
    # Loaded by every stage anyway: DuckDB reads polars frames through it (see connection.py).
    import pyarrow as pa  # type: ignore[import-untyped]  # no type information shipped

    return pl.Series(col.name, pa.array(values, type=pa.list_(pa.string())))


def _raise_first(
    table: str, indexes: Iterable[int], rows: Sequence[Mapping[str, Any]], columns: Sequence[Column], offset: int
) -> None:
    """Raise the problem of the first of ``indexes`` (in their order) whose row has one; return if none has."""
    for index in indexes:
        problem = _row_problem(table, offset + index, rows[index], columns)
        if problem is not None:
            raise RowError(problem)


def _row_problem(table: str, index: int, row: Mapping[str, Any], columns: Sequence[Column]) -> str | None:
    """What is wrong with one row (unknown keys first, then missing ones, then nulls), or None."""
    names = {col.name for col in columns}
    unknown = [key for key in row if key not in names]
    if unknown:
        hints = [_with_hint(key, names) for key in unknown]
        return f"{table} row {index}: unknown column(s) {', '.join(hints)}"
    missing = [col.name for col in columns if col.required and col.name not in row]
    if missing:
        return f"{table} row {index}: missing required column(s) {', '.join(missing)}"
    nulls = [col.name for col in columns if not col.nullable and row.get(col.name) is None]
    if nulls:
        return f"{table} row {index}: column(s) {', '.join(nulls)} may not be null"
    return None


def _with_hint(key: str, names: set[str]) -> str:
    close = get_close_matches(key, names, 1)
    return f"{key!r} (did you mean {close[0]!r}?)" if close else repr(key)
