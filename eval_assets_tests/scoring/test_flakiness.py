"""The flakiness ledger's classes, interval and flip rate (issue 11, item 5)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, strategies as st

from eval_assets.scoring.flakiness import (
    LAST_N,
    build_ledger,
    classify,
    keys_of,
    ledger_entry,
    ledger_from_history,
    ordered,
)

P, F = True, False


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        ([[P]], "stable_pass"),  # one night, one sample: nothing contradicts it yet
        ([[F]], "stable_fail"),
        ([[P, P, P], [P, P, P]], "stable_pass"),
        ([[P, F, P]], "flaky"),  # the repeats of one night disagree: a coin flip from the first night
        ([[P], [P], [P], [F]], "newly_broken"),  # passed every earlier sample, fails every latest one
        ([[F], [F], [P]], "fixed"),
        ([[P], [P], [F], [F]], "stable_fail"),  # broke once and stayed broken: a lasting change, not flakiness
        ([[F], [P], [P]], "stable_pass"),  # fixed and holding
        ([[P], [F], [P]], "flaky"),  # changed direction twice at night level, each night unanimous
        ([[P, P], [P, P], [P, F]], "flaky"),  # a partial failure tonight is flakiness, not a clean break
        ([[P, P], [], [F, F]], "newly_broken"),  # a night without a scored sample (call failed) is skipped
        ([[P, F], [F, F]], "flaky"),  # flaky history: tonight's clean failure does not make it newly broken
    ],
)
def test_classify_table(history: list[list[bool]], expected: str) -> None:
    assert classify(history) == expected


def test_a_history_without_samples_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one scored sample"):
        classify([[], []])


def test_an_entry_counts_samples_and_brackets_the_pass_probability() -> None:
    entry = ledger_entry([[P, F, P, P, F], [P, P, F, P, P]])
    assert (entry.nights, entry.outcomes, entry.passes) == (2, 10, 7)
    assert entry.pass_probability == pytest.approx(0.7)
    assert entry.wilson_low < 0.7 < entry.wilson_high
    # P F P P F | P P F P P: changes between neighbours 1,2,3 / 4,5 / 5,6 / 7,8 / 8,9 -> 6 of 9 pairs
    assert entry.flip_rate == pytest.approx(6 / 9)
    assert entry.last_outcomes == "PFPPF|PPFPP"
    assert entry.stability == "flaky"


def test_last_outcomes_shows_only_the_latest_samples() -> None:
    entry = ledger_entry([[P] * 4, [F] * 4, [F] * 4])
    assert entry.last_outcomes.replace("|", "") == "PP" + "F" * 8
    assert len(entry.last_outcomes.replace("|", "")) == LAST_N


def test_the_ledger_groups_samples_by_key_and_sorts_nights() -> None:
    samples = [
        (("faq", "a", "exact"), "2026-01-03", False),  # given out of order: nights are sorted
        (("faq", "a", "exact"), "2026-01-01", True),
        (("faq", "a", "exact"), "2026-01-02", True),
        (("faq", "b", "exact"), "2026-01-01", True),
        (("faq", "b", "exact"), "2026-01-01", False),
    ]
    ledger = build_ledger(samples)
    assert ledger[("faq", "a", "exact")].stability == "newly_broken"
    assert keys_of(ledger, "flaky") == {("faq", "b", "exact")}
    assert [key for key, _ in ordered(ledger)] == [("faq", "a", "exact"), ("faq", "b", "exact")]


histories = st.lists(st.lists(st.booleans(), min_size=1, max_size=6), min_size=1, max_size=12)


@given(histories)
def test_entry_invariants(history: list[list[bool]]) -> None:
    entry = ledger_entry(history)
    assert 0.0 <= entry.wilson_low <= entry.pass_probability <= entry.wilson_high <= 1.0
    assert 0.0 <= entry.flip_rate <= 1.0
    assert entry.outcomes == sum(map(len, history))
    # Unanimous histories are stable in their verdict; a flip rate of 0 is never flaky.
    if entry.passes == entry.outcomes:
        assert entry.stability == "stable_pass"
    if entry.passes == 0:
        assert entry.stability == "stable_fail"
    if entry.flip_rate == 0.0:
        assert entry.stability != "flaky"


@given(histories, st.booleans())
def test_a_mixed_night_is_always_flaky(history: list[list[bool]], first: bool) -> None:
    assert classify([*history, [first, not first]]) == "flaky"


def test_the_gate_sets_apart_what_was_flaky_before_tonight_not_what_tonight_breaks() -> None:
    import datetime as dt

    import polars as pl

    from eval_assets.scoring.flakiness import set_apart_from_gate

    nights = [dt.date(2026, 11, day) for day in (5, 6, 7)]
    outcomes = {
        "noise-then-broken": [[False], [True], [False]],  # one noisy night, then broken tonight: gated
        "fixed-tonight": [[True], [False], [True]],  # one change before tonight, fixed tonight: not flaky yet
        "coin-before": [[True, False], [True], [False]],  # its repeats disagreed before tonight: flaky
        "coin-tonight": [[True], [True], [True, False]],  # its repeats disagree tonight
        "stable": [[True], [True], [True]],
    }
    rows = [
        {"eval_date": night, "dataset": "d", "example_id": example, "scorer": "s", "repeat_index": i, "passed": p}
        for example, history in outcomes.items()
        for night, samples in zip(nights, history, strict=True)
        for i, p in enumerate(samples)
    ]
    history = pl.DataFrame(rows)
    assert set_apart_from_gate(history, nights[-1]) == {("d", "coin-before", "s"), ("d", "coin-tonight", "s")}
    assert set_apart_from_gate(history.clear(), nights[-1]) == frozenset()


nights_of_samples = st.lists(st.lists(st.booleans(), min_size=1, max_size=3), min_size=1, max_size=5)


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e", "f"]), nights_of_samples, min_size=1))
def test_the_ledger_of_a_history_frame_is_each_histories_entry(histories: dict[str, list[list[bool]]]) -> None:
    rows = [
        {"eval_date": dt.date(2026, 1, 1) + dt.timedelta(night), "dataset": "d", "example_id": example,
         "scorer": "s", "repeat_index": repeat, "passed": passed}
        for example, nights in histories.items()
        for night, samples in enumerate(nights)
        for repeat, passed in enumerate(samples)
    ]  # fmt: skip
    ledger = ledger_from_history(pl.DataFrame(rows).sample(fraction=1.0, shuffle=True, seed=3))
    assert ledger == {("d", example, "s"): ledger_entry(nights) for example, nights in histories.items()}
