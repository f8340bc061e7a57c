"""Cohen's kappa against values computed by hand, and its invariants (hypothesis)."""

from __future__ import annotations

import math
from statistics import NormalDist

import pytest
from hypothesis import given, strategies as st

from eval_assets.review.agreement import cohen_kappa, scale_categories, to_category, weights

Z95 = NormalDist().inv_cdf(0.975)


def test_unweighted_two_by_two_matches_the_hand_computed_kappa_and_interval() -> None:
    # Judge [1,1,0,0] vs person [1,0,0,0]: observed 3/4, chance 0.5*0.75 + 0.5*0.25 = 0.5, kappa 0.25/0.5.
    # Fleiss-Cohen-Everitt by hand: sum p_ij (w_ij - (wr_i + wc_j)(1-k))^2 = 0.203125, minus
    # (k - pe(1-k))^2 = 0.0625 -> 0.140625 / (n (1-pe)^2 = 1) -> se 0.375.
    found = cohen_kappa([1, 1, 0, 0], [1, 0, 0, 0], categories=[0, 1], weighting="none")
    assert found.n == 4 and found.percent == pytest.approx(0.75)
    assert found.kappa == pytest.approx(0.5)
    assert found.low == pytest.approx(0.5 - Z95 * 0.375)
    assert found.high == 1.0  # 0.5 + 0.735 is clipped to the range of kappa


def test_quadratic_weights_give_partial_credit_for_a_near_miss() -> None:
    # Scale 1..3, quadratic weights 1, 0.75, 0. Judge [1,2,3] vs person [1,3,3]:
    # observed (1 + 0.75 + 1)/3 = 0.91667; chance: rows 1/3 each, cols (1/3, 0, 2/3) ->
    # (1/9)(1 + 0.75 + 0) + (2/9)(0 + 0.75 + 1) = 5.25/9 = 0.58333; kappa 0.33333/0.41667 = 0.8.
    found = cohen_kappa([1, 2, 3], [1, 3, 3], categories=[1, 2, 3])
    assert found.weighting == "quadratic"
    assert found.kappa == pytest.approx(0.8)
    assert found.percent == pytest.approx(2 / 3)  # percent agreement stays exact agreement
    # Unweighted, the near miss counts as a full miss: observed 2/3, chance 1/9 + 2/9 = 1/3, kappa 0.5.
    assert cohen_kappa([1, 2, 3], [1, 3, 3], categories=[1, 2, 3], weighting="none").kappa == pytest.approx(0.5)
    # Linear weights 1, 0.5, 0: observed (1 + .5 + 1)/3 = 5/6; chance (1/9)(1.5) + (2/9)(1.5) = 0.5; kappa 2/3.
    assert cohen_kappa([1, 2, 3], [1, 3, 3], categories=[1, 2, 3], weighting="linear").kappa == pytest.approx(2 / 3)


def test_weights_matrix() -> None:
    assert weights(3) == [[1.0, 0.75, 0.0], [0.75, 1.0, 0.75], [0.0, 0.75, 1.0]]
    assert weights(3, "linear")[0] == [1.0, 0.5, 0.0]
    with pytest.raises(ValueError, match="unknown weighting"):
        weights(3, "cubic")


def test_systematic_opposition_is_negative_and_no_data_is_none() -> None:
    assert cohen_kappa([1, 5, 1, 5], [5, 1, 5, 1], categories=[1, 2, 3, 4, 5]).kappa == pytest.approx(-1.0)
    empty = cohen_kappa([], [], categories=[1, 2])
    assert (empty.n, empty.kappa, empty.percent, empty.low) == (0, None, None, None)


def test_one_category_everywhere_is_perfect_agreement_not_a_division_by_zero() -> None:
    # Chance agreement is 1, the textbook formula is 0/0: both raters said 5 every time, which is agreement.
    found = cohen_kappa([5, 5, 5], [5, 5, 5], categories=[1, 2, 3, 4, 5])
    assert (found.kappa, found.low, found.high) == (1.0, 1.0, 1.0)


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="2 judge ratings but 1"):
        cohen_kappa([1, 2], [1], categories=[1, 2])
    with pytest.raises(ValueError, match=r"ratings \[7\] are not categories"):
        cohen_kappa([7], [1], categories=[1, 2])


def test_scores_back_on_the_scale() -> None:
    assert scale_categories(1, 5) == [1, 2, 3, 4, 5]
    assert to_category(0.0, scale_min=1, scale_max=5) == 1
    assert to_category(0.75, scale_min=1, scale_max=5) == 4
    assert to_category(0.875, scale_min=1, scale_max=5) == 5  # two judges' mean 4.5 rounds half up


ratings = st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=1, max_size=60)


@given(ratings, st.sampled_from(["quadratic", "linear", "none"]))
def test_kappa_and_its_interval_stay_in_range(pairs: list[tuple[int, int]], weighting: str) -> None:
    judge, person = [a for a, _ in pairs], [b for _, b in pairs]
    found = cohen_kappa(judge, person, categories=[1, 2, 3, 4, 5], weighting=weighting)
    assert found.kappa is not None and found.low is not None and found.high is not None
    assert -1.0 <= found.low <= found.kappa <= found.high <= 1.0
    assert found.percent is not None and 0.0 <= found.percent <= 1.0
    assert not math.isnan(found.kappa)


@given(st.lists(st.integers(1, 5), min_size=1, max_size=60), st.sampled_from(["quadratic", "linear", "none"]))
def test_perfect_agreement_gives_one(same: list[int], weighting: str) -> None:
    assert cohen_kappa(same, same, categories=[1, 2, 3, 4, 5], weighting=weighting).kappa == pytest.approx(1.0)


@given(ratings)
def test_kappa_is_symmetric_in_the_raters(pairs: list[tuple[int, int]]) -> None:
    judge, person = [a for a, _ in pairs], [b for _, b in pairs]
    one = cohen_kappa(judge, person, categories=[1, 2, 3, 4, 5]).kappa
    other = cohen_kappa(person, judge, categories=[1, 2, 3, 4, 5]).kappa
    assert one == pytest.approx(other)  # type: ignore[arg-type]
