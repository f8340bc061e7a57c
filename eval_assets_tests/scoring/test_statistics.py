"""Tests for the paired regression statistics: textbook values, tricky cases, and invariants (hypothesis)."""

from __future__ import annotations

import math
import random
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.scoring.statistics import (
    PairedComparison,
    compare_pass_fail,
    compare_scores,
    is_regression,
    judges_disagree,
    mcnemar_exact_p,
    wilson_interval,
)


def exact_mcnemar(b: int, c: int) -> float:
    """The definition, in exact integer arithmetic: 2 * sum_{i <= min(b, c)} C(n, i) / 2^n, capped at 1."""
    n, k = b + c, min(b, c)
    term = total = 1  # C(n, 0)
    for i in range(1, k + 1):
        term = term * (n - i + 1) // i
        total += term
    return min(1.0, float(Fraction(2 * total, 2**n)))


def pass_fail_runs(both: int, only_baseline: int, only_current: int, neither: int) -> tuple[dict[int, bool], ...]:
    """Two runs over ids 0..n-1 with the given paired 2x2 table."""
    cells = [(True, True)] * both + [(True, False)] * only_baseline
    cells += [(False, True)] * only_current + [(False, False)] * neither
    return {i: was for i, (was, _) in enumerate(cells)}, {i: now for i, (_, now) in enumerate(cells)}


def test_pure_statistics_module_never_imports_dagster() -> None:
    # A fresh interpreter: in this one, other tests may already have imported dagster.
    code = "import sys, eval_assets.scoring.statistics; assert 'dagster' not in sys.modules, 'dagster was imported'"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)


# --------------------------------------------------------------------------------------------------
# mcnemar_exact_p
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "expected"),
    [
        # No discordant pairs: no evidence of any change.
        (0, 0, 1.0),
        # One flip can never be significant: 2 * P(X <= 0) = 2 * 1/2.
        (0, 1, 1.0),
        # Balanced flips: the doubled tail exceeds 1 and is capped.
        (5, 5, 1.0),
        # n odd and nearly balanced: P(X <= 3 | n=7) is exactly 1/2, so p is exactly 1.
        (3, 4, 1.0),
        # Ten flips all one way: 2 / 2^10.
        (10, 0, 0.001953125),
        (0, 10, 0.001953125),
        # Bentur et al. (2009) in Fagerland, Lydersen & Laake (2013): exact conditional p = 0.070.
        (1, 7, 18 / 256),
        # Cavo et al. (2012), same source: exact conditional p = 0.052.
        (16, 6, 0.052478790283203125),
        # Wikipedia's McNemar example (121 vs 59): the asymptotic test says chi2 = 21.35; exact p ~ 4.43e-6.
        (121, 59, 4.434449263755176e-06),
    ],
)
def test_mcnemar_exact_p_known_values(b: int, c: int, expected: float) -> None:
    assert mcnemar_exact_p(b, c) == pytest.approx(expected, rel=1e-12)


@given(st.integers(0, 400), st.integers(0, 400))
def test_mcnemar_exact_p_matches_integer_arithmetic(b: int, c: int) -> None:
    p = mcnemar_exact_p(b, c)
    assert 0.0 <= p <= 1.0
    assert p == pytest.approx(exact_mcnemar(b, c), rel=1e-12, abs=1e-300)
    assert mcnemar_exact_p(c, b) == p


@pytest.mark.parametrize(("b", "c"), [(9_800, 10_200), (9_930, 10_070), (9_000, 11_000)])
def test_mcnemar_exact_p_is_precise_for_large_counts(b: int, c: int) -> None:
    # lgamma of numbers near n carries absolute error ~n * 1e-16, which becomes relative error in p.
    assert mcnemar_exact_p(b, c) == pytest.approx(exact_mcnemar(b, c), rel=1e-10)


def test_mcnemar_exact_p_is_stable_at_a_hundred_thousand_pairs() -> None:
    # Near the centre: continuity-corrected normal approximation, z = 599 / sqrt(1e5).
    z = (50_300 - 49_700 - 1) / math.sqrt(100_000)
    assert mcnemar_exact_p(49_700, 50_300) == pytest.approx(math.erfc(z / math.sqrt(2)), rel=1e-3)
    # All flips one way: the true p is 2^-99999, below the smallest float, so 0.0 is the right answer.
    assert mcnemar_exact_p(0, 100_000) == 0.0
    assert mcnemar_exact_p(50_000, 50_000) == 1.0
    assert 0.0 < mcnemar_exact_p(48_000, 52_000) < 1e-30


def test_mcnemar_exact_p_rejects_negative_counts() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        mcnemar_exact_p(-1, 3)


# --------------------------------------------------------------------------------------------------
# wilson_interval
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("successes", "n", "expected"),
    [
        # Textbook 95% Wilson intervals: unlike Wald, 0/10 and 10/10 do not collapse to a point.
        (0, 10, (0.0, 0.2775)),
        (10, 10, (0.7225, 1.0)),
        (5, 10, (0.2366, 0.7634)),
        (81, 263, (0.2553, 0.3662)),
    ],
)
def test_wilson_interval_known_values(successes: int, n: int, expected: tuple[float, float]) -> None:
    assert wilson_interval(successes, n) == pytest.approx(expected, abs=1e-4)


def test_wilson_interval_is_none_without_trials() -> None:
    assert wilson_interval(0, 0) is None


@pytest.mark.parametrize(("successes", "n"), [(-1, 5), (6, 5)])
def test_wilson_interval_rejects_impossible_counts(successes: int, n: int) -> None:
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(successes, n)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 95.0, math.nan])
def test_confidence_must_be_a_probability(confidence: float) -> None:
    with pytest.raises(ValueError, match="confidence"):
        wilson_interval(1, 2, confidence=confidence)
    # Checked even when nothing is paired, so a bad config fails on the first run, not the first data.
    with pytest.raises(ValueError, match="confidence"):
        compare_pass_fail({}, {}, confidence=confidence)


@given(st.integers(1, 10_000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_interval_contains_the_rate_and_stays_in_unit_interval(counts: tuple[int, int]) -> None:
    successes, n = counts
    interval = wilson_interval(successes, n)
    wider = wilson_interval(successes, n, confidence=0.99)
    assert interval is not None and wider is not None
    low, high = interval
    assert 0.0 <= low <= successes / n <= high <= 1.0
    assert wider[0] <= low and high <= wider[1]


# --------------------------------------------------------------------------------------------------
# compare_pass_fail
# --------------------------------------------------------------------------------------------------


def test_identical_runs_show_no_change() -> None:
    run = {f"q{i}": i % 3 != 0 for i in range(30)}
    result = compare_pass_fail(run, dict(run))
    assert result.n == 30 and result.delta == 0.0 and result.p_value == 1.0
    assert result.baseline == result.current == 20 / 30
    assert result.flipped_to_fail == result.flipped_to_pass == ()
    assert result.ci_low is not None and result.ci_high is not None
    # Nothing flipped, yet the interval keeps a width: 30 ids cannot prove the rates are identical.
    assert result.ci_low < 0.0 < result.ci_high


def test_pass_fail_pairs_only_shared_non_null_ids() -> None:
    baseline = {"a": True, "b": True, "c": False, "only_baseline": True, "null_now": True, "null_was": None}
    current = {"a": False, "b": True, "c": True, "only_current": False, "null_now": None, "null_was": False}
    result = compare_pass_fail(baseline, current)
    # Only a, b and c are in both runs with a value: one-sided and null ids would bias the rates.
    assert result.n == 3
    assert result.baseline == pytest.approx(2 / 3) and result.current == pytest.approx(2 / 3)
    assert result.flipped_to_fail == ("a",) and result.flipped_to_pass == ("c",)
    assert result.delta == 0.0


def test_pass_fail_results_do_not_depend_on_row_order_and_keys_need_not_be_sortable() -> None:
    # A tuple, a str and an int cannot be compared with "<", yet the flip lists need a fixed order.
    baseline = {("math", 7): True, "q1": True, ("math", 2): False, 3: True, "q0": False}
    current = {("math", 7): False, "q1": False, ("math", 2): True, 3: False, "q0": False}
    result = compare_pass_fail(baseline, current)
    assert set(result.flipped_to_fail) == {("math", 7), "q1", 3}
    assert result.flipped_to_pass == (("math", 2),)
    # The same runs fetched in another order give the same comparison, flip lists included.
    assert compare_pass_fail(dict(reversed(baseline.items())), dict(reversed(current.items()))) == result


def test_pass_fail_on_no_shared_ids_is_all_none() -> None:
    result = compare_pass_fail({"a": True}, {"b": True, "a": None})
    assert result == PairedComparison("pass_fail", 0, None, None, None, None, None, None, (), (), 0.95)


def test_pass_fail_matches_published_newcombe_interval() -> None:
    # Cavo et al. (2012) table [[59, 6], [16, 80]] (rows: current, columns: baseline).
    # contingencytables::Newcombe_square_and_add_CI_paired_2x2 gives -0.0621 (95% CI -0.1186 to -0.0046).
    baseline, current = pass_fail_runs(both=59, only_baseline=16, only_current=6, neither=80)
    result = compare_pass_fail(baseline, current)
    assert result.delta == pytest.approx(-0.0621, abs=1e-4)
    assert (result.ci_low, result.ci_high) == pytest.approx((-0.1186, -0.0046), abs=1e-4)
    assert result.p_value == pytest.approx(0.0525, abs=1e-4)
    # The interval excludes 0 while the exact test does not reject at 5%: the two are different
    # methods, and the conservative exact p is the one is_regression relies on.
    assert not is_regression(result, min_effect=0.0, alpha=0.05)


def test_pass_fail_interval_stays_in_range_at_the_extremes() -> None:
    # Everything flipped to fail: delta is -1, and the interval must not leave [-1, 1].
    result = compare_pass_fail(*pass_fail_runs(both=0, only_baseline=12, only_current=0, neither=0))
    assert result.delta == -1.0 and result.ci_low == -1.0
    assert result.ci_high is not None and -1.0 < result.ci_high < 0.0


def test_clear_pass_fail_regression_is_detected() -> None:
    # 200 examples: 180 pass in the baseline; 40 of those fail now (90% -> 70%), nothing recovers.
    rng = random.Random(7)
    ids = [f"ex{i}" for i in range(200)]
    rng.shuffle(ids)
    baseline = {key: i < 180 for i, key in enumerate(ids)}
    current = {key: i < 140 for i, key in enumerate(ids)}
    result = compare_pass_fail(baseline, current)
    assert (result.baseline, result.current) == pytest.approx((0.9, 0.7))
    assert result.p_value is not None and result.p_value < 0.001
    assert result.ci_high is not None and result.ci_high < -0.1
    assert len(result.flipped_to_fail) == 40
    assert is_regression(result, min_effect=0.05, alpha=0.05)


def test_pure_noise_is_rarely_significant() -> None:
    # Both runs pass each example independently with probability 0.8: flips happen in both directions.
    significant = 0
    for seed in range(40):
        rng = random.Random(seed)
        baseline = {i: rng.random() < 0.8 for i in range(200)}
        current = {i: rng.random() < 0.8 for i in range(200)}
        result = compare_pass_fail(baseline, current)
        assert result.flipped_to_fail and result.flipped_to_pass
        assert result.p_value is not None
        significant += result.p_value <= 0.05
    # The exact test is conservative: at most its 5% nominal rate, with slack for 40 draws.
    assert significant <= 5


pass_fail_run = st.dictionaries(st.integers(0, 40), st.one_of(st.none(), st.booleans()), max_size=40)


@given(pass_fail_run, pass_fail_run, st.sampled_from([0.8, 0.9, 0.95, 0.99]))
def test_pass_fail_invariants(baseline: dict[int, bool | None], current: dict[int, bool | None], conf: float) -> None:
    result = compare_pass_fail(baseline, current, confidence=conf)
    assert result.kind == "pass_fail" and result.confidence == conf
    if result.n == 0:
        assert result.delta is None and result.p_value is None and result.ci_low is None
        return
    assert result.delta is not None and result.p_value is not None
    assert result.ci_low is not None and result.ci_high is not None
    assert result.baseline is not None and result.current is not None
    assert 0.0 <= result.p_value <= 1.0
    assert -1.0 <= result.ci_low <= result.delta <= result.ci_high <= 1.0
    assert result.delta == pytest.approx(result.current - result.baseline)
    assert result.delta == (len(result.flipped_to_pass) - len(result.flipped_to_fail)) / result.n

    # Swapping the runs is the same comparison seen from the other side.
    swapped = compare_pass_fail(current, baseline, confidence=conf)
    assert swapped.delta == -result.delta and swapped.p_value == result.p_value
    assert (swapped.ci_low, swapped.ci_high) == (-result.ci_high, -result.ci_low)
    assert set(swapped.flipped_to_fail) == set(result.flipped_to_pass)
    assert set(swapped.flipped_to_pass) == set(result.flipped_to_fail)


# --------------------------------------------------------------------------------------------------
# compare_scores
# --------------------------------------------------------------------------------------------------


def test_identical_graded_runs_show_no_change() -> None:
    run = {i: (i % 7) / 6 for i in range(50)}
    result = compare_scores(run, dict(run))
    assert (result.delta, result.ci_low, result.ci_high, result.p_value) == (0.0, 0.0, 0.0, 1.0)
    assert result.flipped_to_fail == result.flipped_to_pass == ()


def test_graded_pairs_only_shared_non_null_ids() -> None:
    baseline = {"a": 0.5, "b": 1.0, "only_baseline": 0.0, "null_now": 1.0}
    current = {"a": 0.25, "b": 1.0, "only_current": 1.0, "null_now": None}
    result = compare_scores(baseline, current)
    assert result.n == 2
    assert (result.baseline, result.current, result.delta) == (0.75, 0.625, -0.125)


def test_graded_on_no_shared_ids_is_all_none() -> None:
    assert compare_scores({}, {"a": 1.0}) == PairedComparison(
        "graded", 0, None, None, None, None, None, None, (), (), 0.95
    )


def test_graded_single_pair_has_no_interval_or_p_value() -> None:
    # One pair: every resample is that pair, so a bootstrap would claim certainty from one example.
    result = compare_scores({"a": 1.0}, {"a": 0.0})
    assert result.n == 1 and result.delta == -1.0
    assert result.ci_low is None and result.ci_high is None and result.p_value is None
    assert not is_regression(result, min_effect=0.0, alpha=1.0)


def test_graded_constant_shift_hits_the_p_value_floor() -> None:
    # Every example lost exactly 0.25: every resampled mean is -0.25, so p is as small as 2000
    # resamples can show, and the interval is the point.
    baseline = {i: 0.75 for i in range(40)}
    current = {i: 0.5 for i in range(40)}
    result = compare_scores(baseline, current, resamples=2000)
    assert result.p_value == 1 / 2001
    assert (result.ci_low, result.ci_high) == (-0.25, -0.25)


def test_graded_results_do_not_depend_on_row_order() -> None:
    # The bootstrap draws ids by position: a different fetch order must not mean different draws.
    rng = random.Random(3)
    baseline = {f"ex{i}": rng.random() for i in range(60)}
    current = {key: rng.random() for key in baseline}
    result = compare_scores(baseline, current, resamples=300)
    shuffled = list(baseline)
    rng.shuffle(shuffled)
    again = compare_scores(
        {k: baseline[k] for k in shuffled}, {k: current[k] for k in reversed(shuffled)}, resamples=300
    )
    assert again == result


def test_graded_rejects_non_finite_scores() -> None:
    with pytest.raises(ValueError, match="finite"):
        compare_scores({"a": 0.5, "b": math.nan}, {"a": 0.5, "b": 0.5})


def test_graded_rejects_zero_resamples() -> None:
    with pytest.raises(ValueError, match="resamples"):
        compare_scores({"a": 0.5}, {"a": 0.5}, resamples=0)


def test_clear_graded_regression_is_detected() -> None:
    # 200 examples: mean quality drops from ~0.9 to ~0.7, with per-example noise.
    rng = random.Random(11)
    baseline = {i: min(1.0, max(0.0, rng.gauss(0.9, 0.1))) for i in range(200)}
    current = {i: min(1.0, max(0.0, score - 0.2 + rng.gauss(0, 0.1))) for i, score in baseline.items()}
    result = compare_scores(baseline, current)
    assert result.delta is not None and result.delta < -0.15
    assert result.p_value is not None and result.p_value < 0.001
    assert result.ci_high is not None and result.ci_high < -0.1
    assert is_regression(result, min_effect=0.05, alpha=0.05)


def test_graded_noise_is_rarely_significant() -> None:
    significant = 0
    for seed in range(20):
        rng = random.Random(seed)
        baseline = {i: rng.random() for i in range(100)}
        current = {i: rng.random() for i in range(100)}
        result = compare_scores(baseline, current, resamples=500, seed=seed)
        assert result.p_value is not None
        significant += result.p_value <= 0.05
    assert significant <= 3


graded_run = st.dictionaries(
    st.integers(0, 30), st.one_of(st.none(), st.floats(0.0, 1.0, allow_nan=False)), max_size=30
)


@settings(max_examples=60)
@given(graded_run, graded_run, st.integers(0, 2**32), st.sampled_from([0.8, 0.95]))
def test_graded_invariants(
    baseline: dict[int, float | None], current: dict[int, float | None], seed: int, conf: float
) -> None:
    result = compare_scores(baseline, current, confidence=conf, resamples=200, seed=seed)
    assert result.kind == "graded" and result.flipped_to_fail == result.flipped_to_pass == ()
    # Deterministic for a given seed: a rerun of the nightly asset must write the same numbers.
    assert compare_scores(baseline, current, confidence=conf, resamples=200, seed=seed) == result
    if result.n < 2:
        assert result.p_value is None and result.ci_low is None
        return
    assert result.delta is not None and result.p_value is not None
    assert result.ci_low is not None and result.ci_high is not None
    assert 1 / 201 <= result.p_value <= 1.0
    assert result.ci_low <= result.delta <= result.ci_high
    assert result.ci_low >= -1.0 and result.ci_high <= 1.0

    swapped = compare_scores(current, baseline, confidence=conf, resamples=200, seed=seed)
    assert swapped.delta == -result.delta and swapped.p_value == result.p_value
    assert (swapped.ci_low, swapped.ci_high) == pytest.approx((-result.ci_high, -result.ci_low), abs=1e-12)


# --------------------------------------------------------------------------------------------------
# is_regression
# --------------------------------------------------------------------------------------------------


def comparison(delta: float | None, p_value: float | None) -> PairedComparison:
    return PairedComparison("pass_fail", 100, 0.5, None, delta, None, None, p_value, (), (), 0.95)


@pytest.mark.parametrize(
    ("delta", "p_value", "higher_is_better", "expected"),
    [
        (-0.2, 0.001, True, True),
        # A large drop that could be noise is not a regression.
        (-0.2, 0.2, True, False),
        # Significant but trivial: thousands of ids make a 1-point drop "significant".
        (-0.01, 1e-9, True, False),
        # Exactly min_effect is not "larger than" it.
        (-0.05, 1e-9, True, False),
        # p exactly alpha is not "below" it.
        (-0.2, 0.05, True, False),
        # An improvement is never a regression, however significant.
        (0.2, 1e-9, True, False),
        # For a lower-is-better metric (an error rate), a rise is the regression.
        (0.2, 0.001, False, True),
        (-0.2, 0.001, False, False),
        # Without a p-value (too few ids) there is no evidence.
        (-0.9, None, True, False),
        (None, None, True, False),
    ],
)
def test_is_regression(delta: float | None, p_value: float | None, higher_is_better: bool, expected: bool) -> None:
    verdict = is_regression(comparison(delta, p_value), min_effect=0.05, alpha=0.05, higher_is_better=higher_is_better)
    assert verdict is expected


@given(
    st.floats(-1.0, 1.0),
    st.floats(0.0, 1.0),
    st.floats(0.0, 0.5),
    st.floats(0.001, 1.0),
    st.booleans(),
)
def test_is_regression_needs_a_significant_drop(
    delta: float, p_value: float, min_effect: float, alpha: float, higher_is_better: bool
) -> None:
    verdict = is_regression(
        comparison(delta, p_value), min_effect=min_effect, alpha=alpha, higher_is_better=higher_is_better
    )
    worse = delta < 0 if higher_is_better else delta > 0
    if not worse or p_value >= alpha or abs(delta) <= min_effect:
        assert not verdict


@pytest.mark.parametrize(("min_effect", "alpha"), [(-0.1, 0.05), (0.0, 0.0), (0.0, 1.5)])
def test_is_regression_rejects_bad_thresholds(min_effect: float, alpha: float) -> None:
    with pytest.raises(ValueError, match=r"min_effect|alpha"):
        is_regression(comparison(-0.5, 0.0), min_effect=min_effect, alpha=alpha)


# --------------------------------------------------------------------------------------------------
# judges_disagree (what the judge panels of one example run through)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "disagree"),
    [
        ([1.0, 1.0], False),
        ([0.5, 0.4], False),
        # Three judges: the spread is max - min, not the mean pairwise difference.
        ([0.0, 0.5, 1.0], True),
        # 0.8 - 0.6 is 0.20000000000000007 in floats: still within a 0.2 margin.
        ([0.8, 0.6], False),
        # ... but a real excess over the margin is not forgiven.
        ([0.81, 0.6], True),
        ([0.7], None),  # one judge: nothing to compare
        ([], None),
    ],
)
def test_judges_disagree_on_a_spread_above_the_margin(scores: list[float], disagree: bool | None) -> None:
    assert judges_disagree(scores, margin=0.2) is disagree


@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=5), st.floats(0.0, 0.9))
def test_a_wider_margin_never_finds_more_disagreement(scores: list[float], margin: float) -> None:
    if judges_disagree(scores, margin=margin + 0.1) is True:
        assert judges_disagree(scores, margin=margin) is True
