"""``eval-assets noise-floor``: re-run a config's baseline night against itself and count the gate's false alarms."""

from __future__ import annotations

import argparse
import datetime as dt
from typing import Any

from eval_assets.cli.options import command_parser, parse_date, positive, yesterday
from eval_assets.noise_floor import MAX_RUNS
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``noise-floor``."""
    parser = command_parser(
        commands,
        "noise-floor",
        help="A/A test: re-run the baseline night against itself (cache bypassed) and report the false-alarm rate",
        examples="  eval-assets noise-floor --config nightly --runs 10        the baseline tonight's night would get\n"
        "  eval-assets noise-floor --config nightly --date 2026-11-24 --runs 5",
    )
    parser.add_argument("--config", required=True, help="config name")
    parser.add_argument("--runs", required=True, type=positive(int), help=f"re-runs (1 .. {MAX_RUNS}); each is paid")
    parser.add_argument("--date", help="the night whose baseline is re-run (YYYY-MM-DD; default: tonight's)")
    parser.set_defaults(needs="data", handler=cmd_noise_floor)


def cmd_noise_floor(args: argparse.Namespace, settings: Settings) -> int:
    """Re-run the baseline night ``--runs`` times in scratch warehouses and print the noise floor."""
    from eval_assets.definitions import rerun_without_cache
    from eval_assets.noise_floor import NoNightToRerunError, measure_noise_floor

    if args.runs > MAX_RUNS:
        raise UsageError(f"--runs is at most {MAX_RUNS} (each re-run pays for a whole night), got {args.runs}")
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    day = parse_date(args.date, "--date") if args.date else yesterday() + dt.timedelta(days=1)
    try:
        measured = measure_noise_floor(settings, args.config, day, runs=args.runs, rerun=rerun_without_cache)
    except NoNightToRerunError as exc:
        raise UsageError(str(exc)) from None
    print(terminal_text(measured.describe()))
    return EXIT_OK
