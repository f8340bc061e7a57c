"""The benchmark scripts still run: each at its smallest size, in a fresh process (figures are not checked).

A benchmark that breaks silently (a column became required, an option was renamed) is found by the next
person who needs its figures; these smoke runs find it in the suite instead.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def run_benchmark(script: str, *args: str) -> str:
    env = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, timeout=600, env=env
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_warehouse_benchmark_builds_valid_rows_for_every_table_it_writes() -> None:
    # The cheap part of the benchmark, in-process: its rows must fit today's tables (the whole script, with
    # its fresh writer processes, takes a minute even at its smallest size).
    spec = importlib.util.spec_from_file_location("warehouse_bench", BENCHMARKS / "warehouse_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    tables = module.cell_tables("bench", 3, "a")
    assert {name: frame.height for name, frame in tables.items()} == {"examples": 3, "responses": 3, "scores": 3}


@pytest.mark.slow
def test_the_chart_benchmark_builds_the_report_and_dashboard_charts() -> None:
    out = run_benchmark("chart_build.py", "--configs", "2", "--nights", "3", "--repeats", "1")
    assert "report" in out and "dashboard" in out


@pytest.mark.slow
def test_the_floor_benchmark_runs_the_real_graph_with_no_op_stages() -> None:
    out = run_benchmark("dagster_floor.py", "--repeats", "2")
    # Every check of the eval job was evaluated (and passed) in the child's no-op run.
    assert "checks pass" in out and "whole process" in out and "peak RSS" in out
