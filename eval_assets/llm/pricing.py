"""Prices from litellm's local price map (imported on first use): worst-case estimates before calls are
made, the price of an answer from its usage, and batch prices.

Every price of the package is looked up here, once per model where the lookup is slow. A model litellm
does not know costs ``None`` (recorded as null), never a made-up 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from eval_assets.llm.calls import ModelCall, estimate_call_tokens
from eval_assets.llm.price_table import TokenRates, simple_rates

#: Batch APIs (OpenAI, Anthropic, Gemini...) bill about half the synchronous price. Applied to litellm's
#: synchronous price only when its price map has no ``*_cost_per_token_batches`` entry for the model.
BATCH_DISCOUNT = 0.5

PriceFunction = Callable[[str, int, int], "float | None"]


def litellm_price(model_id: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the given tokens at litellm's price for the model, None when litellm does not know it."""
    rates = simple_rates(model_id)  # litellm's own numbers, without importing litellm (see price_table)
    if rates is not None:
        return rates.cost(prompt_tokens, completion_tokens)
    from eval_assets.llm.litellm_provider import import_litellm

    litellm = import_litellm()
    try:
        prompt_usd, completion_usd = litellm.cost_per_token(
            model=model_id, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
        )
    except Exception:  # litellm raises several types for an unmapped model
        return None
    return float(prompt_usd + completion_usd)


class WorstCaseEstimator:
    """Worst-case (cost, tokens) of a call: the prompt estimate plus max_tokens, priced once per model."""

    def __init__(self, price: PriceFunction = litellm_price) -> None:
        self._price = price
        self._per_token: dict[str, tuple[float, float] | None] = {}

    def _rates(self, model_id: str) -> tuple[float, float] | None:
        if model_id not in self._per_token:
            # Unknown models are looked up once, not on every call (a failing lookup costs ~0.5 ms).
            prompt = self._price(model_id, 1_000_000, 0)
            completion = self._price(model_id, 0, 1_000_000)
            known = prompt is not None and completion is not None
            self._per_token[model_id] = (prompt / 1e6, completion / 1e6) if known else None  # type: ignore[operator]
        return self._per_token[model_id]

    def __call__(self, call: ModelCall) -> tuple[float | None, int]:
        tokens = estimate_call_tokens(call)
        rates = self._rates(call.model.id)
        if rates is None:
            return None, tokens
        completion = call.model.max_tokens
        return (tokens - completion) * rates[0] + completion * rates[1], tokens


@dataclass(frozen=True)
class Usage:
    """Token counts of one answer, as the server reported them.

    Attributes:
        prompt_tokens: Prompt tokens, cached ones included (OpenAI's convention).
        completion_tokens: Completion tokens, reasoning ones included.
        cached_tokens: ``prompt_tokens_details.cached_tokens`` (billed at the cache-read price), when given.
        reasoning_tokens: ``completion_tokens_details.reasoning_tokens``, when given.
    """

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int | None = None
    reasoning_tokens: int | None = None


class Pricing(Protocol):
    """Prices one answer, or says it cannot (``None``)."""

    def cost(self, model_id: str, usage: Usage) -> float | None:
        """USD cost of ``usage`` on ``model_id``, or None when the price is unknown."""
        ...


class LitellmPricing:
    """Prices from litellm's bundled price map.

    Simply priced models (``price_table``: most ``openai/`` ones) are priced from per-token rates read
    once per model, without importing litellm; every other model through ``litellm.cost_per_token``,
    with litellm imported on construction (~2 s, so never inside a replay) unless ``lazy``.

    Whether a model is priced is remembered per model id: an unknown model costs one failing lookup per
    provider instance instead of one per call (a failing ``cost_per_token`` takes ~0.13 ms).
    """

    def __init__(self, *, lazy: bool = False) -> None:
        self._litellm: Any = None if lazy else _litellm()
        self._known: dict[str, bool] = {}
        self._rates: dict[str, TokenRates | None] = {}

    def prepare(self, model_id: str) -> None:
        """Do the slow set-up ``model_id``'s prices need now (before a replay): import litellm unless the
        model is simply priced."""
        if model_id not in self._rates:
            self._rates[model_id] = simple_rates(model_id)
        if self._rates[model_id] is None and self._litellm is None:
            self._litellm = _litellm()

    def cost(self, model_id: str, usage: Usage) -> float | None:
        """USD cost of ``usage`` on ``model_id`` via ``litellm.cost_per_token``; None when unpriced."""
        if self._known.get(model_id) is False:
            return None
        if model_id not in self._rates:
            self._rates[model_id] = simple_rates(model_id)
        rates = self._rates[model_id]
        if rates is not None and not usage.reasoning_tokens:
            cost = rates.cost(usage.prompt_tokens, usage.completion_tokens, usage.cached_tokens or 0)
            if cost is not None:
                return cost
        if self._litellm is None:
            self._litellm = _litellm()
        usage_object = None
        if usage.cached_tokens or usage.reasoning_tokens:
            # Only the usage object carries OpenAI-style cached-token details to litellm; its plain
            # ``cache_read_input_tokens`` argument means Anthropic-style (not included in prompt_tokens).
            usage_object = self._litellm.Usage(  # litellm.types.utils.Usage
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                total_tokens=usage.prompt_tokens + usage.completion_tokens,
                prompt_tokens_details={"cached_tokens": usage.cached_tokens or 0},
                completion_tokens_details={"reasoning_tokens": usage.reasoning_tokens or 0},
            )
        try:
            prompt_cost, completion_cost = self._litellm.cost_per_token(
                model=model_id,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                usage_object=usage_object,
            )
        except Exception:  # litellm raises its own exception types for unmapped models: record null, not 0
            self._known.setdefault(model_id, False)
            return None
        self._known[model_id] = True
        return float(prompt_cost) + float(completion_cost)


def _litellm() -> Any:
    from eval_assets.llm.litellm_provider import import_litellm

    return import_litellm()


class BatchPricing:
    """Batch prices from litellm's local price map, looked up once per model."""

    def __init__(self) -> None:
        self._litellm: Any = None
        self._batch_rates: dict[str, tuple[float, float] | None] = {}

    def cost_usd(self, model_id: str, input_tokens: int, output_tokens: int) -> float | None:
        """The batch price of one answer; None for a model the price map does not know."""
        if self._litellm is None:
            from eval_assets.llm.litellm_provider import import_litellm

            self._litellm = import_litellm()
        if model_id not in self._batch_rates:
            self._batch_rates[model_id] = self._lookup_batch_rates(model_id)
        rates = self._batch_rates[model_id]
        if rates is not None:
            return input_tokens * rates[0] + output_tokens * rates[1]
        synchronous = litellm_price(model_id, input_tokens, output_tokens)  # None for an unknown model
        return synchronous * BATCH_DISCOUNT if synchronous is not None else None

    def _lookup_batch_rates(self, model_id: str) -> tuple[float, float] | None:
        try:
            info = self._litellm.get_model_info(model=model_id)
        except Exception:
            return None
        rates = (info.get("input_cost_per_token_batches"), info.get("output_cost_per_token_batches"))
        return (float(rates[0]), float(rates[1])) if rates[0] is not None and rates[1] is not None else None
