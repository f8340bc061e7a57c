"""How an OpenAI-compatible endpoint says a call failed, classified for the retry policy (pure).

:func:`error_from_response` turns a non-200 response into a :class:`~eval_assets.llm.retry.ProviderError`
whose kind the engine's RetryPolicy understands; every message is redacted (the key sent, and every key
variable's value) and cut to :data:`MAX_ERROR_TEXT` before it can reach an outcome, a log or the warehouse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import orjson

from eval_assets.llm.redaction import redact
from eval_assets.llm.retry import ProviderError, parse_retry_after

#: Error codes and message fragments with which OpenAI-compatible servers report an over-long prompt
#: (OpenAI: code ``context_length_exceeded``; vLLM: "This model's maximum context length is ..." in a 400).
_CONTEXT_WINDOW_CODES: Final = frozenset({"context_length_exceeded", "string_above_max_length"})
_CONTEXT_WINDOW_PHRASES: Final = (
    "maximum context length",
    "context length exceeded",
    "context_length_exceeded",
    "longer than the model's context length",
    "prompt is too long",
    "too many tokens",
    "reduce the length of the messages",
)
_CONTENT_FILTER_CODES: Final = frozenset({"content_filter", "content_policy_violation"})
#: The longest error text kept in an outcome (a server may echo a whole prompt back).
MAX_ERROR_TEXT: Final = 500


def error_from_response(
    status: int, headers: Mapping[str, str], raw: bytes, *, secret: str | None = None
) -> ProviderError:
    """Classify a non-200 response for the retry policy (pure; the message never contains ``secret``).

    429 -> ``rate_limit`` with the server's Retry-After; 408, 409 and 5xx -> ``server_error`` (retryable);
    400/413 naming the context length -> ``context_window``; 400 naming a content policy -> ``content_filter``;
    other 400, 413 and 422 -> ``bad_request``; 401/403 -> ``auth``; 404 -> ``not_found``; 3xx -> ``redirect``
    (never followed: credentials stay at ``api_base``); anything else (an unexpected 2xx/4xx) -> ``error``,
    which is permanent.
    """
    if 300 <= status < 400:
        target = headers.get("Location") or headers.get("location") or "nowhere (no Location header)"
        message = f"HTTP {status} redirect to {target} not followed: credentials go to the configured api_base only"
        return ProviderError("redirect", redact(message)[:MAX_ERROR_TEXT])
    error = _error_member(raw)
    detail = error_text(error) or raw[:MAX_ERROR_TEXT].decode("utf-8", "replace").strip()
    code = error.get("code") if isinstance(error, dict) else None
    code = code.lower() if isinstance(code, str) else None
    message = redact_secret(f"HTTP {status}{': ' + detail if detail else ''}", secret)
    if status == 429:
        return ProviderError("rate_limit", message, retry_after_s=parse_retry_after(headers))
    if status in (408, 409) or status >= 500:
        return ProviderError("server_error", message, retry_after_s=parse_retry_after(headers))
    if status in (400, 413, 422):
        lowered = detail.lower()
        if code in _CONTEXT_WINDOW_CODES or any(phrase in lowered for phrase in _CONTEXT_WINDOW_PHRASES):
            return ProviderError("context_window", message)
        if code in _CONTENT_FILTER_CODES:
            return ProviderError("content_filter", message)
        return ProviderError("bad_request", message)
    if status in (401, 403):
        return ProviderError("auth", message)
    if status == 404:
        return ProviderError("not_found", message)
    return ProviderError("error", message)


def _error_member(raw: bytes) -> object:
    """OpenAI's ``{"error": {...}}``, or a flat ``{"message": ...}`` body (older vLLM), or None."""
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):
        return None
    return body.get("error") or (body if "message" in body else None)


def error_text(error: object) -> str:
    """The message of an ``error`` member (with its type and code), redacted and cut to MAX_ERROR_TEXT."""
    if isinstance(error, dict):
        parts = [str(error[k]) for k in ("type", "code") if error.get(k)]
        message = str(error.get("message") or "")
        text = f"{message} ({', '.join(parts)})" if parts else message
    elif isinstance(error, str):
        text = error
    else:
        return ""
    return redact_secret(text.strip(), None)[:MAX_ERROR_TEXT]


def redact_secret(text: str, secret: str | None) -> str:
    """``text`` without ``secret`` (the key we sent) and without any remembered key variable's value."""
    if secret:
        text = text.replace(secret, "[redacted]")  # the key we sent, whatever variable it came from
    return redact(text)
