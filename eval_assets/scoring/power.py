"""What a comparison could have detected, and the family-wise correction of a night's comparisons (pure).

A paired test that finds "no significant drop" on 10 examples says nothing: a 30 pp drop is invisible at that
n. So every comparison also reports its *minimum detectable effect* (MDE): the smallest drop the test would
find with probability ``power`` at two-sided level ``alpha``, given n and how much the paired data varies,
and the n that would be needed to detect the configured ``min_effect``. A verdict is then three-way:

- FAIL: the drop is larger than ``min_effect`` and significant;
- INCONCLUSIVE: not a failure, but the MDE is larger than ``min_effect`` (the data could not have seen it);
- PASS: neither.

Many comparisons a night (scorers x tags) at one alpha make false alarms by construction, so the secondary
ones are judged on Benjamini-Hochberg adjusted p-values (:func:`benjamini_hochberg`).

Every function is defined on empty input (None, never a made-up number) and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Literal

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]

# Bisection to 1e-9 on [0, 1] takes 30 halvings; far below any drop a report shows (0.1 pp).
_TOLERANCE = 1e-9


def _quantiles(alpha: float, power: float) -> tuple[float, float]:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    normal = NormalDist()
    return normal.inv_cdf(1 - alpha / 2), normal.inv_cdf(power)


def _mcnemar_margin(n: int, effect: float, discordance: float, z_alpha: float, z_power: float) -> float:
    """``sqrt(n) * effect`` minus what the test needs to see ``effect`` (Connor 1987); >= 0 means detectable.

    Under the alternative at least ``effect`` of the pairs must be discordant, so the discordance used is
    ``max(discordance, effect)``: a night in which nothing flipped cannot claim to detect any drop for free.
    """
    psi = max(discordance, effect)
    needed = z_alpha * math.sqrt(psi) + z_power * math.sqrt(max(0.0, psi - effect * effect))
    return math.sqrt(n) * effect - needed


def mcnemar_mde(n: int, discordance: float, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest pass-rate drop a paired McNemar test on ``n`` pairs detects with ``power``; None for n = 0.

    Uses the normal approximation of Connor (1987) for ``n = (z_a sqrt(psi) + z_b sqrt(psi - d^2))^2 / d^2``
    with ``psi`` the share of discordant pairs, solved for ``d`` by bisection. Whether ``d`` is detectable
    changes sign once on [0, 1] (see the margin above), so the root is unique; the result is in [0, 1] and
    never increases with ``n``. 1.0 means even a drop from 100% to 0% could be missed.

    Args:
        n: Pairs scored in both runs.
        discordance: Share of pairs whose verdict flipped (either way), in [0, 1].
        alpha: Two-sided significance level of the test.
        power: Probability of detecting a drop of the MDE.
    """
    z_alpha, z_power = _quantiles(alpha, power)
    if not 0 <= discordance <= 1:
        raise ValueError(f"discordance must be in [0, 1], got {discordance}")
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return None
    if _mcnemar_margin(n, 1.0, discordance, z_alpha, z_power) < 0:
        return 1.0
    low, high = 0.0, 1.0
    while high - low > _TOLERANCE:
        middle = (low + high) / 2
        if _mcnemar_margin(n, middle, discordance, z_alpha, z_power) >= 0:
            high = middle
        else:
            low = middle
    return high


def mcnemar_n_needed(effect: float, discordance: float, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Pairs needed to detect a pass-rate drop of ``effect`` at this discordance; None when ``effect`` is 0."""
    z_alpha, z_power = _quantiles(alpha, power)
    if not 0 <= effect <= 1:
        raise ValueError(f"effect must be in [0, 1], got {effect}")
    if effect == 0:
        return None
    psi = max(discordance, effect)
    root_n = (z_alpha * math.sqrt(psi) + z_power * math.sqrt(max(0.0, psi - effect * effect))) / effect
    return max(1, math.ceil(root_n * root_n - 1e-9))


def mean_mde(n: int, sd: float | None, *, alpha: float = 0.05, power: float = 0.8) -> float | None:
    """The smallest drop of a mean score in [0, 1] a paired test on ``n`` pairs detects with ``power``.

    ``(z_a + z_b) * sd / sqrt(n)`` with ``sd`` the standard deviation of the per-example differences, capped
    at 1; with fewer than two pairs there is no variance to go by (1.0). None for n = 0.
    """
    z_alpha, z_power = _quantiles(alpha, power)
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    if n == 0:
        return None
    if n < 2 or sd is None:
        return 1.0
    return min(1.0, (z_alpha + z_power) * sd / math.sqrt(n))


def mean_n_needed(effect: float, sd: float | None, *, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Pairs needed to detect a mean drop of ``effect``; None when ``effect`` is 0 or the spread is unknown."""
    z_alpha, z_power = _quantiles(alpha, power)
    if effect <= 0 or sd is None:
        return None
    root_n = (z_alpha + z_power) * sd / effect
    return max(2, math.ceil(root_n * root_n - 1e-9))


def sample_sd(values: Sequence[float]) -> float | None:
    """Sample standard deviation (n - 1); None with fewer than two values."""
    if len(values) < 2:
        return None
    mean = math.fsum(values) / len(values)
    return math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (len(values) - 1))


def verdict(
    *, drop: float | None, p_value: float | None, mde: float | None, min_effect: float, alpha: float
) -> Verdict | None:
    """PASS, FAIL or INCONCLUSIVE for one comparison; None when nothing was paired (``mde`` None).

    FAIL needs both a drop larger than ``min_effect`` and ``p_value < alpha``. Otherwise INCONCLUSIVE when the
    MDE exceeds ``min_effect`` (with ``min_effect`` 0 every drop matters and no n suffices: power is not
    judged), or when there is no p-value (too few pairs). Else PASS.
    """
    if mde is None:
        return None
    if drop is not None and p_value is not None and drop > min_effect and p_value < alpha:
        return "FAIL"
    if p_value is None or (min_effect > 0 and mde > min_effect):
        return "INCONCLUSIVE"
    return "PASS"


def benjamini_hochberg(p_values: Sequence[float | None]) -> list[float | None]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input's order; None stays None.

    ``q_(i) = min over j >= i of min(1, m * p_(j) / j)`` for the ``m`` non-missing p-values sorted
    ascending. Rejecting ``q < alpha`` controls the false discovery rate at ``alpha``; every ``q >= p``, so
    it never rejects a comparison the raw p-value would not.
    """
    present = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    for p, _ in present:
        if not 0 <= p <= 1 or math.isnan(p):
            raise ValueError(f"p-values must be in [0, 1], got {p}")
    m = len(present)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 1.0
    for rank in range(m, 0, -1):
        p, index = present[rank - 1]
        running = min(running, m * p / rank)
        adjusted[index] = max(p, min(1.0, running))  # max(): float rounding must not make q < p
    return adjusted
