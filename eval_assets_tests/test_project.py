"""Cross-file validation: what only shows when a config meets its datasets and rubrics."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_assets.errors import InvalidInputError
from eval_assets.project import config_names, load_plan, validate_data_dir


def test_bundled_data_is_valid(data_dir: Path) -> None:
    plans = validate_data_dir(data_dir)
    assert {"nightly", "candidate"} <= set(plans)
    nightly = plans["nightly"]
    assert len(nightly.examples) >= 85
    assert set(nightly.rubrics) == {"rubric-faithfulness", "rubric-tone"}


def problems(data_dir: Path, name: str = "nightly") -> list[str]:
    with pytest.raises(InvalidInputError) as info:
        load_plan(data_dir, name)
    return [str(p) for p in info.value.problems]


def test_missing_reference_is_blamed_on_the_dataset_line(data_dir: Path) -> None:
    faq = data_dir / "datasets" / "faq.jsonl"
    lines = faq.read_text().splitlines()
    record = json.loads(lines[4])
    del record["reference"]
    lines[4] = json.dumps(record)
    faq.write_text("\n".join(lines) + "\n")
    found = problems(data_dir)
    assert any(p.startswith(f"{faq}:5: reference: example {record['id']!r} has no reference") for p in found), found


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (
            "rubric: rubric-tone",
            "rubric: rubric-tones",
            "unknown rubric 'rubric-tones'; available in prompts/",
        ),
        # Renaming a dataset file breaks the scorers that name it: say which scorer, on which line.
        ("path: datasets/jailbreaks.jsonl", "path: datasets/jailbreak.jsonl", "unknown dataset 'jailbreaks'"),
    ],
)
def test_cross_file_references(data_dir: Path, old: str, new: str, fragment: str) -> None:
    config = data_dir / "configs" / "nightly.yaml"
    assert old in config.read_text()
    config.write_text(config.read_text().replace(old, new))
    found = problems(data_dir)
    assert any(fragment in p and "nightly.yaml:" in p for p in found), found


def test_missing_dataset_file(data_dir: Path) -> None:
    (data_dir / "datasets" / "jailbreaks.jsonl").unlink()
    assert any("jailbreaks.jsonl does not exist" in p for p in problems(data_dir))


def test_tag_filter_typo(data_dir: Path) -> None:
    config = data_dir / "configs" / "nightly.yaml"
    config.write_text(
        config.read_text().replace(
            "- path: datasets/faq.jsonl", "- path: datasets/faq.jsonl\n    include_tags: [biling]", 1
        )
    )
    assert any("tag 'biling' is not used in faq.jsonl" in p for p in problems(data_dir))


def test_unknown_config_lists_known_ones(data_dir: Path) -> None:
    assert any("known configs: candidate" in p for p in problems(data_dir, "nope"))


def test_malformed_line_in_unused_dataset_is_still_found(data_dir: Path) -> None:
    (data_dir / "datasets" / "spare.jsonl").write_text('{"id": "x", "input": ""}\n')
    with pytest.raises(InvalidInputError, match=r"spare.jsonl:1: input: must not be empty"):
        validate_data_dir(data_dir)
    assert "nightly" in config_names(data_dir)


def test_a_misspelt_baseline_config_is_an_error(data_dir: Path) -> None:
    # A typo would silently turn the regression gate off: "no baseline yet", every night.
    config = data_dir / "configs" / "candidate.yaml"
    config.write_text(config.read_text() + "\nbaseline: {config: nigthly}\n")
    assert any("baseline.config: no config named 'nigthly'" in p for p in problems(data_dir, "candidate"))


def add_scorer(data_dir: Path, text: str) -> None:
    config = data_dir / "configs" / "nightly.yaml"
    config.write_text(config.read_text().replace("\nscorers:\n", f"\nscorers:\n{text}", 1))


def test_numeric_match_against_a_non_numeric_reference_is_blamed_on_the_dataset_line(data_dir: Path) -> None:
    # Issue 8 item 21: such an example scored 0 whatever the answer, without a word.
    add_scorer(data_dir, "  - scorer: numeric_match\n    datasets: [faq]\n")
    faq = data_dir / "datasets" / "faq.jsonl"
    lines = faq.read_text().splitlines()
    lines[0] = json.dumps({"id": "faq-word", "input": "How many?", "reference": "seven"})
    lines[1] = json.dumps({"id": "faq-mixed", "input": "How many?", "reference": ["seven", "7"]})
    lines[2] = json.dumps({"id": "faq-range", "input": "How many?", "reference": ["5-7", "a few"]})
    faq.write_text("\n".join(lines) + "\n")
    found = [p for p in problems(data_dir) if "numeric_match" in p]
    assert any(
        p.startswith(f"{faq}:1: reference: scorer 'numeric_match' (nightly.yaml line ")
        and "needs a reference holding exactly one number, but 'seven' does not" in p
        for p in found
    ), found
    # Judgement call: one usable reference is enough, the other may serve another scorer.
    assert not any(p.startswith(f"{faq}:2:") for p in found), found
    # A reference with two numbers is ambiguous, one with none unusable: both named on the line.
    assert any(p.startswith(f"{faq}:3: reference: ") and "'5-7', 'a few' do not" in p for p in found), found


def test_regex_references_are_checked_only_when_they_are_patterns(data_dir: Path) -> None:
    faq = data_dir / "datasets" / "faq.jsonl"
    faq.write_text(faq.read_text() + json.dumps({"id": "rx", "input": "x", "reference": ["ok", "(?<!a)b"]}) + "\n")
    line = len(faq.read_text().splitlines())
    add_scorer(data_dir, "  - scorer: regex_match\n    datasets: [faq]\n")
    # Literal text (the default): "(?<!a)b" is just characters, nothing to compile.
    load_plan(data_dir, "nightly")
    config = data_dir / "configs" / "nightly.yaml"
    config.write_text(
        config.read_text().replace(
            "  - scorer: regex_match\n", "  - scorer: regex_match\n    reference_is_pattern: true\n"
        )
    )
    found = problems(data_dir)
    assert any(
        p.startswith(f"{faq}:{line}: reference[1]: scorer 'regex_match'") and "lookaround" in p for p in found
    ), found
