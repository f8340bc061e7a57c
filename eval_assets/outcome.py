"""What a command ends with: its exit status, a usage error, and what each evaluated cell produced.

Shared by the CLI and the code it calls (running cells, reading gate verdicts), which import it rather than
the CLI: that is what keeps the CLI's modules free of import circles.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: Exit statuses: every blocking gate passed; a gate or a run failed; bad input or usage.
EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line arguments, or a request the data cannot answer (exit 2)."""


@dataclass
class RunOutcome:
    """What one (date, config) run produced."""

    config: str
    eval_date: dt.date
    success: bool
    failed_gates: list[str] = field(default_factory=list)
    warned_gates: list[str] = field(default_factory=list)
    error: str | None = None
    reached_report: bool = False
