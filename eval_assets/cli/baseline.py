"""``eval-assets baseline accept|show``: a person accepts a night as the baseline of later nights, or asks why."""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
from typing import Any

from eval_assets import warehouse as wh
from eval_assets.cli.options import command_parser, parse_date, yesterday
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``baseline``."""
    parser = command_parser(
        commands,
        "baseline",
        help="accept a night as the baseline of later nights (after an intended change), or show the baseline",
        examples="  eval-assets baseline accept --config nightly --date 2026-11-23 --reason 'model v3 is intended'\n"
        "  eval-assets baseline show --config nightly --date 2026-11-24      which baseline that night gets, and why",
    )
    actions = parser.add_subparsers(dest="baseline_action", required=True, metavar="ACTION")
    accept = actions.add_parser("accept", help="record that a night is a good baseline (who, when, why)")
    accept.add_argument("--config", required=True, help="config name")
    accept.add_argument("--date", required=True, help="the night to accept (YYYY-MM-DD)")
    accept.add_argument("--reason", help="why, e.g. an intended model or prompt change (shown in reports)")
    accept.set_defaults(needs="warehouse", handler=cmd_accept)
    show = actions.add_parser("show", help="the baseline a night is compared with by default, and why")
    show.add_argument("--config", required=True, help="config name")
    show.add_argument("--date", help="the night (YYYY-MM-DD; default: the day after yesterday, i.e. tonight's)")
    show.set_defaults(needs="warehouse", handler=cmd_show)


def _require_warehouse(settings: Settings) -> None:
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")


def cmd_accept(args: argparse.Namespace, settings: Settings) -> int:
    """Record the acceptance; later nights of the config compare with it until a newer night is accepted."""
    _require_warehouse(settings)
    day = parse_date(args.date, "--date")
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        try:
            accepted = wh.accept_baseline(conn, args.config, day, accepted_by=getpass.getuser(), reason=args.reason)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    print(terminal_text(f"{args.config} {day} {accepted.describe()}: later nights compare with it"))
    return EXIT_OK


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    """Print the default baseline of a night (a pinned baseline in the config is not consulted here)."""
    _require_warehouse(settings)
    day = parse_date(args.date, "--date") if args.date else yesterday() + dt.timedelta(days=1)
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)  # an older warehouse has no acceptances table yet
        choice = wh.choose_baseline(conn, args.config, day)
    if isinstance(choice, wh.BaselineChoice):
        print(terminal_text(f"{args.config} {day} compares with {choice.label}: {choice.reason}"))
    else:
        print(terminal_text(f"{args.config} {day} has no baseline: {choice.reason}"))
    for night, why in choice.passed_over:
        print(terminal_text(f"  passed over {night}: {why}"))
    return EXIT_OK
