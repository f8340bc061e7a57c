"""Paired statistics for regression detection between two runs of an eval (pure, stdlib only).

Two runs of the same eval score the same example ids, so they are compared *paired*: each id is its own
control, which removes the between-example variance that dominates an unpaired comparison of two rates.

- Pass/fail metrics: exact McNemar test on the discordant pairs, Newcombe's paired interval for the delta.
- Graded metrics: paired bootstrap of the mean difference, percentile interval, bootstrap p-value.
- Judge panels: whether several judges' normalized scores on one example disagree.

Every function is defined on empty input (``n == 0`` gives None values, never a made-up 0) and
deterministic: the bootstrap draws from ``random.Random(seed)``.
"""

from __future__ import annotations

import math
import random
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal, TypeAlias, TypeVar

Key: TypeAlias = Hashable
"""An example's identity in both runs, e.g. ``(dataset, example_id)``."""

K = TypeVar("K", bound=Hashable)

# Judge scores are normalized to [0, 1]; 1e-9 is far below any real disagreement but absorbs float noise
# such as 0.8 - 0.6 == 0.20000000000000007, which would otherwise count as "more than a 0.2 margin".
_MARGIN_TOLERANCE = 1e-9


@dataclass(frozen=True)
class PairedComparison:
    """A metric in a baseline and a current run, over the ids both runs scored.

    ``delta`` is ``current - baseline``; ``ci_low``/``ci_high`` bound it at level ``confidence`` and
    ``p_value`` is two-sided for "no difference". Every value is None when no id is paired (``n == 0``).
    """

    kind: Literal["pass_fail", "graded"]
    n: int
    baseline: float | None
    current: float | None
    delta: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    flipped_to_fail: tuple[Key, ...]
    flipped_to_pass: tuple[Key, ...]
    confidence: float


def mcnemar_exact_p(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of ``b`` against ``c`` discordant pairs.

    ``p = min(1, 2 * P(X <= min(b, c)))`` with ``X ~ Binomial(b + c, 1/2)``. The tail is summed
    downwards from its largest term as ratios of consecutive terms (all <= 1, so nothing overflows)
    and scaled by that term's log-probability from ``math.lgamma``. The relative error is ~1e-11 at
    ``b + c = 1e4`` and ~1e-9 at 1e5 (checked against exact integer arithmetic in the tests); the
    result underflows to 0.0 only where the true p is below ~1e-308.

    Args:
        b: Pairs that passed in the baseline and failed in the current run.
        c: Pairs that failed in the baseline and passed in the current run.

    Returns:
        The p-value in [0, 1]; 1.0 when there are no discordant pairs.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n, k = b + c, min(b, c)
    if 2 * k >= n:  # b == c (including 0, 0): the lower tail alone holds at least half the mass
        return 1.0
    log_term_k = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) - n * math.log(2)
    # P(X = i - 1) / P(X = i) = i / (n - i + 1) < 1 below the mode, so terms shrink as i goes down.
    total, term = 1.0, 1.0
    for i in range(k, 0, -1):
        term *= i / (n - i + 1)
        total += term
        if term < total * 1e-17:
            break
    return min(1.0, 2.0 * math.exp(log_term_k + math.log(total)))


def wilson_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """Wilson score interval for a proportion; None when ``n == 0``.

    Unlike the Wald interval it stays inside [0, 1] and does not collapse to a point at 0 or n successes.
    """
    if not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got successes={successes}, n={n}")
    z = _z(confidence)
    if n == 0:
        return None
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # Exact at the ends, where rounding would otherwise leave 0/n or n/n a hair outside its own interval.
    low = 0.0 if successes == 0 else min(p, max(0.0, centre - half))
    high = 1.0 if successes == n else max(p, min(1.0, centre + half))
    return low, high


def compare_pass_fail(
    baseline: Mapping[K, bool | None],
    current: Mapping[K, bool | None],
    *,
    confidence: float = 0.95,
) -> PairedComparison:
    """Compare pass rates of two runs on the ids both scored (None values and unshared ids are skipped).

    The p-value is the exact McNemar test (:func:`mcnemar_exact_p`): only the ids that flipped carry
    information about a change. The interval is Newcombe's (1998, method 10) for paired proportions:
    Wilson intervals for the two rates combined "square-and-add", with the continuity-corrected phi
    correlation between the runs. It always contains ``delta``, stays in [-1, 1], and keeps a sensible
    width when nothing flipped, where a Wald interval collapses to the point 0.

    Flipped ids are listed in ``repr`` order: ids need only be hashable, and the lists must not depend
    on the order rows were fetched in.
    """
    _z(confidence)  # validates confidence even when nothing is paired
    pairs = [(key, bool(was), bool(now)) for key, was, now in _paired(baseline, current)]
    n = len(pairs)
    if n == 0:
        return _empty("pass_fail", confidence)
    to_fail = tuple(key for key, was, now in pairs if was and not now)
    to_pass = tuple(key for key, was, now in pairs if now and not was)
    both_pass = sum(1 for _, was, now in pairs if was and now)
    b, c = len(to_fail), len(to_pass)
    ci_low, ci_high = _newcombe_paired(both_pass, b, c, n - both_pass - b - c, confidence=confidence)
    return PairedComparison(
        kind="pass_fail",
        n=n,
        baseline=(both_pass + b) / n,
        current=(both_pass + c) / n,
        delta=(c - b) / n,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=mcnemar_exact_p(b, c),
        flipped_to_fail=to_fail,
        flipped_to_pass=to_pass,
        confidence=confidence,
    )


def compare_scores(
    baseline: Mapping[K, float | None],
    current: Mapping[K, float | None],
    *,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> PairedComparison:
    """Compare mean graded scores of two runs on the ids both scored, by a paired bootstrap.

    Each resample draws ``n`` ids with replacement from ``random.Random(seed)`` (ids in ``repr`` order,
    so the draws do not depend on row order) and takes the mean of their per-id differences.

    - Interval: the percentile interval of the resampled means, widened to include the observed
      ``delta`` in the rare tiny, skewed samples where it would not.
    - p-value (two-sided): ``2 * min(share of resampled means <= 0, share >= 0)``, capped at 1 and
      floored at ``1 / (resamples + 1)`` since a finite bootstrap cannot show less. It is the smallest
      ``alpha`` whose percentile interval excludes 0, so test and interval agree (up to interpolation).

    Like any percentile bootstrap it is optimistic for small ``n`` (under ~20 ids); with one id there
    is no variability to resample, so ``ci_low``, ``ci_high`` and ``p_value`` are None. Cost is
    ``resamples * n`` draws.

    Raises:
        ValueError: A score is NaN or infinite (a scorer bug, not a missing value).
    """
    _z(confidence)
    if resamples < 1:
        raise ValueError(f"resamples must be >= 1, got {resamples}")
    pairs = list(_paired(baseline, current))
    n = len(pairs)
    if n == 0:
        return _empty("graded", confidence)
    for key, was, now in pairs:
        if not (math.isfinite(was) and math.isfinite(now)):
            raise ValueError(f"scores must be finite, got {was!r} -> {now!r} for {key!r}")
    diffs = [now - was for _, was, now in pairs]
    delta = math.fsum(diffs) / n
    ci_low = ci_high = p_value = None
    if n >= 2:
        rng = random.Random(seed)
        means = sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(resamples))
        tail = (1 - confidence) / 2
        ci_low = min(_quantile(means, tail), delta)
        ci_high = max(_quantile(means, 1 - tail), delta)
        at_or_below = sum(1 for m in means if m <= 0)
        at_or_above = sum(1 for m in means if m >= 0)
        p_value = max(1 / (resamples + 1), min(1.0, 2 * min(at_or_below, at_or_above) / resamples))
    return PairedComparison(
        kind="graded",
        n=n,
        baseline=math.fsum(was for _, was, _ in pairs) / n,
        current=math.fsum(now for _, _, now in pairs) / n,
        delta=delta,
        ci_low=ci_low,
        ci_high=ci_high,
        p_value=p_value,
        flipped_to_fail=(),
        flipped_to_pass=(),
        confidence=confidence,
    )


def is_regression(
    comparison: PairedComparison, *, min_effect: float, alpha: float, higher_is_better: bool = True
) -> bool:
    """Whether the current run is worse by more than ``min_effect`` *and* significantly so (``p < alpha``).

    Both are required: with thousands of ids a trivial drop is significant, and with a handful a large
    drop can be noise. A comparison without a delta or p-value (too few ids) is never a regression.
    """
    if min_effect < 0:
        raise ValueError(f"min_effect must be >= 0, got {min_effect}")
    if not 0 < alpha <= 1:
        raise ValueError(f"alpha must be in (0, 1], got {alpha}")
    if comparison.delta is None or comparison.p_value is None:
        return False
    drop = -comparison.delta if higher_is_better else comparison.delta
    return drop > min_effect and comparison.p_value < alpha


def judges_disagree(scores: Sequence[float], *, margin: float, pass_score: float | None = None) -> bool | None:
    """Whether one example's judges disagree; None with fewer than two scores.

    Judges disagree when their normalized scores spread by more than ``margin`` (inclusive, up to float
    noise) or, given ``pass_score``, when they fall on different sides of the pass line: a 3-vs-4 split
    that decides pass or fail is a disagreement whatever the margin.
    """
    if len(scores) < 2:
        return None
    if max(scores) - min(scores) > margin + _MARGIN_TOLERANCE:
        return True
    return pass_score is not None and min(scores) < pass_score <= max(scores)


# --------------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------------


def _z(confidence: float) -> float:
    """The two-sided normal quantile for ``confidence`` (1.96 for 0.95)."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(1 - (1 - confidence) / 2)


def _paired(baseline: Mapping[K, float | None], current: Mapping[K, float | None]) -> list[tuple[K, float, float]]:
    """``(id, baseline value, current value)`` for ids with a non-null value in both runs, in canonical order.

    Ids are ordered by ``repr`` (they need only be hashable, not sortable), so neither the order rows
    were fetched in nor which run is the baseline changes the bootstrap's draws or the flip lists.
    """
    pairs = []
    for key, was in baseline.items():
        now = current.get(key)
        if was is not None and now is not None:
            pairs.append((key, was, now))
    return sorted(pairs, key=lambda pair: repr(pair[0]))


def _empty(kind: Literal["pass_fail", "graded"], confidence: float) -> PairedComparison:
    return PairedComparison(kind, 0, None, None, None, None, None, None, (), (), confidence)


def _newcombe_paired(both: int, b: int, c: int, neither: int, *, confidence: float) -> tuple[float, float]:
    """Newcombe's method-10 interval for ``current - baseline`` rates from a paired 2x2 table.

    ``both``/``neither`` passed/failed in both runs; ``b`` passed only in the baseline, ``c`` only in
    the current run.
    """
    n = both + b + c + neither
    p_now, p_was = (both + c) / n, (both + b) / n
    now_interval = wilson_interval(both + c, n, confidence=confidence)
    was_interval = wilson_interval(both + b, n, confidence=confidence)
    assert now_interval is not None and was_interval is not None  # n > 0 here
    (l_now, u_now), (l_was, u_was) = now_interval, was_interval
    margins = (both + c) * (b + neither) * (both + b) * (c + neither)
    phi = 0.0
    if margins:
        # Continuity-corrected correlation of the two runs: small positive associations count as none.
        cross = both * neither - b * c
        corrected = cross - n / 2 if cross > n / 2 else min(cross, 0)
        phi = corrected / math.sqrt(margins)
    # Computed as in compare_pass_fail so the interval contains exactly the delta it reports.
    delta = (c - b) / n
    below = _square_and_add(p_now - l_now, u_was - p_was, phi)
    above = _square_and_add(u_now - p_now, p_was - l_was, phi)
    return max(-1.0, delta - below), min(1.0, delta + above)


def _square_and_add(x: float, y: float, phi: float) -> float:
    """``sqrt(x^2 + y^2 - 2 phi x y)``, symmetric in ``x`` and ``y`` to the last bit.

    Bit-symmetry makes swapping the runs negate the interval exactly. ``max(0, ...)`` only guards
    rounding: with ``|phi| <= 1`` the radicand is at least ``(|x| - |y|)^2``.
    """
    return math.sqrt(max(0.0, x * x + y * y - 2 * phi * (x * y)))


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linearly interpolated quantile of already-sorted values (numpy's default method)."""
    position = (len(ordered) - 1) * q
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (position - low) * (ordered[high] - ordered[low])
