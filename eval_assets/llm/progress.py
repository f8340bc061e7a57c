"""Progress of a long replay: done/total, rate, errors, retries and spend, reported every few seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class ReplayProgress:
    """Counters of a replay, with a throttled reporter.

    Attributes:
        label: What is being replayed (``model_responses``, ``judge faithfulness``...).
        total: Calls planned.
        report: Called with a one-line summary at most every ``interval_s`` and once at the end.
        interval_s: Seconds between reports.
    """

    label: str
    total: int
    report: Callable[[str], None] | None = None
    interval_s: float = 5.0
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    cached: int = 0
    errors: int = 0
    skipped: int = 0
    retries: int = 0
    cost_usd: float = 0.0
    started: float = field(default=0.0)
    _last_report: float = field(default=0.0)

    def __post_init__(self) -> None:
        self.started = self._last_report = self.clock()

    def record(self, *, ok: bool, cached: bool, retries: int, cost_usd: float | None, skipped: bool = False) -> None:
        """Count one finished call and report if it is time."""
        self.done += 1
        self.cached += cached
        self.skipped += skipped
        self.errors += not ok and not skipped
        self.retries += retries
        self.cost_usd += cost_usd or 0.0
        now = self.clock()
        if self.report is not None and now - self._last_report >= self.interval_s:
            self._last_report = now
            self.report(self.summary())

    def finish(self) -> None:
        """Report the final figures."""
        if self.report is not None:
            self.report(self.summary())

    def summary(self) -> str:
        """e.g. ``model_responses: 120/500 (24%), 31.2/s, 2 errors, 5 retries, 80 cached, $0.0123 spent``."""
        elapsed = max(self.clock() - self.started, 1e-9)
        percent = 100 * self.done / self.total if self.total else 100.0
        return (
            f"{self.label}: {self.done}/{self.total} ({percent:.0f}%), {self.done / elapsed:.1f}/s, "
            f"{self.errors} errors, {self.retries} retries, {self.cached} cached, "
            + (f"{self.skipped} skipped, " if self.skipped else "")
            + f"${self.cost_usd:.4f} spent"
        )
