"""The ``eval-assets`` entry point: the parser, built from one module per command, and the error boundary."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

from eval_assets.cli import (
    baseline,
    cache,
    gate,
    import_,
    noise_floor,
    retention,
    review,
    run,
    sql,
    validate,
    warehouse,
)
from eval_assets.errors import InvalidInputError
from eval_assets.outcome import EXIT_BAD_INPUT, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings

DESCRIPTION = "Nightly LLM evaluations as a Dagster asset graph: validate, run, gate and query them."
EPILOG = """examples:
  eval-assets validate                                   check data/ without any model call
  eval-assets run                                        yesterday's night of every nightly config
  eval-assets run --config candidate --date 2026-11-23   one cell
  eval-assets gate --config candidate --date 2026-11-23 --format pr-comment
  eval-assets sql "select * from latest_runs"
  eval-assets review list --status open                  examples waiting for a person
  eval-assets retention --dry-run                        what per-example detail is past its keeping

exit status: 0 every blocking gate passed; 1 a gate or a run failed; 2 bad input or usage.
Run `eval-assets COMMAND --help` for a command's options and examples."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``eval-assets`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.data_dir)
    with pipe_tolerant_stdout():
        try:
            require_data_dir(settings, needs=getattr(args, "needs", "data"))
            code: int = args.handler(args, settings)
        except (InvalidInputError, UsageError) as exc:
            # Messages quote input files and provider text: escape what could drive the terminal.
            message = terminal_text(str(exc), keep="\n")
            print(f"error: {message}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return code


def require_data_dir(settings: Settings, *, needs: str) -> None:
    """Say so when run from a directory without the data directory (not a puzzling later error).

    ``needs`` is "data" for commands reading the inputs and "warehouse" for those reading results only,
    which work anywhere the warehouse is found.
    """
    if settings.data_dir.is_dir() or (needs == "warehouse" and settings.warehouse_path.exists()):
        return
    raise UsageError(
        f"no data directory at {settings.data_dir} (configs/, datasets/, prompts/): run eval-assets from the "
        "project's root, or pass --data-dir DIR (or set EVAL_ASSETS_DATA_DIR)"
    )


class _PipeTolerant(io.TextIOBase):
    """stdout that stops writing once the reader is gone (``eval-assets sql ... | head``), without an error."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                self._stream.write(text)
            except BrokenPipeError:
                self.broken = True
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self.broken = True


@contextlib.contextmanager
def pipe_tolerant_stdout() -> Iterator[None]:
    """For the command's duration: a closed pipe ends the output, never the exit status.

    The command's own status (0, 1, 2) is what ``eval-assets ... | head`` should report; Python would exit
    1 with "BrokenPipeError" instead. Once broken, stdout is pointed at /dev/null so the interpreter's own
    flush at exit stays quiet too.
    """
    original = sys.stdout
    tolerant = _PipeTolerant(original)
    sys.stdout = tolerant
    try:
        yield
    finally:
        sys.stdout = original
        if tolerant.broken:
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), original.fileno())


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (argparse exits with status 2 on usage errors, as documented)."""
    parser = argparse.ArgumentParser(
        prog="eval-assets",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", help="data directory (default: $EVAL_ASSETS_DATA_DIR or ./data)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in (validate, run, gate, baseline, noise_floor, sql, cache, import_, review, warehouse, retention):
        command.add_parser(commands)
    return parser
