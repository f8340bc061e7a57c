"""Issue 11, items 2 and 3: minimum detectable effects, three-way verdicts, and Benjamini-Hochberg."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, strategies as st

from eval_assets.config import RegressionPolicy
from eval_assets.scoring.comparison import compare_runs
from eval_assets.scoring.power import (
    benjamini_hochberg,
    mcnemar_mde,
    mcnemar_n_needed,
    mean_mde,
    mean_n_needed,
    verdict,
)

rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
alphas = st.floats(min_value=0.001, max_value=0.2)
powers = st.floats(min_value=0.5, max_value=0.99)


@given(n=st.integers(1, 100_000), extra=st.integers(0, 100_000), discordance=rates, alpha=alphas, power=powers)
def test_mcnemar_mde_is_in_the_unit_interval_and_never_grows_with_n(
    n: int, extra: int, discordance: float, alpha: float, power: float
) -> None:
    small = mcnemar_mde(n, discordance, alpha=alpha, power=power)
    large = mcnemar_mde(n + extra, discordance, alpha=alpha, power=power)
    assert small is not None and large is not None
    assert 0.0 < large <= small <= 1.0


@given(n=st.integers(2, 100_000), extra=st.integers(0, 100_000), sd=rates, alpha=alphas, power=powers)
def test_mean_mde_is_in_the_unit_interval_and_never_grows_with_n(
    n: int, extra: int, sd: float, alpha: float, power: float
) -> None:
    small = mean_mde(n, sd, alpha=alpha, power=power)
    large = mean_mde(n + extra, sd, alpha=alpha, power=power)
    assert small is not None and large is not None
    assert 0.0 <= large <= small <= 1.0


@given(effect=st.floats(min_value=0.01, max_value=1.0), discordance=rates, alpha=alphas, power=powers)
def test_the_n_needed_for_an_effect_can_detect_it(
    effect: float, discordance: float, alpha: float, power: float
) -> None:
    """The two functions agree: at the n said to be needed, the MDE is the effect or smaller (one less: larger)."""
    needed = mcnemar_n_needed(effect, discordance, alpha=alpha, power=power)
    assert needed is not None
    at_needed = mcnemar_mde(needed, discordance, alpha=alpha, power=power)
    assert at_needed is not None and at_needed <= effect + 1e-6
    if needed > 1:
        before = mcnemar_mde(needed - 1, discordance, alpha=alpha, power=power)
        assert before is not None and before > effect - 1e-6


def test_mde_by_hand() -> None:
    # Connor (1987): 30 % of 10 pairs flipped. sqrt(10) d = 1.96 sqrt(max(0.3, d)) + 0.84 sqrt(max(0.3, d) - d^2)
    # holds at d ~ 0.62: such a slice cannot see a 30 pp drop, let alone 5 pp.
    assert mcnemar_mde(10, 0.3) == pytest.approx(0.62, abs=0.01)
    # (1.96 sqrt(0.3) + 0.8416 sqrt(0.3 - 0.05^2))^2 / 0.05^2 = 939.6 -> 940 pairs for 5 pp.
    assert mcnemar_n_needed(0.05, 0.3) == 940
    # Nothing flipped is no free lunch: a drop of d needs at least d discordant pairs, so with none observed
    # 10 pairs still detect only ~62 pp (the same as above, where the MDE exceeds the 30 % discordance).
    assert mcnemar_mde(10, 0.0) == pytest.approx(mcnemar_mde(10, 0.3))
    assert mcnemar_mde(400, 0.0) == pytest.approx(0.0196, abs=0.001)  # (1.96 + 0.84)^2 / 400 for small d
    assert mcnemar_mde(0, 0.3) is None and mean_mde(0, 0.1) is None
    assert mean_mde(1, None) == 1.0  # one pair: no spread to go by
    assert mean_mde(100, 0.2) == pytest.approx((1.959964 + 0.841621) * 0.2 / 10, rel=1e-5)
    assert mean_n_needed(0.05, 0.2) == math.ceil(((1.959964 + 0.841621) * 0.2 / 0.05) ** 2)
    assert mcnemar_n_needed(0.0, 0.3) is None  # every drop matters: no n is enough


@pytest.mark.parametrize(
    ("drop", "p", "mde", "expected"),
    [
        (0.30, 0.25, 0.62, "INCONCLUSIVE"),  # a large drop, not significant, and the slice is too small to tell
        (0.30, 0.001, 0.62, "FAIL"),  # significant and large: fails whatever the power
        (0.01, 0.001, 0.02, "PASS"),  # significant but below min_effect, and powerful enough
        (-0.10, 0.001, 0.02, "PASS"),  # a gain
        (0.30, None, 1.0, "INCONCLUSIVE"),  # no p-value (one graded pair): cannot tell
        (None, None, None, None),  # nothing paired
    ],
)
def test_three_way_verdict(drop: float | None, p: float | None, mde: float | None, expected: str | None) -> None:
    assert verdict(drop=drop, p_value=p, mde=mde, min_effect=0.05, alpha=0.05) == expected


def test_min_effect_zero_does_not_judge_power() -> None:
    assert verdict(drop=0.0, p_value=0.9, mde=0.3, min_effect=0.0, alpha=0.05) == "PASS"


def _scores(n: int, *, failing_now: int, tag: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Baseline: all n pass; now the first ``failing_now`` fail (a drop of failing_now / n, all one way)."""

    def frame(passed: list[bool]) -> pl.DataFrame:
        return pl.DataFrame(
            {
                "dataset": ["qa"] * n,
                "example_id": [f"e{i:04d}" for i in range(n)],
                "scorer": ["contains"] * n,
                "scorer_kind": ["contains"] * n,
                "score": [1.0 if p else 0.0 for p in passed],
                "passed": passed,
                "tags": [[tag] if tag else [] for _ in range(n)],
            }
        )

    return frame([i >= failing_now for i in range(n)]), frame([True] * n)


def test_a_ten_example_slice_with_a_30_pp_drop_is_inconclusive_with_its_mde_and_n_needed() -> None:
    current, baseline = _scores(10, failing_now=3)
    (overall,) = compare_runs(current, baseline, policy=RegressionPolicy())
    assert overall.delta == pytest.approx(-0.3)
    assert overall.p_value == pytest.approx(0.25)  # exact McNemar: 3 flips one way, 2 * 0.5^3
    assert overall.verdict == "INCONCLUSIVE" and not overall.regression
    assert overall.mde == pytest.approx(0.62, abs=0.01)
    assert overall.n_needed == 940


def test_four_hundred_examples_with_the_same_drop_fail() -> None:
    current, baseline = _scores(400, failing_now=120)
    (overall,) = compare_runs(current, baseline, policy=RegressionPolicy())
    assert overall.verdict == "FAIL" and overall.regression
    assert overall.mde is not None and overall.mde < 0.3


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0.0, max_value=1.0)), max_size=60), alphas)
def test_bh_never_rejects_more_than_the_raw_p_values(p_values: list[float | None], alpha: float) -> None:
    adjusted = benjamini_hochberg(p_values)
    assert len(adjusted) == len(p_values)
    for raw, q in zip(p_values, adjusted, strict=True):
        assert (raw is None) == (q is None)
        if raw is not None and q is not None:
            assert raw <= q <= 1.0
            assert not (q < alpha and raw >= alpha)  # a rejection on q is a rejection on p
    rejected_raw = sum(1 for p in p_values if p is not None and p < alpha)
    rejected_bh = sum(1 for q in adjusted if q is not None and q < alpha)
    assert rejected_bh <= rejected_raw


def test_bh_by_hand() -> None:
    # m = 4: p (0.01, 0.04, 0.03, 0.5) -> sorted 0.01, 0.03, 0.04, 0.5 -> 4p/rank 0.04, 0.06, 0.0533, 0.5,
    # then the running minimum from the top: 0.04, 0.0533, 0.0533, 0.5.
    assert benjamini_hochberg([0.01, 0.04, None, 0.03, 0.5]) == pytest.approx([0.04, 0.16 / 3, None, 0.16 / 3, 0.5])
    assert benjamini_hochberg([]) == []
    with pytest.raises(ValueError, match="p-values must be in"):
        benjamini_hochberg([1.5])


def test_secondary_comparisons_are_judged_on_the_adjusted_p_value() -> None:
    """A tag slice significant only before correction is not a regression; the primary one is judged raw."""
    n = 60
    current, baseline = _scores(n, failing_now=7)
    # "billing" holds the 7 flips (7 of 20, raw p = 2 * 0.5^7 = 0.0156); ten other tags of 4 unchanged examples.
    tags = [["billing"] if i < 20 else [f"t{i % 10}"] for i in range(n)]
    current = current.with_columns(pl.Series("tags", tags))
    baseline = baseline.with_columns(pl.Series("tags", tags))
    comparisons = {c.tag: c for c in compare_runs(current, baseline, policy=RegressionPolicy(min_effect=0.05))}
    assert len(comparisons) == 12  # the family: overall, billing, t0..t9
    billing, overall = comparisons["billing"], comparisons[None]
    # m = 12, two p-values of 0.015625 at ranks 1 and 2: q = 12 * 0.015625 / 2 = 0.09375 for both.
    assert billing.p_value == pytest.approx(0.015625) and billing.p_adjusted == pytest.approx(0.09375)
    assert not billing.gated and not billing.regression  # -35 pp, but not significant after correction
    assert overall.gated and overall.p_adjusted == pytest.approx(0.09375)
    assert overall.regression and overall.verdict == "FAIL"  # primary: raw p 0.0156 < 0.05, drop 11.7 pp
    assert all(comparisons[f"t{i}"].p_adjusted == 1.0 for i in range(10))
