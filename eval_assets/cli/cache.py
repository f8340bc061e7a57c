"""``eval-assets cache stats|clear``: what the response cache holds, and dropping some of it on purpose."""

from __future__ import annotations

import argparse
from typing import Any

from eval_assets import warehouse as wh
from eval_assets.cli.options import command_parser, parse_date
from eval_assets.llm.cache import ResponseCache
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.format import format_cost
from eval_assets.reporting.model import Cost
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``cache``."""
    parser = command_parser(
        commands,
        "cache",
        help="show or clear the response cache (answers reused so no request is paid twice)",
        examples="  eval-assets cache stats\n"
        "  eval-assets cache clear --config candidate              the next run of it pays again\n"
        "  eval-assets cache clear --before 2026-09-01             answers received before that day\n"
        "  eval-assets cache clear --all                            everything",
    )
    actions = parser.add_subparsers(dest="cache_action", required=True, metavar="ACTION")
    stats = actions.add_parser("stats", help="cached answers per model, their first cost and age")
    stats.set_defaults(needs="warehouse", handler=cmd_stats)
    clear = actions.add_parser("clear", help="delete cached answers (settles the answer journal first)")
    clear.add_argument("--config", help="only answers to this config's requests")
    clear.add_argument("--before", help="only answers received before this date (YYYY-MM-DD)")
    clear.add_argument("--all", action="store_true", help="every cached answer (needed when no filter is given)")
    clear.set_defaults(needs="warehouse", handler=cmd_clear)


def _cache(settings: Settings) -> ResponseCache:
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    return ResponseCache(wh.DuckDBCacheStore(settings.warehouse_path))


def cmd_stats(args: argparse.Namespace, settings: Settings) -> int:
    """Print cached answers per model, plus answers still waiting in the journal."""
    cache = _cache(settings)
    pending = cache.journal.read().rows
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        stats = wh.cache_stats(conn)
    if stats.is_empty():
        print("the response cache is empty")
    for row in stats.iter_rows(named=True):
        unpriced = (row["model_id"],) if row["priced"] < row["answers"] else ()
        cost = format_cost(Cost(row["cost_usd"], row["priced"], row["answers"], unpriced))
        print(
            terminal_text(
                f"{row['model_id']:<40} {row['answers']:>8,} answers  {cost:<24} {row['oldest']:%Y-%m-%d} .. "
                f"{row['newest']:%Y-%m-%d}"
            )
        )
    if pending:
        print(f"{len(pending):,} answers in the answer journal, stored at the next run or `cache clear`")
    return EXIT_OK


def cmd_clear(args: argparse.Namespace, settings: Settings) -> int:
    """Delete the selected cached answers, after moving journaled ones into the cache."""
    if not (args.config or args.before or args.all):
        raise UsageError("say what to clear: --config NAME, --before DATE, or --all")
    before = parse_date(args.before, "--before") if args.before else None
    cache = _cache(settings)
    settled = cache.settle()
    if settled.kept_because:
        raise UsageError(f"the warehouse cannot be written now ({settled.kept_because}); nothing was cleared")
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        removed = wh.clear_cache(conn, config_name=args.config, before=before)
    parts = [f"of config {args.config}" if args.config else "", f"received before {before}" if before else ""]
    what = " and ".join(part for part in parts if part)
    print(terminal_text(f"removed {removed:,} cached answer(s){' ' + what if what else ''}"))
    return EXIT_OK
