"""``eval-assets``: validate inputs, run evaluations through Dagster in-process, query the warehouse.

Exit status: 0 when every blocking gate passed, 1 when one failed (or a run failed), 2 for bad input or usage.
"""

from __future__ import annotations

__all__ = ["EXIT_BAD_INPUT", "EXIT_GATE_FAILED", "EXIT_OK", "RunOutcome", "UsageError", "build_parser", "main"]

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Sequence

import polars as pl

from eval_assets import warehouse as wh
from eval_assets.errors import InvalidInputError
from eval_assets.outcome import EXIT_BAD_INPUT, EXIT_GATE_FAILED, EXIT_OK, RunOutcome, UsageError
from eval_assets.project import EvalPlan
from eval_assets.reporting.folder import RunsFolder
from eval_assets.reporting.sanitize import json_terminal_text, terminal_text
from eval_assets.settings import Settings


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eval-assets`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.data_dir)
    try:
        code: int = args.handler(args, settings)
    except (InvalidInputError, UsageError) as exc:
        # Messages quote input files and provider text: escape what could drive the terminal.
        message = terminal_text(str(exc), keep="\n")
        print(f"error: {message}", file=sys.stderr)
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
    run.add_argument(
        "--notify",
        action="store_true",
        help="send the configs' notifications for failed gates and runs (as the alert sensors do, never twice)",
    )
    run.set_defaults(handler=cmd_run)

    gate = commands.add_parser("gate", help="CI gate: exit 0 if a partition passed its blocking gates, else 1")
    gate.add_argument("--config", required=True, help="config name")
    gate.add_argument("--date", help="evaluation date YYYY-MM-DD (default: yesterday, UTC, like `run`)")
    gate.add_argument("--format", choices=("markdown", "pr-comment", "slack", "json"), default="markdown")
    gate.set_defaults(handler=cmd_gate)

    sql = commands.add_parser("sql", help="run one read-only query on the warehouse (sandboxed)")
    sql.add_argument("query", help='one query, e.g. "select * from latest_runs"')
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table")
    sql.add_argument(
        "--timeout", type=_positive(float), default=30.0, metavar="SECONDS", help="statement timeout (default 30)"
    )
    sql.add_argument(
        "--memory-limit", default="1GB", metavar="SIZE", help="DuckDB memory limit, e.g. 4GB (default 1GB)"
    )
    sql.add_argument(
        "--max-rows", type=_positive(int), default=100_000, metavar="N", help="largest result (default 100000)"
    )
    sql.set_defaults(handler=cmd_sql)
    return parser


def _positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be a positive finite number")
        return value

    return parse


def cmd_validate(args: argparse.Namespace, settings: Settings) -> int:
    """Validate every file in the data directory (or the named configs)."""
    from eval_assets.llm.routing import key_route_lines, unset_key_variables
    from eval_assets.project import validate_data_dir

    plans = validate_data_dir(settings.data_dir, names=args.config)
    for name, plan in plans.items():
        datasets = ", ".join(f"{n} ({d.content_hash})" for n, d in plan.datasets.items())
        print(
            terminal_text(
                f"ok  {name}: {len(plan.examples)} examples from {datasets}; "
                f"{len(plan.config.config.scorers)} scorers; {len(plan.config.config.thresholds)} thresholds"
            )
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

    outcomes = run_cells(settings, names, dates, use_cache=not args.no_cache, quiet=args.quiet, notify=args.notify)
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


def cmd_gate(args: argparse.Namespace, settings: Settings) -> int:
    """Print the stored gate verdicts of one partition; exit 1 when a blocking gate failed."""
    from eval_assets.gating import load_verdict
    from eval_assets.reporting.gate import render_gate

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    # The same default as `run`: a gate after a run that wrote nothing must not pass on an older night.
    day = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    if args.date:
        try:
            day = dt.date.fromisoformat(args.date)
        except ValueError:
            raise UsageError(f"--date {args.date!r} is not a date (YYYY-MM-DD)") from None
    verdict = load_verdict(settings, args.config, day)
    print(render_gate(verdict, args.format), end="")
    return EXIT_OK if verdict.passed else EXIT_GATE_FAILED


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Run one read-only query in the sandbox (:func:`eval_assets.warehouse.connect_readonly`).

    A refused or failed query exits 2 with the reason. A run writing the warehouse holds DuckDB's lock:
    query between runs.
    """
    import duckdb

    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    try:
        with wh.connect_readonly(
            settings.warehouse_path, timeout_s=args.timeout, memory_limit=args.memory_limit, max_rows=args.max_rows
        ) as session:
            frame = session.sql(args.query)
    except wh.QueryRefusedError as exc:
        raise UsageError(str(exc)) from None
    except duckdb.Error as exc:
        raise UsageError(f"query failed: {exc}") from None
    print(render_frame(frame, args.format), end="")
    return EXIT_OK


def render_frame(frame: pl.DataFrame, fmt: str) -> str:
    """A query result for the terminal: ``json`` exact, ``table`` and ``csv`` with controls escaped.

    JSON keeps every value exact (the few controls JSON allows raw are written as ``\\uXXXX``). Table and
    CSV pass every string, column name and nested value through :func:`terminal_text`; CSV, which has no
    nested values, writes lists and structs as JSON text. Blobs are written as escaped text (``\\x1b``).
    """
    if fmt == "json":
        blobs = [_text_column(series) for series in frame.get_columns() if series.dtype == pl.Binary]
        return json_terminal_text(frame.with_columns(blobs).write_json()) + "\n"
    keep, flat = ("\n\t", True) if fmt == "csv" else ("\n", False)
    columns, seen = [], set()
    for position, series in enumerate(frame.get_columns()):
        name = terminal_text(series.name)
        name = name if name not in seen else f"{name}_{position}"  # two names may escape to the same text
        seen.add(name)
        columns.append(_safe_column(series, keep=keep, flat=flat).rename(name))
    safe = pl.DataFrame(columns)
    if fmt == "csv":
        return safe.write_csv()
    with pl.Config(tbl_rows=200, tbl_cols=30, fmt_str_lengths=60, tbl_width_chars=200):
        return f"{safe}\n"


def _safe_column(series: pl.Series, *, keep: str, flat: bool) -> pl.Series:
    def safe(value: object) -> object:
        if isinstance(value, str):
            return terminal_text(value, keep=keep)
        if isinstance(value, list):
            return [safe(item) for item in value]
        if isinstance(value, dict):
            return {key: safe(item) for key, item in value.items()}
        return value

    nested = isinstance(series.dtype, pl.List | pl.Array | pl.Struct)
    if flat and (nested or series.dtype == pl.Binary):  # CSV has no lists, structs or bytes: write them as text
        series = _text_column(series)
    elif not (nested or series.dtype in (pl.String, pl.Categorical) or isinstance(series.dtype, pl.Enum)):
        return series
    dtype = series.dtype if isinstance(series.dtype, pl.List | pl.Array | pl.Struct) else pl.String
    return pl.Series(series.name, [safe(value) for value in series.to_list()], dtype=dtype)


def _text_column(series: pl.Series) -> pl.Series:
    """Blobs as escaped text (``b"\\x1b"`` -> ``\\x1b``), lists and structs as JSON text."""

    def text(value: object) -> str:
        if isinstance(value, bytes):
            return value.decode("ascii", "backslashreplace")
        return json.dumps(value, ensure_ascii=False, default=str)

    return pl.Series(series.name, [None if v is None else text(v) for v in series.to_list()], dtype=pl.String)


if __name__ == "__main__":
    raise SystemExit(main())
