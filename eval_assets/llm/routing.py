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

Where keys go (the rule, on both transports): a model on its provider's own endpoint (no ``api_base``)
gets the key its spec names, else the provider's usual variable (``$OPENAI_API_KEY`` for ``openai/``,
``$ANTHROPIC_API_KEY`` for ``anthropic/``..., as litellm does); a custom ``api_base`` only ever receives the
key its spec names in ``api_key_env``, never an ambient provider key (litellm would send
``$ANTHROPIC_API_KEY``, ``$GROQ_API_KEY``, ``$OPENAI_API_KEY``... to whatever server the config points
at). Redirects never carry credentials to another origin (``openai_compat``, ``litellm_transport``).
:func:`key_route_lines` says before a run which variable goes to which host; :func:`unset_key_variables`
finds missing keys before any call, litellm's per-provider variables included.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final, Literal
from urllib.parse import urlsplit

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import Provider, ProviderReply
from eval_assets.llm.litellm_provider import import_litellm
from eval_assets.llm.openai_compat import OpenAICompatProvider
from eval_assets.llm.pricing import Pricing

#: OpenAI's endpoint, for ``openai/`` models that name no ``api_base``.
OPENAI_API_BASE: Final = "https://api.openai.com/v1"
#: Where an ``openai/`` model on OpenAI's endpoint finds its key when its spec names none (as in litellm).
OPENAI_KEY_ENV: Final = "OPENAI_API_KEY"
#: Key variable and origin litellm 1.106.2 uses for a provider's own endpoint (for the pre-run key lines;
#: providers not listed are described as "litellm's default" for them).
PROVIDER_DEFAULTS: Final[Mapping[str, tuple[str, str]]] = {
    "openai": (OPENAI_KEY_ENV, "https://api.openai.com"),
    "anthropic": ("ANTHROPIC_API_KEY", "https://api.anthropic.com"),
    "groq": ("GROQ_API_KEY", "https://api.groq.com"),
    "deepseek": ("DEEPSEEK_API_KEY", "https://api.deepseek.com"),
    "gemini": ("GEMINI_API_KEY", "https://generativelanguage.googleapis.com"),
    "mistral": ("MISTRAL_API_KEY", "https://api.mistral.ai"),
    "cohere": ("COHERE_API_KEY", "https://api.cohere.com"),
    "cohere_chat": ("COHERE_API_KEY", "https://api.cohere.com"),
    "together_ai": ("TOGETHERAI_API_KEY", "https://api.together.xyz"),
    "openrouter": ("OPENROUTER_API_KEY", "https://openrouter.ai"),
    "xai": ("XAI_API_KEY", "https://api.x.ai"),
    "fireworks_ai": ("FIREWORKS_AI_API_KEY", "https://api.fireworks.ai"),
    "perplexity": ("PERPLEXITYAI_API_KEY", "https://api.perplexity.ai"),
    "deepinfra": ("DEEPINFRA_API_KEY", "https://api.deepinfra.com"),
    "cerebras": ("CEREBRAS_API_KEY", "https://api.cerebras.ai"),
}
#: Providers that sign requests with ambient cloud credentials (or need none): no single key variable to check.
AMBIENT_CREDENTIAL_PROVIDERS: Final = frozenset(
    {"bedrock", "sagemaker", "vertex_ai", "vertex_ai_beta", "azure", "azure_ai", "ollama", "ollama_chat"}
)
_KEY_NAME: Final = re.compile(r"KEY|TOKEN", re.IGNORECASE)

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
        transport, spec = self._route(model)
        if transport == "openai_compat":
            return await self._lean.complete(spec, messages, timeout_s=timeout_s)
        return await self._litellm().complete(spec, messages, timeout_s=timeout_s)

    async def warm_up(self, models: Iterable[ModelSpec]) -> None:
        """Set up every transport these models use before any call is timed (see LiteLLMProvider.warm_up).

        A warm-up that fails is not the run's failure: the real calls meet the same problem and record it.
        """
        for model in dict.fromkeys(models):
            transport, spec = self._route(model)
            if transport != "litellm":
                await self._lean.warm_up([spec])  # pricing: litellm only for a model the price table cannot price
                continue
            provider = self._litellm()
            warm = getattr(provider, "warm_up", None)
            if warm is None:
                continue
            with contextlib.suppress(Exception):
                await warm(spec)

    def _route(self, model: ModelSpec) -> tuple[Transport, ModelSpec]:
        route = self._routes.get(model)
        if route is None:
            route = self._routes[model] = _route(model)
        return route

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


def provider_of(model: ModelSpec) -> str | None:
    """The litellm provider prefix of a model id (``anthropic/claude...`` -> ``anthropic``), None for a bare name."""
    provider, sep, _ = model.id.partition("/")
    return provider if sep else None


def uses_ambient_key(model: ModelSpec) -> bool:
    """Whether litellm picks this model's key from the provider's own variables (no api_base, no api_key_env)."""
    return (
        transport_for(model) == "litellm"
        and model.api_base is None
        and model.api_key_env is None
        and provider_of(model) not in (None, "offline")
    )


def key_destination(model: ModelSpec) -> tuple[str, str]:
    """(which key, which host) of a model's calls, for humans: ``("$ANTHROPIC_API_KEY", "https://api.anthropic.com")``.

    The key is ``"no key"`` when none is sent (a custom endpoint whose spec names no ``api_key_env``).
    """
    provider = provider_of(model)
    if provider == "offline":
        return "no key", "the offline simulator (in this process)"
    default_variable, default_origin = PROVIDER_DEFAULTS.get(provider or "", ("", ""))
    if model.api_base is not None:
        where = _origin(model.api_base)
        variable = f"${model.api_key_env}" if model.api_key_env else "no key"
    else:
        where = default_origin or f"litellm's default endpoint for {provider or model.id}"
        fallback = f"${default_variable}" if default_variable else f"litellm's key variable for {provider or model.id}"
        if provider in AMBIENT_CREDENTIAL_PROVIDERS:
            fallback = f"ambient {provider} credentials (litellm)"
        variable = f"${model.api_key_env}" if model.api_key_env else fallback
    return variable, where


def key_route_lines(models: Iterable[ModelSpec]) -> list[str]:
    """One line per (key, host) these models use, e.g. ``key $ANTHROPIC_API_KEY -> https://api.anthropic.com``.

    Printed by ``eval-assets validate`` / ``run`` and logged once per stage before any call, so whoever runs
    a config sees where its credentials will be sent. Offline models send nothing and are left out.
    """
    routes: dict[tuple[str, str], list[str]] = {}
    for model in models:
        if provider_of(model) == "offline":
            continue
        ids = routes.setdefault(key_destination(model), [])
        if model.id not in ids:
            ids.append(model.id)
    return [
        f"{'key ' if variable.startswith('$') else ''}{variable} -> {where} ({', '.join(ids)})"
        for (variable, where), ids in routes.items()
    ]


def litellm_missing_keys(model: ModelSpec) -> list[str]:
    """The provider key variables litellm would need for this model and does not find (imports litellm).

    Only for :func:`uses_ambient_key` models; providers that sign with ambient cloud credentials are not
    checked (their credentials have many sources), nor variables that are not keys (``VERTEXAI_PROJECT``).
    Several alternatives come back as one entry (``GOOGLE_API_KEY or $GEMINI_API_KEY``).
    """
    if not uses_ambient_key(model) or provider_of(model) in AMBIENT_CREDENTIAL_PROVIDERS:
        return []
    result = import_litellm().validate_environment(model=model.id)
    if result.get("keys_in_environment"):
        return []
    keys = [name for name in result.get("missing_keys") or [] if _KEY_NAME.search(name)]
    return [" or $".join(keys)] if keys else []


def unset_key_variables(
    models: Iterable[ModelSpec],
    environ: Mapping[str, str] = os.environ,
    *,
    provider_keys: Callable[[ModelSpec], Sequence[str]] = litellm_missing_keys,
) -> list[str]:
    """Key variables these models read that are not set, in first-use order (checked before any call).

    Args:
        models: The models of a run (model under test and judges).
        environ: Where the configured variables are looked up.
        provider_keys: Missing provider variables of a model that names none (default: litellm's
            ``validate_environment``, which reads ``os.environ``; litellm is imported only when a model
            needs it).
    """
    specs = list(models)
    wanted = dict.fromkeys(v for v in map(required_key_env, specs) if v)
    missing = [variable for variable in wanted if not environ.get(variable)]
    for model in specs:
        if uses_ambient_key(model):
            missing.extend(v for v in provider_keys(model) if v not in missing)
    return missing


def _origin(url: str) -> str:
    """``scheme://host[:port]`` of a URL, without any ``user:password@`` it may carry."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return url
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}{f':{parts.port}' if parts.port else ''}"


def _route(model: ModelSpec) -> tuple[Transport, ModelSpec]:
    transport = transport_for(model)
    if transport == "openai_compat" and model.api_base is None:
        # Only openai/ routes here without an endpoint: it means OpenAI itself.
        update: dict[str, str] = {"api_base": OPENAI_API_BASE}
        if model.api_key_env is None:
            update["api_key_env"] = OPENAI_KEY_ENV
        model = model.model_copy(update=update)
    return transport, model
