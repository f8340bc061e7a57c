"""Typed rows: a misspelt or missing field is an error, never a silent NULL (issue 7, item 1)."""

from __future__ import annotations

import datetime as dt

import pytest

from eval_assets import warehouse as wh

ROW = {
    "eval_date": dt.date(2026, 11, 7),
    "config_name": "nightly",
    "run_id": "r",
    "git_sha": "g",
    "code_sha": "c",
    "config_hash": "h",
    "metric": "contains.pass_rate",
    "tag": None,
    "value": 0.5,
    "n": 4,
}


def test_a_complete_row_becomes_a_typed_frame() -> None:
    frame = wh.frame("metrics", [ROW])
    assert frame.columns == [c.name for c in wh.TABLES["metrics"]]
    assert frame.get_column("value").to_list() == [0.5]
    assert frame.get_column("baseline_value").to_list() == [None]  # optional columns may be left out


def test_a_misspelt_key_is_an_error_with_a_hint() -> None:
    row = {k: v for k, v in ROW.items() if k != "value"} | {"valeu": 0.5}
    with pytest.raises(wh.RowError, match=r"metrics row 0: unknown column\(s\) 'valeu' \(did you mean 'value'\?\)"):
        wh.frame("metrics", [row])


@pytest.mark.parametrize("missing", ["run_id", "code_sha", "n"])
def test_a_required_column_left_out_is_an_error(missing: str) -> None:
    # code_sha is nullable in the warehouse (rows written before schema 2), but every new row must say it.
    row = {k: v for k, v in ROW.items() if k != missing}
    with pytest.raises(wh.RowError, match=f"missing required column\\(s\\) {missing}"):
        wh.frame("metrics", [ROW, row])


def test_an_unknown_table_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        wh.frame("metric", [ROW])
