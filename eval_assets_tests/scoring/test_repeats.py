"""Repeats in the pure layer: cache keys, pass@k / pass^k, the repeat-aware comparison, flaky examples set apart."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.config import EvalConfig, ModelSpec, RegressionPolicy, Runtime, config_hash
from eval_assets.lineage import stable_hash
from eval_assets.llm.calls import build_call, repeat_model, request_hash
from eval_assets.scoring import catalogue
from eval_assets.scoring.comparison import collapse_repeats, compare_runs
from eval_assets.scoring.metrics import scorer_metrics

MODEL = ModelSpec(id="offline/assistant-v1", temperature=0.7, max_tokens=100)
MESSAGES = [{"role": "user", "content": "How much is Plus?"}]


def test_repeat_zero_keeps_the_cache_key_a_run_without_repeats_had() -> None:
    # The key as computed before repeats existed: caches written by K = 1 nights must keep hitting.
    before = stable_hash(
        {
            "model": MODEL.id,
            "api_base": None,
            "temperature": 0.7,
            "max_tokens": 100,
            "seed": None,
            "messages": MESSAGES,
            "scope": "2026-11-01",
        }
    )
    assert request_hash(MODEL, MESSAGES, scope="2026-11-01") == before
    assert build_call("k", repeat_model(MODEL, 0), MESSAGES, scope="2026-11-01", repeat=0).request_hash == before


def test_every_repeat_has_its_own_cache_key_and_seed() -> None:
    calls = [build_call(k, repeat_model(MODEL, k), MESSAGES, scope="d", repeat=k) for k in range(5)]
    assert len({c.request_hash for c in calls}) == 5
    assert [c.model.seed for c in calls] == [None, 1, 2, 3, 4]
    assert all(c.model.temperature == 0.7 for c in calls)  # temperature as configured
    seeded = ModelSpec(id="m", seed=2**63 - 1)
    assert repeat_model(seeded, 1).seed == -(2**63)  # still a 64-bit seed


def test_repeats_is_validated_and_its_default_keeps_config_hashes() -> None:
    with pytest.raises(ValueError, match="repeats"):
        Runtime(repeats=0)
    with pytest.raises(ValueError, match="repeats"):
        Runtime(repeats=101)
    base = {"model": {"id": "offline/assistant-v1"}, "datasets": [{"path": "datasets/faq.jsonl"}]}
    base["scorers"] = [{"scorer": "contains"}]
    plain = EvalConfig.model_validate(base)
    explicit = EvalConfig.model_validate({**base, "runtime": {"repeats": 1}})
    assert config_hash(plain) == config_hash(explicit)
    assert config_hash(EvalConfig.model_validate({**base, "runtime": {"repeats": 3}})) != config_hash(plain)


def _rows(passed: dict[str, list[bool]], *, scorer: str = "contains") -> pl.DataFrame:
    """Score rows of one scorer: each example's repeats in order."""
    rows = [
        {
            "dataset": "qa",
            "example_id": example,
            "repeat_index": k,
            "scorer": scorer,
            "scorer_kind": "contains",
            "score": 1.0 if p else 0.0,
            "passed": p,
            "tags": ["t"],
        }
        for example, verdicts in passed.items()
        for k, p in enumerate(verdicts)
    ]
    return pl.DataFrame(rows)


def test_pass_at_k_pass_all_k_and_pass_probability_by_hand() -> None:
    scores = _rows({"a": [True] * 5, "b": [True, False, True, False, False], "c": [False] * 5})
    values = {(m.metric, m.tag): (m.value, m.n) for m in scorer_metrics(scores)}
    assert values[("contains.pass_at_k", None)] == (pytest.approx(2 / 3), 3)  # a and b pass at least once
    assert values[("contains.pass_all_k", None)] == (pytest.approx(1 / 3), 3)  # only a passes all five
    assert values[("contains.pass_probability", None)] == (pytest.approx((1 + 0.4 + 0) / 3), 3)
    assert values[("contains.pass_rate", None)] == (pytest.approx(7 / 15), 15)
    assert ("contains.pass_at_k", "t") in values  # per tag too
    assert all(catalogue.spec_for(metric) is not None for metric, _ in values)


def test_a_run_without_repeats_has_no_repeat_metrics() -> None:
    metrics = {m.metric for m in scorer_metrics(_rows({"a": [True], "b": [False]}))}
    assert not metrics & {f"contains.{s}" for s in catalogue.repeats_suffixes()}


@settings(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=1, max_size=5), min_size=1, max_size=12))
def test_pass_all_k_never_exceeds_the_pass_rate_which_never_exceeds_pass_at_k(verdicts: list[list[bool]]) -> None:
    padded = {f"e{i}": [*v, v[0]] for i, v in enumerate(verdicts)}  # at least two repeats, so metrics exist
    values = {m.metric: m.value for m in scorer_metrics(_rows(padded)) if m.tag is None}
    assert values["contains.pass_all_k"] <= values["contains.pass_probability"] <= values["contains.pass_at_k"]  # type: ignore[operator]


def test_repeats_are_one_cluster_per_example() -> None:
    scores = _rows({"a": [True, True, False], "b": [False, False, False]})
    collapsed = collapse_repeats(scores).sort("example_id")
    assert collapsed.get_column("score").to_list() == pytest.approx([2 / 3, 0.0])
    assert collapsed.get_column("passed").to_list() == [True, False]


def test_a_repeated_comparison_counts_examples_not_samples() -> None:
    # 40 examples x 5 repeats: n is 40, and the paired test runs on the per-example means.
    baseline = _rows({f"e{i}": [True] * 5 for i in range(40)})
    current = _rows({f"e{i}": [i >= 4] * 5 for i in range(40)})
    (overall, _tag) = compare_runs(current, baseline, policy=RegressionPolicy())
    assert overall.repeats and overall.n == 40
    assert overall.delta == pytest.approx(-0.1)


def test_a_night_where_only_flaky_examples_flip_does_not_fail() -> None:
    # 200 steady examples and 40 coin flips that all happen to fail tonight: a 20 pp drop from the coins alone.
    steady = {f"s{i:03d}": [True] * 5 for i in range(200)}
    coins_then = {f"c{i:02d}": [True, True, True, True, False] for i in range(40)}
    coins_now = {f"c{i:02d}": [False, False, False, False, True] for i in range(40)}
    baseline, current = _rows({**steady, **coins_then}), _rows({**steady, **coins_now})
    policy = RegressionPolicy()

    (counted, _) = compare_runs(current, baseline, policy=policy)
    assert counted.verdict == "FAIL"  # without the ledger the coins fail the night

    flaky = frozenset(("qa", example, "contains") for example in coins_now)
    (apart, _) = compare_runs(current, baseline, policy=policy, set_apart=flaky)
    assert apart.verdict != "FAIL" and not apart.regression
    assert apart.set_apart == 40 and apart.n == 200
