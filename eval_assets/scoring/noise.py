"""The A/A noise floor: a night re-run against itself, and how often the gate would have cried wolf (pure)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from eval_assets.scoring.comparison import ScorerComparison


@dataclass(frozen=True)
class NoiseFloor:
    """What N re-runs of one night, each compared with the night itself, showed for one gated scorer.

    Attributes:
        scorer: The primary (gated) scorer.
        deltas: Each re-run's overall delta against the night (None where nothing was paired), in run order.
        false_alarms: Re-runs whose verdict was FAIL: with nothing changed, every FAIL is a false alarm.
        runs: Re-runs compared.
        alpha: The gate's significance level, which bounds the false-alarm rate it promises.
    """

    scorer: str
    deltas: tuple[float | None, ...]
    false_alarms: int
    runs: int
    alpha: float

    @property
    def false_alarm_rate(self) -> float | None:
        """Observed share of false alarms (None without runs)."""
        return self.false_alarms / self.runs if self.runs else None

    def spread(self) -> tuple[float, float, float] | None:
        """(min, median, max) of the deltas, None when none was measured."""
        known = [d for d in self.deltas if d is not None]
        if not known:
            return None
        return min(known), statistics.median(known), max(known)


def noise_floor(runs: Sequence[Sequence[ScorerComparison]], *, alpha: float) -> list[NoiseFloor]:
    """Per gated scorer, the deltas and false alarms of re-runs (each a list of comparisons with the night).

    Only the overall comparisons that take part in the gate count: they are what could have turned CI red.
    """
    scorers = sorted({c.scorer for comparisons in runs for c in comparisons if c.gated and c.tag is None})
    out = []
    for scorer in scorers:
        chosen = [next((c for c in comparisons if c.scorer == scorer and c.tag is None), None) for comparisons in runs]
        out.append(
            NoiseFloor(
                scorer=scorer,
                deltas=tuple(c.delta if c is not None else None for c in chosen),
                false_alarms=sum(c is not None and c.verdict == "FAIL" for c in chosen),
                runs=len(runs),
                alpha=alpha,
            )
        )
    return out


def render_noise_floor(floors: Sequence[NoiseFloor]) -> str:
    """Plain-text table: scorer, runs, delta min / median / max, observed false alarms next to alpha."""
    lines = ["scorer            runs   delta min / median / max (pp)   false alarms   alpha"]
    for f in floors:
        spread = f.spread()
        shown = " / ".join(f"{v * 100:+.1f}" for v in spread) if spread else "n/a"
        rate = f.false_alarm_rate
        alarms = f"{f.false_alarms}/{f.runs} ({rate:.0%})" if rate is not None else "n/a"
        lines.append(f"{f.scorer:<17} {f.runs:>4}   {shown:<30}   {alarms:<13}  {f.alpha:.2f}")
    return "\n".join(lines)
