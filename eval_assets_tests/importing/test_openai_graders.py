"""OpenAI / Azure Evals API: testing_criteria onto scorers, {{item.x}} templates, and what is not importable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_assets_tests.importing.helpers import FIXTURES, config, records, run_import, validates

EVAL = FIXTURES / "openai_graders" / "eval.json"
ITEMS = FIXTURES / "openai_graders" / "items.jsonl"


def test_items_and_testing_criteria_round_trip(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "openai-graders", EVAL, "--items", ITEMS, "--name", "triage")
    assert code == 0, err
    lines = records(data_dir, "triage")
    # The run's input_messages template, filled with each item; the developer role is the system role here.
    assert lines[0]["input"] == [
        {"role": "system", "content": "Categorize the support ticket as Hardware, Software or Other, then answer it."},
        {"role": "user", "content": "My monitor won't turn on after the storm."},
    ]
    # The string_check's {{ item.correct_label }} is the reference.
    assert [line["reference"] for line in lines] == ["Hardware", "Software", "Other"]
    assert lines[0]["metadata"]["priority"] == "high"
    cfg = config(data_dir, "triage")
    assert cfg["description"] == "Support ticket triage"
    contains, judge, sentiment = cfg["scorers"]
    assert contains == {"scorer": "contains", "name": "label_matches"}  # ilike: case-insensitive
    # score_model: range [1, 7] with pass_threshold 5 is a normalized pass_score of (5 - 1) / (7 - 1).
    assert judge["scorer"] == "rubric_judge" and judge["pass_score"] == pytest.approx(2 / 3, abs=1e-4)
    rubric = (data_dir / "prompts" / "triage-helpfulness.md").read_text(encoding="utf-8")
    assert rubric.startswith("---\nscale: [1, 7]\n")
    # {{ item.ticket_text }} fills the input template, so in the grader it is the input slot.
    assert "Ticket:\n<input>\n{{input}}\n</input>" in rubric and "Reply:\n<output>\n{{output}}\n</output>" in rubric
    unmapped = out.split("not mapped")[1]
    assert "string_check 'No apology boilerplate' (ne)" in unmapped and "opposite verdict" in unmapped
    # text_similarity compares with reference_reply, but each example already has correct_label as its
    # one set of references (for the string_check before it): listed, not silently compared with the label.
    assert (
        "text_similarity 'Close to the reference reply' (testing_criteria[2]): this example's reference already "
        "holds" in unmapped
    )
    # label_model: the judge picks one of the labels; its prompt is the rubric (the output slot only).
    assert sentiment == {
        "scorer": "label_model",
        "name": "sentiment",
        "rubric": "triage-sentiment",
        "judges": [{"id": "offline/judge", "temperature": 0, "max_tokens": 400}],
        "labels": ["positive", "neutral", "negative"],
        "passing_labels": ["positive", "neutral"],
    }
    sentiment_rubric = (data_dir / "prompts" / "triage-sentiment.md").read_text(encoding="utf-8")
    assert "Classify the sentiment of the reply." in sentiment_rubric and "{{output}}" in sentiment_rubric
    assert "label_model 'Sentiment' model" in unmapped
    assert "python 'Custom length check'" in unmapped and "not importable" in unmapped
    assert "data_source.model gpt-4.1-mini" in unmapped
    # The config carries the same list, so what was left out stays visible in git.
    header = (data_dir / "configs" / "triage.yaml").read_text(encoding="utf-8").split("description:")[0]
    assert "string_check 'No apology boilerplate' (ne)" in header and "python 'Custom length check'" in header
    validates(capsys, data_dir, "triage")


@pytest.mark.parametrize(
    ("operation", "scorer"),
    [
        ("eq", {"scorer": "exact_match", "name": "check", "case_sensitive": True}),
        ("like", {"scorer": "contains", "name": "check", "case_sensitive": True}),
        ("ilike", {"scorer": "contains", "name": "check"}),
    ],
)
def test_string_check_operations(
    operation: str, scorer: dict[str, object], tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Items inline in the run's data_source, no input template: each item's `input` is the prompt, and a
    # literal reference (no {{item.x}}) is every example's reference.
    spec = {
        "name": "inline",
        "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
        "testing_criteria": [
            {
                "type": "string_check",
                "name": "check",
                "input": "{{sample.output_text}}",
                "operation": operation,
                "reference": "Paris",
            }
        ],
        "data_source": {
            "type": "jsonl",
            "source": {"type": "file_content", "content": [{"item": {"input": "Capital of France?"}}]},
        },
    }
    source = tmp_path / "eval.json"
    source.write_text(json.dumps(spec), encoding="utf-8")
    code, _, err = run_import(capsys, data_dir, "openai-graders", source, "--name", "inline")
    assert code == 0, err
    assert config(data_dir, "inline")["scorers"] == [scorer]
    assert records(data_dir, "inline") == [{"id": "item-1", "input": "Capital of France?", "reference": "Paris"}]
    validates(capsys, data_dir, "inline")


@pytest.mark.parametrize(
    ("metric", "scorer"),
    [
        ("rouge_l", {"scorer": "text_similarity", "name": "close", "metric": "rouge_l", "pass_score": 0.6}),
        ("fuzzy_match", {"scorer": "text_similarity", "name": "close", "metric": "fuzzy_match", "pass_score": 0.6}),
        ("bleu", {"scorer": "text_similarity", "name": "close", "metric": "bleu", "pass_score": 0.6}),
        # No such metric here: listed as not mapped, and with no other grader nothing can be scored.
        ("meteor", None),
        ("rouge_4", None),
    ],
)
def test_text_similarity_metrics(
    metric: str, scorer: dict[str, object] | None, tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = {
        "name": "inline",
        "data_source_config": {"type": "custom", "item_schema": {"type": "object"}},
        "testing_criteria": [
            {
                "type": "text_similarity",
                "name": "close",
                "input": "{{ sample.output_text }}",
                "reference": "{{ item.answer }}",
                "evaluation_metric": metric,
                "pass_threshold": 0.6,
            },
        ],
        "data_source": {
            "type": "jsonl",
            "source": {"type": "file_content", "content": [{"item": {"input": "Capital?", "answer": "Paris"}}]},
        },
    }
    source = tmp_path / "eval.json"
    source.write_text(json.dumps(spec), encoding="utf-8")
    code, _, err = run_import(capsys, data_dir, "openai-graders", source, "--name", "inline")
    if scorer is None:
        assert code == 2 and f"text_similarity 'close' ({metric}) (testing_criteria[0]): no {metric} metric here" in err
        return
    assert code == 0, err
    assert config(data_dir, "inline")["scorers"] == [scorer]
    validates(capsys, data_dir, "inline")


def test_without_items_it_says_how_to_give_them(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_import(capsys, data_dir, "openai-graders", EVAL, "--name", "triage")
    assert code == 2 and "pass --items FILE" in err
