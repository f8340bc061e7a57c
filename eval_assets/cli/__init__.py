"""``eval-assets``: validate inputs, run evaluations through Dagster in-process, gate, query the warehouse.

Exit status: 0 when every blocking gate passed, 1 when one failed (or a run failed), 2 for bad input or usage.
One module per command (``validate``, ``run``, ``gate``, ``sql``, ``cache``); ``main`` assembles them.
"""

from eval_assets.cli.main import build_parser, main
from eval_assets.outcome import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OK, RunOutcome, UsageError

__all__ = ["EXIT_BAD_INPUT", "EXIT_GATE_FAILED", "EXIT_OK", "RunOutcome", "UsageError", "build_parser", "main"]
