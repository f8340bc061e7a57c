"""``eval-assets gate``: a partition's stored gate verdicts for CI (no Dagster instance needed)."""

from __future__ import annotations

import argparse
from typing import Any

from eval_assets.cli.options import command_parser, parse_date, yesterday
from eval_assets.outcome import EXIT_GATE_FAILED, EXIT_OK, UsageError
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``gate``."""
    parser = command_parser(
        commands,
        "gate",
        help="CI gate: exit 0 if a partition passed its blocking gates, else 1",
        examples="  eval-assets gate --config candidate --date 2026-11-23\n"
        "  eval-assets gate --config candidate --date 2026-11-23 --format pr-comment > comment.md\n"
        "  eval-assets gate --config nightly --format json          yesterday's night, as JSON",
    )
    parser.add_argument("--config", required=True, help="config name")
    parser.add_argument("--date", help="evaluation date YYYY-MM-DD (default: yesterday, UTC, like `run`)")
    parser.add_argument("--format", choices=("markdown", "pr-comment", "slack", "json"), default="markdown")
    parser.set_defaults(needs="warehouse", handler=cmd_gate)


def cmd_gate(args: argparse.Namespace, settings: Settings) -> int:
    """Print the stored gate verdicts of one partition; exit 1 when a blocking gate failed."""
    from eval_assets.gating import load_verdict
    from eval_assets.reporting.gate import render_gate

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    # The same default as `run`: a gate after a run that wrote nothing must not pass on an older night.
    day = parse_date(args.date, "--date") if args.date else yesterday()
    verdict = load_verdict(settings, args.config, day)
    print(render_gate(verdict, args.format), end="")
    return EXIT_OK if verdict.passed else EXIT_GATE_FAILED
