"""Whether a judge may block: calibration rows, uncalibrated thresholds as warnings, and judge drift."""

from __future__ import annotations

from eval_assets.config import Threshold
from eval_assets.review.calibration import (
    RatedPair,
    Scale,
    calibration_rows,
    judge_drift,
    uncalibrated_scorers,
    warn_uncalibrated,
)
from eval_assets.review.policy import CalibrationPolicy
from eval_assets.scoring.gates import GateOutcome

SCALES = {"tone": Scale("rubric-tone", 1, 5)}
PANELS = {"tone": ["offline/judge", "offline/judge-strict"]}


def pairs(judge: str, ratings: list[tuple[int, int]]) -> list[RatedPair]:
    """Pairs given on the 1-5 scale, stored normalized as the warehouse holds them."""
    return [RatedPair("tone", judge, (a - 1) / 4, (b - 1) / 4, "v1") for a, b in ratings]


def test_a_judge_is_calibrated_only_with_enough_decisions_and_a_lower_bound_above_the_floor() -> None:
    policy = CalibrationPolicy(min_decisions=10, kappa_floor=0.4)
    agreeing = pairs("offline/judge", [(5, 5), (1, 1), (4, 4), (2, 2), (5, 5)] * 4)  # 20 pairs, kappa 1
    few = pairs("offline/judge-strict", [(5, 5), (1, 1)])
    rows = calibration_rows([*agreeing, *few], sample="decisions", scales=SCALES, panels=PANELS, policy=policy)
    by_judge = {row["judge_model"]: row for row in rows}
    assert by_judge["offline/judge"]["calibrated"] and by_judge["offline/judge"]["n"] == 20
    assert by_judge["offline/judge"]["kappa"] == 1.0 and by_judge["offline/judge"]["agreement"] == 1.0
    strict = by_judge["offline/judge-strict"]
    assert not strict["calibrated"] and strict["reason"] == "2 human decision(s), fewer than the 10 needed"
    # Enough decisions, but the judge agrees only by chance: its lower bound is not above the floor.
    noisy = pairs("offline/judge", [(5, 1), (1, 5), (5, 5), (1, 1), (3, 4)] * 4)
    (row, _) = calibration_rows(noisy, sample="decisions", scales=SCALES, panels=PANELS, policy=policy)
    assert not row["calibrated"] and "is not above the floor 0.4" in row["reason"]
    # A judge nobody checked still gets its row, n = 0.
    (empty, _) = calibration_rows([], sample="decisions", scales=SCALES, panels=PANELS, policy=policy)
    assert (empty["n"], empty["kappa"], empty["calibrated"]) == (0, None, False)


def outcome(metric: str, severity: str, passed: bool) -> GateOutcome:
    threshold = Threshold(metric=metric, min=0.6, severity=severity)  # type: ignore[arg-type]
    return GateOutcome(threshold, 0.5, 10, None, passed, "0.5 < min 0.6")


def test_an_uncalibrated_judges_error_threshold_warns_and_says_why() -> None:
    rows = [
        {
            "sample": "decisions",
            "scorer": "tone",
            "judge_model": "offline/judge",
            "calibrated": False,
            "reason": "3 human decision(s), fewer than the 20 needed",
        },
        {"sample": "anchors", "scorer": "exact", "judge_model": "x", "calibrated": False, "reason": "anchors"},
    ]
    uncalibrated = uncalibrated_scorers(rows)
    assert uncalibrated == {"tone": "offline/judge: 3 human decision(s), fewer than the 20 needed"}
    outcomes = [
        outcome("tone.mean", "error", False),
        outcome("contains.pass_rate", "error", False),
        outcome("tone.pass_rate", "warn", False),
    ]
    tone, contains, warned = warn_uncalibrated(outcomes, uncalibrated)
    assert tone.threshold.severity == "warn" and not tone.passed
    assert tone.reason == (
        "0.5 < min 0.6 (warns only: judge tone is not calibrated against people: offline/judge: 3 human "
        "decision(s), fewer than the 20 needed)"
    )
    assert contains == outcomes[1]  # a deterministic scorer's gate is untouched
    assert warned == outcomes[2]  # a warning stays as it was
    assert warn_uncalibrated(outcomes, {}) == outcomes  # calibrated judges block as configured


def test_drift_when_kappa_on_the_anchors_falls_or_the_reported_version_changes() -> None:
    policy = CalibrationPolicy(kappa_floor=0.4)
    good = pairs("offline/judge", [(5, 5), (1, 1), (4, 4), (2, 2)])
    rows = calibration_rows(good, sample="anchors", scales=SCALES, panels={"tone": ["offline/judge"]}, policy=policy)
    assert judge_drift(rows, {("tone", "offline/judge"): "v1"}, policy=policy).stable
    moved = judge_drift(rows, {("tone", "offline/judge"): "v0"}, policy=policy)
    assert moved.problems == ("tone / offline/judge: reported model version changed from v0 to v1",)
    bad = pairs("offline/judge", [(5, 1), (1, 5), (4, 2), (2, 4)])
    rows = calibration_rows(bad, sample="anchors", scales=SCALES, panels={"tone": ["offline/judge"]}, policy=policy)
    (problem,) = judge_drift(rows, {}, policy=policy).problems
    assert problem.startswith("tone / offline/judge: kappa -") and problem.endswith("on 4 anchors < floor 0.4")
