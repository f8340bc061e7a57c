"""``eval-assets validate``: check configs, datasets and rubrics without any model call."""

from __future__ import annotations

import argparse
from typing import Any

from eval_assets.cli.options import command_parser
from eval_assets.outcome import EXIT_OK
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings


def add_parser(commands: Any) -> None:
    """Register ``validate``."""
    parser = command_parser(
        commands,
        "validate",
        help="check configs, datasets and rubrics without any model call",
        examples="  eval-assets validate                      every file under data/\n"
        "  eval-assets validate --config candidate   one config with its datasets and rubrics",
    )
    parser.add_argument("--config", action="append", default=None, help="only this config (repeatable)")
    parser.set_defaults(handler=cmd_validate)


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
