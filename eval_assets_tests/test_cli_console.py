"""The ``eval-assets`` process ends without the interpreter's teardown, and loses nothing by it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}


def python(code: str, *, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, cwd=cwd, env=ENV
    )


def test_the_exit_status_buffered_output_and_exit_handlers_survive_the_quick_exit() -> None:
    done = python(
        """
        import atexit, sys
        from eval_assets.cli.console import exit_process
        atexit.register(lambda: print("handler ran", flush=False))
        sys.stdout.write("x" * 1_000_000)
        sys.stderr.write("said on stderr")
        exit_process(3)
        """
    )
    assert done.returncode == 3
    assert done.stdout == "x" * 1_000_000 + "handler ran\n"
    assert done.stderr == "said on stderr"


def test_a_thread_still_running_is_waited_for_as_a_normal_exit_would() -> None:
    done = python(
        """
        import threading, time
        from eval_assets.cli.console import exit_process
        def late():
            time.sleep(0.3)
            print("the thread finished its write")
        threading.Thread(target=late).start()
        exit_process(4)
        """
    )
    assert done.returncode == 4
    assert done.stdout == "the thread finished its write\n"


def test_the_command_keeps_its_exit_statuses(data_dir: Path) -> None:
    command = [sys.executable, "-m", "eval_assets.cli", "--data-dir", str(data_dir)]
    valid = subprocess.run([*command, "validate"], capture_output=True, text=True, timeout=120, env=ENV)
    assert valid.returncode == 0, valid.stderr
    assert "nightly" in valid.stdout + valid.stderr
    unknown = subprocess.run(
        [*command, "run", "--config", "nosuch"], capture_output=True, text=True, timeout=120, env=ENV
    )
    assert unknown.returncode == 2
    assert "nosuch" in unknown.stderr
