"""Warehouse write cost and concurrency: a DuckLake (SQLite catalog) against a plain DuckDB file.

Usage::

    python benchmarks/warehouse_bench.py                 # 1,000-example cells, 8 partitions
    python benchmarks/warehouse_bench.py --examples 200 --partitions 4

Prints figures, asserts nothing (the machine is shared; read ratios, not absolute times):

* per-partition write cost: one cell (examples, responses, scores rows of ``--examples`` examples) written
  with ``replace_partition`` as the stages write it, the median of 5 new cells and of 5 rewrites;
* parallel vs serial: ``--partitions`` cells written by one process in turn, then by that many processes at
  once (each waits at a start file after attaching, so process start-up is not counted); wall ratio
  serial / parallel (> 1: parallel is faster);
* analyst latency: a read-only session querying ``count(*)`` and one cell of ``scored_examples`` every
  0.2 s while the parallel writers run (median and max).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval_assets import warehouse as wh

DAY = dt.date(2026, 1, 1)


def cell_tables(config: str, examples: int, run_id: str) -> dict[str, object]:
    """One cell of examples, responses and scores, shaped as the stages write them."""
    keys = {
        "eval_date": DAY,
        "config_name": config,
        "run_id": run_id,
        "git_sha": "g",
        "code_sha": "c",
        "config_hash": "h",
    }
    ex = {**keys, "dataset": "d", "dataset_hash": "dh"}
    examples_rows = [
        {
            **ex,
            "example_id": f"e{i}",
            "line": i,
            "input_json": '"q"',
            "input_text": f"question {i}",
            "reference": ["a"],
            "tags": ["t"],
        }
        for i in range(examples)
    ]
    response_rows = [
        {**ex, "example_id": f"e{i}", "model_id": "m", "request_hash": f"r{i}", "output_text": f"answer {i} " * 20,
         "attempts": 1, "cached": False, "created_at": dt.datetime(2026, 1, 1), "total_latency_ms": 10.0}
        for i in range(examples)
    ]  # fmt: skip
    score_rows = [
        {**ex, "example_id": f"e{i}", "scorer": "contains", "scorer_kind": "contains", "scorer_version": "1",
         "scorer_args_json": "{}", "score": 1.0, "passed": True, "tags": ["t"]}
        for i in range(examples)
    ]  # fmt: skip
    return {
        "examples": wh.frame("examples", examples_rows),
        "responses": wh.frame("responses", response_rows),
        "scores": wh.frame("scores", score_rows),
    }


def write_cells(location: str, configs: list[str], examples: int, tag: str) -> list[float]:
    """Write each config's cell once; seconds per write."""
    times = []
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        for config in configs:
            tables = cell_tables(config, examples, tag)
            began = time.perf_counter()
            wh.replace_partition(conn, DAY, config, tables)  # type: ignore[arg-type]
            times.append(time.perf_counter() - began)
    return times


def child(argv: list[str]) -> None:
    """A writer process of the parallel measurement: attach, wait for the start file, write one cell."""
    location, config, examples, start = argv
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        tables = cell_tables(config, int(examples), "parallel")
        while not Path(start).exists():
            time.sleep(0.005)
        began = time.perf_counter()
        wh.replace_partition(conn, DAY, config, tables)  # type: ignore[arg-type]
    print(json.dumps({"seconds": time.perf_counter() - began, "finished": time.time()}))


def measure(location: str, folder: Path, examples: int, partitions: int) -> dict[str, object]:
    new = write_cells(location, [f"new{i}" for i in range(5)], examples, "a")
    rewrite = write_cells(location, [f"new{i}" for i in range(5)], examples, "b")
    serial = write_cells(location, [f"serial{i}" for i in range(partitions)], examples, "s")
    result: dict[str, object] = {
        "write_new_cell_s": round(statistics.median(new), 3),
        "rewrite_cell_s": round(statistics.median(rewrite), 3),
        "serial_wall_s": round(sum(serial), 2),
    }
    if not location.startswith("ducklake:"):
        return result  # a plain file takes one writing process: no parallel measurement
    start = folder / "start"
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", location, f"par{i}", str(examples), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(partitions)
    ]
    time.sleep(4 + partitions)  # every child loads its extensions and attaches before the start
    latencies = []
    with wh.connect(location, read_only=True) as reader:
        began = time.time()
        start.touch()
        while any(p.poll() is None for p in procs):
            t = time.perf_counter()
            reader.execute("SELECT count(*) FROM responses").fetchall()
            reader.execute("SELECT count(*) FROM scored_examples WHERE config_name = 'new0'").fetchall()
            latencies.append(time.perf_counter() - t)
            time.sleep(0.2)
    outputs = [json.loads(p.communicate()[0]) for p in procs]
    parallel_wall = max(o["finished"] for o in outputs) - began
    result.update(
        parallel_wall_s=round(parallel_wall, 2),
        serial_over_parallel=round(sum(serial) / parallel_wall, 2),
        analyst_query_median_s=round(statistics.median(latencies), 3) if latencies else None,
        analyst_query_max_s=round(max(latencies), 3) if latencies else None,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores; {args.examples} examples per cell")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name, location in (
            ("ducklake (sqlite catalog)", f"ducklake:sqlite:{folder / 'lake' / 'warehouse.sqlite'}"),
            ("plain duckdb file", str(folder / "warehouse.duckdb")),
        ):
            print(name, json.dumps(measure(location, folder, args.examples, args.partitions)))


if __name__ == "__main__":
    main()
