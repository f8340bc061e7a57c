"""The provider behind every model call: litellm, imported lazily (it costs seconds and ~125 MB).

litellm's own retries are turned off (``num_retries=0``, ``max_retries=0``): the engine retries with
one policy for every provider and counts every attempt.

Keys: a spec's ``api_key_env`` is read at call time and passed explicitly. A custom ``api_base`` whose spec
names no ``api_key_env`` gets :data:`NO_KEY_PLACEHOLDER`, never nothing: litellm would otherwise fill in the
ambient provider variable (``$ANTHROPIC_API_KEY``, ``$GROQ_API_KEY``...) and send it to that host (an empty
string does not help: litellm treats it as missing). Responses pass through ``litellm_transport``'s guard
(no credentials across origins, bounded bodies), installed when litellm is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Final

from eval_assets.config import ModelSpec
from eval_assets.llm.bodies import ResponseTooLargeError
from eval_assets.llm.calls import ProviderReply
from eval_assets.llm.redaction import redact, remember_key_variable
from eval_assets.llm.retry import ProviderError, parse_retry_after

#: The ``api_key`` litellm gets for a custom ``api_base`` whose spec names no ``api_key_env``: not a secret,
#: and not empty (litellm replaces an empty key with the ambient provider variable).
NO_KEY_PLACEHOLDER: Final = "no-key-configured"


class MissingApiKeyError(RuntimeError):
    """A config names an API-key variable that is not set."""


def import_litellm() -> Any:
    """Import litellm with its network price-map fetch disabled (there may be no internet)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    from eval_assets.llm.litellm_transport import install

    litellm.telemetry = False
    install()
    return litellm


def resolve_api_key(model: ModelSpec) -> str | None:
    """The API key from the environment variable the config names, read at call time, never stored."""
    if model.api_key_env is None:
        return None
    remember_key_variable(model.api_key_env)  # its value is redacted from every message from now on
    value = os.environ.get(model.api_key_env)
    if not value:
        raise MissingApiKeyError(f"model {model.id!r} reads its API key from ${model.api_key_env}, which is not set")
    return value


class LiteLLMProvider:
    """Sends chat requests through ``litellm.acompletion`` and classifies failures."""

    def __init__(self) -> None:
        self._litellm = import_litellm()

    async def complete(
        self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float
    ) -> ProviderReply:
        """Send one request; raise ProviderError with a kind the retry policy understands."""
        litellm = self._litellm
        kwargs: dict[str, Any] = {
            "model": model.id,
            "messages": list(messages),
            "temperature": model.temperature,
            "max_tokens": model.max_tokens,
            "timeout": timeout_s,
            "num_retries": 0,
            "max_retries": 0,
        }
        if model.seed is not None:
            kwargs["seed"] = model.seed
        if model.api_base:
            kwargs["api_base"] = model.api_base
        api_key = resolve_api_key(model)
        if api_key:
            kwargs["api_key"] = api_key
        elif model.api_base:
            kwargs["api_key"] = NO_KEY_PLACEHOLDER  # never the ambient provider key (see the module docstring)
        try:
            response = await litellm.acompletion(**kwargs)
        except Exception as exc:
            error = classify_exception(exc, litellm)
            # Provider error bodies sometimes echo the key; it must not reach the warehouse, logs or alerts.
            message = redact(str(error), names=[model.api_key_env])
            raise ProviderError(error.kind, message, retry_after_s=error.retry_after_s) from exc
        return reply_from_response(response, litellm, requested_model=model.id)


def reply_from_response(response: Any, litellm: Any, *, requested_model: str | None = None) -> ProviderReply:
    """Text, usage and cost of a litellm ModelResponse (cost None when unknown: never a silent 0)."""
    choices = getattr(response, "choices", None) or []
    if not choices:
        raise ProviderError("malformed_response", "the provider returned no choices")
    message = getattr(choices[0], "message", None)
    text = getattr(message, "content", None)
    if text is None:
        raise ProviderError("malformed_response", "the provider returned a choice without text content")
    usage = getattr(response, "usage", None)
    input_tokens = getattr(usage, "prompt_tokens", None) if usage is not None else None
    output_tokens = getattr(usage, "completion_tokens", None) if usage is not None else None
    cost: float | None = None
    if input_tokens is not None and output_tokens is not None:
        # The reported model (a dated snapshot) prices most precisely; servers that report a name litellm
        # does not know (vLLM, proxies) are priced as the model that was asked for.
        for name in (None, requested_model):
            try:
                cost = float(litellm.completion_cost(completion_response=response, model=name))
                break
            except Exception:  # unknown price: try the next name, else record null, never invent a number
                cost = None
    return ProviderReply(
        text=text,
        finish_reason=getattr(choices[0], "finish_reason", None),
        model_version=getattr(response, "model", None),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cost_usd=cost,
    )


def classify_exception(exc: Exception, litellm: Any) -> ProviderError:
    """Map litellm/openai exceptions onto our retryable and permanent error kinds."""
    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, MissingApiKeyError):
        return ProviderError("auth", str(exc))
    guarded = _guard_error(exc)
    if guarded is not None:
        return guarded
    checks: list[tuple[str, str]] = [
        ("ContextWindowExceededError", "context_window"),
        ("ContentPolicyViolationError", "content_filter"),
        ("RateLimitError", "rate_limit"),
        ("Timeout", "timeout"),
        ("AuthenticationError", "auth"),
        ("PermissionDeniedError", "auth"),
        ("NotFoundError", "not_found"),
        ("BadRequestError", "bad_request"),
        ("UnprocessableEntityError", "bad_request"),
        ("ServiceUnavailableError", "server_error"),
        ("BadGatewayError", "server_error"),
        ("InternalServerError", "server_error"),
        ("APIConnectionError", "connection"),
        ("APIResponseValidationError", "malformed_response"),
    ]
    kind = "error"
    for class_name, candidate in checks:
        cls = getattr(litellm, class_name, None)
        if cls is not None and isinstance(exc, cls):
            kind = candidate
            break
    else:
        status = getattr(exc, "status_code", None)
        if isinstance(status, int):
            kind = "rate_limit" if status == 429 else "server_error" if status >= 500 else "bad_request"
        elif isinstance(exc, TimeoutError):
            kind = "timeout"
    if kind == "server_error" and "Missing credentials" in str(exc):
        kind = "auth"  # litellm reports a missing key as a 500: retrying cannot help
    headers = getattr(getattr(exc, "response", None), "headers", None)
    retry_after = parse_retry_after(headers) if headers is not None else None
    if retry_after is None:
        retry_after = parse_retry_after(getattr(exc, "litellm_response_headers", None))
    return ProviderError(kind, f"{type(exc).__name__}: {exc}", retry_after_s=retry_after)


def _guard_error(exc: BaseException) -> ProviderError | None:
    """The error of a response ``litellm_transport`` refused (too large, cross-origin redirect), if ``exc`` is one.

    litellm wraps what the transport raised or returned (a 3xx comes back as an ``APIConnectionError`` with
    status 500, a too-large body as an ``InternalServerError``), so look down the exception's chain.
    """
    from eval_assets.llm.litellm_transport import REFUSED_REDIRECT_HEADER

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ResponseTooLargeError):
            return ProviderError("response_too_large", str(current))
        response = getattr(current, "response", None)
        headers = getattr(response, "headers", None)
        target = headers.get(REFUSED_REDIRECT_HEADER) if headers is not None else None
        if isinstance(target, str):
            status = getattr(response, "status_code", "3xx")
            return ProviderError(
                "redirect",
                f"HTTP {status} redirect to {target} refused: credentials are never sent to another origin",
            )
        current = current.__cause__ or current.__context__
    return None
