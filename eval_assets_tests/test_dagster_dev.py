"""Issue 8, item 1: the gate alert arrives under a real ``dagster dev`` daemon on a plain DAGSTER_HOME.

The sensors once passed every in-process test and crashed on each tick of a real instance. This test runs
the shape users deploy: ``dagster dev`` (webserver + daemon) in its own process with a ``DAGSTER_HOME``
and no ``dagster.yaml`` (run-sharded SQLite storage), a CLI run in another process recorded in the same
instance, and a local webhook receiving what the daemon's sensors send.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: object, *, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s:.0f} s waiting for {what}")


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # a localhost URL built here
            return bool(response.status == 200)
    except OSError:
        return False


def test_issue8_1_a_real_daemon_announces_a_cli_runs_failed_gates(data_dir: Path, tmp_path: Path) -> None:
    limit_datasets(data_dir, "nightly", 4)
    edit_config(
        data_dir,
        "nightly",
        thresholds=[{"metric": "contains.pass_rate", "min": 1.01, "severity": "error"}],
        notifications=[{"type": "webhook", "url_env": "EVAL_TEST_WEBHOOK"}],
    )
    home = tmp_path / "dagster_home"
    home.mkdir()  # no dagster.yaml: Dagster's defaults, as the README's quickstart leaves them
    port = free_port()
    with WebhookReceiver() as receiver:
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "EVAL_ASSETS_DATA_DIR": str(data_dir),
            "EVAL_ASSETS_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
            "EVAL_ASSETS_RUNS_DIR": str(tmp_path / "runs"),
            "EVAL_ASSETS_SENSOR_INTERVAL_S": "2",
            "EVAL_TEST_WEBHOOK": receiver.url,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
        log = (tmp_path / "dagster-dev.log").open("w")
        command = [sys.executable, "-m", "dagster", "dev", "-m", "eval_assets.definitions", "-p", str(port)]
        server = subprocess.Popen(
            command, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_for(lambda: answers(f"http://127.0.0.1:{port}/server_info"), timeout_s=120, what="dagster dev")
            run = subprocess.run(
                [sys.executable, "-m", "eval_assets.cli", "run", "--config", "nightly", "--date", "2026-11-06"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert run.returncode == 1, run.stdout + run.stderr  # the error gate failed, as configured
            wait_for(lambda: len(receiver.received) >= 1, timeout_s=120, what="the check alert")
            body = receiver.received[0]["body"]
            assert (body["config"], body["date"]) == ("nightly", "2026-11-06")
            assert body["checks"][0]["name"] == "threshold_contains_pass_rate"

            # The dashboard refresh the daemon asked for runs too.
            def dashboard_refreshed() -> bool:
                with dg.DagsterInstance.from_config(str(home)) as instance:
                    runs = instance.get_run_records(filters=dg.RunsFilter(job_name="dashboard_job"))
                return any(r.dagster_run.tags.get("dagster/sensor_name") for r in runs)

            wait_for(dashboard_refreshed, timeout_s=120, what="a dashboard run requested by the sensor")
            time.sleep(5)  # later ticks must not repeat the alert
            assert len(receiver.received) == 1
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=60)
            except subprocess.TimeoutExpired:  # a loaded machine: dagster dev's shutdown can take longer
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=60)  # reaped, or the Popen warns "still running" into the next test
            log.close()
        errors = [line for line in (tmp_path / "dagster-dev.log").read_text().splitlines() if "run-aware" in line]
        assert not errors, errors
