"""The ``eval-assets`` command as a process: :func:`eval_assets.cli.main`, then an exit without teardown.

When ``main`` returns, every report, warehouse write and connection is finished and closed; what a normal
interpreter exit still does is tear down the ~4,500 modules a run imports (dagster, litellm, polars,
DuckDB's extensions), measured at 1.8-2.2 s after the summary was printed on a 2-core machine. That is
nearly all of the time between a run's last answer and the prompt coming back, and it does nothing the
next command needs. So the command runs the exit handlers Python would run (logging's flush,
multiprocessing's children, Dagster's), flushes stdout and stderr, and ends the process with ``os._exit``.

When another thread is still alive (a server stopped by Ctrl-C, a worker pool not shut down), Python would
wait for it at exit: then the exit is the normal one, so nothing it still writes is lost. ``main`` itself is
what tests and other Python code call; it never exits the process.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from eval_assets.cli.main import main


def console_main() -> NoReturn:
    """Entry point of the ``eval-assets`` console script and of ``python -m eval_assets.cli``."""
    exit_process(main())


def exit_process(code: int) -> NoReturn:
    """End the process with ``code``: at once when nothing is left to finish, else the normal way."""
    if threading.active_count() > 1:
        raise SystemExit(code)
    atexit._run_exitfuncs()  # the handlers a normal exit runs, in the same (reverse) order
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing more can be said
            stream.flush()
    os._exit(code)
