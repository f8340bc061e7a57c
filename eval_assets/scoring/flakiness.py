"""The flakiness ledger: each (example, scorer)'s verdicts across nights, and what kind of example it is (pure).

A history is a list of nights, oldest first; a night is the verdicts of its repeats (one with
``runtime.repeats: 1``). The class says how far the latest night's verdict can be trusted:

- ``stable_pass`` / ``stable_fail``: every sample in the window agrees, or the verdict changed once and has
  held since (a lasting break or fix is stable in its new state, not flaky).
- ``newly_broken``: it passed every sample of every earlier night in the window and fails every sample of the
  latest night. Shown first in the report and the alert: it is the regression a person should look at.
- ``fixed``: the reverse.
- ``flaky``: the samples of one night disagree, or the night-level verdict changed direction more than once.
  A coin-flip example; kept out of the hard regression gate so it cannot turn CI red on its own.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eval_assets.scoring.statistics import wilson_interval

Stability = Literal["stable_pass", "stable_fail", "flaky", "newly_broken", "fixed"]
#: Most urgent first: the order the report and the alert list them in.
STABILITY_ORDER: tuple[Stability, ...] = ("newly_broken", "flaky", "fixed", "stable_fail", "stable_pass")
LedgerKey = tuple[str, str, str]  # dataset, example id, scorer

#: Nights of history the ledger looks at, and how many of the latest samples it shows.
DEFAULT_WINDOW = 14
LAST_N = 10


@dataclass(frozen=True)
class LedgerEntry:
    """One (example, scorer)'s record as of the latest night of its history.

    Attributes:
        nights: Nights with at least one scored sample (at most the window).
        outcomes: Scored samples (nights x repeats).
        passes: Samples that passed.
        pass_probability: ``passes / outcomes``.
        wilson_low: Lower end of the 95% Wilson interval of the pass probability.
        wilson_high: Upper end of it.
        flip_rate: Share of consecutive samples (oldest first) whose verdict differs (0 with one sample).
        last_outcomes: The latest ``LAST_N`` samples, ``P``/``F``, nights separated by ``|``.
        stability: The class (see the module docstring).
    """

    nights: int
    outcomes: int
    passes: int
    pass_probability: float
    wilson_low: float
    wilson_high: float
    flip_rate: float
    last_outcomes: str
    stability: Stability


def classify(history: Sequence[Sequence[bool]]) -> Stability:
    """The class of a history (nights oldest first; empty nights are ignored).

    Raises:
        ValueError: if no night has a sample (there is nothing to classify).
    """
    nights = [list(night) for night in history if len(night)]
    if not nights:
        raise ValueError("a history needs at least one scored sample")
    if any(any(night) and not all(night) for night in nights):
        return "flaky"  # the model disagrees with itself on the same night
    verdicts = [night[0] for night in nights]
    changes = sum(a != b for a, b in itertools.pairwise(verdicts))
    if changes > 1:
        return "flaky"
    latest = verdicts[-1]
    if changes == 1 and verdicts[-2] != latest:
        return "fixed" if latest else "newly_broken"
    return "stable_pass" if latest else "stable_fail"


def ledger_entry(history: Sequence[Sequence[bool]]) -> LedgerEntry:
    """The ledger entry of one history (see :func:`classify`).

    Raises:
        ValueError: if no night has a sample.
    """
    stability = classify(history)
    nights = [list(night) for night in history if len(night)]
    flat = [verdict for night in nights for verdict in night]
    passes = sum(flat)
    interval = wilson_interval(passes, len(flat))
    low, high = interval if interval is not None else (0.0, 1.0)
    flips = sum(a != b for a, b in itertools.pairwise(flat))
    return LedgerEntry(
        nights=len(nights),
        outcomes=len(flat),
        passes=passes,
        pass_probability=passes / len(flat),
        wilson_low=low,
        wilson_high=high,
        flip_rate=flips / (len(flat) - 1) if len(flat) > 1 else 0.0,
        last_outcomes=_last_outcomes(nights),
        stability=stability,
    )


def _last_outcomes(nights: Sequence[Sequence[bool]]) -> str:
    shown: list[str] = []
    left = LAST_N
    for night in reversed(nights):
        if left <= 0:
            break
        part = "".join("P" if v else "F" for v in night[-left:])
        left -= len(part)
        shown.append(part)
    return "|".join(reversed(shown))


def build_ledger(samples: Iterable[tuple[LedgerKey, object, bool]]) -> dict[LedgerKey, LedgerEntry]:
    """The ledger of every key from its samples ``(key, night, passed)``; nights sort oldest first.

    Samples come in any order; within a night their order is kept (the repeat order).
    """
    by_key: dict[LedgerKey, dict[object, list[bool]]] = {}
    for key, night, passed in samples:
        by_key.setdefault(key, {}).setdefault(night, []).append(bool(passed))
    return {
        key: ledger_entry([nights[n] for n in sorted(nights)])  # type: ignore[type-var]  # dates sort
        for key, nights in by_key.items()
    }


def keys_of(ledger: Mapping[LedgerKey, LedgerEntry], stability: Stability) -> frozenset[LedgerKey]:
    """The keys of one class."""
    return frozenset(key for key, entry in ledger.items() if entry.stability == stability)


def ordered(ledger: Mapping[LedgerKey, LedgerEntry]) -> list[tuple[LedgerKey, LedgerEntry]]:
    """Entries most urgent first (newly broken, flaky, fixed, ...), then by key."""
    rank = {name: i for i, name in enumerate(STABILITY_ORDER)}
    return sorted(ledger.items(), key=lambda item: (rank[item[1].stability], item[0]))


def ledger_from_history(history: Any) -> dict[LedgerKey, LedgerEntry]:
    """The ledger of a score history frame (``eval_date``, ``dataset``, ``example_id``, ``scorer``,
    ``repeat_index``, ``passed``; see ``warehouse.score_history``)."""
    import polars as pl

    if history.is_empty():
        return {}
    nights = (
        history.sort("eval_date", "repeat_index")
        .group_by("dataset", "example_id", "scorer", "eval_date", maintain_order=True)
        .agg(pl.col("passed"))
        .sort("eval_date")
        .group_by("dataset", "example_id", "scorer", maintain_order=True)
        .agg(pl.col("passed"))
    )
    # Most examples share a history (passed every night, say): each distinct one is worked out once.
    entries: dict[tuple[tuple[bool, ...], ...], LedgerEntry] = {}
    ledger: dict[LedgerKey, LedgerEntry] = {}
    for dataset, example_id, scorer, verdicts in nights.iter_rows():
        shape = tuple(map(tuple, verdicts))
        entry = entries.get(shape)
        if entry is None:
            entry = entries[shape] = ledger_entry(shape)
        ledger[(dataset, example_id, scorer)] = entry
    return ledger


def set_apart_from_gate(history: Any, tonight: dt.date) -> frozenset[LedgerKey]:
    """The examples a regression gate leaves out tonight: flaky on the nights *before* tonight, or whose
    repeats disagree with each other tonight.

    Tonight's change of verdict is not itself evidence of flakiness: an example that was stable and breaks
    tonight is newly broken and must be gated, or a regression would hide behind the flips it causes (an
    example failed once by noise, then broken for real, would otherwise count as flaky on the night it breaks).
    """
    import polars as pl

    if history.is_empty():
        return frozenset()
    flaky_before = keys_of(ledger_from_history(history.filter(pl.col("eval_date") < tonight)), "flaky")
    disagreeing = (
        history.filter(pl.col("eval_date") == tonight)
        .group_by("dataset", "example_id", "scorer")
        .agg(pl.col("passed").n_unique().alias("verdicts"))
        .filter(pl.col("verdicts") > 1)
        .select("dataset", "example_id", "scorer")
    )
    return flaky_before | frozenset(disagreeing.iter_rows())


def ledger_rows(ledger: Mapping[LedgerKey, LedgerEntry], keys: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One ``flakiness`` row per (example, scorer), most urgent first."""
    return [
        {
            **keys,
            "dataset": dataset,
            "example_id": example_id,
            "scorer": scorer,
            "nights": entry.nights,
            "outcomes": entry.outcomes,
            "passes": entry.passes,
            "pass_probability": entry.pass_probability,
            "wilson_low": entry.wilson_low,
            "wilson_high": entry.wilson_high,
            "flip_rate": entry.flip_rate,
            "last_outcomes": entry.last_outcomes,
            "stability": entry.stability,
        }
        for (dataset, example_id, scorer), entry in ordered(ledger)
    ]


def stability_counts(ledger: Mapping[LedgerKey, LedgerEntry]) -> dict[Stability, int]:
    """How many (example, scorer) pairs of each class, in :data:`STABILITY_ORDER`."""
    counts = {name: 0 for name in STABILITY_ORDER}
    for entry in ledger.values():
        counts[entry.stability] += 1
    return counts
