"""The floor under ``eval-assets run``: what a fresh process pays before any stage does work.

Usage::

    python benchmarks/dagster_floor.py              # 3 repeats
    python benchmarks/dagster_floor.py --repeats 5

Each figure comes from a fresh process (``python benchmarks/dagster_floor.py --child ...``), as every
``eval-assets run`` is one. The child imports what the CLI imports, builds the real definitions for a
one-config data directory, and then runs the eval job's graph with every stage's body replaced by a no-op:
the same asset keys, dependencies, partitions and asset checks (every check passes), in-process, on a
SQLite ``DAGSTER_HOME`` opened as the CLI opens it (``running.instance_for_cli``), then the dashboard job
the same way. Last it attaches the default DuckLake warehouse and writes and reads one one-row cell, as
every stage does: the memory a run holds before it has read a single example.

Figures printed (medians; the first repeat creates the Dagster home, the others reuse it, as a nightly
run does):

* the time of each part of the child (imports, the instance, the eval run, the dashboard run) and the whole
  process's wall clock, against the item-9 targets it sits under (cached rerun < 3 s, 10-example partition
  < 5 s, start -> first request <= 3 s);
* the peak RSS of the process, with the warehouse attached, against the 100,000-example target (<= 300 MB).

A figure here is what no change to the stages' code can remove: only Dagster's own costs, the imports and
the warehouse's extensions are in it.
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
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DATE = "2026-11-07"
CONFIG = "floor"


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def make_data_dir(root: Path) -> Path:
    """A data directory with one 10-example dataset and one manual config (never called: no server)."""
    data = root / "data"
    for sub in ("datasets", "prompts", "configs"):
        (data / sub).mkdir(parents=True)
    with (data / "datasets" / "orders.jsonl").open("w") as out:
        for i in range(10):
            out.write(json.dumps({"id": f"o{i}", "input": f"question {i}", "reference": f"answer {i}"}) + "\n")
    config = {
        "schedule": "manual",
        "model": {"id": "openai/gpt-4o-mini", "api_base": "http://127.0.0.1:9/v1", "api_key_env": "FLOOR_KEY"},
        "datasets": [{"path": "datasets/orders.jsonl"}],
        "scorers": [{"scorer": "contains"}],
        "thresholds": [{"metric": "contains.pass_rate", "min": 0.9, "severity": "error"}],
    }
    (data / "configs" / f"{CONFIG}.yaml").write_text(json.dumps(config, indent=1))
    return data


def child(data_dir: str) -> int:
    """One fresh process: imports, definitions, instance, no-op eval run, no-op dashboard run, the lake."""
    started = time.monotonic()
    import dagster as dg

    import eval_assets.cli.main  # noqa: F401  # what `eval-assets` imports before it runs anything
    from eval_assets.automation import DASHBOARD_JOB, EVAL_JOB
    from eval_assets.definitions import build_definitions

    imported = time.monotonic()
    from eval_assets.assets.partitions import cell_key
    from eval_assets.running import instance_for_cli
    from eval_assets.settings import Settings

    settings = Settings.from_env(data_dir=data_dir)
    real = build_definitions(settings)
    noop_eval = _noop_job(dg, real.resolve_job_def(EVAL_JOB), "floor_eval")
    noop_dashboard = _noop_job(dg, real.resolve_job_def(DASHBOARD_JOB), "floor_dashboard")
    built = time.monotonic()
    with instance_for_cli(settings) as instance:
        opened = time.monotonic()
        day, config = dt.date.fromisoformat(DATE), CONFIG
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # as `eval-assets run --quiet`
        result = noop_eval.execute_in_process(partition_key=cell_key(day, config), instance=instance, run_config=quiet)
        evaluated = time.monotonic()
        dashboard = noop_dashboard.execute_in_process(instance=instance, run_config=quiet)
        dashboarded = time.monotonic()
    from eval_assets import warehouse as wh

    rss_before_warehouse = _rss_mb()
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        # One small cell written and read back, as every stage does: the scan and write paths of DuckDB,
        # DuckLake and Arrow are then in memory too.
        row = {
            "eval_date": day, "config_name": config, "run_id": "floor", "git_sha": "g", "code_sha": "c",
            "config_hash": "h", "metric": "m", "tag": None, "value": 1.0, "n": 1,
        }  # fmt: skip
        wh.replace_partition(conn, day, config, {"metrics": wh.frame("metrics", [row])})
        wh.read_partition(conn, "metrics", day, config)
    attached = time.monotonic()
    print(
        json.dumps(
            {
                "ok": result.success and dashboard.success,
                "checks": len(result.get_asset_check_evaluations()),
                "imports_s": imported - started,
                "definitions_s": built - imported,
                "instance_s": opened - built,
                "eval_run_s": evaluated - opened,
                "dashboard_run_s": dashboarded - evaluated,
                "warehouse_s": attached - dashboarded,
                "rss_before_warehouse_mb": rss_before_warehouse,
                "rss_mb": _rss_mb(),
            }
        ),
        flush=True,
    )
    os._exit(0)  # as the CLI does: no teardown of imported modules in the figure


def _noop_job(dg: Any, job: Any, name: str) -> Any:
    """``job``'s assets with no-op bodies: same keys, deps, partitions and checks (each check passes)."""
    graph = job.asset_layer.asset_graph
    selected = job.asset_layer.selected_asset_keys
    assets = []
    for key in sorted(selected, key=lambda k: k.to_user_string()):
        node = graph.get(key)
        specs = [
            dg.AssetCheckSpec(check.name, asset=key, blocking=getattr(check, "blocking", False))
            for check in graph.asset_check_keys
            if check.asset_key == key
        ]
        assets.append(
            dg.asset(
                key=key,
                deps=[parent for parent in node.parent_keys if parent in selected],
                partitions_def=node.partitions_def,
                check_specs=specs,
            )(_noop_body(dg, specs))
        )
    return dg.Definitions(assets=assets, jobs=[dg.define_asset_job(name, selection=list(selected))]).resolve_job_def(
        name
    )


def _noop_body(dg: Any, specs: list[Any]) -> Any:
    """An asset body that only reports its checks as passed."""

    def body(context):  # type: ignore[no-untyped-def]  # no hints: Dagster reads them as types and outputs
        return dg.MaterializeResult(
            metadata={"rows": 10},
            check_results=[
                dg.AssetCheckResult(passed=True, asset_key=spec.asset_key, check_name=spec.name) for spec in specs
            ],
        )

    return body


def run_child(data: Path) -> tuple[dict[str, Any], float, float]:
    """One fresh child process: its report, its wall clock and its peak RSS (MB)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    for variable in ("EVAL_ASSETS_WAREHOUSE", "EVAL_ASSETS_RUNS_DIR", "DAGSTER_HOME", "EVAL_ASSETS_DATA_DIR"):
        env.pop(variable, None)  # the defaults, as in e2e_benchmark.py
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", str(data)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    out = proc.stdout.read().decode() if proc.stdout else ""
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0 or not out.strip():
        raise SystemExit(f"floor child failed:\n{err[-3000:]}")
    report = json.loads(out.strip().splitlines()[-1])
    if not report["ok"]:
        raise SystemExit(f"the no-op runs failed:\n{err[-3000:]}")
    return report, wall, usage.ru_maxrss / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--child", metavar="DATA_DIR", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child)
    runs: list[tuple[dict[str, Any], float, float]] = []
    with tempfile.TemporaryDirectory(prefix="floor-bench-") as tmp:
        data = make_data_dir(Path(tmp))
        for _ in range(max(args.repeats, 2)):
            runs.append(run_child(data))
    first, later = runs[0], runs[1:]
    med = statistics.median
    print(
        f"\nfloor: a fresh process, no-op stages ({first[0]['checks']} checks pass), {len(later)} reuse(s) of the home"
    )
    for label, key in (
        ("imports (cli + definitions)", "imports_s"),
        ("definitions built", "definitions_s"),
        ("instance opened", "instance_s"),
        ("eval run (no-op stages)", "eval_run_s"),
        ("dashboard run (no-op)", "dashboard_run_s"),
        ("warehouse: one cell in and out", "warehouse_s"),
    ):
        print(f"  {label:30s} {med(r[key] for r, _, _ in later):5.2f} s   (new home: {first[0][key]:.2f} s)")
    wall = med(w for _, w, _ in later)
    print(f"  whole process                  {wall:5.2f} s   (new home: {first[1]:.2f} s)")
    before = med(r["rss_before_warehouse_mb"] for r, _, _ in later)
    peak = med(m for _, _, m in later)
    print(f"  peak RSS                       {peak:5.0f} MB   ({before:.0f} MB before the warehouse)")
    if os.environ.get("PYTHONDONTWRITEBYTECODE"):
        # An editable install then never has bytecode for the package: each process compiles its modules.
        print("  PYTHONDONTWRITEBYTECODE is set: every process above compiled the package's modules from source")
    print("  under the targets: cached rerun < 3 s, 10-example partition < 5 s, start -> first request <= 3 s,")
    print("  peak RSS <= 300 MB at 100,000 examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
