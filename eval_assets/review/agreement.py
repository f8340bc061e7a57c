"""How well a judge agrees with people: percent agreement and Cohen's kappa with a confidence interval (pure).

Ratings are categories on an ordinal scale (a rubric's integer scores, or 0/1 for pass/fail). Kappa is
*quadratically* weighted (Cohen 1968): a judge that says 4 where the person said 5 disagrees less than one
that says 1. On a two-point scale quadratic weights equal the unweighted kappa. The standard error is the
large-sample one of Fleiss, Cohen and Everitt (1969), and the interval is the normal one, clipped to
[-1, 1]. Percent agreement is exact agreement (the same category), the number people read first.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

#: How disagreement between categories is weighted: quadratic (the default here), linear, or none.
WEIGHTINGS = ("quadratic", "linear", "none")


@dataclass(frozen=True)
class Agreement:
    """A judge's agreement with people on ``n`` paired ratings.

    Attributes:
        n: Paired ratings.
        percent: Share of pairs in the same category (0..1); None when n is 0.
        kappa: Weighted Cohen's kappa; None when n is 0.
        low: Lower end of the confidence interval of kappa.
        high: Upper end.
        weighting: quadratic, linear or none.
    """

    n: int
    percent: float | None
    kappa: float | None
    low: float | None
    high: float | None
    weighting: str = "quadratic"


def weights(k: int, weighting: str = "quadratic") -> list[list[float]]:
    """Agreement weights between ``k`` ordered categories: 1 on the diagonal, 0 for the farthest pair."""
    if weighting not in WEIGHTINGS:
        raise ValueError(f"unknown weighting {weighting!r}; one of {', '.join(WEIGHTINGS)}")
    if k <= 1:
        return [[1.0] * k for _ in range(k)]
    power = {"quadratic": 2, "linear": 1}.get(weighting)
    return [
        [(1.0 if i == j else 0.0) if power is None else 1.0 - (abs(i - j) / (k - 1)) ** power for j in range(k)]
        for i in range(k)
    ]


def cohen_kappa(
    judge: Sequence[int],
    person: Sequence[int],
    *,
    categories: Sequence[int],
    weighting: str = "quadratic",
    confidence: float = 0.95,
) -> Agreement:
    """Agreement of two raters on the same items.

    Args:
        judge: The judge's category for each item.
        person: The person's, in the same order.
        categories: Every category of the scale, lowest first (a category nobody used still counts for
            the weights: 1 vs 5 on a 1-5 scale is the farthest disagreement even if nobody said 3).
        weighting: quadratic, linear or none.
        confidence: Coverage of the interval, e.g. 0.95.

    Returns:
        The agreement; kappa is 1 when both raters always agree, even on a single category (where the
        chance agreement is 1 and the textbook formula divides by zero).

    Raises:
        ValueError: the sequences differ in length, or a rating is not one of ``categories``.
    """
    if len(judge) != len(person):
        raise ValueError(f"{len(judge)} judge ratings but {len(person)} people's ratings")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence is between 0 and 1, got {confidence}")
    index = {c: i for i, c in enumerate(sorted(set(categories)))}
    stray = sorted({r for r in (*judge, *person) if r not in index})
    if stray:
        raise ValueError(f"ratings {stray} are not categories of the scale {sorted(index)}")
    n = len(judge)
    if n == 0:
        return Agreement(0, None, None, None, None, weighting)
    k = len(index)
    w = weights(k, weighting)
    p = [[0.0] * k for _ in range(k)]
    for a, b in zip(judge, person, strict=True):
        p[index[a]][index[b]] += 1.0 / n
    rows = [sum(p[i]) for i in range(k)]
    cols = [sum(p[i][j] for i in range(k)) for j in range(k)]
    observed = sum(w[i][j] * p[i][j] for i in range(k) for j in range(k))
    chance = sum(w[i][j] * rows[i] * cols[j] for i in range(k) for j in range(k))
    percent = sum(p[i][i] for i in range(k))
    if chance >= 1.0 - 1e-12:
        # Both raters used one category only (or weights make every pair agree): perfect if they always agree.
        kappa = 1.0 if observed >= 1.0 - 1e-12 else 0.0
        return Agreement(n, percent, kappa, kappa, kappa, weighting)
    kappa = (observed - chance) / (1.0 - chance)
    # Fleiss, Cohen & Everitt (1969), the asymptotic variance of weighted kappa (not under the null).
    w_row = [sum(cols[j] * w[i][j] for j in range(k)) for i in range(k)]
    w_col = [sum(rows[i] * w[i][j] for i in range(k)) for j in range(k)]
    spread = sum(p[i][j] * (w[i][j] - (w_row[i] + w_col[j]) * (1.0 - kappa)) ** 2 for i in range(k) for j in range(k))
    variance = max(0.0, spread - (kappa - chance * (1.0 - kappa)) ** 2) / (n * (1.0 - chance) ** 2)
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    half = z * math.sqrt(variance)
    kappa = max(-1.0, min(1.0, kappa))
    return Agreement(n, percent, kappa, max(-1.0, kappa - half), min(1.0, kappa + half), weighting)


def to_category(normalized: float, *, scale_min: float, scale_max: float) -> int:
    """A normalized score in [0, 1] back on the rubric's integer scale (a mean of judges rounds half up)."""
    raw = scale_min + normalized * (scale_max - scale_min)
    return math.floor(raw + 0.5 + 1e-9)


def scale_categories(scale_min: float, scale_max: float) -> list[int]:
    """The integer categories of a rubric's scale (``[1, 5]`` -> 1..5)."""
    return list(range(math.ceil(scale_min), math.floor(scale_max) + 1))
