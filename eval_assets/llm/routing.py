"""Which transport answers a model: the lean OpenAI-compatible client or litellm.

The rule (:func:`transport_for`):

* ``openai/<name>``, with or without ``api_base`` (default :data:`OPENAI_API_BASE`), and
  ``hosted_vllm/<name>`` with an ``api_base`` go through :class:`OpenAICompatProvider`: one shared aiohttp
  session posting chat-completions JSON.
* Everything else (``offline/...``, ``anthropic/...``, ``gemini/...``, ``bedrock/...``, bare names,
  ``hosted_vllm/`` without an endpoint) goes through :class:`LiteLLMProvider`.

Why: on a 2-core machine ``litellm.acompletion`` spends ~3.5 ms of CPU per call, so a concurrency-64
replay of a 50 ms endpoint reaches ~22% of the ideal rate, and no supported litellm switch skips its
per-call logging and cost work; the lean client spends ~0.2 ms plus ~0.1 ms for pricing and reaches the
ideal within a few percent (``benchmarks/replay_benchmark.py`` measures both through ``replay_with_cache``).
OpenAI-compatible endpoints are where evaluation volume is (OpenAI itself, vLLM, Ollama, llama.cpp, LM
Studio) and their protocol is small enough to own: see ``openai_compat``'s docstring for what that
means. Other providers have their own protocols, auth and quirks, which litellm maps for us; there its
overhead is accepted, and litellm still prices every answer on both paths.

Key handling matches litellm where it is safe: ``openai/`` on OpenAI's own endpoint falls back to
``$OPENAI_API_KEY`` when the spec names no ``api_key_env``; a custom endpoint only ever receives the key
its spec names (litellm would send ``$OPENAI_API_KEY``, or ``$HOSTED_VLLM_API_KEY`` for ``hosted_vllm/``,
to any ``api_base``, leaking an OpenAI key to whatever server the config points at).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Final, Literal

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import ProviderReply
from eval_assets.llm.engine import Provider
from eval_assets.llm.openai_compat import OpenAICompatProvider, Pricing

#: OpenAI's endpoint, for ``openai/`` models that name no ``api_base``.
OPENAI_API_BASE: Final = "https://api.openai.com/v1"
#: Where an ``openai/`` model on OpenAI's endpoint finds its key when its spec names none (as in litellm).
OPENAI_KEY_ENV: Final = "OPENAI_API_KEY"

Transport = Literal["openai_compat", "litellm"]


def transport_for(model: ModelSpec) -> Transport:
    """The transport that answers ``model`` (see the module docstring for the rule and why)."""
    if model.id.startswith("openai/"):
        return "openai_compat"
    if model.id.startswith("hosted_vllm/") and model.api_base:
        return "openai_compat"
    return "litellm"


class RoutingProvider:
    """A Provider that sends OpenAI-compatible models over the lean client and the rest through litellm.

    Args:
        max_connections: The lean client's connection limit; keep it >= the replay's concurrency.
        pricing: Prices for the lean client (default: litellm's local price map).
        fallback: The provider for non-OpenAI-compatible models (default: a LiteLLMProvider, created
            on first use).

    Close with ``await provider.aclose()`` in the loop that used it (see OpenAICompatProvider).
    """

    def __init__(
        self, *, max_connections: int = 1024, pricing: Pricing | None = None, fallback: Provider | None = None
    ) -> None:
        self._lean = OpenAICompatProvider(max_connections=max_connections, pricing=pricing)
        self._fallback = fallback
        self._routes: dict[ModelSpec, tuple[Transport, ModelSpec]] = {}

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        """Send one request through the model's transport; raise ProviderError on failure."""
        route = self._routes.get(model)
        if route is None:
            route = self._routes[model] = _route(model)
        transport, spec = route
        if transport == "openai_compat":
            return await self._lean.complete(spec, messages, timeout_s=timeout_s)
        return await self._litellm().complete(spec, messages, timeout_s=timeout_s)

    async def aclose(self) -> None:
        """Close the lean client's session of the running loop (litellm manages its own clients)."""
        await self._lean.aclose()

    def _litellm(self) -> Provider:
        if self._fallback is None:
            from eval_assets.llm.litellm_provider import LiteLLMProvider

            self._fallback = LiteLLMProvider()
        return self._fallback


def required_key_env(model: ModelSpec) -> str | None:
    """The environment variable a call to this model reads its key from, if any (for checks before a run)."""
    if model.api_key_env is not None:
        return model.api_key_env
    if model.id.startswith("openai/") and model.api_base is None:
        return OPENAI_KEY_ENV
    return None


def unset_key_variables(models: Iterable[ModelSpec], environ: Mapping[str, str] = os.environ) -> list[str]:
    """Key variables these models read that are not set, in first-use order (checked before any call)."""
    wanted = dict.fromkeys(v for v in map(required_key_env, models) if v)
    return [variable for variable in wanted if not environ.get(variable)]


def _route(model: ModelSpec) -> tuple[Transport, ModelSpec]:
    transport = transport_for(model)
    if transport == "openai_compat" and model.api_base is None:
        # Only openai/ routes here without an endpoint: it means OpenAI itself.
        update: dict[str, str] = {"api_base": OPENAI_API_BASE}
        if model.api_key_env is None:
            update["api_key_env"] = OPENAI_KEY_ENV
        model = model.model_copy(update=update)
    return transport, model
