"""The scorer registry (issue 7 item 2): one declaration per scorer, and the config union built from it."""

from __future__ import annotations

import json
import math
import pkgutil
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from eval_assets.config import load_config
from eval_assets.errors import InvalidInputError
from eval_assets.scoring import scorers
from eval_assets.scoring.registry import (
    COMMON_FIELDS,
    JudgeOptions,
    ScorerOptions,
    ScorerRegistry,
    UnknownScorerError,
    all_scorers,
    is_graded,
    judge_options,
    scorer_args,
    scorer_named,
    scorer_version,
)
from eval_assets.scoring.results import References, ScoreResult, verdict

CONFIG = """\
model:
  id: offline/assistant-v1
datasets:
  - path: datasets/faq.jsonl
scorers:
{scorers}
"""


def load(tmp_path: Path, scorers_yaml: str) -> Any:
    path = tmp_path / "demo.yaml"
    path.write_text(CONFIG.format(scorers=scorers_yaml))
    return load_config(path)


def problems(tmp_path: Path, scorers_yaml: str) -> list[str]:
    with pytest.raises(InvalidInputError) as info:
        load(tmp_path, scorers_yaml)
    return [str(problem) for problem in info.value.problems]


# --------------------------------------------------------------------------------------------------
# What the package registers
# --------------------------------------------------------------------------------------------------


def test_every_module_of_the_scorers_package_registers_a_scorer() -> None:
    # Discovery imports every module; one that registers nothing is a scorer that silently went missing.
    modules = {f"{scorers.__name__}.{info.name}" for info in pkgutil.iter_modules(scorers.__path__)}
    assert modules == {entry.module for entry in all_scorers()}


def test_the_documented_scorers_are_registered_with_versions() -> None:
    names = {entry.name for entry in all_scorers()}
    assert names >= {"exact_match", "contains", "regex_match", "json_valid", "numeric_match", "refusal", "rubric_judge"}
    for entry in all_scorers():
        assert entry.version.strip(), entry.name
        assert entry.description, entry.name
        assert entry.kind in ("deterministic", "judge")
        assert (entry.score is None) is (entry.kind == "judge"), entry.name


def test_every_option_has_a_description_and_no_option_redefines_a_common_field() -> None:
    for entry in all_scorers():
        for field, info in entry.options.model_fields.items():
            assert info.description, (entry.name, field)
        assert not COMMON_FIELDS & set(entry.options.model_fields), entry.name
        assert set(entry.spec_model.model_fields) == COMMON_FIELDS | set(entry.options.model_fields)


def test_every_float_option_refuses_nan_and_inf() -> None:
    # The config's policy (issue 8 item 22) holds for options declared in any scorer module, later ones too.
    checked = 0
    for entry in all_scorers():
        for field, info in entry.spec_model.model_fields.items():
            if "float" not in str(info.annotation):
                continue
            for value in (math.nan, math.inf, -math.inf):
                with pytest.raises(ValidationError, match="finite number"):
                    entry.spec_model.model_validate({"scorer": entry.name, field: value})
            checked += 1
    assert checked >= 10


def test_unknown_scorer_names_the_known_ones() -> None:
    with pytest.raises(UnknownScorerError) as info:
        scorer_named("contain")
    message = str(info.value)
    assert message.startswith("unknown scorer 'contain'; known scorers: ")
    assert all(entry.name in message for entry in all_scorers())


def test_judges_are_explicit_through_the_registry() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "data" / "configs" / "nightly.yaml").config
    kinds = {spec.key: judge_options(spec) for spec in config.scorers}
    assert isinstance(kinds["faithfulness"], JudgeOptions) and kinds["faithfulness"].rubric == "rubric-faithfulness"
    assert kinds["contains"] is None and kinds["refusal"] is None
    assert is_graded("rubric_judge") and not is_graded("contains")
    # Rows of a scorer that was since removed are compared as pass/fail, not crashed on.
    assert not is_graded("no_longer_registered")


# --------------------------------------------------------------------------------------------------
# The config union: options a scorer does not take are errors with file:line:field
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scorers_yaml", "expected"),
    [
        # Issue 7: contains silently accepted pattern, abs_tolerance, expect and json_schema.
        (
            "  - scorer: contains\n    pattern: x\n",
            "demo.yaml:7: scorers[0].pattern: unknown field: 'pattern' only applies to regex_match, not contains",
        ),
        ("  - scorer: contains\n    abs_tolerance: 0.1\n", "demo.yaml:7: scorers[0].abs_tolerance: unknown field"),
        ("  - scorer: contains\n    expect: refuse\n", "demo.yaml:7: scorers[0].expect: unknown field"),
        ("  - scorer: contains\n    json_schema: {}\n", "demo.yaml:7: scorers[0].json_schema: unknown field"),
        # Judge options on a deterministic scorer, and a typo that no scorer takes.
        ("  - scorer: refusal\n    judges: []\n", "demo.yaml:7: scorers[0].judges: unknown field: 'judges' only"),
        (
            "  - scorer: exact_match\n    case_sensitve: true\n",
            "demo.yaml:7: scorers[0].case_sensitve: unknown field: exact_match has no option 'case_sensitve'",
        ),
        # The error says what the scorer does take.
        ("  - scorer: refusal\n    pattern: x\n", "refusal takes expect (and datasets, name, pass_score)"),
        # Unknown and missing scorer names list the known ones, at the entry's line.
        ("  - scorer: contain\n", "demo.yaml:6: scorers[0].scorer: unknown scorer 'contain'; known scorers: contains,"),
        ("  - name: x\n", "demo.yaml:6: scorers[0].scorer: missing: which scorer to apply (one of: contains,"),
        ("  - contains\n", "demo.yaml:6: scorers[0]: each scorer is a mapping with a 'scorer' key"),
        # Required options are named with their description.
        (
            "  - scorer: rubric_judge\n    judges: [{id: offline/judge}]\n",
            "scorers[0].rubric: rubric_judge needs 'rubric'",
        ),
        # Errors nested inside an option keep their full path and line.
        (
            "  - scorer: rubric_judge\n    rubric: rubric-tone\n    judges:\n      - {id: offline/judge, tempo: 1}\n",
            "demo.yaml:9: scorers[0].judges[0].tempo: unknown field",
        ),
        # Problems only the scorer module can see (an unusable schema) are located inside the option.
        (
            "  - scorer: json_valid\n    json_schema:\n      properties:\n        a: {pattern: '(a)\\1'}\n",
            "demo.yaml:9: scorers[0].json_schema.properties.a.pattern: pattern",
        ),
    ],
)
def test_config_errors_of_scorer_entries_name_line_and_field(tmp_path: Path, scorers_yaml: str, expected: str) -> None:
    found = problems(tmp_path, scorers_yaml)
    assert any(expected in problem for problem in found), found


def test_each_scorer_entry_holds_only_its_own_options(tmp_path: Path) -> None:
    loaded = load(tmp_path, "  - scorer: contains\n  - scorer: numeric_match\n    abs_tolerance: 0.5\n")
    contains, numeric = (spec.model_dump() for spec in loaded.config.scorers)
    assert contains == {"scorer": "contains", "name": None, "datasets": [], "pass_score": 0.5, "case_sensitive": False}
    assert numeric["abs_tolerance"] == 0.5 and "case_sensitive" not in numeric


def test_config_hash_changes_only_with_meaning(tmp_path: Path) -> None:
    base = load(tmp_path, "  - scorer: contains\n    case_sensitive: false\n").content_hash
    # Spelling out a default, or reordering keys, means the same.
    assert load(tmp_path, "  - scorer: contains\n").content_hash == base
    assert load(tmp_path, "  - case_sensitive: false\n    scorer: contains\n").content_hash == base
    # Changing an option the scorer takes changes the meaning and the hash.
    assert load(tmp_path, "  - scorer: contains\n    case_sensitive: true\n").content_hash != base
    # An option the scorer does not take can no longer creep into the hash: it is refused.
    assert problems(tmp_path, "  - scorer: contains\n    rel_tolerance: 0.1\n")


# --------------------------------------------------------------------------------------------------
# What every score row records
# --------------------------------------------------------------------------------------------------


def test_scorer_args_are_the_options_and_pass_score_and_stable(tmp_path: Path) -> None:
    yaml_text = (
        "  - scorer: contains\n"
        "  - scorer: regex_match\n    pattern: '^B$'\n"
        "  - scorer: numeric_match\n    rel_tolerance: 0.01\n"
        "  - scorer: rubric_judge\n    rubric: rubric-tone\n    judges: [{id: offline/judge}]\n    pass_score: 0.75\n"
    )
    first = [scorer_args(spec) for spec in load(tmp_path, yaml_text).config.scorers]
    again = [scorer_args(spec) for spec in load(tmp_path, yaml_text).config.scorers]
    assert first == again
    assert first[0] == {"case_sensitive": False, "pass_score": 0.5}
    assert first[1] == {"pattern": "^B$", "reference_is_pattern": False, "pass_score": 0.5}
    assert first[2] == {"abs_tolerance": 1e-9, "rel_tolerance": 0.01, "pass_score": 0.5}
    assert set(first[3]) == {"rubric", "judges", "disagreement_margin", "pass_score"}
    assert first[3]["judges"][0]["id"] == "offline/judge"
    # Stored as JSON with every score: it must serialize, and the same way every time.
    assert json.dumps(first, sort_keys=True) == json.dumps(again, sort_keys=True)


def test_scorer_version_comes_from_the_registry(tmp_path: Path) -> None:
    for spec in load(tmp_path, "  - scorer: contains\n  - scorer: refusal\n").config.scorers:
        assert scorer_version(spec) == scorer_named(spec.scorer).version


# --------------------------------------------------------------------------------------------------
# Declaring scorers: the rules, on a private registry
# --------------------------------------------------------------------------------------------------


class _Shout(ScorerOptions):
    loud: bool = Field(default=True, description="Shout.")


class _Whisper(ScorerOptions):
    quiet: float = Field(default=0.1, ge=0, description="How quietly.")


def _score(output: str, references: References, options: ScorerOptions) -> ScoreResult:
    """Passes when the output is not empty."""
    return verdict(bool(output), "toy")


def toy_registry() -> ScorerRegistry:
    registry = ScorerRegistry()
    registry.register(name="shout", version="1", options=_Shout, needs_reference=False, score=_score)
    registry.register(name="whisper", version="2", options=_Whisper, needs_reference=True, score=_score)
    return registry


def test_a_registry_builds_a_discriminated_union_of_its_scorers() -> None:
    registry = toy_registry()
    entries = TypeAdapter(list[registry.spec_type()])  # type: ignore[misc]
    held = entries.validate_python([{"scorer": "shout"}, {"scorer": "whisper", "quiet": 0.5}])
    assert [type(spec).__name__ for spec in held] == ["ShoutSpec", "WhisperSpec"]
    with pytest.raises(ValidationError) as info:
        entries.validate_python([{"scorer": "shout", "quiet": 0.5}])
    # Pydantic puts the tag in the location; the config strips it again (see the table above).
    assert info.value.errors()[0]["loc"] == (0, "shout", "quiet")
    assert registry.get("whisper").requires_reference(held[1])
    assert not registry.get("shout").requires_reference(held[0])
    assert registry.get("shout").args(held[0]) == {"loud": True, "pass_score": 0.5}


def test_no_scorer_can_be_registered_after_the_union_is_built() -> None:
    registry = toy_registry()
    registry.spec_type()
    with pytest.raises(RuntimeError, match="after the config's scorer union was built"):
        registry.register(name="late", version="1", options=_Shout, needs_reference=False, score=_score)


class _Undocumented(ScorerOptions):
    level: int = 3


class _Clashing(ScorerOptions):
    name: str = Field(default="x", description="Clashes with the common field.")


@pytest.mark.parametrize(
    ("declaration", "message"),
    [
        ({"name": "Shout"}, "must be lowercase"),
        ({"name": "shout"}, "registered twice (first by"),
        ({"version": " "}, "non-empty version"),
        ({"options": _Undocumented}, "need a description on: level"),
        ({"options": _Clashing}, "redefine common fields: name"),
        ({"score": None}, "needs a score function"),
        ({"kind": "judge"}, "takes JudgeOptions and no score function"),
    ],
)
def test_declarations_that_break_the_rules_are_refused(declaration: dict[str, Any], message: str) -> None:
    registry = toy_registry()
    arguments: dict[str, Any] = {
        "name": "third",
        "version": "1",
        "options": _Shout,
        "needs_reference": False,
        "score": _score,
        **declaration,
    }
    with pytest.raises(ValueError, match=re.escape(message)):
        registry.register(**arguments)


def test_discovery_imports_every_scorer_module_at_the_first_lookup() -> None:
    # A fresh interpreter: nothing is registered until something asks, then every module is imported.
    code = (
        "import sys\n"
        "from eval_assets.scoring.registry import REGISTRY\n"
        "assert not [m for m in sys.modules if m.startswith('eval_assets.scoring.scorers.')]\n"
        "names = REGISTRY.names()\n"
        "print(' '.join(names))\n"
        "assert 'eval_assets.scoring.scorers.refusal' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert set(result.stdout.split()) == {entry.name for entry in all_scorers()}


def test_the_readme_scorer_table_matches_the_registry() -> None:
    # The docs may lag behind a new scorer, but never describe one that does not exist or options it lacks.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Scorers") : readme.index("## Provider calls")]
    rows = re.findall(r"^\| `([a-z_]+)` \| ([^|]*) \|", section, flags=re.M)
    assert len(rows) >= 7
    for name, options in rows:
        listed = set(re.findall(r"`([a-z_]+)`", options)) - {"refuse", "comply"}
        assert listed == set(scorer_named(name).options.model_fields), name
