"""``eval-assets``: validate inputs, run evaluations through Dagster in-process, query the warehouse.

Exit status: 0 when every blocking gate passed, 1 when one failed (or a run failed), 2 for bad input or usage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from eval_assets import warehouse as wh
from eval_assets.errors import InvalidInputError
from eval_assets.project import EvalPlan
from eval_assets.settings import Settings

EXIT_OK, EXIT_GATE_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class UsageError(Exception):
    """Bad command-line arguments (exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eval-assets`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.data_dir)
    try:
        code: int = args.handler(args, settings)
    except (InvalidInputError, UsageError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (argparse exits with status 2 on usage errors, as documented)."""
    parser = argparse.ArgumentParser(prog="eval-assets", description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", help="data directory (default: $EVAL_ASSETS_DATA_DIR or ./data)")
    commands = parser.add_subparsers(dest="command", required=True)

    validate = commands.add_parser("validate", help="check configs, datasets and rubrics without any model call")
    validate.add_argument("--config", action="append", default=None, help="only this config (repeatable)")
    validate.set_defaults(handler=cmd_validate)

    run = commands.add_parser("run", help="materialize the evaluation graph for dates x configs")
    run.add_argument(
        "--config",
        action="append",
        default=None,
        help="config name (repeatable; default: every config with schedule: nightly)",
    )
    run.add_argument("--date", help="evaluation date YYYY-MM-DD (default: yesterday, UTC)")
    run.add_argument("--from", dest="date_from", help="first date of a range (inclusive)")
    run.add_argument("--to", dest="date_to", help="last date of a range (inclusive)")
    run.add_argument("--no-cache", action="store_true", help="ignore cached responses (fresh answers are still stored)")
    run.add_argument("--quiet", action="store_true", help="only print the summary")
    run.set_defaults(handler=cmd_run)

    gate = commands.add_parser("gate", help="CI gate: exit 0 if a partition passed its blocking gates, else 1")
    gate.add_argument("--config", required=True, help="config name")
    gate.add_argument("--date", help="evaluation date (default: the latest evaluated date of the config)")
    gate.add_argument("--format", choices=("markdown", "pr-comment", "json"), default="markdown")
    gate.set_defaults(handler=cmd_gate)

    sql = commands.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query", help='SQL text, e.g. "SELECT * FROM latest_runs"')
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.set_defaults(handler=cmd_sql)
    return parser


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Validate every file in the data directory (or the named configs)."""
    from eval_assets.llm.routing import key_route_lines, unset_key_variables
    from eval_assets.project import validate_data_dir

    plans = validate_data_dir(settings.data_dir, names=args.config)
    for name, plan in plans.items():
        datasets = ", ".join(f"{n} ({d.content_hash})" for n, d in plan.datasets.items())
        print(
            f"ok  {name}: {len(plan.examples)} examples from {datasets}; "
            f"{len(plan.config.config.scorers)} scorers; {len(plan.config.config.thresholds)} thresholds"
        )
        for line in key_route_lines(plan.config.config.all_models()):
            print(f"    {line}")
        for variable in unset_key_variables(plan.config.config.all_models()):
            print(f"    note: ${variable} is not set; `run` will need it")
    print(f"{len(plans)} config(s) valid")
    return EXIT_OK


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

    def parse(value: str, flag: str) -> dt.date:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise UsageError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None

    if args.date and (args.date_from or args.date_to):
        raise UsageError("use either --date or --from/--to, not both")
    if bool(args.date_from) != bool(args.date_to):
        raise UsageError("--from and --to go together")
    if args.date_from:
        first, last = parse(args.date_from, "--from"), parse(args.date_to, "--to")
        if first > last:
            raise UsageError(f"--from {first} is after --to {last}")
        dates = [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    else:
        dates = [parse(args.date, "--date") if args.date else today - dt.timedelta(days=1)]
    from eval_assets.assets.partitions import FIRST_DATE

    for day in dates:
        if day < dt.date.fromisoformat(FIRST_DATE) or day > today:
            raise UsageError(f"date {day} is outside the partitions ({FIRST_DATE} .. {today})")
    return dates


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
    from eval_assets.running import run_cells

    outcomes = run_cells(settings, names, dates, use_cache=not args.no_cache, quiet=args.quiet)
    return print_summary(outcomes, settings)


def print_summary(outcomes: Sequence[RunOutcome], settings: Settings) -> int:
    """Print what happened and the report paths; return the exit status."""
    from eval_assets.running import headline

    print("\nSummary")
    for outcome in outcomes:
        status = "ok" if outcome.success and not outcome.failed_gates else "FAILED"
        print(f"  {outcome.eval_date} {outcome.config:<20} {status:<6} {headline(settings, outcome)}")
        for gate in outcome.failed_gates:
            print(f"      gate failed: {gate}")
        for gate in outcome.warned_gates:
            print(f"      warning: {gate}")
        if outcome.error:
            print(f"      error: {outcome.error}")
    print("\nReports")
    for outcome in outcomes:
        folder = settings.runs_dir / str(outcome.eval_date) / outcome.config
        if (folder / "report.html").exists():
            print(f"  {folder / 'report.md'}\n  {folder / 'report.html'}")
    dashboard = settings.runs_dir / "dashboard.html"
    if dashboard.exists():
        print(f"  {dashboard}")
    failed = any(not o.success or o.failed_gates for o in outcomes)
    return EXIT_GATE_FAILED if failed else EXIT_OK


def cmd_gate(args: argparse.Namespace, settings: Settings) -> int:
    """Print the stored gate verdicts of one partition; exit 1 when a blocking gate failed."""
    from eval_assets.gating import load_verdict
    from eval_assets.reporting.gate import render_gate

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    day = None
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            raise UsageError(f"--date {args.date!r} is not a date (YYYY-MM-DD)") from None
    verdict = load_verdict(settings, args.config, day)
    print(render_gate(verdict, args.format), end="")
    return EXIT_OK if verdict.passed else EXIT_GATE_FAILED


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Run a query on a read-only connection (safe while a run is writing? no: DuckDB locks; retry later)."""
    import duckdb

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    try:
        with duckdb.connect(str(settings.warehouse_path), read_only=True) as conn:
            frame = wh.sql_frame(conn, args.query)
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {exc}") from exc
    if args.format == "csv":
        print(frame.write_csv(), end="")
    elif args.format == "json":
        print(frame.write_json())
    else:
        import polars as pl

        with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=200):
            print(frame)
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
