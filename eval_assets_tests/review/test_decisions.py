"""Issue 10, item 3: what a reviewer may decide, what each decision needs, and what it means for the verdict."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval_assets.project import load_plan
from eval_assets.review.decisions import (
    DecisionError,
    ProposedDecision,
    check_decision,
    human_score,
    normalize,
)
from eval_assets.review.night import scorer_rules


@pytest.mark.parametrize(
    ("proposed", "message"),
    [
        (ProposedDecision("override", "ana", note="wrong"), "an override needs a score"),
        (ProposedDecision("override", "ana", score=0.5), "an override needs a note"),
        (ProposedDecision("agree", "ana", raw_score=3), "only an override takes a score"),
        (ProposedDecision("reference_wrong", "ana"), "needs the corrected reference"),
        (ProposedDecision("ambiguous", "ana", proposed_reference="x"), "only reference_wrong takes"),
        (ProposedDecision("agree", "  "), "needs a reviewer"),
        (ProposedDecision("override", "ana", score=1.5, note="n"), "between 0 and 1"),
        (ProposedDecision("approve", "ana"), "unknown decision 'approve'"),  # type: ignore[arg-type]
    ],
)
def test_a_decision_missing_what_it_needs_is_refused(proposed: ProposedDecision, message: str) -> None:
    with pytest.raises(DecisionError, match=message):
        check_decision(proposed)


@pytest.mark.parametrize(
    "proposed",
    [
        ProposedDecision("agree", "ana", score=0.75),
        ProposedDecision("override", "ana", score=0.0, raw_score=1, note="invents a refund policy"),
        ProposedDecision("reference_wrong", "ana", proposed_reference="$9.99 a month"),
        ProposedDecision("ambiguous", "ana"),
        ProposedDecision("remove", "ana", note="duplicate"),
        ProposedDecision("skip", "ana"),
    ],
)
def test_each_decision_with_what_it_needs_is_accepted(proposed: ProposedDecision) -> None:
    assert check_decision(proposed) is proposed


def test_scores_on_the_rubric_scale_are_normalized_and_off_scale_is_refused() -> None:
    assert normalize(1, scale_min=1, scale_max=5) == 0.0
    assert normalize(4, scale_min=1, scale_max=5) == 0.75
    with pytest.raises(DecisionError, match=r"off the scale \[1, 5\]"):
        normalize(0, scale_min=1, scale_max=5)


def test_only_agree_and_override_give_a_human_verdict() -> None:
    assert human_score("override", person=1.0, evaluator=0.25) == 1.0
    assert human_score("agree", person=None, evaluator=0.25) == 0.25
    # The example itself is in question, not its score: nothing to count.
    for decision in ("reference_wrong", "ambiguous", "remove", "skip"):
        assert human_score(decision, person=1.0, evaluator=0.25) is None  # type: ignore[arg-type]


def test_the_bundled_nightly_config_compares_contains_with_faithfulness_but_not_tone(data_dir: Path) -> None:
    plan = load_plan(data_dir, "nightly")
    rules = scorer_rules(plan.config.config, plan.rubrics)
    assert rules["contains"].compares_reference and not rules["contains"].is_judge
    assert rules["faithfulness"].compares_reference and rules["faithfulness"].is_judge
    assert not rules["tone"].compares_reference  # its rubric needs no reference
    assert not rules["refusal"].compares_reference
    assert (rules["faithfulness"].pass_score, rules["faithfulness"].margin) == (0.75, 0.5)
