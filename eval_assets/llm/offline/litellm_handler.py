"""The offline simulator as a litellm provider: ``litellm.acompletion("offline/...")`` answered in process.

It exercises the same ``litellm.acompletion(...)`` path, usage accounting and cost lookup as a real
provider. Importing this module never imports litellm: :func:`register_offline_provider` does, on demand,
and defines the ``CustomLLM`` handler then.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from eval_assets.llm.offline.profiles import OFFLINE_MODELS, PROVIDER, UnknownOfflineModelError
from eval_assets.llm.offline.simulator import OfflineSimulator, SimulatedReply

if TYPE_CHECKING:
    from litellm.types.utils import GenericStreamingChunk, ModelResponse

#: Completion budget used when a request names no ``max_tokens`` (real providers have a default too).
DEFAULT_MAX_TOKENS = 1024


def register_offline_provider(simulator: OfflineSimulator | None = None) -> None:
    """Make ``offline/...`` model ids callable through litellm, answered by ``simulator``.

    Registers a ``litellm.CustomLLM`` handler under provider ``offline`` (an entry in
    ``litellm.custom_provider_map``, announced with ``litellm.utils.custom_llm_setup()``) and simulated
    prices for every offline model and its reported version, so ``litellm.completion_cost(response)`` works.
    Safe to call repeatedly: a later call with a simulator replaces the active one (the harness calls it
    before each run with that run's knowledge and date); a call without one keeps the active simulator, or
    installs an empty one. There is one active simulator per process.
    """
    from eval_assets.llm.litellm_provider import import_litellm

    litellm = import_litellm()  # first: it switches off litellm's price-map download before the import
    from litellm.utils import custom_llm_setup

    handler_type = _handler_type()
    current = next(
        (
            item["custom_handler"]
            for item in litellm.custom_provider_map
            if item["provider"] == PROVIDER and isinstance(item["custom_handler"], handler_type)
        ),
        None,
    )
    if current is None:
        current = handler_type(simulator or OfflineSimulator())
        others = [item for item in litellm.custom_provider_map if item["provider"] != PROVIDER]
        litellm.custom_provider_map = [*others, {"provider": PROVIDER, "custom_handler": current}]
    elif simulator is not None:
        current.simulator = simulator
    # litellm also runs this before every call; doing it now lets get_llm_provider/cost lookups see us.
    custom_llm_setup()  # type: ignore[no-untyped-call]  # untyped in litellm
    litellm.register_model(simulated_price_table())


def simulated_price_table() -> dict[str, dict[str, Any]]:
    """litellm model-cost entries for the offline models (simulated prices, not any vendor's).

    Each model is priced under its config id and under ``offline/<reported version>``: litellm prices a
    response by the model the provider reports, as it does for dated snapshots of real models.
    """
    table: dict[str, dict[str, Any]] = {}
    for profile in OFFLINE_MODELS.values():
        entry = {
            "litellm_provider": PROVIDER,
            "mode": "chat",
            "max_input_tokens": 128_000,
            "max_output_tokens": 16_384,
            "max_tokens": 16_384,
            "input_cost_per_token": profile.input_usd_per_mtok / 1e6,
            "output_cost_per_token": profile.output_usd_per_mtok / 1e6,
            # Stated explicitly (the simulator never caches) so litellm does not warn they default to 0.
            "cache_read_input_token_cost": 0.0,
            "cache_creation_input_token_cost": 0.0,
        }
        table[profile.model_id] = entry
        table[f"{PROVIDER}/{profile.version}"] = dict(entry)
    return table


@functools.cache
def _handler_type() -> type[Any]:
    """The ``CustomLLM`` subclass, defined on first use so importing this module never imports litellm."""
    from litellm.exceptions import BadRequestError, NotFoundError
    from litellm.llms.custom_llm import CustomLLM
    from litellm.types.utils import Choices, ModelResponse, Usage

    def simulate(simulator: OfflineSimulator, model: str, messages: Any, params: Mapping[str, Any]) -> SimulatedReply:
        given = [params.get(name) for name in ("max_tokens", "max_completion_tokens")]
        max_tokens = next((value for value in given if value is not None), DEFAULT_MAX_TOKENS)
        try:
            return simulator.respond(
                model,
                messages,
                max_tokens=int(max_tokens),
                temperature=float(params.get("temperature") or 0.0),
                seed=None if params.get("seed") is None else int(params["seed"]),
            )
        except UnknownOfflineModelError as exc:
            # NotFoundError, not the ValueError itself: litellm wraps unknown exceptions as retryable
            # connection errors and prints a bug-report banner; a 404 is final and says what is wrong.
            raise NotFoundError(message=str(exc), model=model, llm_provider=PROVIDER) from exc
        except (TypeError, ValueError) as exc:  # max_tokens < 1, or a parameter that is not a number
            raise BadRequestError(message=str(exc), model=model, llm_provider=PROVIDER) from exc

    def fill(response: ModelResponse, reply: SimulatedReply) -> ModelResponse:
        choice = response.choices[0]
        assert isinstance(choice, Choices)  # litellm hands a non-streaming response to completion()
        choice.message.content = reply.text
        choice.finish_reason = reply.finish_reason  # type: ignore[assignment]  # "stop" or "length"
        response.model = reply.model_version
        response.system_fingerprint = "offline-simulator"
        response.usage = Usage(  # type: ignore[attr-defined]  # usage is set dynamically on ModelResponse
            prompt_tokens=reply.prompt_tokens,
            completion_tokens=reply.completion_tokens,
            total_tokens=reply.prompt_tokens + reply.completion_tokens,
        )
        return response

    def chunk(reply: SimulatedReply) -> GenericStreamingChunk:
        return {
            "text": reply.text,
            "tool_use": None,
            "is_finished": True,
            "finish_reason": reply.finish_reason,
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
            "index": 0,
        }

    class OfflineLLM(CustomLLM):
        """litellm handler for provider ``offline``: answers with the active :class:`OfflineSimulator`."""

        def __init__(self, simulator: OfflineSimulator) -> None:
            super().__init__()
            self.simulator = simulator

        # litellm passes everything but these by keyword; the rest (api_base, logging_obj, ...) is unused.
        def completion(self, model: str, messages: Any, *args: Any, **kwargs: Any) -> ModelResponse:
            reply = simulate(self.simulator, model, messages, kwargs.get("optional_params") or {})
            return fill(kwargs.get("model_response") or ModelResponse(), reply)

        async def acompletion(self, model: str, messages: Any, *args: Any, **kwargs: Any) -> ModelResponse:
            return self.completion(model, messages, *args, **kwargs)

        def streaming(self, model: str, messages: Any, *args: Any, **kwargs: Any) -> Iterator[GenericStreamingChunk]:
            yield chunk(simulate(self.simulator, model, messages, kwargs.get("optional_params") or {}))

        # The base class declares a coroutine, but litellm iterates whatever astreaming returns with
        # ``async for``; an async generator is what litellm's custom-provider examples use.
        async def astreaming(  # type: ignore[override]
            self, model: str, messages: Any, *args: Any, **kwargs: Any
        ) -> AsyncIterator[GenericStreamingChunk]:
            yield chunk(simulate(self.simulator, model, messages, kwargs.get("optional_params") or {}))

    return OfflineLLM
