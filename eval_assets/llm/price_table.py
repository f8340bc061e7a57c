"""Per-token prices of simply priced models read from litellm's bundled price map without importing litellm.

``import litellm`` costs ~2-4 s of CPU and ~125 MB per process; a run whose models all go through the lean
OpenAI-compatible transport needed it only to price answers (and ``litellm.cost_per_token`` then costs
~0.2 ms per answer, more than the transport itself). This module reads the same JSON file litellm loads
when ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (what :func:`eval_assets.llm.litellm_provider.import_litellm`
sets) and answers for the models whose price is three numbers: input, output and cache-read per token.

It answers only where the result is litellm's own to the cent (a test compares it with
``litellm.cost_per_token`` over every such entry of the map): ``openai/<name>`` models whose entry has no
price that depends on context length, reasoning, audio or images. Anything else returns ``None`` and the
caller asks litellm, as before. Once litellm is imported in the process (another model needs it), it
prices every answer as it always did, prices registered with ``litellm.register_model`` included.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

#: The file litellm reads when the local price map is forced (litellm 1.106.2).
PRICE_MAP_FILE: Final = "model_prices_and_context_window_backup.json"
#: Price keys that do not change what a standard chat completion costs: other service tiers, the batch
#: API, web search and Anthropic-style cache writes (an OpenAI answer reports none).
_IGNORED_SUFFIXES: Final = ("_batches", "_priority", "_flex")
_IGNORED_KEYS: Final = frozenset({"search_context_cost_per_query", "cache_creation_input_token_cost"})
_USED_KEYS: Final = frozenset({"input_cost_per_token", "output_cost_per_token", "cache_read_input_token_cost"})


@dataclass(frozen=True)
class TokenRates:
    """USD per token of one model: prompt (uncached), completion and cached prompt (None: not in the map)."""

    prompt: float
    completion: float
    cached_prompt: float | None

    def cost(self, prompt_tokens: int, completion_tokens: int, cached_tokens: int = 0) -> float | None:
        """USD of one answer; ``cached_tokens`` are part of ``prompt_tokens`` (OpenAI's convention).

        None when cached tokens were reported but the map has no cache-read price: litellm decides then.
        """
        if cached_tokens and self.cached_prompt is None:
            return None
        cached_cost = cached_tokens * self.cached_prompt if cached_tokens and self.cached_prompt is not None else 0.0
        return (prompt_tokens - cached_tokens) * self.prompt + cached_cost + completion_tokens * self.completion


def local_price_map_forced() -> bool:
    """Whether litellm would read its bundled file (as it decides: the variable, case-insensitive)."""
    return os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "True").lower() == "true"


@functools.cache
def _bundled_map() -> dict[str, Any]:
    spec = importlib.util.find_spec("litellm")  # finds the package without running its (slow) __init__
    if spec is None or spec.origin is None:
        return {}
    path = Path(spec.origin).parent / PRICE_MAP_FILE
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(loaded, dict):
        return {}
    # Only OpenAI's entries can be answered here: keep those (~1/10 of the map's memory).
    return {
        name: entry
        for name, entry in loaded.items()
        if isinstance(entry, dict) and entry.get("litellm_provider") == "openai"
    }


def _price_map() -> dict[str, Any] | None:
    if "litellm" in sys.modules:
        # Imported already (another model needs it): its live map may hold registered prices, and its
        # per-call lookup costs no import any more, so litellm prices as it always did.
        return None
    if not local_price_map_forced():
        return None  # litellm would fetch the remote map: only litellm knows those prices
    return _bundled_map()


def simple_rates(model_id: str, prices: dict[str, Any] | None = None) -> TokenRates | None:
    """The per-token prices of ``model_id`` when they are simple (see the module docstring), else None.

    None means "ask litellm", not "unpriced". ``prices``: the price map to read (default: litellm's
    bundled file, unless litellm is imported or would fetch the remote map).
    """
    provider, _, name = model_id.partition("/")
    if provider != "openai" or not name:
        return None
    prices = _price_map() if prices is None else prices
    if not prices:
        return None
    entry = prices.get(model_id) or prices.get(name)
    if not isinstance(entry, dict) or entry.get("litellm_provider") != "openai":
        return None
    costs = {key for key in entry if "cost" in key}
    extra = {key for key in costs - _USED_KEYS - _IGNORED_KEYS if not key.endswith(_IGNORED_SUFFIXES)}
    prompt, completion = entry.get("input_cost_per_token"), entry.get("output_cost_per_token")
    if extra or not isinstance(prompt, int | float) or not isinstance(completion, int | float):
        return None
    cached = entry.get("cache_read_input_token_cost")
    return TokenRates(float(prompt), float(completion), float(cached) if isinstance(cached, int | float) else None)
