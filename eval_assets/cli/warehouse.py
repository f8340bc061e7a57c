"""``eval-assets warehouse migrate|attach-sql``: move an old DuckDB warehouse in; open it in the DuckDB CLI."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from eval_assets import warehouse as wh
from eval_assets.cli.options import command_parser
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``warehouse``."""
    parser = command_parser(
        commands,
        "warehouse",
        help="move a DuckDB warehouse file into the configured warehouse, or print SQL to open it in the DuckDB CLI",
        examples="  eval-assets warehouse migrate --from data/warehouse.duckdb\n"
        "  eval-assets warehouse migrate --from data/warehouse-export     a folder of EXPORT DATABASE\n"
        '  duckdb -cmd "$(eval-assets warehouse attach-sql)"              read-only, while runs write',
    )
    actions = parser.add_subparsers(dest="warehouse_action", required=True, metavar="ACTION")
    migrate = actions.add_parser("migrate", help="copy an existing DuckDB warehouse in (row counts checked)")
    migrate.add_argument(
        "--from", dest="source", required=True, type=Path, metavar="PATH", help="a .duckdb file or an export folder"
    )
    migrate.set_defaults(needs="warehouse", handler=cmd_migrate)
    attach = actions.add_parser("attach-sql", help="SQL that opens the warehouse read-only in the DuckDB CLI")
    attach.set_defaults(needs="warehouse", handler=cmd_attach_sql)


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    """Copy ``--from`` into the configured warehouse, which must be new or empty; print the counts."""
    target = settings.warehouse_path
    if target.catalog_file is not None and target.catalog_file.resolve() == args.source.resolve():
        raise UsageError(f"{args.source} is the configured warehouse itself: set EVAL_ASSETS_WAREHOUSE to the new one")
    with wh.connect(target) as conn:
        wh.ensure_schema(conn)
        try:
            copied = wh.copy_warehouse(args.source, conn)
        except wh.CopyError as exc:
            raise UsageError(str(exc)) from None
    width = max(len(c.table) for c in copied)
    for c in copied:
        print(f"  {c.table:<{width}}  {c.source_rows:>9,} rows -> {c.target_rows:>9,}")
    print(f"copied {sum(c.source_rows for c in copied):,} rows from {args.source} into {target}; counts match")
    return EXIT_OK


def cmd_attach_sql(args: argparse.Namespace, settings: Settings) -> int:
    """Print the statements that attach the warehouse read-only (for ``duckdb -cmd`` or a notebook)."""
    print(wh.attach_sql(settings.warehouse_path))
    return EXIT_OK
