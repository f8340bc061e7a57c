"""Issue 10, item 1: which examples of a night become review tasks, with which reason and priority."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, strategies as st

from eval_assets.review.policy import ReviewPolicy
from eval_assets.review.selection import (
    Flip,
    JudgeVote,
    NightInputs,
    ScoredExample,
    ScorerRule,
    output_hash,
    select_tasks,
)

NIGHT = dt.date(2026, 11, 20)
RULES = {
    "contains": ScorerRule("contains", is_judge=False, pass_score=0.5, compares_reference=True),
    "faithfulness": ScorerRule("faithfulness", is_judge=True, pass_score=0.75, margin=0.5, compares_reference=True),
}


def scored(example: str, scorer: str, score: float, *, output: str | None = None) -> ScoredExample:
    passed = score >= RULES[scorer].pass_score
    return ScoredExample("faq", example, scorer, score, passed, output_hash(output or f"answer {example}"))


def night(scores: list[ScoredExample], **kwargs: object) -> NightInputs:
    return NightInputs(NIGHT, "nightly", scores, RULES, **kwargs)  # type: ignore[arg-type]


def test_flips_make_tasks_only_on_a_scorer_that_regressed() -> None:
    scores = [scored("a", "contains", 0.0), scored("b", "contains", 0.0), scored("c", "faithfulness", 0.25)]
    flips = [Flip("faq", "b", "contains", NIGHT - dt.timedelta(1)), Flip("faq", "a", "contains", NIGHT),
             Flip("faq", "c", "faithfulness", NIGHT)]  # fmt: skip
    policy = ReviewPolicy(reasons=["regression_flip"])
    # faithfulness flipped one example but did not regress as a whole: noise, not a task.
    tasks = select_tasks(night(scores, flips=flips, regressed={"contains"}), policy)
    assert [(t.example_id, t.reason, t.priority) for t in tasks] == [
        ("a", "regression_flip", 1),
        ("b", "regression_flip", 1),
    ]
    assert "passed in the baseline (2026-11-19)" in tasks[1].detail
    # The same flips on a night without a regression make no task at all.
    assert select_tasks(night(scores, flips=flips, regressed=set()), policy) == []


def test_judges_on_both_sides_of_the_pass_line_conflict_even_within_the_margin() -> None:
    scores = [scored("a", "faithfulness", 0.75), scored("b", "faithfulness", 0.5), scored("c", "faithfulness", 1.0)]
    votes = [
        # a: 0.5 vs 1.0, spread 0.5 is not above the margin, but one fails and one passes at 0.75.
        JudgeVote("faq", "a", "faithfulness", "offline/judge", 1.0),
        JudgeVote("faq", "a", "faithfulness", "offline/judge-strict", 0.5),
        # b: both fail, 0.5 apart: within the margin, same side: agreement.
        JudgeVote("faq", "b", "faithfulness", "offline/judge", 0.0),
        JudgeVote("faq", "b", "faithfulness", "offline/judge-strict", 0.5),
        # c: one judge's verdict is missing: a panel of one cannot disagree.
        JudgeVote("faq", "c", "faithfulness", "offline/judge", 1.0),
        JudgeVote("faq", "c", "faithfulness", "offline/judge-strict", None),
    ]
    tasks = select_tasks(night(scores, votes=votes), ReviewPolicy(reasons=["judge_conflict"]))
    assert [(t.example_id, t.reason, t.priority) for t in tasks] == [("a", "judge_conflict", 2)]
    assert "both sides of the pass line 0.75" in tasks[0].detail and "offline/judge-strict 0.50" in tasks[0].detail


def test_a_wide_spread_conflicts_on_the_same_side_and_the_widest_comes_first() -> None:
    rules = {"tone": ScorerRule("tone", is_judge=True, pass_score=0.0, margin=0.25)}
    scores = [ScoredExample("faq", e, "tone", 0.5, True, output_hash(e)) for e in ("a", "b")]
    votes = [JudgeVote("faq", "a", "tone", "j1", 0.5), JudgeVote("faq", "a", "tone", "j2", 0.8),
             JudgeVote("faq", "b", "tone", "j1", 0.0), JudgeVote("faq", "b", "tone", "j2", 1.0)]  # fmt: skip
    tasks = select_tasks(NightInputs(NIGHT, "n", scores, rules, votes=votes), ReviewPolicy(reasons=["judge_conflict"]))
    assert [t.example_id for t in tasks] == ["b", "a"]
    assert "spread 1.00 > margin 0.25" in tasks[0].detail and "pass line" not in tasks[0].detail


def test_a_judge_failing_what_a_deterministic_scorer_passes_is_a_task_on_the_judge() -> None:
    scores = [
        scored("a", "contains", 1.0), scored("a", "faithfulness", 0.25),  # disagree
        scored("b", "contains", 1.0), scored("b", "faithfulness", 1.0),   # agree
        scored("c", "contains", 0.0), scored("c", "faithfulness", 0.75),  # disagree the other way
    ]  # fmt: skip
    tasks = select_tasks(night(scores), ReviewPolicy(reasons=["judge_vs_deterministic"]))
    assert [(t.example_id, t.scorer, t.priority) for t in tasks] == [("a", "faithfulness", 3), ("c", "faithfulness", 3)]
    assert tasks[0].detail == "contains passes, faithfulness fails (0.25 against pass_score 0.75)"


def test_by_default_only_scorers_that_both_use_the_reference_are_compared() -> None:
    # tone is about politeness (its rubric needs no reference): its verdict need not match contains.
    rules = {**RULES, "tone": ScorerRule("tone", is_judge=True, pass_score=0.5)}
    scores = [scored("a", "contains", 1.0), ScoredExample("faq", "a", "tone", 0.0, False, output_hash("answer a"))]
    every = NightInputs(NIGHT, "n", scores, rules)
    assert select_tasks(every, ReviewPolicy(reasons=["judge_vs_deterministic"])) == []
    # Configured pairs replace the default: whoever configures them says these two should agree.
    paired = ReviewPolicy.model_validate(
        {
            "reasons": ["judge_vs_deterministic"],
            "judge_vs_deterministic": [{"deterministic": "contains", "judge": "tone"}],
        }
    )
    assert [t.scorer for t in select_tasks(every, paired)] == ["tone"]


def judge_night(n: int, eval_date: dt.date = NIGHT) -> NightInputs:
    scores = [scored(f"e{i:03}", "faithfulness", 1.0) for i in range(n)]
    scores += [scored(f"e{i:03}", "contains", 1.0) for i in range(n)]
    return NightInputs(eval_date, "nightly", scores, RULES)


def test_the_calibration_sample_is_a_seeded_share_of_judge_verdicts_drawn_anew_each_night() -> None:
    policy = ReviewPolicy(reasons=["calibration_sample"], calibration_rate=0.1)
    first = select_tasks(judge_night(100), policy)
    assert len(first) == 10 and {t.scorer for t in first} == {"faithfulness"}  # deterministic scores are not drawn
    assert {t.reason for t in first} == {"calibration_sample"} and {t.priority for t in first} == {4}
    assert select_tasks(judge_night(100), policy) == first  # reproducible
    other_night = select_tasks(judge_night(100, NIGHT + dt.timedelta(1)), policy)
    other_seed = select_tasks(judge_night(100), policy.model_copy(update={"seed": 1}))
    assert {t.example_id for t in other_night} != {t.example_id for t in first}
    assert {t.example_id for t in other_seed} != {t.example_id for t in first}
    # A small night still gets its sample: the share is rounded up.
    assert len(select_tasks(judge_night(3), policy)) == 1
    assert select_tasks(judge_night(3), policy.model_copy(update={"calibration_rate": 0.0})) == []


def test_an_example_selected_twice_is_one_task_with_both_reasons_and_the_more_urgent_priority() -> None:
    scores = [scored("a", "contains", 1.0), scored("a", "faithfulness", 0.25)]
    flips = [Flip("faq", "a", "faithfulness", NIGHT)]
    tasks = select_tasks(night(scores, flips=flips, regressed={"faithfulness"}), ReviewPolicy(calibration_rate=1.0))
    assert len(tasks) == 1
    assert tasks[0].reasons == ("regression_flip", "judge_vs_deterministic", "calibration_sample")
    assert (tasks[0].reason, tasks[0].priority) == ("regression_flip", 1)


def test_a_decided_example_gets_no_new_task_until_its_output_changes() -> None:
    scores = [scored("a", "faithfulness", 1.0, output="same"), scored("b", "faithfulness", 1.0, output="new")]
    decided = {("faq", "a", output_hash("same"), "faithfulness"), ("faq", "b", output_hash("old"), "faithfulness")}
    policy = ReviewPolicy(reasons=["calibration_sample"], calibration_rate=1.0)
    tasks = select_tasks(night(scores, decided=decided), policy)
    assert [t.example_id for t in tasks] == ["b"]  # b's answer changed since the person looked at it
    assert tasks[0].output_hash == output_hash("new")


def test_caps_keep_the_most_urgent_tasks() -> None:
    scores = [scored(f"e{i}", "contains", 0.0) for i in range(5)] + [scored("z", "faithfulness", 1.0)]
    flips = [Flip("faq", f"e{i}", "contains", NIGHT) for i in range(5)]
    inputs = night(scores, flips=flips, regressed={"contains"})
    capped = select_tasks(inputs, ReviewPolicy(max_tasks_per_night=3, calibration_rate=1.0))
    assert [t.reason for t in capped] == ["regression_flip"] * 3
    per_reason = select_tasks(inputs, ReviewPolicy(max_per_reason={"regression_flip": 2}, calibration_rate=1.0))
    assert [t.reason for t in per_reason] == ["regression_flip", "regression_flip", "calibration_sample"]


def test_failed_calls_have_nothing_to_review() -> None:
    broken = ScoredExample("faq", "a", "faithfulness", None, None, None)
    assert select_tasks(night([broken]), ReviewPolicy(calibration_rate=1.0)) == []


@given(st.integers(0, 60), st.floats(0.0, 1.0), st.integers(0, 2**32))
def test_the_sample_size_is_the_share_rounded_up_and_never_more_than_the_verdicts(
    n: int, rate: float, seed: int
) -> None:
    policy = ReviewPolicy(reasons=["calibration_sample"], calibration_rate=rate, seed=seed, max_tasks_per_night=1000)
    tasks = select_tasks(judge_night(n), policy)
    assert len(tasks) == math.ceil(rate * n) <= n
    assert (len(tasks) > 0) == (rate > 0 and n > 0)  # any positive share samples every night with verdicts
    assert len({t.key for t in tasks}) == len(tasks)


@pytest.mark.parametrize(
    "reason", ["regression_flip", "judge_conflict", "judge_vs_deterministic", "calibration_sample"]
)
def test_a_reason_left_out_of_the_policy_makes_no_task(reason: str) -> None:
    scores = [scored("a", "contains", 1.0), scored("a", "faithfulness", 0.25)]
    votes = [JudgeVote("faq", "a", "faithfulness", "j1", 1.0), JudgeVote("faq", "a", "faithfulness", "j2", 0.0)]
    inputs = night(scores, flips=[Flip("faq", "a", "faithfulness", NIGHT)], regressed={"faithfulness"}, votes=votes)
    everything = select_tasks(inputs, ReviewPolicy(calibration_rate=1.0))
    assert reason in everything[0].reasons
    others = [r for r in everything[0].reasons if r != reason]
    without = select_tasks(inputs, ReviewPolicy(reasons=others, calibration_rate=1.0))  # type: ignore[arg-type]
    assert [t.reasons for t in without] == [tuple(others)]
