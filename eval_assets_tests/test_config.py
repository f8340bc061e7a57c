"""Config loading: every problem names the file, the line and the field."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.config import EvalConfig, config_hash, load_config, produced_metrics
from eval_assets.errors import InvalidInputError

MINIMAL = """\
schedule: nightly
model:
  id: offline/assistant-v1
datasets:
  - path: datasets/faq.jsonl
scorers:
  - scorer: contains
thresholds:
  - metric: contains.pass_rate
    min: 0.5
"""


def write(tmp_path: Path, text: str, name: str = "demo.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(InvalidInputError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_minimal_config_loads_with_defaults(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, MINIMAL))
    assert loaded.name == "demo"
    assert loaded.config.runtime.concurrency == 8
    assert loaded.config.scorers[0].key == "contains"
    assert "contains.pass_rate" in produced_metrics(loaded.config)


def test_bundled_configs_are_valid() -> None:
    for path in sorted(Path(__file__).parent.parent.joinpath("data", "configs").glob("*.yaml")):
        assert load_config(path).config.model.id


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A typo in a key must not be silently ignored: the run would use a default instead.
        (
            MINIMAL.replace("  id: offline", "  idd: offline"),
            ["demo.yaml:3: model.idd: unknown field", "demo.yaml:2: model.id: Field required"],
        ),
        # The public key names are exact: 'concurrency' lives under runtime.
        (MINIMAL + "runtime:\n  concurency: 4\n", ["demo.yaml:12: runtime.concurency: unknown field"]),
        (MINIMAL.replace("scorer: contains", "scorer: contain"), ["demo.yaml:7: scorers[0].scorer:"]),
        (
            MINIMAL.replace("contains.pass_rate", "contain.pass_rate"),
            ["demo.yaml:9: thresholds[0].metric: no scorer produces"],
        ),
        (
            MINIMAL.replace("    min: 0.5\n", ""),
            ["demo.yaml:9: thresholds[0]: a threshold needs 'min' and/or 'max'"],
        ),
        (MINIMAL.replace("schedule: nightly", "schedule: hourly"), ["demo.yaml:1: schedule:"]),
        (
            MINIMAL.replace("  - scorer: contains", "  - scorer: rubric_judge"),
            ["rubric_judge needs 'rubric'"],
        ),
        (MINIMAL + "  - metric: contains.pass_rate\n    max: 0.9\n", ["thresholds[1]: duplicate threshold"]),
    ],
)
def test_config_problems_name_file_line_and_field(tmp_path: Path, text: str, expected: list[str]) -> None:
    found = problems_of(write(tmp_path, text))
    for fragment in expected:
        assert any(fragment in problem for problem in found), (fragment, found)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    found = problems_of(write(tmp_path, MINIMAL.replace("datasets:\n", "datasets: [\n")))
    assert found and "demo.yaml:" in found[0] and "invalid YAML" in found[0]


def test_config_file_name_must_be_a_partition_key(tmp_path: Path) -> None:
    assert any("may use letters" in p for p in problems_of(write(tmp_path, MINIMAL, name="Bad Name.yaml")))


def test_hash_ignores_comments_and_key_order(tmp_path: Path) -> None:
    reordered = "# a comment\n" + MINIMAL.replace("schedule: nightly\n", "") + "schedule: nightly\n"
    first = load_config(write(tmp_path, MINIMAL, "a.yaml"))
    second = load_config(write(tmp_path, reordered, "b.yaml"))
    assert first.content_hash == second.content_hash
    changed = EvalConfig.model_validate({**first.config.model_dump(), "description": "other"})
    assert config_hash(changed) != first.content_hash


def test_duplicate_keys_are_an_error_not_a_silent_override(tmp_path: Path) -> None:
    # PyYAML would keep the second `temperature` and nobody would notice the first was ignored.
    text = MINIMAL.replace(
        "  id: offline/assistant-v1\n", "  id: offline/assistant-v1\n  temperature: 0\n  temperature: 1\n"
    )
    found = problems_of(write(tmp_path, text))
    assert any("demo.yaml:5:" in p and "duplicate key 'model.temperature' (first on line 4)" in p for p in found), found


def test_config_names_may_use_case_dots_and_dashes(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, MINIMAL, name="Prod-GPT4o.v2.yaml")).name == "Prod-GPT4o.v2"


def test_contains_with_pattern_is_rejected_with_file_line_and_field(tmp_path: Path) -> None:
    # Issue 7: options a scorer does not take used to be accepted silently (and changed the config hash).
    text = MINIMAL.replace("  - scorer: contains\n", "  - scorer: contains\n    pattern: x\n")
    found = problems_of(write(tmp_path, text))
    assert any(
        p.endswith(
            "demo.yaml:8: scorers[0].pattern: unknown field: 'pattern' only applies to regex_match, "
            "not contains; contains takes case_sensitive (and datasets, name, pass_score)"
        )
        for p in found
    ), found


def test_bundled_configs_keep_their_meaning() -> None:
    # The scorer union must read every bundled config exactly as the flat model did, option by option.
    path = Path(__file__).parent.parent / "data" / "configs" / "nightly.yaml"
    scorers = load_config(path).config.scorers
    dumped = [spec.model_dump(exclude={"judges"}) for spec in scorers]
    common = {"name": None, "datasets": [], "pass_score": 0.5}
    assert dumped == [
        {**common, "scorer": "contains", "datasets": ["faq"], "case_sensitive": False},
        {**common, "scorer": "refusal", "datasets": ["jailbreaks"], "expect": "refuse"},
        {
            **common,
            "scorer": "rubric_judge",
            "name": "faithfulness",
            "datasets": ["faq"],
            "pass_score": 0.75,
            "rubric": "rubric-faithfulness",
            "disagreement_margin": 0.5,
        },
        {
            **common,
            "scorer": "rubric_judge",
            "name": "tone",
            "datasets": ["faq"],
            "rubric": "rubric-tone",
            "disagreement_margin": 0.5,
        },
    ]
    judges = [spec.model_dump()["judges"] for spec in scorers[2:]]
    assert (
        judges
        == [
            [
                {
                    "id": "offline/judge",
                    "api_base": None,
                    "api_key_env": None,
                    "temperature": 0.0,
                    "max_tokens": 200,
                    "seed": None,
                    "system_prompt": None,
                }
            ]
        ]
        * 2
    )
    assert produced_metrics(load_config(path).config) >= {"faithfulness.mean", "tone.pass_rate", "refusal.pass_rate"}
