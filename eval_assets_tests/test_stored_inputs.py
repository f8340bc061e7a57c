"""A cell's examples read back from the warehouse are the examples the first stage stored."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from eval_assets import warehouse as wh
from eval_assets.assets.examples import example_rows
from eval_assets.project import load_plan
from eval_assets.stored_inputs import STORED_COLUMNS, StoredExamples

DAY = dt.date(2026, 11, 7)
LINES = [
    {"id": "a", "input": "Refund for order 12?", "reference": ["30 days", "thirty days"], "tags": ["refunds"]},
    {
        "id": "b",
        "input": [
            {"role": "user", "content": "hi \u00e9 \u4e2d"},
            {"role": "assistant", "content": "hello"},
            {"role": "user", "content": "refund?"},
        ],
        "metadata": {"ticket": 123456789012345678901234567890, "nested": {"x": [1.5, None]}},
    },
    {"id": 3, "input": "no reference"},
]


def test_stored_rows_read_back_as_the_same_examples(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "datasets").mkdir(parents=True)
    (data / "datasets" / "set.jsonl").write_text("".join(json.dumps(line) + "\n" for line in LINES))
    (data / "configs").mkdir()
    config = {
        "model": {"id": "openai/gpt-4o-mini"},
        "datasets": [{"path": "datasets/set.jsonl"}],
        "scorers": [{"scorer": "refusal"}],
    }
    (data / "configs" / "nightly.yaml").write_text(json.dumps(config))
    plan = load_plan(data, "nightly")
    keys = {
        "eval_date": DAY,
        "config_name": "nightly",
        "run_id": "r1",
        "git_sha": "g",
        "code_sha": "c",
        "config_hash": plan.config.content_hash,
    }
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        wh.ensure_schema(conn)
        wh.replace_partition(conn, DAY, "nightly", {"examples": wh.frame("examples", example_rows(plan, keys))})
        rows = wh.read_partition(conn, "examples", DAY, "nightly", columns=STORED_COLUMNS)
    assert rows.columns == list(STORED_COLUMNS)
    stored = StoredExamples.from_rows(rows.to_dicts())
    assert stored.examples == plan.examples
    assert [e.metadata for e in stored.examples] == [e.metadata for e in plan.examples]
    assert stored.config_hashes == {plan.config.content_hash}
    assert stored.git_sha == "g"


def test_a_column_the_table_lacks_is_refused(tmp_path: Path) -> None:
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        wh.ensure_schema(conn)
        with pytest.raises(ValueError, match="no column"):
            wh.read_partition(conn, "examples", DAY, "nightly", columns=["dataset", "1; DROP TABLE examples"])
