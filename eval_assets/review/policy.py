"""The config's ``review:`` block: which reasons make review tasks, how many a night, how big a sample.

Pure pydantic, built on ``config_base`` like every config block; ``eval_assets.config`` adds it to
``EvalConfig`` and calls :func:`review_problems` for the checks that need the config's scorers.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, get_args

from pydantic import Field, field_validator

from eval_assets.config_base import SCORER_NAME_PATTERN, Seed, StrictModel

#: Why an example needs a person, in the order of their default priority (most urgent first).
Reason = Literal["regression_flip", "judge_conflict", "judge_vs_deterministic", "calibration_sample"]
REASONS: tuple[Reason, ...] = get_args(Reason)

#: Where each reason's line of a problem points: ``(path inside the review block, message)``.
ReviewProblem = tuple[tuple[str | int, ...], str]


def _all_reasons() -> list[Reason]:
    return list(REASONS)


class ScorerPair(StrictModel):
    """A deterministic scorer and a judge whose pass/fail verdicts on one example should agree."""

    deterministic: str = Field(pattern=SCORER_NAME_PATTERN, description="Name of a deterministic scorer.")
    judge: str = Field(pattern=SCORER_NAME_PATTERN, description="Name of a rubric judge scorer.")


class CalibrationPolicy(StrictModel):
    """When a rubric judge counts as calibrated against people, and so may block a night."""

    min_decisions: int = Field(
        default=20,
        ge=1,
        le=1_000_000,
        description="Human decisions (agree or override) a judge needs before its error thresholds may block.",
    )
    kappa_floor: float = Field(
        default=0.4,
        ge=-1.0,
        le=1.0,
        description="The lower confidence bound of the judge's weighted kappa with people must be above this.",
    )
    confidence: float = Field(
        default=0.95, gt=0.5, lt=1.0, description="Coverage of kappa's confidence interval (e.g. 0.95)."
    )
    weighting: Literal["quadratic", "linear"] = Field(
        default="quadratic",
        description="How kappa weights a disagreement on an ordinal scale: quadratic (default) or linear.",
    )
    anchors: bool = Field(
        default=True,
        description="Re-grade each rubric's frozen anchor set (prompts/<rubric>.anchors.jsonl, when present) "
        "every night and fail judge_calibration_stable when kappa on it falls below kappa_floor.",
    )


class ReviewPolicy(StrictModel):
    """Which examples the nightly review queue asks a person about."""

    reasons: list[Reason] = Field(
        default_factory=_all_reasons,
        description="Reasons that create tasks: regression_flip, judge_conflict, judge_vs_deterministic, "
        "calibration_sample (default: all).",
    )
    max_tasks_per_night: int = Field(
        default=200, ge=0, le=100_000, description="Most tasks one night adds; the most urgent are kept."
    )
    max_per_reason: dict[Reason, int] = Field(
        default_factory=dict,
        description="Most tasks of one reason per night (default: only max_tasks_per_night applies).",
    )
    calibration_rate: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="Share of judge verdicts drawn at random each night for calibration (at least one when > 0).",
    )
    seed: Seed = Field(default=0, description="Seed of the calibration draw (each night draws anew from it).")
    judge_vs_deterministic: list[ScorerPair] = Field(
        default_factory=list,
        description="Scorer pairs whose disagreement makes a task (default: every deterministic scorer that "
        "needs a reference with every judge whose rubric requires one, on the examples both scored).",
    )

    page_url: str = Field(
        default="http://127.0.0.1:8765",
        pattern=r"^https?://[^\s]+$",
        description="Where the review page is served (`eval-assets review serve`); notifications and the report "
        "link to it, filtered on the night.",
    )
    calibration: CalibrationPolicy = Field(
        default_factory=CalibrationPolicy,
        description="When a judge is calibrated against people (may block) and how agreement is measured.",
    )

    @field_validator("reasons")
    @classmethod
    def _distinct(cls, value: list[Reason]) -> list[Reason]:
        repeated = sorted({reason for reason in value if value.count(reason) > 1})
        if repeated:
            raise ValueError(f"listed twice: {', '.join(repeated)}")
        return value

    @field_validator("max_per_reason")
    @classmethod
    def _caps_in_range(cls, value: dict[Reason, int]) -> dict[Reason, int]:
        for reason, cap in value.items():
            if not 0 <= cap <= 100_000:
                raise ValueError(f"{reason}: a cap is 0 .. 100000, got {cap}")
        return value

    def cap_of(self, reason: Reason) -> int:
        """The most tasks of ``reason`` one night may add."""
        return min(self.max_per_reason.get(reason, self.max_tasks_per_night), self.max_tasks_per_night)


def review_problems(
    policy: ReviewPolicy, *, deterministic: Iterable[str], judges: Iterable[str]
) -> list[ReviewProblem]:
    """Problems of a review block that need the config's scorers: pairs naming unknown or wrong-kind scorers.

    Args:
        policy: The parsed block.
        deterministic: Names of the config's deterministic scorers.
        judges: Names of the config's judge scorers.
    """
    plain, judged = sorted(deterministic), sorted(judges)
    problems: list[ReviewProblem] = []
    for index, pair in enumerate(policy.judge_vs_deterministic):
        problems.extend(_side_problems(index, "deterministic", pair.deterministic, plain, judged))
        problems.extend(_side_problems(index, "judge", pair.judge, judged, plain))
    for reason in policy.max_per_reason:
        if reason not in policy.reasons:
            problems.append((("max_per_reason", reason), f"{reason} is not in review.reasons: the cap has no effect"))
    return problems


def _side_problems(
    index: int, side: str, name: str, right_kind: Sequence[str], other_kind: Sequence[str]
) -> list[ReviewProblem]:
    where = ("judge_vs_deterministic", index, side)
    if name in right_kind:
        return []
    if name in other_kind:
        return [(where, f"{name!r} is not a {side} scorer; {side} scorers: {', '.join(right_kind) or 'none'}")]
    return [(where, f"unknown scorer {name!r}; {side} scorers: {', '.join(right_kind) or 'none'}")]
