"""``eval-assets retention --dry-run|--apply``: remove per-example detail past each config's retention windows."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from eval_assets import retention, warehouse as wh
from eval_assets.cli.options import command_parser, parse_date, positive
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``retention``."""
    parser = command_parser(
        commands,
        "retention",
        help="remove per-example detail older than each config's retention: windows (aggregates stay)",
        examples="  eval-assets retention --dry-run                    what would go, per table; changes nothing\n"
        "  eval-assets retention --apply                      remove it, then compact the warehouse\n"
        "  eval-assets retention --apply --grace-hours 0      and free the files at once (no reader open)",
    )
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--dry-run", action="store_true", help="print what would be removed; change nothing")
    mode.add_argument("--apply", action="store_true", help="remove it, then compact (DuckLake) or CHECKPOINT")
    parser.add_argument("--today", help="the day windows count back from (default: today, UTC)")
    parser.add_argument(
        "--grace-hours",
        type=_hours,
        default=retention.DEFAULT_GRACE.total_seconds() / 3600,
        help="DuckLake: keep snapshots and the files only they need this long (default 24)",
    )
    parser.set_defaults(needs="data", handler=cmd_retention)


def _hours(text: str) -> float:
    return 0.0 if text.strip() in ("0", "0.0") else positive(float)(text)


def cmd_retention(args: argparse.Namespace, settings: Settings) -> int:
    """Print the plan; with ``--apply`` carry it out and give the space back."""
    today = parse_date(args.today, "--today") if args.today else dt.datetime.now(dt.UTC).date()
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: nothing to remove")
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        plan = retention.plan(conn, settings.data_dir, today=today)
        _print(retention.describe_plan(plan))
        if args.dry_run:
            print("dry run: nothing was removed (run with --apply to remove it)")
            return EXIT_OK
        result = wh.apply_retention(conn, plan, hold=retention.lease_holder(settings.runs_dir))
        _print(["applied:", *retention.describe_result(result)])
        done = wh.give_space_back(conn, settings.warehouse_path, grace=dt.timedelta(hours=args.grace_hours))
        _print(retention.describe_maintenance(done))
    return EXIT_OK


def _print(lines: list[str]) -> None:
    for line in lines:
        print(terminal_text(line))
