"""``eval-assets run``: validate, then materialize (date, config) cells through Dagster in-process."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from typing import Any

from eval_assets.cli.options import command_parser, parse_date, positive
from eval_assets.outcome import EXIT_GATE_FAILED, EXIT_OK, RunOutcome, UsageError
from eval_assets.project import EvalPlan
from eval_assets.reporting.folder import RunsFolder
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``run``."""
    parser = command_parser(
        commands,
        "run",
        help="materialize the evaluation graph for dates x configs",
        examples="  eval-assets run                                          yesterday, every nightly config\n"
        "  eval-assets run --config candidate --date 2026-11-23     one cell\n"
        "  eval-assets run --from 2026-11-01 --to 2026-11-07        a week, dates in order\n"
        "  eval-assets run --config nightly --no-cache --notify     fresh answers; send the alerts\n"
        "  eval-assets run --config candidate --limit 5             smoke run: 5 examples per dataset",
    )
    parser.add_argument(
        "--config",
        action="append",
        default=None,
        help="config name (repeatable; default: every config with schedule: nightly)",
    )
    parser.add_argument("--date", help="evaluation date YYYY-MM-DD (default: yesterday, UTC)")
    parser.add_argument("--from", dest="date_from", help="first date of a range (inclusive)")
    parser.add_argument("--to", dest="date_to", help="last date of a range (inclusive)")
    parser.add_argument(
        "--no-cache", action="store_true", help="ignore cached responses (fresh answers are still stored)"
    )
    parser.add_argument(
        "--limit",
        type=positive(int),
        metavar="N",
        help="smoke run: only the first N examples of each dataset (the cell's stored night is replaced)",
    )
    parser.add_argument("--quiet", action="store_true", help="only print the summary")
    parser.add_argument(
        "--notify",
        action="store_true",
        help="send the configs' notifications for failed gates and runs (as the alert sensors do, never twice)",
    )
    parser.set_defaults(handler=cmd_run)


def missing_api_keys(plans: Iterable[EvalPlan]) -> list[str]:
    """'<config file>: $VAR is not set' for every model or judge key variable that is unset."""
    from eval_assets.llm.routing import unset_key_variables

    return [
        f"{plan.config.path}: ${variable} is not set"
        for plan in plans
        for variable in unset_key_variables(plan.config.config.all_models())
    ]


def parse_dates(args: argparse.Namespace, *, today: dt.date) -> list[dt.date]:
    """The dates to run, from --date or --from/--to (default: yesterday)."""

    if args.date and (args.date_from or args.date_to):
        raise UsageError("use either --date or --from/--to, not both")
    if bool(args.date_from) != bool(args.date_to):
        raise UsageError("--from and --to go together")
    if args.date_from:
        first, last = parse_date(args.date_from, "--from"), parse_date(args.date_to, "--to")
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    else:
        dates = [parse_date(args.date, "--date") if args.date else today - dt.timedelta(days=1)]
    from eval_assets.assets.partitions import FIRST_DATE

    for day in dates:
        if day < dt.date.fromisoformat(FIRST_DATE) or day > today:
            raise UsageError(f"date {day} is outside the partitions ({FIRST_DATE} .. {today})")
    return dates


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Validate, then materialize each (date, config) cell in-process, then summarize."""
    from eval_assets.definitions import nightly_config_names
    from eval_assets.project import config_names, validate_data_dir

    today = dt.datetime.now(dt.UTC).date()
    dates = parse_dates(args, today=today)
    names = args.config or nightly_config_names(settings.data_dir, config_names(settings.data_dir))
    if not names:
        raise UsageError("no config has `schedule: nightly`; name one with --config")
    plans = validate_data_dir(settings.data_dir, names=names)  # bad input: exit 2 before anything is written
    missing = missing_api_keys(plans.values())
    if missing:
        raise UsageError("API keys missing, nothing was run: " + "; ".join(missing))
    from eval_assets.llm.routing import key_route_lines

    for plan in [] if args.quiet else plans.values():
        for line in key_route_lines(plan.config.config.all_models()):
            print(f"{plan.config.path}: {line}", file=sys.stderr)
    from eval_assets.definitions import run_cells

    if args.limit is not None and not args.quiet:
        print(f"smoke run: the first {args.limit} examples of each dataset", file=sys.stderr)
    outcomes = run_cells(
        settings,
        names,
        dates,
        use_cache=not args.no_cache,
        quiet=args.quiet,
        notify=args.notify,
        limit=args.limit,
    )
    return print_summary(outcomes, settings)


def print_summary(outcomes: Sequence[RunOutcome], settings: Settings) -> int:
    """Print what happened and the report paths; return the exit status.

    Config names, gate descriptions and errors can carry dataset or provider text: every field is passed
    through :func:`terminal_text`, and an error's continuation lines are indented, so none can forge a line.
    """
    from eval_assets.running import headline

    print("\nSummary")
    for outcome in outcomes:
        status = "ok" if outcome.success and not outcome.failed_gates else "FAILED"
        line = f"{outcome.eval_date} {terminal_text(outcome.config):<20} {status:<6} "
        print(f"  {line}{terminal_text(headline(settings, outcome))}")
        for gate in outcome.failed_gates:
            print(f"      gate failed: {terminal_text(gate)}")
        for gate in outcome.warned_gates:
            print(f"      warning: {terminal_text(gate)}")
        if outcome.error:
            error = terminal_text(outcome.error, keep="\n").replace("\n", "\n        ")
            print(f"      error: {error}")
    print("\nReports")
    runs, links = RunsFolder(settings.runs_dir), settings.links()
    for outcome in outcomes:
        folder = runs.run(outcome.eval_date, outcome.config)
        if folder.report_html.exists():
            print(f"  {terminal_text(str(folder.report_md))}\n  {terminal_text(str(folder.report_html))}")
            if settings.report_base_url:
                print(f"  {terminal_text(links.report(folder))}")
    if runs.dashboard.exists():
        print(f"  {terminal_text(str(runs.dashboard))}")
    failed = any(not o.success or o.failed_gates for o in outcomes)
    return EXIT_GATE_FAILED if failed else EXIT_OK
