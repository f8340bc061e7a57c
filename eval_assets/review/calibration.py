"""Judges measured against people: the nightly ``calibration`` rows, and whether a judge may block (pure).

Two samples per (scorer, judge model):

- ``decisions``: every example people decided (agree or override) on this config's tasks up to the night,
  paired with that judge's own verdict on the decided task;
- ``anchors``: the rubric's frozen human-labelled anchor set, re-graded by the judge tonight (drift).

A judge is *calibrated* when its ``decisions`` sample has at least ``min_decisions`` pairs and the lower
confidence bound of its weighted kappa is above ``kappa_floor``. A judge scorer's error thresholds block only
while every judge of its panel is calibrated; otherwise they warn, and the report says why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from eval_assets.review.agreement import cohen_kappa, scale_categories, to_category
from eval_assets.review.policy import CalibrationPolicy
from eval_assets.scoring.gates import GateOutcome

Sample = Literal["decisions", "anchors"]


@dataclass(frozen=True)
class RatedPair:
    """One item both a judge and a person rated (normalized scores in [0, 1])."""

    scorer: str
    judge_model: str
    judge_score: float
    person_score: float
    judge_model_version: str | None = None


@dataclass(frozen=True)
class Scale:
    """A judge scorer's rubric and its scale."""

    rubric: str
    scale_min: float
    scale_max: float


def calibration_rows(
    pairs: Iterable[RatedPair],
    *,
    sample: Sample,
    scales: Mapping[str, Scale],
    panels: Mapping[str, Sequence[str]],
    policy: CalibrationPolicy,
) -> list[dict[str, Any]]:
    """One row per (scorer, judge model) of the config's judge panels, with n = 0 where nobody decided yet.

    Args:
        pairs: The paired ratings of this sample.
        sample: ``decisions`` or ``anchors``.
        scales: Each judge scorer's rubric and scale, by scorer name.
        panels: Each judge scorer's judge models, by scorer name.
        policy: The config's ``review.calibration``.
    """
    grouped: dict[tuple[str, str], list[RatedPair]] = defaultdict(list)
    for pair in pairs:
        grouped[(pair.scorer, pair.judge_model)].append(pair)
    rows = []
    for scorer in sorted(panels):
        scale = scales[scorer]
        categories = scale_categories(scale.scale_min, scale.scale_max)
        for judge in panels[scorer]:
            found = grouped.get((scorer, judge), [])

            agreement = cohen_kappa(
                [_category(p.judge_score, scale, categories) for p in found],
                [_category(p.person_score, scale, categories) for p in found],
                categories=categories,
                weighting=policy.weighting,
                confidence=policy.confidence,
            )
            versions = sorted({p.judge_model_version for p in found if p.judge_model_version})
            calibrated, reason = _verdict(agreement.n, agreement.low, policy)
            rows.append(
                {
                    "scorer": scorer,
                    "rubric": scale.rubric,
                    "judge_model": judge,
                    "judge_model_version": ",".join(versions) or None,
                    "sample": sample,
                    "n": agreement.n,
                    "agreement": agreement.percent,
                    "kappa": agreement.kappa,
                    "kappa_low": agreement.low,
                    "kappa_high": agreement.high,
                    "weighting": agreement.weighting,
                    "calibrated": calibrated,
                    "reason": reason,
                }
            )
    return rows


def _category(score: float, scale: Scale, categories: Sequence[int]) -> int:
    """A normalized score as a point of the scale (clamped: a mean of judges never leaves it)."""
    value = to_category(score, scale_min=scale.scale_min, scale_max=scale.scale_max)
    return min(max(value, categories[0]), categories[-1])


def _verdict(n: int, low: float | None, policy: CalibrationPolicy) -> tuple[bool, str]:
    if n < policy.min_decisions:
        return False, f"{n} human decision(s), fewer than the {policy.min_decisions} needed"
    assert low is not None  # n > 0
    if low <= policy.kappa_floor:
        return False, f"kappa lower bound {low:.2f} is not above the floor {policy.kappa_floor:g}"
    return True, f"kappa lower bound {low:.2f} > {policy.kappa_floor:g} on {n} human decisions"


def uncalibrated_scorers(rows: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Why each judge scorer may not block, by scorer (from ``decisions`` rows); calibrated ones are absent."""
    reasons: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["sample"] == "decisions" and not row["calibrated"]:
            reasons[row["scorer"]].append(f"{row['judge_model']}: {row['reason']}")
    return {scorer: "; ".join(found) for scorer, found in reasons.items()}


def warn_uncalibrated(outcomes: Sequence[GateOutcome], uncalibrated: Mapping[str, str]) -> list[GateOutcome]:
    """Error thresholds on an uncalibrated judge's metrics, made warnings that say why."""
    out = []
    for outcome in outcomes:
        scorer = outcome.threshold.metric.split(".", 1)[0] if "." in outcome.threshold.metric else None
        why = uncalibrated.get(scorer) if scorer else None
        if why is None or outcome.threshold.severity != "error":
            out.append(outcome)
            continue
        threshold = outcome.threshold.model_copy(update={"severity": "warn"})
        reason = f"{outcome.reason} (warns only: judge {scorer} is not calibrated against people: {why})"
        out.append(replace(outcome, threshold=threshold, reason=reason))
    return out


@dataclass(frozen=True)
class Drift:
    """Why a judge's anchor grades or model version moved (empty ``problems``: stable)."""

    problems: tuple[str, ...]

    @property
    def stable(self) -> bool:
        """No judge drifted."""
        return not self.problems


def judge_drift(
    anchors: Iterable[Mapping[str, Any]],
    previous_versions: Mapping[tuple[str, str], str],
    *,
    policy: CalibrationPolicy,
) -> Drift:
    """Drift of the judges: kappa on the anchor set below the floor, or a changed reported model version.

    Args:
        anchors: Tonight's ``anchors`` rows (``calibration_rows(sample="anchors")``).
        previous_versions: Each (scorer, judge model)'s reported version on the previous night with anchors.
        policy: The config's ``review.calibration``.
    """
    problems = []
    for row in anchors:
        if not row["n"]:
            continue
        who = f"{row['scorer']} / {row['judge_model']}"
        if row["kappa"] is not None and row["kappa"] < policy.kappa_floor:
            problems.append(f"{who}: kappa {row['kappa']:.2f} on {row['n']} anchors < floor {policy.kappa_floor:g}")
        before = previous_versions.get((row["scorer"], row["judge_model"]))
        now = row["judge_model_version"]
        if before and now and before != now:
            problems.append(f"{who}: reported model version changed from {before} to {now}")
    return Drift(tuple(problems))
