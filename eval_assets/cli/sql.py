"""``eval-assets sql``: one read-only query on the warehouse, in the sandbox, printed safely."""

from __future__ import annotations

import argparse
import json
from typing import Any

import polars as pl

from eval_assets import warehouse as wh
from eval_assets.cli.options import command_parser, positive
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import json_terminal_text, terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``sql``."""
    parser = command_parser(
        commands,
        "sql",
        help="run one read-only query on the warehouse (sandboxed)",
        examples='  eval-assets sql "select * from latest_runs"\n'
        "  eval-assets sql \"select * from pass_rates where config_name = 'nightly'\" --format csv\n"
        '  eval-assets sql "summarize responses" --timeout 120 --memory-limit 4GB',
    )
    parser.add_argument("query", help='one query, e.g. "select * from latest_runs"')
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument(
        "--timeout", type=positive(float), default=30.0, metavar="SECONDS", help="statement timeout (default 30)"
    )
    parser.add_argument(
        "--memory-limit", default="1GB", metavar="SIZE", help="DuckDB memory limit, e.g. 4GB (default 1GB)"
    )
    parser.add_argument(
        "--max-rows", type=positive(int), default=100_000, metavar="N", help="largest result (default 100000)"
    )
    parser.set_defaults(needs="warehouse", handler=cmd_sql)


def cmd_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Run one read-only query in the sandbox (:func:`eval_assets.warehouse.connect_readonly`).

    A refused or failed query exits 2 with the reason. On a lake (the default) it reads beside running
    runs; a plain DuckDB file is locked while a run writes it.
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
