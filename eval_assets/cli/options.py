"""Argument types and help layout shared by the commands."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Callable
from typing import Any

from eval_assets.outcome import UsageError


def command_parser(
    commands: Any, name: str, *, help: str, examples: str, description: str | None = None
) -> argparse.ArgumentParser:
    """A subcommand whose ``--help`` ends with examples (kept verbatim)."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser


def positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    """An argparse type accepting positive finite numbers of ``kind``."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{text!r} must be a positive finite number")
        return value

    return parse


def parse_date(value: str, flag: str) -> dt.date:
    """A ``YYYY-MM-DD`` option value, or a usage error naming the flag."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not a date (YYYY-MM-DD)") from None


def yesterday() -> dt.date:
    """The night ``run`` and ``gate`` take by default (UTC)."""
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
