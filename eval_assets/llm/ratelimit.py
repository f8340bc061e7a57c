"""Client-side request and token rate limits (token buckets on the event loop's clock)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class TokenBucket:
    """Allows ``rate_per_minute`` units a minute, with bursts up to one second's worth (at least 1 unit).

    A request for more units than the burst size waits until the bucket could hold it, then takes it all,
    so a single oversized request is delayed, never refused.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate_per_s = rate_per_minute / 60.0
        self.capacity = max(1.0, self.rate_per_s)
        self._tokens = self.capacity
        self._clock = clock
        self._sleep = sleep
        self._updated = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate_per_s)
        self._updated = now

    async def acquire(self, units: float = 1.0) -> None:
        """Wait until ``units`` may be spent, then spend them (callers are served in order)."""
        async with self._lock:
            self._refill()
            needed = min(units, self.capacity)
            while self._tokens < needed:
                await self._sleep((needed - self._tokens) / self.rate_per_s)
                self._refill()
            self._tokens -= units  # may go negative for an oversized request: later callers wait it off
