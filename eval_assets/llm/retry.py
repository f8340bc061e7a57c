"""Retry policy: which failures are worth another attempt and how long to wait (pure, unit-tested)."""

from __future__ import annotations

import random
from dataclasses import dataclass

#: Error kinds that may succeed on a later attempt.
RETRYABLE_KINDS = frozenset({"rate_limit", "timeout", "server_error", "connection", "malformed_response"})
#: Error kinds that will fail the same way again: fail fast and record.
PERMANENT_KINDS = frozenset({"bad_request", "context_window", "auth", "not_found", "content_filter", "error"})


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
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by attempts and by total time.

    Attributes:
        max_retries: Retries after the first attempt.
        base_delay_s: Delay scale of the first retry.
        max_delay_s: Cap of one delay (a longer Retry-After is honoured up to ``max_retry_after_s``).
        max_retry_after_s: Longest Retry-After we agree to wait.
        deadline_s: Give up retrying once this much time has passed since the first attempt.
    """

    max_retries: int = 3
    base_delay_s: float = 0.5
    max_delay_s: float = 20.0
    max_retry_after_s: float = 60.0
    deadline_s: float = 600.0

    def delay(self, retry_number: int, *, retry_after_s: float | None, rng: random.Random) -> float:
        """Seconds to wait before retry ``retry_number`` (1-based).

        A provider's Retry-After wins over our own schedule (waiting less would only earn another 429),
        with a little jitter on top so synchronized clients do not return together.
        """
        if retry_after_s is not None and retry_after_s >= 0:
            return min(retry_after_s, self.max_retry_after_s) + rng.uniform(0, min(0.1, self.base_delay_s))
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (retry_number - 1))
        return rng.uniform(0, ceiling)

    def should_retry(self, error: ProviderError, *, retries_done: int, elapsed_s: float, next_delay_s: float) -> bool:
        """Whether to try again after ``error``."""
        return error.retryable and retries_done < self.max_retries and elapsed_s + next_delay_s < self.deadline_s


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
