"""inspect_ai samples: input, target, id, metadata; scored with --scorer (the samples carry no scorer)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_assets_tests.importing.helpers import FIXTURES, config, records, run_import, validates

SAMPLES = FIXTURES / "inspect" / "samples.jsonl"


def test_samples_round_trip(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "inspect", SAMPLES, "--name", "arith", "--scorer", "exact_match")
    assert code == 0, err
    lines = records(data_dir, "arith")
    assert [line["id"] for line in lines] == ["arith-1", "arith-2", "3", "arith-4"]  # integer ids become text
    assert lines[0] == {
        "id": "arith-1",
        "input": "What is 12 * 12?",
        "reference": "144",
        "metadata": {"difficulty": "easy"},
    }
    assert lines[1]["input"][0] == {"role": "system", "content": "Answer with a number only."}
    assert lines[1]["reference"] == ["49", "forty-nine"]
    assert lines[2]["metadata"] == {"choices": ["21", "23", "25"]}
    assert config(data_dir, "arith")["scorers"] == [{"scorer": "exact_match"}]
    assert "sandbox (line 4): needs inspect's sandbox" in out and "files (line 4)" in out
    validates(capsys, data_dir, "arith")


def test_field_names_of_a_field_spec_and_samples_without_target(
    tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "qa.json"
    samples = [{"question": "Capital of Peru?", "answer": "Lima"}, {"question": "Tell me a joke."}]
    source.write_text(json.dumps(samples), encoding="utf-8")
    code, out, err = run_import(
        capsys, data_dir, "inspect", source, "--name", "qa", "--input-key", "question", "--reference-key", "answer"
    )
    assert code == 0, err
    # The sample without a target cannot be scored by contains (it needs a reference): it is kept, in a
    # dataset of its own that no scorer reads, rather than dropped or failing validation.
    assert records(data_dir, "qa-contains") == [{"id": "sample-1", "input": "Capital of Peru?", "reference": "Lima"}]
    assert records(data_dir, "qa-unscored") == [{"id": "sample-2", "input": "Tell me a joke."}]
    assert config(data_dir, "qa")["scorers"] == [{"scorer": "contains", "datasets": ["qa-contains"]}]
    assert "scored with contains (choose with --scorer)" in out
    assert "1 example(s) with no grader that could be kept -> qa-unscored" in out
    validates(capsys, data_dir, "qa")


def test_scorer_flags_are_checked(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_import(capsys, data_dir, "inspect", SAMPLES, "--name", "x", "--scorer", "rubric_judge")
    assert code == 2 and "a judge needs a rubric" in err
    code, _, err = run_import(capsys, data_dir, "inspect", SAMPLES, "--name", "x", "--scorer", "bleu")
    assert code == 2 and "unknown scorer 'bleu'" in err
    code, _, err = run_import(capsys, data_dir, "promptfoo", SAMPLES, "--name", "x", "--scorer", "contains")
    assert code == 2 and "--scorer is for sources without graders" in err
    code, _, err = run_import(capsys, data_dir, "inspect", SAMPLES, "--name", "x", "--items", SAMPLES)
    assert code == 2 and "--items does not apply to inspect" in err
    assert not (data_dir / "configs" / "x.yaml").exists()


def test_csv_samples(tmp_path: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # inspect's csv_dataset: one column a field; a target with a comma stays one answer.
    source = tmp_path / "samples.csv"
    source.write_text('id,input,target\nc1,"Name a primary colour, in lower case",red\n', encoding="utf-8")
    code, _, err = run_import(capsys, data_dir, "inspect", source, "--name", "colours")
    assert code == 0, err
    assert records(data_dir, "colours") == [
        {"id": "c1", "input": "Name a primary colour, in lower case", "reference": "red"}
    ]
    validates(capsys, data_dir, "colours")
