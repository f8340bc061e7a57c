"""What a reviewer may decide about a task, checked before it is stored (pure).

A decision is data that is never lost: the warehouse appends every one (a changed mind is a new row naming
the one it replaces). This module says which decisions exist, what each needs, and what it means for the
example's verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Decision = Literal["agree", "override", "reference_wrong", "ambiguous", "remove", "skip"]
DECISIONS: tuple[Decision, ...] = get_args(Decision)
#: Decisions after which an unchanged output gets no new task (a skip is "not now", not a decision).
SETTLING: frozenset[Decision] = frozenset(set(DECISIONS) - {"skip"})


class DecisionError(ValueError):
    """A decision is missing what it needs (an override's score, a corrected reference, ...)."""


@dataclass(frozen=True)
class ProposedDecision:
    """A reviewer's decision on one task, before it is stored.

    Attributes:
        decision: agree with the evaluator, override its score, the reference is wrong, the example is
            ambiguous, the example should be removed, or skip (decide later).
        reviewer: Who decided (a name or an e-mail address).
        score: The person's normalized score in [0, 1]: an override's, or the evaluator's score agreed with.
        raw_score: An override's score as given, on the rubric's scale (pass/fail scorers: 0 or 1).
        proposed_reference: The corrected reference (reference_wrong only).
        note: Why.
    """

    decision: Decision
    reviewer: str
    score: float | None = None
    raw_score: float | None = None
    proposed_reference: str | None = None
    note: str = ""


def check_decision(proposed: ProposedDecision) -> ProposedDecision:
    """The decision, if it has what its kind needs.

    Raises:
        DecisionError: saying what is missing or out of range.
    """
    if proposed.decision not in DECISIONS:
        raise DecisionError(f"unknown decision {proposed.decision!r}; one of: {', '.join(DECISIONS)}")
    if not proposed.reviewer.strip():
        raise DecisionError("a decision needs a reviewer (who decided)")
    if proposed.decision == "override":
        if proposed.score is None:
            raise DecisionError("an override needs a score (on the rubric's scale)")
        if not proposed.note.strip():
            raise DecisionError("an override needs a note saying why the evaluator is wrong")
    elif proposed.raw_score is not None:
        raise DecisionError(f"only an override takes a score, not {proposed.decision}")
    if proposed.score is not None and not 0.0 <= proposed.score <= 1.0:
        raise DecisionError(f"a normalized score is between 0 and 1, got {proposed.score:g}")
    if proposed.decision == "reference_wrong" and not (proposed.proposed_reference or "").strip():
        raise DecisionError("reference_wrong needs the corrected reference (--reference)")
    if proposed.decision != "reference_wrong" and proposed.proposed_reference is not None:
        raise DecisionError(f"only reference_wrong takes a corrected reference, not {proposed.decision}")
    return proposed


def normalize(raw: float, *, scale_min: float, scale_max: float) -> float:
    """A score on a rubric's scale as a normalized score in [0, 1].

    Raises:
        DecisionError: the score is off the scale.
    """
    if not scale_min <= raw <= scale_max:
        raise DecisionError(f"score {raw:g} is off the scale [{scale_min:g}, {scale_max:g}]")
    return (raw - scale_min) / (scale_max - scale_min) if scale_max > scale_min else 1.0


def human_score(decision: Decision, *, person: float | None, evaluator: float | None) -> float | None:
    """The person's verdict as a normalized score: an override's score, the evaluator's when agreeing, else None.

    Ambiguous, remove and reference_wrong examples have no human verdict to count: the example itself is in
    question, not its score.
    """
    if decision == "override":
        return person
    if decision == "agree":
        return evaluator
    return None
