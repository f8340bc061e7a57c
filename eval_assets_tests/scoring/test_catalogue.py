"""The metric catalogue: one answer to "what is this metric", and it matches what the code computes."""

from __future__ import annotations

import subprocess
import sys

import polars as pl
import pytest

from eval_assets.config import EvalConfig, produced_metrics
from eval_assets.scoring import catalogue
from eval_assets.scoring.metrics import response_metrics, scorer_metrics


def _responses() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "model_id": ["m", "m"],
            "error_type": [None, "timeout"],
            "latency_ms": [100.0, None],
            "input_tokens": [10, None],
            "output_tokens": [5, None],
            "cost_usd": [0.01, None],
        }
    )


def _scores() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "scorer": ["contains", "contains"],
            "score": [1.0, 0.0],
            "passed": [True, False],
            "tags": [["a"], ["b"]],
            "judges_disagree": [False, True],
        }
    )


def test_every_metric_the_code_computes_is_in_the_catalogue() -> None:
    # The catalogue sits beside the metric code: a metric added there without an entry fails here.
    computed = {m.metric for m in [*response_metrics(_responses()), *scorer_metrics(_scores())]}
    assert computed
    assert all(catalogue.spec_for(name) is not None for name in computed), computed
    fixed = {name for name in computed if catalogue.scorer_of(name) is None}
    assert fixed == set(catalogue.run_metric_names(gateable_only=False))


@pytest.mark.parametrize(
    ("metric", "kind", "higher_is_better", "pattern"),
    [
        ("contains.pass_rate", "rate", True, "<scorer>.pass_rate"),
        ("tone.mean", "mean", True, "<scorer>.mean"),
        ("faithfulness.judge_agreement", "rate", True, "<scorer>.judge_agreement"),
        ("error_rate", "rate", False, "error_rate"),
        ("judge_error_rate", "rate", False, "judge_error_rate"),  # ends with error_rate, and is its own entry
        ("latency_p50_ms", "latency", False, "latency_p50_ms"),
        ("latency_p95_ms", "latency", False, "latency_p95_ms"),
        ("cost_usd", "cost", False, "cost_usd"),
        ("tokens_in", "tokens", False, "tokens_in"),
        ("tokens_out", "tokens", False, "tokens_out"),
        ("priced_calls", "count", True, "priced_calls"),
    ],
)
def test_catalogue_entries(metric: str, kind: str, higher_is_better: bool, pattern: str) -> None:
    spec = catalogue.spec_for(metric)
    assert spec is not None
    assert (spec.kind, spec.higher_is_better, spec.pattern) == (kind, higher_is_better, pattern)
    assert spec.description and spec.unit
    assert catalogue.kind_of(metric) == kind
    assert catalogue.higher_is_better(metric) is higher_is_better


@pytest.mark.parametrize(
    "metric",
    [
        "custom",
        "pass_rate",  # a suffix without a scorer is no per-scorer metric
        ".pass_rate",
        "contains.pass_rate.extra",  # the last dot splits: "extra" is no known suffix
        "contains.latency_p95_ms",  # run metrics are not per scorer
    ],
)
def test_unknown_names_are_plain_numbers_where_higher_is_better(metric: str) -> None:
    assert catalogue.spec_for(metric) is None
    assert catalogue.kind_of(metric) == "number"
    assert catalogue.higher_is_better(metric) is True
    assert catalogue.in_report_table(metric)  # nothing is hidden because we do not know it


def test_scorer_of_splits_on_the_last_dot() -> None:
    assert catalogue.scorer_of("contains.pass_rate") == "contains"
    assert catalogue.scorer_of("error_rate") is None
    assert catalogue.scorer_of("custom") is None


def test_headline_is_pass_rates_then_error_rate_cost_and_p95_latency() -> None:
    rows = [
        ("tokens_in", 1.0),
        ("latency_p95_ms", 2.0),
        ("cost_usd", 3.0),
        ("zeta.pass_rate", 4.0),
        ("error_rate", 5.0),
        ("alpha.pass_rate", 6.0),
        ("alpha.mean", 7.0),
        ("custom", 8.0),
    ]
    assert [r[0] for r in catalogue.headline_rows(rows)] == [
        "alpha.pass_rate",
        "zeta.pass_rate",
        "error_rate",
        "cost_usd",
        "latency_p95_ms",
    ]
    assert catalogue.headline_rows([]) == []


def test_config_thresholds_may_use_exactly_the_gateable_catalogue_metrics() -> None:
    config = EvalConfig.model_validate(
        {
            "model": {"id": "offline/assistant-v1"},
            "datasets": [{"path": "datasets/faq.jsonl"}],
            "scorers": [
                {"scorer": "contains"},
                {
                    "scorer": "rubric_judge",
                    "name": "tone",
                    "rubric": "rubric-tone",
                    "judges": [{"id": "offline/judge"}, {"id": "offline/judge-strict"}],
                },
            ],
        }
    )
    produced = produced_metrics(config)
    assert produced == {
        *catalogue.run_metric_names(),
        "contains.pass_rate",
        "contains.mean",
        "tone.pass_rate",
        "tone.mean",
        "tone.judge_agreement",  # several judges
    }
    assert "priced_calls" not in produced  # it qualifies cost_usd; a gate on it means nothing


def test_catalogue_is_pure() -> None:
    code = "import sys, eval_assets.scoring.catalogue; assert not {'dagster', 'polars'} & set(sys.modules)"
    subprocess.run([sys.executable, "-c", code], check=True)
