"""Issue 8.16: one process at a time replays a cell; the other waits (or gives up clearly), and no lease goes stale."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from eval_assets.leases import CellBusyError, cell_lease, read_holder

HOLDER = """
import sys, time
from pathlib import Path
from eval_assets.leases import cell_lease
with cell_lease(Path(sys.argv[1]), run_id="run-a", cell="nightly 2026-11-07", log=lambda line: None):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


@contextlib.contextmanager
def hold(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the lease for ``seconds``, yielded once it holds it."""
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None and child.stdout.readline() == "held\n"
            yield child
        finally:
            if child.poll() is None:
                child.kill()


def test_issue8_16_a_second_holder_gives_up_naming_the_first(tmp_path: Path) -> None:
    path = tmp_path / ".leases" / "2026-11-07" / "nightly.lock"
    with hold(path, 30) as child:
        with (
            pytest.raises(CellBusyError) as caught,
            cell_lease(path, run_id="run-b", cell="nightly 2026-11-07", wait_s=0.3),
        ):
            pass
        message = str(caught.value)
        assert "nightly 2026-11-07 is being run by run run-a" in message and f"pid {child.pid}" in message
        assert read_holder(path).run_id == "run-a"


def test_issue8_16_the_second_waits_saying_so_then_holds_the_cell(tmp_path: Path) -> None:
    path = tmp_path / "cell.lock"
    said: list[str] = []
    with hold(path, 1.0) as child:
        started = time.monotonic()
        with cell_lease(path, run_id="run-b", cell="nightly 2026-11-07", log=said.append):
            waited = time.monotonic() - started
            assert read_holder(path).run_id == "run-b" and read_holder(path).pid == os.getpid()
        child.wait(timeout=10)
    assert waited > 0.5
    assert said[0].startswith("nightly 2026-11-07 is being run by run run-a") and "waiting" in said[0]
    assert "the other run finished" in said[-1]


def test_issue8_16_a_killed_holder_leaves_no_stale_lease(tmp_path: Path) -> None:
    path = tmp_path / "cell.lock"
    with hold(path, 60) as child:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        with cell_lease(path, run_id="run-b", cell="c", wait_s=2.0):
            assert read_holder(path).run_id == "run-b"


@pytest.mark.slow
def test_issue8_16_the_same_cell_run_twice_at_once_pays_once(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from eval_assets_tests.assets.test_provider_graph import SECRET, _configure, query, write_inputs
    from eval_assets_tests.fake_openai import FakeOpenAIServer

    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    # Slow answers until the second run is seen waiting, so the two runs overlap however slow the machine.
    with FakeOpenAIServer(api_key=SECRET, latency_s=2.0) as server:
        write_inputs(data_dir, server.base_url, n=40)
        _configure(data_dir, concurrency=2, timeout_s=60.0)
        command = [sys.executable, "-m", "eval_assets.cli", "run", "--config", "local", "--date", "2026-11-07"]
        logs = [eval_env / "first.log", eval_env / "second.log"]
        with logs[0].open("w") as first_log, logs[1].open("w") as second_log:
            first = subprocess.Popen(command, env=os.environ.copy(), stdout=first_log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 120
            while server.count("ok") < 2 and time.monotonic() < deadline and first.poll() is None:
                time.sleep(0.05)
            second = subprocess.Popen(command, env=os.environ.copy(), stdout=second_log, stderr=subprocess.STDOUT)
            while "waiting for it" not in logs[1].read_text() and time.monotonic() < deadline and second.poll() is None:
                time.sleep(0.1)
            server.latency_s = 0.0
            codes = [first.wait(timeout=300), second.wait(timeout=300)]
        texts = [log.read_text() for log in logs]
        assert codes == [0, 0], texts[0][-2000:] + texts[1][-2000:]
        assert server.count() == 40  # every example answered once, by whichever run held the cell
        assert "local 2026-11-07 is being run by run " in texts[1] and "waiting for it" in texts[1]
        warehouse = eval_env / "warehouse.duckdb"
        assert query(warehouse, "SELECT count(*), count(output_text) FROM responses") == [(40, 40)]


def test_a_runs_cell_lease_is_kept_from_its_first_stage_until_the_execution_ends(tmp_path: Path) -> None:
    from eval_assets.leases import CellBusyError, cell_lease
    from eval_assets.resources import CellLeases

    lease = tmp_path / "cell.lock"
    with dg.build_resources({"cell_leases": CellLeases()}) as resources:
        leases = resources.cell_leases
        with leases.hold(lease, run_id="r1", cell="nightly 2026-11-07", log=lambda _: None):
            pass
        # The stage's block is over, the execution is not: another run of the cell cannot take the lease.
        with pytest.raises(CellBusyError), cell_lease(lease, run_id="r2", cell="nightly 2026-11-07", wait_s=0):
            pass
        with leases.hold(lease, run_id="r1", cell="nightly 2026-11-07", log=lambda _: None):
            pass  # a later stage of the same run holds it already: no wait
    with cell_lease(lease, run_id="r2", cell="nightly 2026-11-07", wait_s=0):
        pass  # released when the execution ended
