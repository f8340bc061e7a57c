"""The offline simulator's randomness: every draw is a pure function of what a call is a function of.

No clock and no unseeded generator: a uniform number is a hash of its inputs, so a reply is the same in
every process, on every machine, on every rerun of the same (model, prompt, eval date, seed, temperature).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

# Each example's outcome draws on three independent normals: how hard the example is (shared by all
# models, so models fail on similar examples), the model's own luck on it (fixed across days), and a
# per-call sampling term (changes with date and temperature). Mixing them through a Gaussian copula keeps
# the marginal success rate exactly the model's quality while keeping day-over-day flips rare.
_DIFFICULTY_WEIGHT = 0.65
_SAMPLING_WEIGHT_AT_T0 = 0.1
_SAMPLING_WEIGHT_PER_T = 0.2
_STANDARD_NORMAL = NormalDist()


def unit(*parts: object) -> float:
    """A uniform number in (0, 1) that is a pure function of ``parts`` (stable across processes)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode("utf-8", "surrogatepass"), digest_size=8)
    return (int.from_bytes(digest.digest(), "big") + 0.5) / 2**64


def clamp(value: float) -> float:
    """``value`` limited to [0, 1]."""
    return min(1.0, max(0.0, value))


@dataclass(frozen=True)
class Draw:
    """All the randomness of one call, derived from what the call is a function of."""

    model: str
    key: str
    eval_date: date | None
    seed: int | None
    temperature: float

    def unit(self, purpose: str, *extra: object) -> float:
        """A uniform for one decision (template, tone, ...); the same every day, like greedy decoding."""
        return unit(self.model, self.key, self.seed, round(self.temperature, 3), purpose, *extra)

    def outcome(self) -> float:
        """Uniform in (0, 1); the call succeeds when it falls below the model's rate."""
        sampling = _SAMPLING_WEIGHT_AT_T0 + _SAMPLING_WEIGHT_PER_T * min(self.temperature, 1.0)
        own = 1.0 - _DIFFICULTY_WEIGHT - sampling
        z = (
            math.sqrt(_DIFFICULTY_WEIGHT) * _STANDARD_NORMAL.inv_cdf(unit("difficulty", self.key))
            + math.sqrt(own) * _STANDARD_NORMAL.inv_cdf(unit(self.model, self.key, self.seed, "own"))
            + math.sqrt(sampling) * _STANDARD_NORMAL.inv_cdf(self.unit("sampling", self.eval_date))
        )
        return _STANDARD_NORMAL.cdf(z)


def pick(draw: Draw, purpose: str, options: Sequence[str]) -> str:
    """One of ``options``, chosen by the draw for ``purpose``."""
    return options[int(draw.unit(purpose) * len(options))]


@dataclass(frozen=True)
class CoinDraw(Draw):
    """A draw whose outcome is a fair coin per (model, prompt, seed, date): a model unsure of the answer."""

    def outcome(self) -> float:
        """In (0.4, 1.36), drawn afresh for every seed and eval date: below a rate of ~0.88 about half the time."""
        # Shifted so the assistants' usual rates (0.8 .. 0.95) make it close to a fair coin, not a 90% pass.
        return 0.4 + 0.96 * unit(self.model, self.key, self.seed, self.eval_date, "coin")


def flaky_draw(
    model: str, key: str, eval_date: date | None, seed: int | None, temperature: float, *, share: float
) -> Draw:
    """The draw of a model that is a coin flip on ``share`` of the prompts (chosen by the prompt).

    On the flaky prompts each (seed, eval date) decides afresh, so a repeat (its own seed) or another night
    may disagree; on the others the seed and the date are ignored: the model answers them the same way every
    time, whatever the temperature.
    """
    if unit(model, key, "flaky") < share:
        return CoinDraw(model, key, eval_date, seed, temperature)
    return Draw(model, key, None, None, temperature)
