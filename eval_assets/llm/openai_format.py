"""The chat-completions wire format of OpenAI-compatible endpoints: the request body and the reply (pure).

Per-model parameter differences live here (reasoning families take ``max_completion_tokens`` and no
temperature), and so does reading ``usage`` straight from the body, cached-prompt and reasoning details
included: an answer without usage has unknown tokens and cost ``None``, never a silent 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import orjson

from eval_assets.config import ModelSpec
from eval_assets.llm.calls import ProviderReply
from eval_assets.llm.openai_errors import error_text
from eval_assets.llm.pricing import Pricing, Usage
from eval_assets.llm.retry import ProviderError

#: Bare model names (provider prefix removed) that reject ``max_tokens`` and want ``max_completion_tokens``:
#: OpenAI's reasoning families o1, o3, o4-mini... and gpt-5, gpt-5-mini, gpt-5.1... Everything else gets
#: ``max_tokens``, which every OpenAI-compatible server (vLLM, Ollama, llama.cpp) understands.
MAX_COMPLETION_TOKENS_MODELS: Final = re.compile(r"^(?:o\d|gpt-5)(?:[-.]|$)")


def wire_model_name(model_id: str) -> str:
    """The model name the server expects: the litellm id without its provider prefix.

    ``openai/gpt-4o-mini`` -> ``gpt-4o-mini``; ``hosted_vllm/meta-llama/Llama-3.1-8B`` ->
    ``meta-llama/Llama-3.1-8B`` (only the first segment is the provider).
    """
    _, sep, name = model_id.partition("/")
    return name if sep else model_id


def token_limit_field(wire_name: str) -> Literal["max_tokens", "max_completion_tokens"]:
    """Which body field carries ``ModelSpec.max_tokens`` for this model (see MAX_COMPLETION_TOKENS_MODELS)."""
    return "max_completion_tokens" if MAX_COMPLETION_TOKENS_MODELS.match(wire_name) else "max_tokens"


def request_body(model: ModelSpec, messages: Sequence[Mapping[str, str]]) -> dict[str, Any]:
    """The chat-completions JSON body for one call (no streaming; ``seed`` only when configured)."""
    name = wire_model_name(model.id)
    body: dict[str, Any] = {"model": name, "messages": messages, token_limit_field(name): model.max_tokens}
    # Reasoning models (o-series, gpt-5) reject any temperature but their default of 1: leave it out.
    if not MAX_COMPLETION_TOKENS_MODELS.match(name) or model.temperature == 1:
        body["temperature"] = model.temperature
    if model.seed is not None:
        body["seed"] = model.seed
    return body


def parse_usage(usage: object) -> tuple[int | None, int | None, Usage | None]:
    """Prompt tokens, completion tokens and the priceable Usage of a body's ``usage`` member.

    Each count is None when absent or not a non-negative integer; the Usage (what pricing needs) exists
    only when both counts do. A malformed usage block does not make the answer malformed: the answer is
    paid for already, so it is kept with unknown tokens and cost rather than requested again.
    """
    if not isinstance(usage, dict):
        return None, None, None
    prompt = _count(usage.get("prompt_tokens"))
    completion = _count(usage.get("completion_tokens"))
    if prompt is None or completion is None:
        return prompt, completion, None
    cached = _detail(usage, "prompt_tokens_details", "cached_tokens")
    reasoning = _detail(usage, "completion_tokens_details", "reasoning_tokens")
    return prompt, completion, Usage(prompt, completion, cached, reasoning)


def reply_from_body(raw: bytes, *, model_id: str, pricing: Pricing) -> ProviderReply:
    """The reply of a 200 response body; ProviderError ``malformed_response`` if it is not a chat completion.

    A 200 whose only choice was blocked (``finish_reason == "content_filter"``, no text) is a permanent
    ``content_filter`` error, as litellm reports it.
    """
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ProviderError("malformed_response", f"HTTP 200 with a body that is not JSON ({exc})") from exc
    if not isinstance(body, dict):
        raise ProviderError("malformed_response", "HTTP 200 with a JSON body that is not an object")
    choices = body.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        detail = error_text(body.get("error"))
        raise ProviderError("malformed_response", f"HTTP 200 without choices{': ' + detail if detail else ''}")
    choice = choices[0]
    finish_reason = choice.get("finish_reason")
    message = choice.get("message")
    text = message.get("content") if isinstance(message, dict) else None
    if text is None and finish_reason == "length":
        # A reasoning model spent max_tokens before answering: a paid, empty answer, not a reason to pay again.
        text = ""
    if not isinstance(text, str):
        if finish_reason == "content_filter":
            raise ProviderError("content_filter", "the provider's content filter withheld the answer")
        raise ProviderError("malformed_response", "HTTP 200 with a choice without text content")
    input_tokens, output_tokens, usage = parse_usage(body.get("usage"))
    version = body.get("model")
    return ProviderReply(
        text=text,
        finish_reason=finish_reason if isinstance(finish_reason, str) else None,
        model_version=version if isinstance(version, str) else None,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=pricing.cost(model_id, usage) if usage is not None else None,
    )


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _detail(usage: Mapping[str, Any], group: str, name: str) -> int | None:
    details = usage.get(group)
    return _count(details.get(name)) if isinstance(details, dict) else None
