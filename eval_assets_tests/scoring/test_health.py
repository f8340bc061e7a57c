"""Judge health and scorer coverage: the scoring machinery measured apart from the model (issue 14)."""

from __future__ import annotations

import polars as pl
import pytest

from eval_assets.config import Threshold
from eval_assets.scoring.apply import JUDGE_CALL_FAILED, JUDGE_UNPARSEABLE, NOT_SCORED, no_answer_detail
from eval_assets.scoring.gates import (
    JUDGE_ERROR_RATE_WITHIN_LIMIT,
    evaluate_thresholds,
    judge_health_gate,
    no_data_reasons,
    scorer_coverage_gate,
)
from eval_assets.scoring.health import judge_health, scorer_coverage
from eval_assets.scoring.metrics import ComparedMetric

FREE_TEXT = "I think this answer deserves a 4 out of 5. It is fine."


def verdicts(rows: list[tuple[str, str, str | None, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"scorer": pl.Utf8, "judge_model": pl.Utf8, "error": pl.Utf8, "raw_answer": pl.Utf8}, orient="row"
    )


def unparseable(judge: str = "offline/chatty", scorer: str = "faithfulness") -> tuple[str, str, str, str]:
    return (scorer, judge, f'{JUDGE_UNPARSEABLE}: no JSON object with a "score" key', FREE_TEXT)


def ok(judge: str = "offline/chatty", scorer: str = "faithfulness") -> tuple[str, str, None, str]:
    return (scorer, judge, None, '{"score": 4}')


def test_a_judge_that_never_answers_json_fails_the_night_naming_it_and_quoting_an_answer() -> None:
    health = judge_health(verdicts([unparseable()] * 50))
    gate = judge_health_gate(health, max_error_rate=0.05)
    assert not gate.passed and gate.severity == "error"
    assert "the judge is broken, not the model" in gate.detail
    assert "offline/chatty" in gate.detail and "faithfulness" in gate.detail
    assert "50 of 50" in gate.detail and "50 unparseable" in gate.detail
    assert "deserves a 4 out of 5" in gate.detail  # the judge's own words, so a person sees what went wrong
    assert 'no JSON object with a "score" key' in gate.detail


def test_two_percent_parse_errors_pass_with_a_warning() -> None:
    health = judge_health(verdicts([unparseable()] * 2 + [ok()] * 98))
    gate = judge_health_gate(health, max_error_rate=0.05)
    # A failed warn gate is Dagster's "warning": it blocks nothing and the night stays green.
    assert (gate.passed, gate.severity) == (False, "warn")
    assert "2 of 100" in gate.detail and "within the 5.0% limit" in gate.detail


def test_the_limit_itself_is_allowed_and_each_judge_is_judged_alone() -> None:
    # 5 of 100 is exactly the limit: allowed. A second judge's perfect record must not dilute a broken one.
    at_limit = judge_health(verdicts([unparseable("a")] * 5 + [ok("a")] * 95))
    assert judge_health_gate(at_limit, max_error_rate=0.05).severity == "warn"
    mixed = judge_health(verdicts([unparseable("a")] * 10 + [ok("b")] * 1000))
    gate = judge_health_gate(mixed, max_error_rate=0.05)
    assert not gate.passed and gate.severity == "error" and "judge a " in gate.detail and "judge b " not in gate.detail


def test_failed_judge_calls_count_but_are_not_called_unparseable() -> None:
    rows = [("tone", "j", f"{JUDGE_CALL_FAILED}: timeout", None)] * 3
    (health,) = judge_health(verdicts(rows))
    assert (health.errors, health.unparseable, health.sample_answer) == (3, 0, None)
    assert "3 calls failed" in health.describe() and "timeout" in health.evidence()


def test_no_judges_means_nothing_to_gate() -> None:
    gate = judge_health_gate(judge_health(verdicts([])), max_error_rate=0.05)
    assert gate.passed and gate.check_name == JUDGE_ERROR_RATE_WITHIN_LIMIT


def scores(rows: list[tuple[str, float | None, str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows, schema={"scorer": pl.Utf8, "score": pl.Float64, "detail": pl.Utf8, "judge_error": pl.Utf8}, orient="row"
    )


def test_coverage_names_the_causes_of_missing_scores() -> None:
    judge_fail = f"offline/chatty: {JUDGE_UNPARSEABLE}: no JSON"
    frame = scores(
        [("faithfulness", None, f"{NOT_SCORED}{judge_fail}", judge_fail)] * 7
        + [("faithfulness", None, no_answer_detail("timeout", "read timed out"), None)] * 2
        + [("faithfulness", 0.5, "ok", None)]
        + [("contains", 1.0, "matched", None)] * 10
    )
    coverage = {c.scorer: c for c in scorer_coverage(frame)}
    assert coverage["faithfulness"].explain() == (
        "1 of 10 examples scored: 7 judge answers unparseable, 2 model calls failed"
    )
    assert coverage["contains"].share == 1.0
    gate = scorer_coverage_gate(list(coverage.values()), min_share=0.9)
    assert not gate.passed and gate.severity == "error"
    assert gate.detail.startswith("no data: faithfulness: 1 of 10 examples scored")
    assert "contains" not in gate.detail


@pytest.mark.parametrize(
    ("scored", "passed"),
    [
        (9, True),  # 90% is the default floor: allowed
        (8, False),
        (0, False),
    ],
)
def test_coverage_floor(scored: int, passed: bool) -> None:
    unscored = [("refusal", None, "not scored: x", None)] * (10 - scored)
    frame = scores([("refusal", 1.0, "refused", None)] * scored + unscored)
    assert scorer_coverage_gate(scorer_coverage(frame), min_share=0.9).passed is passed


def test_a_threshold_on_a_metric_with_no_data_fails_with_the_reason() -> None:
    judge_fail = f"offline/chatty: {JUDGE_UNPARSEABLE}: no JSON"
    frame = scores([("faithfulness", None, f"{NOT_SCORED}{judge_fail}", judge_fail)] * 5000)
    threshold = Threshold(metric="faithfulness.mean", min=0.6, severity="warn")
    metric = ComparedMetric("faithfulness.mean", None, None, 0, 0.8)
    (outcome,) = evaluate_thresholds([threshold], [metric], no_data=no_data_reasons(scorer_coverage(frame)))
    assert not outcome.passed
    assert "no data" in outcome.reason
    assert "0 of 5,000 examples scored: 5,000 judge answers unparseable" in outcome.reason


def test_a_threshold_on_a_run_metric_with_no_data_still_fails() -> None:
    (outcome,) = evaluate_thresholds([Threshold(metric="latency_p95_ms", max=5000)], [], no_data={})
    assert not outcome.passed and outcome.reason.startswith("no data for latency_p95_ms <= 5000")


@pytest.mark.parametrize(
    ("scores", "margin", "pass_score", "disagree"),
    [
        # Issue 8.12: 3 vs 4 on a 1-5 scale (0.5 vs 0.75) with pass_score 0.75 and the default margin 0.5:
        # the spread is small, but one judge passes the example and the other fails it.
        ([0.5, 0.75], 0.5, 0.75, True),
        ([0.75, 1.0], 0.5, 0.75, False),  # both pass: within the margin, agree
        ([0.0, 0.5], 0.5, 0.75, False),  # both fail, spread equal to the margin: agree (inclusive)
        ([0.8, 0.6], 0.2, None, False),  # 0.8 - 0.6 is 0.20000000000000007 in floats: still within 0.2
        ([0.0, 0.5], 0.25, 0.75, True),  # both fail, but spread above the margin
        ([0.9], 0.5, 0.75, None),  # one judge: nothing to compare
    ],
)
def test_judges_on_both_sides_of_the_pass_line_disagree(
    scores: list[float], margin: float, pass_score: float | None, disagree: bool | None
) -> None:
    from eval_assets.scoring.statistics import judges_disagree

    assert judges_disagree(scores, margin=margin, pass_score=pass_score) is disagree
