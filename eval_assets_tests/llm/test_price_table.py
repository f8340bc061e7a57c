"""The bundled price table gives litellm's own prices, and a lean-transport run never imports litellm."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from eval_assets.llm.price_table import _bundled_map, simple_rates
from eval_assets.llm.pricing import LitellmPricing, Usage, WorstCaseEstimator, litellm_price

USAGES = [(0, 0, 0), (27, 2, 0), (1234, 567, 0), (1000, 10, 400), (200_000, 50_000, 0)]


def simple_models() -> list[str]:
    prices = _bundled_map()
    return [f"openai/{name}" for name in prices if simple_rates(f"openai/{name}", prices) is not None]


def test_the_table_prices_most_openai_models_and_refuses_tiered_ones() -> None:
    models = simple_models()
    assert "openai/gpt-4o-mini" in models and len(models) > 50
    prices = _bundled_map()
    assert simple_rates("openai/gpt-4o-mini", prices) is not None
    assert simple_rates("anthropic/claude-3-5-haiku-20241022", prices) is None  # not openai/: litellm decides
    assert simple_rates("openai/no-such-model-anywhere", prices) is None  # unknown: litellm decides (it may alias)
    tiered = [name for name, entry in prices.items() if "input_cost_per_token_above_272k_tokens" in entry]
    assert tiered and all(simple_rates(f"openai/{name}", prices) is None for name in tiered)


@pytest.mark.slow  # imports litellm (seconds)
def test_every_price_the_table_gives_is_litellms_own() -> None:
    from eval_assets.llm.litellm_provider import import_litellm

    litellm = import_litellm()
    checked = 0
    for model in simple_models():
        rates = simple_rates(model, _bundled_map())
        assert rates is not None
        for prompt, completion, cached in USAGES:
            if cached and rates.cached_prompt is None:
                assert rates.cost(prompt, completion, cached) is None
                continue
            usage = None
            if cached:
                usage = litellm.Usage(
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    total_tokens=prompt + completion,
                    prompt_tokens_details={"cached_tokens": cached},
                )
            expected = sum(
                litellm.cost_per_token(
                    model=model, prompt_tokens=prompt, completion_tokens=completion, usage_object=usage
                )
            )
            assert rates.cost(prompt, completion, cached) == pytest.approx(expected, rel=1e-9, abs=1e-15), model
            checked += 1
    assert checked > 200


def test_pricing_an_openai_answer_needs_no_litellm_import() -> None:
    """In a fresh process: pricing, the worst-case estimate and the key lines of an openai/ model."""
    code = textwrap.dedent(
        """
        import sys
        from eval_assets.llm.pricing import LitellmPricing, Usage, WorstCaseEstimator, litellm_price
        pricing = LitellmPricing(lazy=True)
        pricing.prepare("openai/gpt-4o-mini")
        cost = pricing.cost("openai/gpt-4o-mini", Usage(27, 2))
        assert abs(cost - (27 * 1.5e-07 + 2 * 6e-07)) < 1e-15, cost
        assert litellm_price("openai/gpt-4o-mini", 1_000_000, 0) > 0
        assert "litellm" not in sys.modules, "litellm was imported"
        pricing.prepare("openai/some-fine-tune-the-table-does-not-know")
        assert "litellm" in sys.modules, "a model the table cannot price is prepared through litellm"
        from eval_assets.llm.price_table import simple_rates
        assert simple_rates("openai/gpt-4o-mini") is None, "once imported, litellm prices as it always did"
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_answers_with_reasoning_or_unknown_models_still_go_through_litellm(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    monkeypatch.delitem(sys.modules, "litellm", raising=False)  # as in a run whose models are all openai/

    class FakeLitellm:
        Usage = dict

        @staticmethod
        def cost_per_token(
            *, model: str, prompt_tokens: int, completion_tokens: int, usage_object: object
        ) -> tuple[float, float]:
            calls.append(model)
            return (1.0, 2.0)

    pricing = LitellmPricing(lazy=True)
    pricing._litellm = FakeLitellm()
    assert pricing.cost("openai/gpt-4o-mini", Usage(10, 5)) == pytest.approx(10 * 1.5e-07 + 5 * 6e-07)
    assert calls == []
    assert pricing.cost("openai/gpt-4o-mini", Usage(10, 5, reasoning_tokens=3)) == 3.0
    assert pricing.cost("groq/llama-3.1-8b-instant", Usage(10, 5)) == 3.0
    assert calls == ["openai/gpt-4o-mini", "groq/llama-3.1-8b-instant"]
    estimate = WorstCaseEstimator(litellm_price)
    assert estimate._rates("openai/gpt-4o-mini") == pytest.approx((1.5e-07, 6e-07))


def test_the_lean_transport_prepares_its_pricing_in_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """warm_up has the async, many-models signature replay_with_cache calls on any provider."""
    import asyncio

    from eval_assets.config import ModelSpec
    from eval_assets.llm.openai_compat import OpenAICompatProvider

    prepared: list[str] = []
    pricing = LitellmPricing(lazy=True)
    monkeypatch.setattr(pricing, "prepare", prepared.append)
    provider = OpenAICompatProvider(pricing=pricing)
    models = [ModelSpec(id="openai/gpt-4o-mini"), ModelSpec(id="openai/other")]
    asyncio.run(provider.warm_up(model for model in models))
    assert prepared == ["openai/gpt-4o-mini", "openai/other"]
