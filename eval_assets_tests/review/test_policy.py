"""Issue 10, item 1: the config's ``review:`` block, its defaults, and errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.config import load_config
from eval_assets.errors import InvalidInputError
from eval_assets.review.policy import REASONS

BASE = """\
model:
  id: offline/assistant-v1
datasets:
  - path: datasets/faq.jsonl
scorers:
  - scorer: contains
  - scorer: rubric_judge
    name: faithfulness
    rubric: rubric-faithfulness
    judges: [{id: offline/judge}]
"""


def load(tmp_path: Path, review: str = ""):  # type: ignore[no-untyped-def]
    path = tmp_path / "demo.yaml"
    path.write_text(BASE + review)
    return load_config(path)


def problems(tmp_path: Path, review: str) -> list[str]:
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path, review)
    return [str(problem) for problem in info.value.problems]


def test_without_a_block_every_reason_is_on_with_sensible_caps(tmp_path: Path) -> None:
    policy = load(tmp_path).config.review
    assert tuple(policy.reasons) == REASONS
    assert policy.max_tasks_per_night == 200 and 0 < policy.calibration_rate <= 0.1
    assert policy.cap_of("calibration_sample") == 200


def test_a_review_block_with_its_defaults_keeps_the_config_hash(tmp_path: Path) -> None:
    # Configs written before the block existed keep their hash (reports and lineage compare hashes).
    plain = load(tmp_path).content_hash
    assert load(tmp_path, "review:\n  calibration_rate: 0.05\n").content_hash == plain
    assert load(tmp_path, "review:\n  calibration_rate: 0.2\n").content_hash != plain


def test_a_valid_block_loads(tmp_path: Path) -> None:
    policy = load(
        tmp_path,
        "review:\n  reasons: [regression_flip, calibration_sample]\n  max_tasks_per_night: 50\n"
        "  max_per_reason: {calibration_sample: 10}\n  calibration_rate: 0.1\n  seed: 3\n",
    ).config.review
    assert policy.reasons == ["regression_flip", "calibration_sample"] and policy.cap_of("calibration_sample") == 10


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        ("review:\n  reasons: [regresion_flip]\n", "demo.yaml:12: review.reasons[0]: Input should be"),
        ("review:\n  reasons: [judge_conflict, judge_conflict]\n", "demo.yaml:12: review.reasons: listed twice"),
        ("review:\n  calibration_rate: 1.5\n", "demo.yaml:12: review.calibration_rate: Input should be less"),
        ("review:\n  max_per_nite: 3\n", "demo.yaml:12: review.max_per_nite: unknown field"),
        ("review:\n  max_per_reason: {calibration_sample: -1}\n", "demo.yaml:12: review.max_per_reason: "),
        (
            "review:\n  judge_vs_deterministic:\n    - {deterministic: faithfulness, judge: contains}\n",
            "demo.yaml:13: review.judge_vs_deterministic[0].deterministic: 'faithfulness' is not a deterministic",
        ),
        (
            "review:\n  judge_vs_deterministic:\n    - {deterministic: contains, judge: tone}\n",
            "demo.yaml:13: review.judge_vs_deterministic[0].judge: unknown scorer 'tone'; judge scorers: faithfulness",
        ),
        (
            "review:\n  reasons: [regression_flip]\n  max_per_reason: {calibration_sample: 3}\n",
            "review.max_per_reason.calibration_sample: calibration_sample is not in review.reasons",
        ),
    ],
)
def test_a_bad_block_names_file_line_and_field(tmp_path: Path, review: str, expected: str) -> None:
    found = problems(tmp_path, review)
    assert any(expected in problem for problem in found), found
