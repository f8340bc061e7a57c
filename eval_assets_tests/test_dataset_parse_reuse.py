"""A dataset parsed once per content: the CLI's validation and the run's first stage share one parse, and the
per-line check for unencodable values is skipped only where it cannot find anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

from eval_assets import datasets
from eval_assets.datasets import MAX_JSON_DEPTH, _may_be_unencodable, _unencodable, load_dataset
from eval_assets.errors import InvalidInputError


def test_an_unchanged_file_is_parsed_once_and_a_changed_one_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a", "input": "one"}\n')
    parsed: list[Path] = []
    real = datasets._parse_dataset
    monkeypatch.setattr(datasets, "_parse_dataset", lambda p, raw: parsed.append(p) or real(p, raw))

    first = load_dataset(path)
    assert load_dataset(path) is first
    assert parsed == [path]

    path.write_text('{"id": "a", "input": "two"}\n')  # same size, same second: only the content tells
    changed = load_dataset(path)
    assert [e.input for e in changed.examples] == ["two"]
    assert changed.content_hash != first.content_hash
    assert len(parsed) == 2


def test_a_bad_file_is_never_kept(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"id": "a"}\n')
    for _ in range(2):  # the second load reports the problem again instead of a remembered result
        with pytest.raises(InvalidInputError, match="input"):
            load_dataset(path)


def test_only_the_newest_parses_are_kept(tmp_path: Path) -> None:
    for index in range(datasets._PARSED_KEEP + 3):
        path = tmp_path / f"set{index}.jsonl"
        path.write_text(json.dumps({"id": "a", "input": str(index)}) + "\n")
        load_dataset(path)
    assert len(datasets._PARSED) <= datasets._PARSED_KEEP
    assert (tmp_path / f"set{datasets._PARSED_KEEP + 2}.jsonl") in {key[0] for key in datasets._PARSED}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats()  # NaN and infinities included: json writes them as NaN and Infinity, which the parser refuses
    | st.text(st.characters(codec="utf-8") | st.characters(categories=["Cs"])),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=40,
)


@given(st.dictionaries(st.sampled_from(["id", "input", "metadata", "x"]), json_values, min_size=1), st.booleans())
def test_a_line_passed_over_holds_nothing_unencodable(record: dict[str, Any], ascii_only: bool) -> None:
    text = json.dumps(record, ensure_ascii=ascii_only)
    try:
        text.encode("utf-8")  # a line decoded from a file: a surrogate can only be there as an escape
        parsed = datasets._loads(text)  # the dataset parser's own decoder (it refuses NaN and Infinity)
    except ValueError:
        return
    if not _may_be_unencodable(text):
        assert _unencodable(parsed) is None


@pytest.mark.parametrize(
    "text",
    [
        '{"input": "\\ud800"}',
        '{"input": "\\uDFFF"}',
        '{"input": "x", "reference": 1e400}',
        '{"input": "x", "reference": 1E+308}',
        '{"input": "x", "reference": ' + "9" * 309 + ".0}",
        '{"input": "x", "metadata": ' + '{"a": ' * MAX_JSON_DEPTH + "1" + "}" * MAX_JSON_DEPTH + "}",
        '{"input": ' + "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH + "}",
    ],
)
def test_lines_that_may_hold_an_unencodable_value_are_walked(text: str) -> None:
    assert _may_be_unencodable(text)


def test_the_walk_is_skipped_for_an_ordinary_line() -> None:
    chat = [{"role": "user", "content": "Refund for order 12 in é, 中文 and ❤"}] * 5
    assert not _may_be_unencodable(json.dumps({"id": "a", "input": chat, "reference": "3.5e12"}))
