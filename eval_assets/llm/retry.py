"""Retry policy: which failures are worth another attempt and how long to wait (pure, unit-tested)."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Error kinds that may succeed on a later attempt.
RETRYABLE_KINDS = frozenset({"rate_limit", "timeout", "server_error", "connection", "malformed_response"})
#: Error kinds that will fail the same way again: fail fast and record. ``redirect``: the endpoint sent us to
#: another address, which never receives our credentials (see ``openai_compat``); ``response_too_large``: a
#: body beyond any real completion (see ``bodies``), which another attempt would only download again.
PERMANENT_KINDS = frozenset(
    {
        "bad_request",
        "context_window",
        "auth",
        "not_found",
        "content_filter",
        "redirect",
        "response_too_large",
        "error",
    }
)


class ProviderError(Exception):
    """A classified provider failure.

    Attributes:
        kind: One of RETRYABLE_KINDS or PERMANENT_KINDS.
        retry_after_s: The provider's Retry-After hint, when it gave one.
    """

    def __init__(self, kind: str, message: str, *, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        """Whether another attempt may succeed."""
        return self.kind in RETRYABLE_KINDS


@dataclass(frozen=True)
class RetryDecision:
    """What to do after a failed attempt.

    Attributes:
        delay_s: Seconds to wait before the next attempt; None to stop now.
        note: Why the call stops although its error is retryable (appended to its message), if worth saying.
    """

    delay_s: float | None
    note: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    A provider's Retry-After is honoured as given, but only while it fits in what is left of the call's
    ``deadline_s`` (``runtime.max_retry_time_s``): a ``Retry-After: 1e9`` ends the call at once, with a
    message saying so, instead of keeping the run alive.

    Attributes:
        max_retries: Retries after the first attempt.
        base_delay_s: Delay scale of the first retry.
        max_delay_s: Cap of one delay of our own schedule (a provider's Retry-After is not capped by it).
        deadline_s: Give up retrying once this much time has passed since the first attempt.
    """

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    deadline_s: float = 600.0

    def delay(self, retry_number: int, *, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        A provider's Retry-After wins over our own schedule (waiting less would only earn another 429),
        with a little jitter on top so synchronized clients do not return together.
        """
        if retry_after_s is not None and retry_after_s >= 0:
            return retry_after_s + rng.uniform(0, min(0.1, self.base_delay_s))
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry_number - 1))
        return rng.uniform(0, ceiling)

    def decide(self, error: ProviderError, *, retries_done: int, elapsed_s: float, rng: random.Random) -> RetryDecision:
        """Whether and when to try again after ``error``, ``retries_done`` retries and ``elapsed_s`` seconds."""
        if not error.retryable or retries_done >= self.max_retries:
            return RetryDecision(None)
        delay = self.delay(retries_done + 1, retry_after_s=error.retry_after_s, rng=rng)
        remaining = self.deadline_s - elapsed_s
        if delay < remaining:
            return RetryDecision(delay)
        if error.retry_after_s is not None and error.retry_after_s >= 0:
            return RetryDecision(
                None,
                note=(
                    f"not retried: the provider asked to wait {error.retry_after_s:g} s (Retry-After), more than "
                    f"the {max(remaining, 0):.0f} s left of this call's retry time (runtime.max_retry_time_s)"
                ),
            )
        return RetryDecision(None)


def parse_retry_after(headers: object) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``retry-after`` (delta-seconds form), if present."""
    get = getattr(headers, "get", None)
    if get is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = get(name) or get(name.title())
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except (TypeError, ValueError):
            continue  # an HTTP-date Retry-After is rare from LLM APIs; fall back to our own backoff
        if seconds >= 0:
            return seconds
    return None
