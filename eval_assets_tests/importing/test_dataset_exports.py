"""LangSmith and Langfuse dataset exports: inputs/outputs and input/expectedOutput, keys chosen or named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_assets_tests.importing.helpers import FIXTURES, config, records, run_import, validates

LANGSMITH = FIXTURES / "langsmith" / "examples.jsonl"
LANGFUSE = FIXTURES / "langfuse" / "items.json"


def test_langsmith_examples_round_trip(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "langsmith", LANGSMITH, "--name", "ls")
    assert code == 0, err
    first, second, third = records(data_dir, "ls")
    assert first["id"] == "2f1c9a52-1d0c-4c8e-9a51-2b1f0f7c9e01"
    # inputs {question, context}: question is the input, context is kept for reviewers.
    assert first["input"] == "How long do refunds take?" and first["reference"] == "5-7 business days"
    assert first["metadata"] == {"inputs": {"context": "Refunds arrive in 5-7 business days."}}
    assert first["tags"] == ["base", "billing"]  # metadata.dataset_split
    assert second["tags"] == ["base"]
    # LangChain messages (type human/ai, data.content) become chat turns.
    assert [turn["role"] for turn in third["input"]] == ["user", "assistant", "user"]
    assert config(data_dir, "ls")["scorers"] == [{"scorer": "contains"}]
    assert "created_at, dataset_id, modified_at: export bookkeeping" in out
    validates(capsys, data_dir, "ls")


def test_langfuse_items_round_trip(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "langfuse", LANGFUSE, "--name", "lf", "--scorer", "exact_match")
    assert code == 0, err
    assert records(data_dir, "lf") == [
        {
            "id": "item-refund-window",
            "input": "How many days do I have to request a refund?",
            "reference": "30 days",
            "metadata": {"topic": "billing"},
        },
        {
            "id": "item-tracking-prefix",
            "input": [{"role": "user", "content": "What do tracking numbers start with?"}],
            "reference": "PCL",
        },
    ]
    # The archived item is named, not silently dropped.
    assert "item ([2]): archived (status ARCHIVED)" in out
    assert "sourceTraceId" in out
    validates(capsys, data_dir, "lf")


def test_an_ambiguous_object_input_names_its_keys(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "items.jsonl"
    item = {"id": "a", "input": {"city": "Lima", "country": "Peru"}, "expectedOutput": "yes"}
    source.write_text(json.dumps(item) + "\n", encoding="utf-8")
    code, _, err = run_import(capsys, data_dir, "langfuse", source, "--name", "amb")
    assert code == 2
    assert "which key is the input? city, country (choose with --input-key)" in err
    code, _, err = run_import(capsys, data_dir, "langfuse", source, "--name", "amb", "--input-key", "city")
    assert code == 0, err
    assert records(data_dir, "amb")[0]["metadata"] == {"inputs": {"country": "Peru"}}
