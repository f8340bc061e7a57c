"""Warehouse write cost and concurrency: a DuckLake (SQLite catalog, PostgreSQL catalog) against a plain DuckDB file.

Usage::

    python benchmarks/warehouse_bench.py                 # 1,000-example cells, 8 partitions, all of it
    python benchmarks/warehouse_bench.py --examples 200 --partitions 4 --no-replay --big 0

Prints figures, asserts nothing (the machine is shared; read ratios, not absolute times):

* per-partition write cost: one cell (examples, responses, scores rows of ``--examples`` examples) written
  with ``replace_partition`` as the stages write it, the median of 5 new cells and of 5 rewrites;
* parallel vs serial: ``--partitions`` cells written by one fresh process in turn, then by that many fresh
  processes at once (each waits at a start file after attaching, so process start-up is not counted, its
  first write is); wall ratio serial / parallel (> 1: parallel is faster);
* analyst latency: a read-only session (``connect(read_only=True)``) querying ``count(*)`` and one cell of
  ``scored_examples`` every 0.2 s while the parallel writers run (median and max);
* the PostgreSQL catalog is measured on a throwaway server (``initdb`` in a temporary folder, as the tests
  do) when PostgreSQL is installed;
* the headline replay (5,000 items, concurrency 64, 50 ms, the lean transport) through the response cache on
  the lake, end to end, as % of ideal (``replay_benchmark.py --scenarios A --transports lean``);
* a ``--big``-example cell (default 100,000): its write in a fresh process, peak RSS of that process, and
  the lake's size on disk (catalog + Parquet) after it. This is the warehouse's share of a 100k night,
  not a whole run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make the tests' PostgreSQL helper importable
    sys.path.insert(0, str(REPO_ROOT))

from eval_assets import warehouse as wh  # noqa: E402  (after the path fix above)

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
         "attempts": 1, "cached": False, "created_at": dt.datetime(2026, 1, 1), "total_latency_ms": 10.0,
         "reproducibility_json": None}
        for i in range(examples)
    ]  # fmt: skip
    score_rows = [
        {**ex, "example_id": f"e{i}", "scorer": "contains", "scorer_kind": "contains", "scorer_version": "1",
         "scorer_args_json": "{}", "score": 1.0, "passed": True, "tags": ["t"],
         "reproducibility_json": None}
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
    """A writer process: attach, wait for the start file, write its cells (comma-separated configs) in turn."""
    location, configs, examples, start = argv
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        cells = [(config, cell_tables(config, int(examples), "bench")) for config in configs.split(",")]
        while not Path(start).exists():
            time.sleep(0.005)
        began = time.perf_counter()
        for config, tables in cells:
            wh.replace_partition(conn, DAY, config, tables)  # type: ignore[arg-type]
    print(json.dumps({"seconds": time.perf_counter() - began, "finished": time.time()}))


def writers(
    location: str, folder: Path, groups: list[list[str]], examples: int, *, reader: bool
) -> tuple[float, list[float]]:
    """One fresh writer process per group of cells, all started at once; wall seconds and analyst latencies.

    Each process attaches before the start (process start-up is not counted); its first write is (as
    every step of Dagster's multiprocess executor is a fresh process).
    """
    start = folder / f"start-{len(list(folder.glob('start-*')))}"
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", location, ",".join(group), str(examples), str(start)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for group in groups
    ]
    time.sleep(4 + len(groups))  # every child loads its extensions and attaches before the start
    latencies = []
    with contextlib.ExitStack() as stack:
        conn = stack.enter_context(wh.connect(location, read_only=True)) if reader else None
        began = time.time()
        start.touch()
        while any(p.poll() is None for p in procs):
            if conn is not None:
                t = time.perf_counter()
                conn.execute("SELECT count(*) FROM responses").fetchall()
                conn.execute("SELECT count(*) FROM scored_examples WHERE config_name = 'new0'").fetchall()
                latencies.append(time.perf_counter() - t)
            time.sleep(0.2)
    outputs = [json.loads(p.communicate()[0]) for p in procs]
    return max(o["finished"] for o in outputs) - began, latencies


def measure(location: str, folder: Path, examples: int, partitions: int) -> dict[str, object]:
    new = write_cells(location, [f"new{i}" for i in range(5)], examples, "a")
    rewrite = write_cells(location, [f"new{i}" for i in range(5)], examples, "b")
    serial, _ = writers(location, folder, [[f"serial{i}" for i in range(partitions)]], examples, reader=False)
    result: dict[str, object] = {
        "write_new_cell_s": round(statistics.median(new), 3),
        "rewrite_cell_s": round(statistics.median(rewrite), 3),
        "serial_wall_s": round(serial, 2),
    }
    if not location.startswith("ducklake:"):
        return result  # a plain file takes one writing process: no parallel measurement
    parallel, latencies = writers(location, folder, [[f"par{i}"] for i in range(partitions)], examples, reader=True)
    result.update(
        parallel_wall_s=round(parallel, 2),
        serial_over_parallel=round(serial / parallel, 2),
        analyst_query_median_s=round(statistics.median(latencies), 3) if latencies else None,
        analyst_query_max_s=round(max(latencies), 3) if latencies else None,
    )
    return result


def big_cell(argv: list[str]) -> None:
    """A fresh process writing one cell of N examples: wall, peak RSS, the lake's size after."""
    location, examples, folder = argv
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        tables = cell_tables("big", int(examples), "big")
        began = time.perf_counter()
        wh.replace_partition(conn, DAY, "big", tables)  # type: ignore[arg-type]
        wall = time.perf_counter() - began
    size = sum(path.stat().st_size for path in Path(folder).rglob("*") if path.is_file())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"write_s": round(wall, 1), "peak_rss_mb": round(peak), "lake_mb": round(size / 1e6, 1)}))


def replay_headline() -> str:
    """The replay benchmark's headline scenario on the lake, its table as printed."""
    command = [sys.executable, str(REPO_ROOT / "benchmarks" / "replay_benchmark.py")]
    command += ["--scenarios", "A", "--transports", "lean", "--repeats", "1", "--warehouse", "lake"]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    return result.stdout.strip() or result.stderr[-2000:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--big", type=int, default=100_000, help="examples of the big cell (0: skip)")
    parser.add_argument("--no-replay", action="store_true", help="skip the replay headline")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL catalog")
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    parser.add_argument("--big-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    if args.big_child:
        big_cell(args.big_child)
        return
    print(f"load average {os.getloadavg()}, {os.cpu_count()} cores; {args.examples} examples per cell", flush=True)
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        folder = Path(tmp)
        backends = [("ducklake (sqlite catalog)", f"ducklake:sqlite:{folder / 'lake' / 'warehouse.sqlite'}")]
        from eval_assets_tests.postgres import PostgresServer, postgres_bin_dir

        if not args.no_postgres and postgres_bin_dir() is not None:
            pg = stack.enter_context(PostgresServer())
            pg.create_database("bench")
            dsn = f"dbname=bench host=127.0.0.1 port={pg.port} user=postgres"
            backends.append(("ducklake (postgres catalog)", f"ducklake:postgres:{dsn}?data_path={folder / 'pg'}/"))
        backends.append(("plain duckdb file", str(folder / "warehouse.duckdb")))
        for name, location in backends:
            print(name, json.dumps(measure(location, folder, args.examples, args.partitions)), flush=True)
        if args.big:
            big = folder / "big"
            location = f"ducklake:sqlite:{big / 'warehouse.sqlite'}"
            command = [sys.executable, __file__, "--big-child", location, str(args.big), str(big)]
            out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
            print(f"one {args.big:,}-example cell on the lake (sqlite catalog)", out.strip(), flush=True)
    if not args.no_replay:
        print("headline replay on the lake:\n" + replay_headline(), flush=True)


if __name__ == "__main__":
    main()
