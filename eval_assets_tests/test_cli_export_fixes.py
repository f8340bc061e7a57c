"""``review export-fixes``: decided corrections and removals become a dataset edit that ``validate`` accepts."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from eval_assets import warehouse as wh
from eval_assets.cli import main
from eval_assets.datasets import load_dataset


def decide(conn: object, example_id: str, decision: str, reference: str | None = None) -> None:
    task = {
        "task_id": f"task-{example_id}",
        "eval_date": dt.date(2026, 11, 6),
        "config_name": "nightly",
        "dataset": "faq",
        "example_id": example_id,
        "scorer": "contains",
        "output_hash": "o",
        "score": 0.0,
    }
    wh.record_decision(conn, task, wh.NewDecision(decision, "ana", None, None, reference, "checked the price list"))  # type: ignore[arg-type]


def test_fixes_are_written_to_the_dataset_which_stays_valid_and_changes_hash(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    faq = data_dir / "datasets" / "faq.jsonl"
    before_text, before_hash = faq.read_text(), load_dataset(faq).content_hash
    with wh.connect(eval_env / "warehouse.duckdb") as conn:
        wh.ensure_schema(conn)
        decide(conn, "faq-002", "reference_wrong", "$4.99 a month")
        decide(conn, "faq-003", "remove")
    assert main(["review", "export-fixes", "--dry-run"]) == 0
    assert faq.read_text() == before_text and "dry run: nothing written" in capsys.readouterr().out
    assert main(["review", "export-fixes"]) == 0
    out = capsys.readouterr().out
    assert "faq: 1 reference(s) corrected, 1 example(s) removed, 0 already applied" in out
    lines, old = faq.read_text().splitlines(), before_text.splitlines()
    assert len(lines) == len(old) - 1 and lines[0] == old[0] and lines[2:] == old[3:]  # order and bytes kept
    fixed = json.loads(lines[1])
    assert fixed["id"] == "faq-002" and fixed["reference"] == "$4.99 a month"
    assert fixed["metadata"]["review"] == {
        "reviewer": "ana",
        "date": dt.datetime.now(dt.UTC).date().isoformat(),
        "task": "task-faq-002",
        "decision": "reference_wrong",
        "previous_reference": ["$4.99", "4.99 USD"],
        "note": "checked the price list",
    }
    assert load_dataset(faq).content_hash != before_hash
    assert not list(faq.parent.glob(".*"))  # no temporary file left beside it
    assert main(["validate"]) == 0
    assert "3 config(s) valid" in capsys.readouterr().out
    # A second export changes nothing.
    edited = faq.read_text()
    assert main(["review", "export-fixes"]) == 0
    assert faq.read_text() == edited and "0 reference(s) corrected, 0 example(s) removed, 1 already applied" in (
        capsys.readouterr().out
    )
