"""Typed rows: a misspelt or missing field is an error, never a silent NULL (issue 7, item 1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import polars as pl
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


def rows_of(count: int) -> list[dict[str, object]]:
    return [{**ROW, "metric": f"m{i}", "n": i} for i in range(count)]


def test_a_null_in_a_non_nullable_column_names_the_first_such_row_and_every_null_column() -> None:
    rows = rows_of(6)
    rows[4] = {**rows[4], "git_sha": None, "n": None}
    rows[5] = {**rows[5], "run_id": None}
    with pytest.raises(wh.RowError, match=r"^metrics row 4: column\(s\) git_sha, n may not be null$"):
        wh.frame("metrics", rows)


def test_the_first_bad_row_is_named_whatever_its_problem() -> None:
    # Row 2's null comes before row 3's misspelt key: the error is row 2's, as a row-by-row check says.
    rows = rows_of(5)
    rows[2] = {**rows[2], "value": 0.1, "n": None}
    rows[3] = {k: v for k, v in rows[3].items() if k != "value"} | {"valeu": 0.5}
    with pytest.raises(wh.RowError, match=r"^metrics row 2: column\(s\) n may not be null$"):
        wh.frame("metrics", rows)
    rows[2] = rows_of(3)[2]
    with pytest.raises(wh.RowError, match=r"^metrics row 3: unknown column\(s\) 'valeu' \(did you mean 'value'\?\)$"):
        wh.frame("metrics", rows)


def test_a_row_whose_keys_differ_from_the_others_is_checked_on_its_own() -> None:
    rows = rows_of(5)
    rows[3] = {k: v for k, v in rows[3].items() if k != "run_id"}
    with pytest.raises(wh.RowError, match=r"^metrics row 3: missing required column\(s\) run_id$"):
        wh.frame("metrics", rows)
    rows[3] = {**rows_of(5)[3], "baseline_value": 0.2}  # an optional column only this row gives: fine
    frame = wh.frame("metrics", rows)
    assert frame.get_column("baseline_value").to_list() == [None, None, None, 0.2, None]
    assert frame.get_column("n").to_list() == [0, 1, 2, 3, 4]


def test_a_left_out_column_takes_its_default_and_key_order_does_not_matter() -> None:
    samples = {"eval_date": dt.date(2026, 11, 7), "scored_at": dt.datetime(2026, 11, 7), "score": 1.0, "tags": []}
    row = {col.name: samples.get(col.name, "x") for col in wh.TABLES["scores"] if col.required}
    row |= {"passed": True, "judges_disagree": None, "judge_spread": None}
    reordered = dict(reversed(list(row.items())))
    frame = wh.frame("scores", [row, reordered])
    assert frame.get_column("repeat_index").to_list() == [0, 0]  # left out: the only sample of its example
    assert frame.row(0) == frame.row(1)


def test_a_value_of_the_wrong_type_after_a_bad_row_names_the_bad_row() -> None:
    rows = rows_of(3)
    rows[0] = {**rows[0], "n": None}
    rows[2] = {**rows[2], "value": "not a number"}
    with pytest.raises(wh.RowError, match=r"^metrics row 0: column\(s\) n may not be null$"):
        wh.frame("metrics", rows)


def _outcome(build: Callable[[], list[object]]) -> object:
    try:
        return build()
    except Exception as exc:  # the outcome compared is the exception's type and message
        return type(exc), str(exc)


@pytest.mark.parametrize("tags", [[], ["a", "é"], ("a",), [1], ["a", None], "ab"], ids=repr)
def test_a_list_column_holds_what_polars_makes_of_the_values(tags: object) -> None:
    # Lists of strings go through Arrow (fast); anything else (a tuple, a number, a null item, a string)
    # must still get polars' own conversion or error, exactly as when polars built every column.
    samples = {"eval_date": dt.date(2026, 11, 7), "scored_at": dt.datetime(2026, 11, 7), "score": 1.0}
    row = {col.name: samples.get(col.name, "x") for col in wh.TABLES["scores"] if col.required}
    row |= {"passed": True, "judges_disagree": None, "judge_spread": None}
    rows = [{**row, "tags": ["ok"]}, {**row, "tags": tags}]
    expected = _outcome(lambda: pl.Series("tags", [["ok"], tags], dtype=pl.List(pl.String)).to_list())
    assert _outcome(lambda: wh.frame("scores", rows).get_column("tags").to_list()) == expected


def test_rows_made_lazily_become_one_frame_a_batch_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eval_assets.warehouse.rows.BATCH_ROWS", 4)
    made: list[int] = []

    def lazily(count: int) -> Iterator[dict[str, object]]:
        for row in rows_of(count):
            made.append(row["n"])  # type: ignore[arg-type]
            yield row

    assert wh.frame("metrics", lazily(10)).equals(wh.frame("metrics", rows_of(10)))
    assert made == list(range(10))
    assert wh.frame("metrics", lazily(0)).equals(wh.frame("metrics", []))
    assert wh.frame("metrics", lazily(0)).columns == [c.name for c in wh.TABLES["metrics"]]


def test_a_bad_row_in_a_later_batch_is_named_by_its_place_among_all_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("eval_assets.warehouse.rows.BATCH_ROWS", 4)
    rows = rows_of(10)
    rows[9] = {**rows[9], "run_id": None}
    rows[6] = {k: v for k, v in rows[6].items() if k != "value"} | {"valeu": 1.0}
    with pytest.raises(wh.RowError, match=r"metrics row 6: unknown column\(s\) 'valeu'"):
        wh.frame("metrics", iter(rows))
    del rows[6]  # the null in the last row is now row 8
    with pytest.raises(wh.RowError, match=r"metrics row 8: column\(s\) run_id may not be null"):
        wh.frame("metrics", iter(rows))
