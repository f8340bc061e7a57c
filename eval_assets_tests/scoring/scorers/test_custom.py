"""custom (issue 12 item 4): the user's own score function, loaded from a real module on sys.path."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest

from eval_assets.config import load_config
from eval_assets.datasets import Example
from eval_assets.errors import InvalidInputError
from eval_assets.scoring.apply import score_output
from eval_assets.scoring.registry import scorer_args, scorer_named, scorer_version
from eval_assets.scoring.results import ScoreResult
from eval_assets.scoring.scorers.custom import CustomScorerError, as_score_result

CHECKS = '''
from eval_assets.scoring.results import ScoreResult


def cites_order_id(output, references, *, min_digits: int = 6):
    """Pass when the answer quotes an order id of at least min_digits digits."""
    import re
    return re.search(r"\\b[0-9]{%d,}\\b" % min_digits, output) is not None


def overlap(output, references):
    words = set(output.lower().split())
    best = max((len(words & set(r.lower().split())) / len(set(r.lower().split())) for r in references), default=0.0)
    return {"score": best, "reason": f"{best:.0%} of the reference words"}


def needs_threshold(output, references, threshold: float):
    return len(output) >= threshold


def one_argument(output):
    return True


not_callable = 42
'''
_counter = itertools.count()


@pytest.fixture
def checks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real module of score functions on sys.path; a fresh name per test, so no import cache is shared."""
    name = f"user_checks_{next(_counter)}_{tmp_path.name.replace('-', '_')}"
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / f"{name}.py").write_text(CHECKS)
    monkeypatch.syspath_prepend(str(tmp_path / "pkg"))
    return name


def _config(tmp_path: Path, entry: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(
        "model: {id: offline/assistant-v1}\n"
        "datasets: [{path: datasets/faq.jsonl}]\n"
        "scorers:\n"
        "  - scorer: custom\n" + entry
    )
    return path


EXAMPLE = Example(dataset="faq", id="a", input="q", references=("refunds take five days",), tags=(), line=1)


def test_a_custom_function_scores_through_the_registry(tmp_path: Path, checks: str) -> None:
    path = _config(tmp_path, f"    function: {checks}:cites_order_id\n    options: {{min_digits: 4}}\n")
    spec = load_config(path).config.scorers[0]
    assert score_output(spec, "Your order 12345 ships today.", EXAMPLE).passed
    assert not score_output(spec, "Your order 123 ships today.", EXAMPLE).passed
    assert scorer_args(spec) == {
        "function": f"{checks}:cites_order_id",
        "entry_point": None,
        "options": {"min_digits": 4},
        "needs_reference": False,
        "pass_score": 0.5,
    }
    assert not scorer_named("custom").requires_reference(spec)


def test_a_mapping_result_is_graded_and_pass_score_applies(tmp_path: Path, checks: str) -> None:
    path = _config(tmp_path, f"    function: {checks}:overlap\n    needs_reference: true\n    pass_score: 0.7\n")
    spec = load_config(path).config.scorers[0]
    assert scorer_named("custom").requires_reference(spec)
    result = score_output(spec, "Refunds take five weeks", EXAMPLE)
    assert (result.score, result.passed, result.detail) == (0.75, True, "75% of the reference words")
    result = score_output(spec, "Refunds take a week", EXAMPLE)
    assert (result.score, result.passed) == (0.5, False)


def test_the_version_is_the_hash_of_the_function_s_source_and_follows_edits(tmp_path: Path, checks: str) -> None:
    source = tmp_path / "pkg" / f"{checks}.py"
    path = _config(tmp_path, f"    function: {checks}:cites_order_id\n")
    spec = load_config(path).config.scorers[0]
    assert scorer_version(spec) == "1+src." + hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    first = scorer_version(spec)
    # An edit to the module (here: the default of min_digits) is a new version once the config is
    # validated again, and the new code scores: the old answer no longer passes.
    source.write_text(CHECKS.replace("min_digits: int = 6", "min_digits: int = 9"))
    spec = load_config(path).config.scorers[0]
    assert scorer_version(spec) != first
    assert scorer_version(spec) == "1+src." + hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert not score_output(spec, "order 1234567", EXAMPLE).passed


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        (
            "    function: no_such_module_xyz:f\n",
            "demo.yaml:5: scorers[0].function: cannot import module 'no_such_module_xyz'",
        ),
        ("    function: {checks}:missing\n", "scorers[0].function: module '{checks}' has no attribute 'missing'"),
        (
            "    function: {checks}:not_callable\n",
            "scorers[0].function: {checks}:not_callable is a int, not a function",
        ),
        ("    function: {checks}:one_argument\n", "must take (output, references) as its first two positional"),
        (
            "    function: {checks}:cites_order_id\n    options: {{digits: 3}}\n",
            "demo.yaml:6: scorers[0].options.digits: the function takes no keyword 'digits' (it takes: min_digits)",
        ),
        ("    function: {checks}:needs_threshold\n", "scorers[0].options: the function needs 'threshold'"),
        (
            "    function: {checks}:cites_order_id\n    options: {{min_digits: six}}\n",
            "scorers[0].options.min_digits: Input should be a valid integer",
        ),
        ("    function: not a path\n", "scorers[0].function: String should match pattern"),
        ("    function: {checks}:overlap\n    options: {{x: 1}}\n", "takes no keyword 'x' (it takes: none)"),
    ],
)
def test_bad_functions_and_options_fail_validation_with_line_and_field(
    tmp_path: Path, checks: str, entry: str, expected: str
) -> None:
    with pytest.raises(InvalidInputError) as info:
        load_config(_config(tmp_path, entry.format(checks=checks)))
    assert expected.format(checks=checks) in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, ScoreResult(1.0, True, "")),
        (False, ScoreResult(0.0, False, "")),
        # A bare number is a graded score; the stage's pass_score decides the pass.
        (0.25, ScoreResult(0.25, True, "")),
        (1, ScoreResult(1.0, True, "")),
        # promptfoo's GradingResult shape.
        ({"pass": False, "score": 0.9, "reason": "too long"}, ScoreResult(0.9, False, "too long")),
        ({"score": 0.5, "passed": True, "detail": "ok"}, ScoreResult(0.5, True, "ok")),
        (ScoreResult(0.5, False, "x"), ScoreResult(0.5, False, "x")),
    ],
)
def test_what_a_function_may_return(value: object, expected: ScoreResult) -> None:
    assert as_score_result(value, "m:f") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (1.5, "returned score 1.5, outside [0, 1]"),
        (float("nan"), "outside [0, 1]"),
        ({"score": "high"}, "a score that is not a number"),
        ({"score": True}, "a score that is not a number"),
        ("yes", "returned str; return a bool, a number in [0, 1]"),
        (None, "returned NoneType"),
    ],
)
def test_unusable_returns_are_errors_naming_the_function(value: object, message: str) -> None:
    with pytest.raises(CustomScorerError, match=r"m:f .*" + message.replace("[", r"\[").replace("]", r"\]")):
        as_score_result(value, "m:f")
