"""The one formatting module: values, deltas, p-values and costs read the same in every output."""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import given, strategies as st

from eval_assets.reporting.format import (
    Cost,
    cost_note,
    cost_of,
    cost_phrase,
    describe_comparison,
    format_cost,
    format_delta,
    format_metadata,
    format_p_value,
    headline_text,
    p_phrase,
    regression_summary,
)
from eval_assets.scoring.metrics import call_costs, response_metrics
from eval_assets_tests.reporting import factories as f


@pytest.mark.parametrize(
    ("cost", "expected"),
    [
        (Cost(0.0123, 80, 80), "$0.0123"),
        (Cost(0.0123), "$0.0123"),  # a run from before priced calls were counted: the amount alone
        (Cost(0.0, 0, 0), "$0.0000"),  # no answered call at all: nothing was paid, truly $0
        (Cost(0.0123, 40, 80), "$0.0123 (partial: 40 of 80 calls priced)"),
        (
            Cost(0.5, 1_200, 12_000, ("openai/fake",)),
            "$0.5000 (partial: 1,200 of 12,000 calls priced; no price for openai/fake)",
        ),
        (Cost(None, 0, 80, ("openai/fake",)), "unknown: no price for openai/fake"),
        (Cost(None, 0, 80, ("a", "b", "c", "d", "e")), "unknown: no price for a, b, c and 2 more"),
        (Cost(None), "unknown"),
        (Cost(float("nan")), "unknown"),
    ],
)
def test_cost_says_when_it_is_partial_or_unknown(cost: Cost, expected: str) -> None:
    assert format_cost(cost) == expected


def test_issue8_7_unknown_price_is_not_zero() -> None:
    # The fake server's model has no price: every answered call costs NULL, and the total must say so.
    responses = pl.DataFrame(
        {
            "model_id": ["openai/fake-model"] * 3,
            "error_type": [None, None, None],
            "latency_ms": [10.0, 11.0, 12.0],
            "input_tokens": [5, 5, 5],
            "output_tokens": [3, 3, 3],
            "cost_usd": [None, None, None],
        },
        schema_overrides={"cost_usd": pl.Float64},
    )
    metrics = {m.metric: (m.value, m.n) for m in response_metrics(responses)}
    assert metrics["cost_usd"][0] is None  # not 0.0
    assert metrics["priced_calls"] == (0.0, 3)
    cost = cost_of(metrics, model_id="openai/fake-model")
    assert cost.state == "unknown"
    assert cost_phrase(cost) == "cost unknown: no price for openai/fake-model"
    assert "$0.0000" not in cost_phrase(cost)
    assert call_costs(responses).unpriced_models == ("openai/fake-model",)


def test_issue8_7_partial_sum_says_it_is_partial() -> None:
    responses = pl.DataFrame(
        {
            "model_id": ["openai/gpt-4o-mini"] * 2,
            "error_type": [None, "timeout"],  # a failed call has nothing to price: not counted either way
            "latency_ms": [10.0, None],
            "input_tokens": [5, None],
            "output_tokens": [3, None],
            "cost_usd": [0.002, None],
        }
    )
    verdicts = pl.DataFrame(
        {
            "judge_model": ["openai/judge-x", "openai/judge-x", "openai/judge-x"],
            "raw_answer": ["not json", None, "{}"],  # unparseable but answered; a failed call; answered
            "error": ["unparseable", "timeout", None],
            "cost_usd": [None, None, None],
        },
        schema_overrides={"cost_usd": pl.Float64},
    )
    costs = call_costs(responses, verdicts)
    assert (costs.usd, costs.priced, costs.calls, costs.unpriced_models) == (0.002, 1, 3, ("openai/judge-x",))
    cost = Cost(costs.usd, costs.priced, costs.calls, costs.unpriced_models)
    assert format_cost(cost) == "$0.0020 (partial: 1 of 3 calls priced; no price for openai/judge-x)"
    assert cost_note(cost) == "partial: 1 of 3 calls priced; no price for openai/judge-x"
    metrics = {m.metric: (m.value, m.n) for m in response_metrics(responses, verdicts)}
    assert metrics["cost_usd"][0] == pytest.approx(0.002)
    assert cost_of(metrics).state == "partial"


def test_fully_priced_runs_read_as_before() -> None:
    responses = pl.DataFrame({"model_id": ["m", "m"], "error_type": [None, None], "cost_usd": [0.25, 0.5]})
    costs = call_costs(responses)
    assert (costs.usd, costs.priced, costs.calls, costs.unpriced_models) == (0.75, 2, 2, ())
    assert format_cost(Cost(costs.usd, costs.priced, costs.calls)) == "$0.7500"
    assert cost_note(Cost(costs.usd, costs.priced, costs.calls)) == ""


def test_cost_of_names_the_model_only_when_nothing_is_priced() -> None:
    # The metrics cannot say which models lack a price when only some calls have one.
    partial = cost_of({"cost_usd": (0.1, 10), "priced_calls": (5.0, 10)}, model_id="m")
    assert partial.unpriced_models == () and partial.state == "partial"
    unknown = cost_of({"cost_usd": (None, 10), "priced_calls": (0.0, 10)}, model_id="m")
    assert unknown.unpriced_models == ("m",)
    legacy = cost_of({"cost_usd": (0.1, 10)}, model_id="m")  # no priced_calls row: the amount alone
    assert format_cost(legacy) == "$0.1000"


@pytest.mark.parametrize(
    ("metric", "delta", "expected"),
    [
        ("contains.pass_rate", 0.012, "+1.2 pp"),
        ("contains.pass_rate", -0.00049, "+0.0 pp"),  # rounds to zero: never "-0.0"
        ("judge_error_rate", -0.05, "-5.0 pp"),
        ("tone.mean", -0.0312, "-0.031"),
        ("latency_p95_ms", 12.4, "+12 ms"),
        ("cost_usd", -0.00004, "+$0.0000"),
        ("tokens_out", -1234.0, "-1,234"),
        ("priced_calls", 3.0, "+3"),
        ("custom", 0.5, "+0.5"),
        ("contains.pass_rate", float("nan"), "—"),
    ],
)
def test_deltas(metric: str, delta: float, expected: str) -> None:
    assert format_delta(metric, delta) == expected


@pytest.mark.parametrize(
    ("p", "value", "phrase"),
    [
        (0.0, "<0.0001", "p<0.0001"),  # zero is the most significant p-value, not a missing one
        (0.00005, "<0.0001", "p<0.0001"),
        (0.0225, "0.0225", "p=0.0225"),
        (None, "—", "p n/a"),
        (float("nan"), "—", "p n/a"),
    ],
)
def test_p_values(p: float | None, value: str, phrase: str) -> None:
    assert format_p_value(p) == value
    assert p_phrase(p) == phrase


def test_comparisons_in_words() -> None:
    line = f.comparison("refusal", delta=-0.114, p_value=0.0021, flipped_to_fail=25, regression=True)
    assert regression_summary(line) == "refusal -11.4 pp (p=0.0021)"
    assert describe_comparison(line) == "refusal -11.4 pp (p=0.0021, n=200, 25 flipped to fail)"
    graded = f.comparison("refusal", kind="graded", delta=-0.0312, p_value=None)
    # A graded delta is a mean score difference: three decimals, no percentage points.
    assert describe_comparison(graded).startswith("refusal -0.031 (p n/a, ")


def test_headline_text_for_one_line_summaries() -> None:
    assert headline_text("contains.pass_rate", 0.75, 0.012) == "contains 75.0% (+1.2 pp)"
    assert headline_text("contains.pass_rate", 0.75, None) == "contains 75.0%"
    assert headline_text("error_rate", 0.015, 0.01) == "errors 1.5%"  # infrastructure: the level, not its drift
    assert headline_text("latency_p95_ms", 1234.4, None) == "p95 1,234 ms"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("value", 0.62, "0.62"),
        ("n", 200, "200"),
        ("p_value", 0.00001, "<0.0001"),
        ("delta", float("inf"), "n/a"),
        ("baseline", "nightly 2026-11-06", "nightly 2026-11-06"),
        ("passed", True, "True"),
        ("x", None, "n/a"),
    ],
)
def test_metadata_values(key: str, value: object, expected: str) -> None:
    assert format_metadata(key, value) == expected


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_a_delta_never_reads_minus_zero(delta: float) -> None:
    for metric in ("contains.pass_rate", "tone.mean", "latency_p95_ms", "cost_usd", "tokens_in"):
        text = format_delta(metric, delta)
        assert not text.startswith(("-0.0 ", "-0 ", "-$0.0000")) and text not in ("-0.000", "-0")


@given(st.one_of(st.none(), st.floats(allow_nan=True)), st.integers(0, 10**6), st.integers(0, 10**6))
def test_an_unknown_amount_never_reads_as_dollars(usd: float | None, priced: int, calls: int) -> None:
    text = format_cost(Cost(usd, min(priced, calls), calls))
    known = usd is not None and not math.isnan(usd)
    assert text.startswith("$") == known
