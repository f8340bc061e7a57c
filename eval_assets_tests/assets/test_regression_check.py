"""Issue 11, item 2: the regression gate's three outcomes, and what INCONCLUSIVE does under each policy."""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import pytest

from eval_assets import warehouse as wh
from eval_assets.assets.report_checks import regression_check
from eval_assets.config import RegressionPolicy


def row(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eval_date": dt.date(2026, 11, 7),
        "config_name": "nightly",
        "run_id": "r",
        "git_sha": "g",
        "code_sha": "c",
        "config_hash": "h",
        "scorer": "contains",
        "tag": None,
        "kind": "pass_fail",
        "baseline_config": "nightly",
        "baseline_date": dt.date(2026, 11, 6),
        "n": 10,
        "baseline_value": 1.0,
        "current_value": 0.7,
        "delta": -0.3,
        "ci_low": -0.6,
        "ci_high": 0.0,
        "p_value": 0.25,
        "flipped_to_fail": 3,
        "flipped_to_pass": 0,
        "regression": False,
        "gated": True,
        "verdict": "INCONCLUSIVE",
        "mde": 0.616,
        "n_needed": 940,
        "p_adjusted": 0.25,
    }
    return {**base, **changes}


def check(policy: RegressionPolicy, *rows: dict[str, Any]) -> dg.AssetCheckResult:
    return regression_check(wh.frame("comparisons", list(rows)), policy, "nightly 2026-11-06", "accepted by alice")


@pytest.mark.parametrize(
    ("inconclusive", "passed", "severity"),
    [
        ("warn", False, dg.AssetCheckSeverity.WARN),
        ("error", False, dg.AssetCheckSeverity.ERROR),
        ("pass", True, dg.AssetCheckSeverity.WARN),  # passes, and could never block
    ],
)
def test_an_inconclusive_gate_follows_its_policy_and_says_what_it_would_take(
    inconclusive: str, passed: bool, severity: dg.AssetCheckSeverity
) -> None:
    result = check(RegressionPolicy(inconclusive=inconclusive), row())  # type: ignore[arg-type]
    assert result.passed is passed and result.severity == severity
    assert result.metadata["verdict"].value == "INCONCLUSIVE"
    assert result.metadata["n_needed"].value == 940
    assert result.metadata["baseline_reason"].value == "accepted by alice"
    assert result.description == (
        "inconclusive vs nightly 2026-11-06: contains: n=10 detects only drops of 61.6 pp or more; 940 needed "
        "for 5.0 pp (largest drop: contains -30.0 pp (p=0.2500, n=10, 3 flipped to fail))"
    )


def test_a_failure_wins_over_an_inconclusive_comparison() -> None:
    failing = row(scorer="refusal", n=400, delta=-0.3, p_value=1e-6, regression=True, verdict="FAIL", mde=0.02)
    result = check(RegressionPolicy(), row(), failing)
    assert result.passed is False and result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["verdict"].value == "FAIL"
    assert str(result.description).startswith("regression vs nightly 2026-11-06: refusal -30.0 pp")


def test_a_powerful_comparison_without_a_drop_passes() -> None:
    result = check(RegressionPolicy(), row(n=2000, delta=0.0, p_value=1.0, verdict="PASS", mde=0.02, n_needed=940))
    assert result.passed is True and result.metadata["verdict"].value == "PASS"
    assert str(result.description).startswith("no significant drop vs nightly 2026-11-06")


def test_an_inconclusive_tag_slice_does_not_make_the_gate_inconclusive() -> None:
    """Slices are advisory: only primary (gated, overall) comparisons decide the gate."""
    powerful = row(n=2000, delta=0.0, p_value=1.0, verdict="PASS", mde=0.02)
    slice_ = row(tag="billing", gated=False)
    result = check(RegressionPolicy(), powerful, slice_)
    assert result.passed is True and result.metadata["verdict"].value == "PASS"
