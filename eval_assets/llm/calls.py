"""What a model call is and what came back: plain data shared by the engine, cache and warehouse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from eval_assets.config import ModelSpec
from eval_assets.lineage import stable_hash


@dataclass(frozen=True)
class ModelCall:
    """One request to replay.

    Attributes:
        key: The caller's identity for the call (e.g. ``(dataset, example_id)``).
        model: Model, endpoint and sampling parameters.
        messages: Chat messages to send.
        request_hash: Hash of everything that determines the answer (the cache key).
    """

    key: Hashable
    model: ModelSpec
    messages: tuple[dict[str, str], ...]
    request_hash: str


def request_hash(model: ModelSpec, messages: Sequence[dict[str, str]], *, scope: str, repeat: int = 0) -> str:
    """Hash of everything that determines an answer; never the API key (only its variable's name is config).

    Args:
        model: The model spec (id, api_base, sampling parameters).
        messages: The chat messages sent.
        scope: Extra cache scope. Nightly runs pass the evaluation date so each night observes the
            model afresh while reruns of the same night are served from the cache.
    """
    fields: dict[str, object] = {
        "model": model.id,
        "api_base": model.api_base,
        "temperature": model.temperature,
        "max_tokens": model.max_tokens,
        "seed": model.seed,
        "messages": list(messages),
        "scope": scope,
    }
    if repeat:
        fields["repeat"] = repeat
    return stable_hash(fields)


def build_call(
    key: Hashable, model: ModelSpec, messages: Sequence[dict[str, str]], *, scope: str, repeat: int = 0
) -> ModelCall:
    """A call with its request hash computed (``repeat``: which sample of the example, see :func:`request_hash`)."""
    frozen = tuple(dict(m) for m in messages)
    digest = request_hash(model, frozen, scope=scope, repeat=repeat)
    return ModelCall(key=key, model=model, messages=frozen, request_hash=digest)


def repeat_model(model: ModelSpec, repeat: int) -> ModelSpec:
    """The model spec repeat ``repeat`` of an example is sent with.

    Repeat 0 is the model exactly as configured (so K = 1 sends what it always sent). Repeat k > 0 is
    sent with seed ``(seed or 0) + k``: the configured seed would ask the provider for the same sample K
    times, and a seed per repeat makes each repeat reproducible where the provider honours seeds (the
    offline simulator does). Temperature and every other parameter stay as configured.
    """
    if repeat == 0:
        return model
    seed = (model.seed or 0) + repeat
    if seed > 2**63 - 1:  # still a 64-bit seed, and still one of its own per repeat
        seed -= 2**64
    return model.model_copy(update={"seed": seed})


def estimate_call_tokens(call: ModelCall) -> int:
    """Worst-case tokens of a call before sending it: ~4 characters a token, plus max_tokens."""
    characters = sum(len(m.get("content", "")) for m in call.messages)
    return characters // 4 + 4 * len(call.messages) + call.model.max_tokens


@dataclass(frozen=True)
class ProviderReply:
    """A successful provider answer."""

    text: str
    finish_reason: str | None
    model_version: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None


@dataclass(frozen=True)
class CallOutcome:
    """What happened to one call: an answer (fresh or cached) or a classified error."""

    call: ModelCall
    text: str | None
    finish_reason: str | None = None
    model_version: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    latency_ms: float | None = None  # the successful attempt alone: the provider's latency
    total_latency_ms: float | None = None  # first attempt to answer, retries and backoff included
    attempts: int = 0
    cached: bool = False
    error_type: str | None = None
    error_message: str | None = None
    created_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC).replace(tzinfo=None))

    @property
    def ok(self) -> bool:
        """Whether the call produced an answer."""
        return self.error_type is None and self.text is not None


class Provider(Protocol):
    """Something that answers one chat request or raises ProviderError."""

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        """Send one request."""
        ...
