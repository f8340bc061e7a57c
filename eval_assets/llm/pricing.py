"""Prices from litellm's local price map, for worst-case estimates before calls are made."""

from __future__ import annotations

from collections.abc import Callable

from eval_assets.llm.calls import ModelCall, estimate_call_tokens

PriceFunction = Callable[[str, int, int], "float | None"]


def litellm_price(model_id: str, prompt_tokens: int, completion_tokens: int) -> float | None:
    """USD for the given tokens at litellm's price for the model, None when litellm does not know it."""
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
