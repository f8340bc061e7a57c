"""openai/evals registry: samples and eval specs, each class onto its scorer, and Git LFS pointers."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets_tests.importing.helpers import FIXTURES, config, records, run_import, validates

SPEC = FIXTURES / "openai_evals" / "registry" / "evals" / "capitals.yaml"
SAMPLES = FIXTURES / "openai_evals" / "registry" / "data" / "capitals" / "samples.jsonl"


def test_samples_keep_inputs_ideals_and_few_shot_turns(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--eval", "capitals-match", "--name", "cap")
    assert code == 0, err
    lines = records(data_dir, "cap")
    # Sample ids follow openai/evals' own (<eval>.<index>), so logs of both tools can be compared.
    assert [line["id"] for line in lines] == [f"capitals-match.{i}" for i in range(4)]
    assert lines[0]["input"][0] == {"role": "system", "content": "Answer with the capital city only."}
    # Few-shot turns are system messages named example_user/example_assistant there; real turns here.
    assert [turn["role"] for turn in lines[1]["input"]] == ["system", "user", "assistant", "user"]
    assert lines[1]["reference"] == ["Tokyo", "Tōkyō"]  # an ideal list is the list of acceptable answers
    assert lines[2]["input"] == "Q: What is the capital of Canada?\nA:"
    assert lines[3]["metadata"] == {"source": "atlas-2019"}  # an extra sample field is kept, not dropped
    assert "sample field 'source' -> metadata" in out
    # Match checks that the answer starts with the ideal, case included.
    assert config(data_dir, "cap")["scorers"] == [{"scorer": "starts_with", "name": "match", "case_sensitive": True}]
    validates(capsys, data_dir, "cap")


@pytest.mark.parametrize(
    ("eval_name", "scorer", "unmapped"),
    [
        # ignore_case: true makes Includes case-insensitive: contains without case_sensitive.
        ("capitals-includes", {"scorer": "contains", "name": "includes"}, "args.max_tokens"),
        ("capitals-fuzzy", {"scorer": "contains", "name": "fuzzy_match"}, None),
        # json_valid checks only the JSON's validity: the comparison with the ideal is listed as unmapped.
        ("capitals-json", {"scorer": "json_valid", "name": "json_match"}, "JsonMatch (comparison with ideal)"),
    ],
)
def test_each_basic_class_maps_onto_its_scorer(
    eval_name: str,
    scorer: dict[str, object],
    unmapped: str | None,
    data_dir: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--eval", eval_name, "--name", "cap")
    assert code == 0, err
    assert config(data_dir, "cap")["scorers"] == [scorer]
    if unmapped is None:
        assert "not mapped: nothing" in out
    else:
        assert unmapped in out.split("not mapped")[1]
    validates(capsys, data_dir, "cap")


def test_a_model_graded_spec_with_choice_scores_becomes_a_rubric(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--eval", "capitals-concise", "--name", "cq")
    assert code == 0, err
    [scorer] = config(data_dir, "cq")["scorers"]
    assert scorer["scorer"] == "rubric_judge" and scorer["rubric"] == "cq-closedqa"
    rubric = (data_dir / "prompts" / "cq-closedqa.md").read_text(encoding="utf-8")
    assert rubric.startswith("---\nscale: [0, 1]\nrequires_reference: false\n")  # Y = 1.0, N = 0.0
    # The spec's placeholders became tagged slots; modelgraded_spec_args filled {criteria}.
    assert "[Task]:\n<input>\n{{input}}\n</input>" in rubric
    assert "<output>\n{{output}}\n</output>" in rubric
    assert "[Criterion]: conciseness: Is the answer concise and to the point?" in rubric
    assert '"Y" = 1, "N" = 0' in rubric
    validates(capsys, data_dir, "cq")


def test_a_classifier_without_choice_scores_is_named_and_nothing_is_written(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--eval", "capitals-fact", "--name", "fact")
    assert code == 2
    assert "ModelBasedClassify fact" in err and "label_model" in err
    assert not (data_dir / "configs" / "fact.yaml").exists()
    assert not (data_dir / "datasets" / "fact.jsonl").exists()


def test_a_git_lfs_pointer_is_a_clear_error(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--eval", "capitals-lfs", "--name", "lfs")
    assert code == 2
    assert "lfs_pointer.jsonl:1: this is a Git LFS pointer file, not the data" in err
    assert "git lfs pull" in err
    assert not (data_dir / "configs" / "lfs.yaml").exists()


def test_a_spec_with_several_evals_asks_which(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_import(capsys, data_dir, "openai-evals", SPEC, "--name", "cap")
    assert code == 2
    assert "choose one eval with --eval NAME" in err and "capitals-match, capitals-includes" in err


def test_bare_samples_are_scored_as_match(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_import(capsys, data_dir, "openai-evals", SAMPLES, "--name", "bare")
    assert code == 0, err
    assert config(data_dir, "bare")["scorers"] == [{"scorer": "starts_with", "name": "match", "case_sensitive": True}]
    assert records(data_dir, "bare")[0]["id"] == "samples.0"
    assert "scored as openai/evals' Match" in out
    validates(capsys, data_dir, "bare")
