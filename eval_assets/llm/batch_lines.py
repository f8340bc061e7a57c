"""The lines of an OpenAI-style batch: the JSONL request line of a call, and the outcome of a result line.

A result line answered with HTTP 200 becomes an answer priced at the batch price
(:class:`~eval_assets.llm.pricing.BatchPricing`); any other line becomes an error outcome whose kind is
classified like a failed direct call's.
"""

from __future__ import annotations

from typing import Any, Final

from eval_assets.llm.calls import CallOutcome, ModelCall
from eval_assets.llm.pricing import BatchPricing
from eval_assets.llm.redaction import redact

#: The endpoint every batch line calls.
CHAT_COMPLETIONS_URL: Final = "/v1/chat/completions"

# Error codes a result line may carry that say more than its HTTP status.
_ERROR_CODE_KINDS = {
    "context_length_exceeded": "context_window",
    "content_filter": "content_filter",
    "content_policy_violation": "content_filter",
    "rate_limit_exceeded": "rate_limit",
    "invalid_api_key": "auth",
    "batch_expired": "batch_expired",
    "batch_cancelled": "batch_cancelled",
}


def batch_line(call: ModelCall) -> dict[str, Any]:
    """The JSONL request line of one call; its custom_id is the call's request hash."""
    model = call.model
    body: dict[str, Any] = {
        "model": model.id.removeprefix("openai/"),
        "messages": [dict(m) for m in call.messages],
        "temperature": model.temperature,
        "max_tokens": model.max_tokens,
    }
    if model.seed is not None:
        body["seed"] = model.seed
    return {"custom_id": call.request_hash, "method": "POST", "url": CHAT_COMPLETIONS_URL, "body": body}


def outcome_from_line(call: ModelCall, line: dict[str, Any], prices: BatchPricing | None = None) -> CallOutcome:
    """The outcome of one output- or error-file line (``{"custom_id", "response", "error"}``)."""
    response = line.get("response") or {}
    status_code = response.get("status_code")
    body = response.get("body")
    if status_code == 200 and isinstance(body, dict):
        return _answer(call, body, prices if prices is not None else BatchPricing())
    error = line.get("error") or (body.get("error") if isinstance(body, dict) else None) or {}
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    text = message or f"batch line answered HTTP {status_code}"
    return CallOutcome(
        call=call,
        text=None,
        attempts=1,
        error_type=error_kind(status_code if isinstance(status_code, int) else None, code),
        error_message=redact(text, names=[call.model.api_key_env])[:2000],
    )


def error_kind(status_code: int | None, code: str | None) -> str:
    """Classify a failed batch line like a failed direct call (see ``retry.RETRYABLE_KINDS``)."""
    if code in _ERROR_CODE_KINDS:
        return _ERROR_CODE_KINDS[code]
    if status_code is None:
        return "error"
    if status_code == 429:
        return "rate_limit"
    if status_code == 408:
        return "timeout"
    if status_code in (401, 403):
        return "auth"
    if status_code == 404:
        return "not_found"
    if status_code >= 500:
        return "server_error"
    if status_code >= 400:
        return "bad_request"
    return "error"


def _answer(call: ModelCall, body: dict[str, Any], prices: BatchPricing) -> CallOutcome:
    choices = body.get("choices") or []
    message = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
    text = message.get("content") if isinstance(message, dict) else None
    if not isinstance(text, str):
        return CallOutcome(
            call=call,
            text=None,
            attempts=1,
            error_type="malformed_response",
            error_message="the batch line has no choice with text content",
        )
    usage = body.get("usage") or {}
    input_tokens = usage.get("prompt_tokens")
    output_tokens = usage.get("completion_tokens")
    cost = None
    if isinstance(input_tokens, int) and isinstance(output_tokens, int):
        cost = prices.cost_usd(call.model.id, input_tokens, output_tokens)
    return CallOutcome(
        call=call,
        text=text,
        finish_reason=choices[0].get("finish_reason"),
        model_version=body.get("model"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
        latency_ms=None,  # a batch line has no meaningful latency of its own
        attempts=1,
    )
