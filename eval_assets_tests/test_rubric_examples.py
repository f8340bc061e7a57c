"""Calibration examples beside a rubric: few-shot turns in the judge prompt, part of the prompt hash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_assets.config_base import ModelSpec
from eval_assets.datasets import Example
from eval_assets.errors import InvalidInputError
from eval_assets.llm.calls import build_call
from eval_assets.rubric_examples import LabelledExample, append_examples
from eval_assets.rubrics import load_rubric
from eval_assets.scoring.apply import judge_messages
from eval_assets.scoring.registry import JudgeOptions

RUBRIC = """---
scale: [1, 5]
---
Grade the tone.
<input>
{{input}}
</input>
<output>
{{output}}
</output>
"""
PANEL = JudgeOptions(rubric="rubric-tone", judges=[ModelSpec(id="offline/judge")])
EXAMPLE = Example("faq", "faq-001", "Plus price?", ("9.99",), (), 1)


def write_rubric(tmp_path: Path) -> Path:
    path = tmp_path / "rubric-tone.md"
    path.write_text(RUBRIC)
    return path


def prompt_key(path: Path) -> tuple[str, str]:
    """The rubric's prompt hash and the request hash a judge call gets (the response cache's key)."""
    rubric = load_rubric(path)
    messages = judge_messages(rubric, EXAMPLE, "It is 9.99.", PANEL)
    call = build_call(("faq", "faq-001", "tone", 0), PANEL.judges[0], messages, scope="2026-11-06")
    return rubric.content_hash, call.request_hash


def test_calibration_examples_are_few_shot_turns_and_change_the_prompt_and_cache_keys(tmp_path: Path) -> None:
    path = write_rubric(tmp_path)
    before = prompt_key(path)
    assert judge_messages(load_rubric(path), EXAMPLE, "It is 9.99.", PANEL)[0]["role"] == "user"
    labelled = {
        "input": "Where is my parcel??",
        "output": "Read the FAQ.",
        "score": 2,
        "rationale": "curt",
        "id": "t1",
        "metadata": {"reviewer": "ana"},
    }
    (tmp_path / "rubric-tone.examples.jsonl").write_text(json.dumps(labelled) + "\n")
    rubric = load_rubric(path)
    messages = judge_messages(rubric, EXAMPLE, "It is 9.99.", PANEL)
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert "Read the FAQ." in messages[0]["content"] and json.loads(messages[1]["content"]) == {
        "score": 2,
        "rationale": "curt",
    }
    assert "It is 9.99." in messages[2]["content"]  # the graded output comes last
    after = prompt_key(path)
    assert after[0] != before[0] and after[1] != before[1]  # judges re-run: a new prompt hash and cache key
    # The anchor set is graded, not shown: it changes neither the prompt nor its hash.
    (tmp_path / "rubric-tone.anchors.jsonl").write_text(json.dumps({**labelled, "id": "a1"}) + "\n")
    assert prompt_key(path) == after and len(load_rubric(path).anchors) == 1


def test_a_bad_calibration_line_names_file_line_and_field(tmp_path: Path) -> None:
    path = write_rubric(tmp_path)
    examples = tmp_path / "rubric-tone.examples.jsonl"
    examples.write_text('{"input": "q", "output": "a", "score": 3}\n{"input": "q", "output": "a", "score": 9}\n')
    with pytest.raises(InvalidInputError) as caught:
        load_rubric(path)
    assert f"{examples}:2: score: required: a number on the scale [1, 5]" in str(caught.value)
    examples.write_text('{"input": "q", "output": 1, "score": 3, "colour": "red"}\n')
    with pytest.raises(InvalidInputError) as caught:
        load_rubric(path)
    text = str(caught.value)
    assert f"{examples}:1: colour: unknown field" in text and f"{examples}:1: output: required: a string" in text


def test_appending_keeps_existing_lines_and_never_duplicates() -> None:
    first = LabelledExample("q1", "a1", 2.0, id="t1")
    text, added = append_examples("", [first])
    assert added == [first] and text.count("\n") == 1
    again, added = append_examples(text, [first, LabelledExample("q1", "a1", 4.0, id="t9")])
    assert again == text and added == []  # the same id, or the same input and output, is already there
    more, added = append_examples(text, [LabelledExample("q2", "a2", 5.0, id="t2")])
    assert more.startswith(text) and len(added) == 1
