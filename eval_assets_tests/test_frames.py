"""Rows of chosen columns read from a frame: the same values, in the same order, as its row dicts."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, strategies as st

from eval_assets.frames import column_rows


@given(
    st.lists(
        st.tuples(st.text(max_size=5), st.none() | st.floats(allow_nan=False), st.none() | st.booleans()),
        max_size=30,
    )
)
def test_column_rows_are_the_row_dicts_values(rows: list[tuple[str, float | None, bool | None]]) -> None:
    frame = pl.DataFrame(rows, schema={"a": pl.String, "b": pl.Float64, "c": pl.Boolean}, orient="row")
    expected = [(r["c"], r["a"]) for r in frame.iter_rows(named=True)]
    assert list(column_rows(frame, "c", "a")) == expected


def test_nested_and_temporal_values_come_back_as_python_values() -> None:
    frame = pl.DataFrame({"tags": [["x", "y"], []], "day": [dt.date(2026, 1, 1), None]})
    assert list(column_rows(frame, "tags", "day")) == [(["x", "y"], dt.date(2026, 1, 1)), ([], None)]


def test_a_missing_column_is_an_error() -> None:
    with pytest.raises(pl.exceptions.ColumnNotFoundError):
        list(column_rows(pl.DataFrame({"a": [1]}), "a", "nope"))
