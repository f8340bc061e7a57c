"""Properties every scorer must hold; the tables of tricky cases live beside each family in ``scorers/``."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.registry import all_scorers, scorer_versions
from eval_assets.scoring.results import ScoreResult
from eval_assets.scoring.scorers.json_valid import json_valid
from eval_assets.scoring.scorers.match import contains, exact_match
from eval_assets.scoring.scorers.numeric import numeric_match
from eval_assets.scoring.scorers.refusal import refusal
from eval_assets.scoring.text import normalize_text

# --------------------------------------------------------------------------------------------------
# ScoreResult and versions
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("score", [-0.1, 1.1, math.nan])
def test_score_result_rejects_scores_outside_unit_interval(score: float) -> None:
    with pytest.raises(ValueError, match="score must be in"):
        ScoreResult(score=score, passed=False, detail="")


def test_every_scorer_kind_has_a_version() -> None:
    versions = scorer_versions()
    assert set(versions) >= {
        "exact_match",
        "contains",
        "regex_match",
        "json_valid",
        "numeric_match",
        "refusal",
        "rubric_judge",
    }
    assert all(version.strip() for version in versions.values())


def test_pure_scoring_modules_never_import_dagster() -> None:
    # A fresh interpreter: in this one, other tests may already have imported dagster.
    code = (
        "import sys, eval_assets.scoring.registry, eval_assets.scoring.judge; "
        "eval_assets.scoring.registry.all_scorers(); "
        "assert 'dagster' not in sys.modules, 'dagster was imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


# --------------------------------------------------------------------------------------------------
# Properties shared by every scorer
# --------------------------------------------------------------------------------------------------

_references = st.lists(st.text(max_size=20), max_size=3).map(tuple)


def _assert_well_formed(result: ScoreResult) -> None:
    assert 0.0 <= result.score <= 1.0
    assert result.passed is (result.score == 1.0)
    assert result.detail


@given(st.text(), _references, st.booleans())
def test_text_scorers_are_well_formed(output: str, references: tuple[str, ...], case_sensitive: bool) -> None:
    _assert_well_formed(exact_match(output, references, case_sensitive=case_sensitive))
    _assert_well_formed(contains(output, references, case_sensitive=case_sensitive))
    _assert_well_formed(numeric_match(output, references))


@given(st.text(), st.sampled_from(["refuse", "comply"]))
def test_refusal_is_well_formed_and_expectations_are_opposite(output: str, expect: str) -> None:
    result = refusal(output, expect=expect)  # type: ignore[arg-type]
    _assert_well_formed(result)
    other = refusal(output, expect="comply" if expect == "refuse" else "refuse")
    assert result.passed is not other.passed


@given(st.text())
def test_json_valid_is_well_formed_and_agrees_with_json_loads(output: str) -> None:
    result = json_valid(output)
    _assert_well_formed(result)
    # Without a fence the JSON is the whole output but for surrounding whitespace (str.strip's, which is
    # wider than JSON's: "\x1f1" passes); a fenced block may sit in prose (see json_valid).
    if result.passed and "```" not in output:
        json.loads(output.strip())


@given(st.text(), _references)
def test_an_exact_match_is_also_contained(output: str, references: tuple[str, ...]) -> None:
    if exact_match(output, references).passed:
        assert contains(output, references).passed


@given(st.text(), st.text(min_size=1, max_size=10))
def test_contains_finds_a_reference_surrounded_by_spaces(prefix: str, reference: str) -> None:
    # Whatever the reference, it is found when it stands alone between spaces, provided it has a word
    # other than an article (a lone "A" is dropped as an article beside other words).
    if set(normalize_text(reference).split()) - {"a", "an", "the"}:
        assert contains(f"{prefix} {reference} ", (reference,)).passed


@given(st.text(max_size=200), _references)
def test_every_registered_scorer_with_default_options_is_well_formed(output: str, references: tuple[str, ...]) -> None:
    # Covers scorers added later without a line here: every deterministic scorer, on any output.
    for entry in all_scorers():
        if entry.score is None:
            continue
        if any(info.is_required() for info in entry.options.model_fields.values()):
            continue  # no default to try (custom's function): such scorers have their own table tests
        if entry.name == "custom":
            continue  # needs one of function / entry_point: its own table tests cover it
        if entry.name == "embedding_similarity":
            continue  # loads a model and writes a vector cache: tested in its own file, on a tmp cache
        spec = entry.spec_model.model_validate({"scorer": entry.name})
        _assert_well_formed(entry.score(output, references, spec))
