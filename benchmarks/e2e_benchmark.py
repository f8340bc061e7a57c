"""The whole ``eval-assets run``, end to end through the CLI, against the local fake OpenAI server.

Usage::

    python benchmarks/e2e_benchmark.py                  # all scenarios (the 100,000-example one takes minutes)
    python benchmarks/e2e_benchmark.py --quick          # 1,000 items, 10,000 for the memory scenario
    python benchmarks/e2e_benchmark.py --only headline cached small

Every ``eval-assets run`` is a fresh process (``python -m eval_assets.cli``) on a fresh temporary data
directory (the default DuckLake warehouse, the default Dagster home beside it). The fake server runs in its
own process on uvloop (so it never competes with the measured process for the GIL) and, when stopped,
writes the arrival time of every chat request; the clock is ``time.monotonic`` (system-wide on Linux), so
the orchestrator can place the first request and the last response on the CLI process's timeline.

Scenarios and the figures printed (targets in brackets; figures, not a timed test: nothing fails on a slow
machine unless ``--enforce-targets`` is given):

* ``headline``: 5,000 items, concurrency 64, 50 ms latency. End-to-end wall of ``eval-assets run`` and of
  a raw aiohttp loop making the same calls in a fresh process, in the same invocation (interleaved)
  [CLI <= 1.5x raw]; the replay span (first request -> last response) as % of ideal [>= 90%]; process
  start -> first request [<= 3 s]; last response -> exit [<= 2 s]; peak RSS; report.html size.
* ``cached`` (part of ``headline``): the same command again on the same data directory, every answer from the
  cache [< 3 s].
* ``small``: a fresh data directory with 10 examples [< 5 s].
* ``big``: 100,000 examples (5 ms latency so the replay is short; memory does not depend on latency):
  peak RSS [<= 300 MB] and report.html size [<= 2 MB], and each step's time and RSS (at its start, its
  peak, at its end; sampled every 20 ms, steps read from the run's Dagster event log).

Medians over ``--repeats`` (1 by default: each scenario is long on a shared 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make eval_assets and the fake server importable
    sys.path.insert(0, str(REPO_ROOT))

KEY_ENV = "EVAL_BENCH_API_KEY"
API_KEY = "sk-bench-not-a-secret"
MODEL_ID = "openai/gpt-4o-mini"  # priced by litellm, as in production
DATE = "2026-11-07"
CONFIG = "bench"
SYSTEM = "You are a concise support assistant. Answer in one short line."

TARGETS = {
    "cli_over_raw": 1.5,
    "replay_pct_of_ideal": 90.0,
    "before_first_s": 3.0,
    "after_last_s": 2.0,
    "cached_s": 3.0,
    "small_s": 5.0,
    "big_rss_mb": 300.0,
    "report_mb": 2.0,
}


def user_text(i: int) -> str:
    return f"Order {i}: when will parcel {i:05d} arrive?\nANSWER: day {i}"


# --------------------------------------------------------------------------------------------------
# Child modes: the fake server that logs arrival times, and the raw aiohttp loop
# --------------------------------------------------------------------------------------------------


def serve(latency_ms: float, log_path: Path) -> int:
    """Run the fake server on uvloop until SIGTERM, then write every chat request's arrival time."""
    import asyncio

    from eval_assets_tests.fake_openai.server import FakeOpenAIServer

    server = FakeOpenAIServer(latency_s=latency_ms / 1000.0, api_key=API_KEY)
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is in the dev environment
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(server.serve_until_signal(announce=lambda line: print(line, flush=True)))
    times = [r.time for r in server.requests]
    outcomes: dict[str, int] = {}
    for r in server.requests:
        outcomes[r.outcome] = outcomes.get(r.outcome, 0) + 1
    log_path.write_text(json.dumps({"times": times, "outcomes": outcomes}))
    return 0


def raw_loop(base_url: str, items: int, concurrency: int) -> int:
    """The same calls through one aiohttp session and nothing else: the floor for the CLI's figures."""
    import asyncio

    import aiohttp
    import orjson

    async def main() -> tuple[float, float, int]:
        semaphore = asyncio.Semaphore(concurrency)
        ok = 0
        headers = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

            async def one(i: int) -> None:
                nonlocal ok
                body = {
                    "model": "gpt-4o-mini",
                    "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user_text(i)}],
                    "max_tokens": 50,
                }
                async with semaphore, session.post(f"{base_url}/chat/completions", data=orjson.dumps(body)) as resp:
                    payload = orjson.loads(await resp.read())
                    ok += resp.status == 200 and bool(payload["choices"])

            started = time.monotonic()
            await asyncio.gather(*(one(i) for i in range(items)))
            return started, time.monotonic(), ok

    started, ended, ok = asyncio.run(main())
    print(json.dumps({"span_s": ended - started, "ok": ok}))
    return 0


# --------------------------------------------------------------------------------------------------
# Orchestrator
# --------------------------------------------------------------------------------------------------


@dataclass
class Server:
    latency_ms: float
    log_path: Path
    proc: subprocess.Popen[str] = field(init=False)
    base_url: str = field(init=False)

    def __enter__(self) -> Server:
        cmd = [sys.executable, __file__, "--serve", str(self.latency_ms), str(self.log_path)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=_env(), cwd=REPO_ROOT)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("LISTENING "):
            raise SystemExit(f"fake server did not start: {line!r}")
        self.base_url = line.split(" ", 1)[1]
        return self

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(60)
        return dict(json.loads(self.log_path.read_text()))

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env[KEY_ENV] = API_KEY
    env["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
    for name in ("EVAL_ASSETS_WAREHOUSE", "EVAL_ASSETS_RUNS_DIR", "DAGSTER_HOME", "EVAL_ASSETS_DATA_DIR"):
        env.pop(name, None)  # the defaults: a DuckLake under the data directory, the Dagster home beside it
    return env


def make_data_dir(root: Path, items: int, base_url: str, concurrency: int) -> Path:
    """A data directory with one dataset of ``items`` examples and one config on the fake server."""
    data = root / "data"
    for sub in ("datasets", "prompts", "configs"):
        (data / sub).mkdir(parents=True)
    with (data / "datasets" / "orders.jsonl").open("w") as out:
        for i in range(items):
            out.write(json.dumps({"id": f"o{i:06d}", "input": user_text(i), "reference": f"day {i}"}) + "\n")
    config = {
        "description": "end-to-end benchmark on the local fake OpenAI server",
        "schedule": "manual",
        "model": {
            "id": MODEL_ID,
            "api_base": base_url,
            "api_key_env": KEY_ENV,
            "max_tokens": 50,
            "seed": 7,
            "system_prompt": SYSTEM,
        },
        "datasets": [{"path": "datasets/orders.jsonl"}],
        "scorers": [{"scorer": "contains"}],
        "thresholds": [{"metric": "contains.pass_rate", "min": 0.9, "severity": "error"}],
        "runtime": {"concurrency": concurrency, "timeout_s": 60, "max_retries": 3},
    }
    (data / "configs" / f"{CONFIG}.yaml").write_text(json.dumps(config, indent=1))
    return data


@dataclass
class CliRun:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    requests: int
    before_first_s: float | None
    replay_span_s: float | None
    after_last_s: float | None
    report_mb: float
    code: int
    rss_samples: list[tuple[float, float]] = field(default_factory=list)  # (wall-clock time, MB), every 20 ms


class RssSampler(threading.Thread):
    """The resident set of a process, read from /proc every 20 ms until it exits (Linux; nothing elsewhere)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.samples: list[tuple[float, float]] = []

    def run(self) -> None:
        status = Path(f"/proc/{self.pid}/status")
        while True:
            try:
                text = status.read_text()
            except OSError:
                return  # reaped
            kb = next((line.split()[1] for line in text.splitlines() if line.startswith("VmRSS:")), None)
            if kb is None:  # a zombie has no resident set
                return
            self.samples.append((time.time(), int(kb) / 1024))
            time.sleep(0.02)


def stage_memory(home: Path, samples: list[tuple[float, float]]) -> list[tuple[str, float, float, float, float]]:
    """Per step of every run in ``home``: (step, seconds, RSS at its start, its peak, RSS at its end) in MB."""
    import dagster as dg

    if not samples:
        return []
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = [record for run in reversed(instance.get_runs()) for record in instance.all_logs(run.run_id)]

    def at(moment: float) -> float:
        before = [mb for when, mb in samples if when <= moment]
        return before[-1] if before else samples[0][1]

    steps, started = [], {}
    for record in records:
        event = record.dagster_event
        if event is None or record.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[record.step_key] = record.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE") and record.step_key in started:
            begin, end = started.pop(record.step_key), record.timestamp
            peak = max((mb for when, mb in samples if begin <= when <= end), default=at(end))
            steps.append((record.step_key, end - begin, at(begin), peak, at(end)))
    return steps


def run_cli(data: Path, server: Server, latency_ms: float) -> CliRun:
    """One ``eval-assets run`` in a fresh process; the server is stopped afterwards to read its log."""
    cmd = [sys.executable, "-m", "eval_assets.cli", "--data-dir", str(data), "run", "--config", CONFIG]
    cmd += ["--date", DATE, "--quiet"]
    started = time.monotonic()
    proc = subprocess.Popen(cmd, env=_env(), cwd=data.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = RssSampler(proc.pid)
    sampler.start()
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    sampler.join()
    out, err = proc.stdout.read() if proc.stdout else b"", proc.stderr.read() if proc.stderr else b""
    proc.returncode = os.waitstatus_to_exitcode(status)
    log = server.stop()
    if proc.returncode != 0:
        sys.stderr.write(out.decode()[-3000:] + err.decode()[-3000:])
    times = log["times"]
    report = data / "runs" / DATE / CONFIG / "report.html"
    first = min(times) if times else None
    last = max(times) + latency_ms / 1000 if times else None
    return CliRun(
        wall_s=ended - started,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        requests=len(times),
        before_first_s=None if first is None else first - started,
        replay_span_s=None if first is None or last is None else last - first,
        after_last_s=None if last is None else ended - last,
        report_mb=report.stat().st_size / 1e6 if report.exists() else float("nan"),
        code=proc.returncode,
        rss_samples=sampler.samples,
    )


def run_raw(items: int, concurrency: int, latency_ms: float, tmp: Path) -> tuple[float, float, float]:
    """Wall and CPU of a fresh process making the same calls with a bare aiohttp loop, and its request span."""
    with Server(latency_ms, tmp / "raw-server.json") as server:
        started = time.monotonic()
        cmd = [sys.executable, __file__, "--raw-loop", server.base_url, str(items), str(concurrency)]
        proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
        out = proc.stdout.read() if proc.stdout else ""
        server.stop()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("the raw loop failed")
    result = json.loads(out)
    if result["ok"] != items:
        raise SystemExit(f"raw loop: {result['ok']} of {items} calls succeeded")
    return wall, float(result["span_s"]), usage.ru_utime + usage.ru_stime


def fmt(value: float | None, unit: str = "s") -> str:
    return "-" if value is None else f"{value:.2f} {unit}"


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def figure(label: str, value: str, target: str, ok: bool) -> None:
    """One printed line: what was measured, and the target with whether it was met."""
    print(f"  {label:<26}{value}   [{target}: {verdict(ok)}]")


def scenario_headline(items: int, repeats: int, missed: list[str]) -> None:
    concurrency, latency = 64, 50.0
    ideal = items * latency / 1000 / concurrency
    cli_runs: list[CliRun] = []
    raws: list[tuple[float, float, float]] = []
    cached: list[CliRun] = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp_name:
            tmp = Path(tmp_name)
            raws.append(run_raw(items, concurrency, latency, tmp))
            with Server(latency, tmp / "server.json") as server:
                data = make_data_dir(tmp, items, server.base_url, concurrency)
                cli_runs.append(run_cli(data, server, latency))
            with Server(latency, tmp / "server2.json") as server:
                cached.append(run_cli(data, server, latency))
    med = statistics.median
    wall = med(r.wall_s for r in cli_runs)
    raw_wall = med(w for w, _, _ in raws)
    raw_span = med(s for _, s, _ in raws)
    raw_cpu = med(c for _, _, c in raws)
    span = med(r.replay_span_s or float("nan") for r in cli_runs)
    before = med(r.before_first_s or float("nan") for r in cli_runs)
    after = med(r.after_last_s or float("nan") for r in cli_runs)
    pct = 100 * ideal / span
    print(f"\nheadline: {items:,} items, c{concurrency}, {latency:g} ms (ideal replay {ideal:.2f} s), {repeats} run(s)")
    cpu = med(r.cpu_s for r in cli_runs)
    print(f"  eval-assets run wall      {fmt(wall)}   CPU {fmt(cpu)}   exit codes {[r.code for r in cli_runs]}")
    print(
        f"  raw aiohttp loop wall     {fmt(raw_wall)}   CPU {fmt(raw_cpu)}   "
        f"(its request span {fmt(raw_span)}, {100 * ideal / raw_span:.0f}% of ideal)"
    )
    ratio = wall / raw_wall
    cached_wall = med(r.wall_s for r in cached)
    figure("CLI / raw", f"{ratio:.2f}x", f"<= {TARGETS['cli_over_raw']}x", ratio <= TARGETS["cli_over_raw"])
    figure(
        "start -> first request", fmt(before), f"<= {TARGETS['before_first_s']} s", before <= TARGETS["before_first_s"]
    )
    figure("replay span", f"{fmt(span)} = {pct:.0f}% of ideal", ">= 90%", pct >= TARGETS["replay_pct_of_ideal"])
    figure("last response -> exit", fmt(after), f"<= {TARGETS['after_last_s']} s", after <= TARGETS["after_last_s"])
    print(f"  requests                  {[r.requests for r in cli_runs]}")
    print(f"  peak RSS                  {med(r.peak_rss_mb for r in cli_runs):.0f} MB")
    print(f"  report.html               {med(r.report_mb for r in cli_runs):.2f} MB")
    print("cached: the same run again")
    cached_value = (
        f"{fmt(cached_wall)}   CPU {fmt(med(r.cpu_s for r in cached))}   requests {[r.requests for r in cached]}"
    )
    figure("wall", cached_value, f"< {TARGETS['cached_s']} s", cached_wall < TARGETS["cached_s"])
    checks = {
        "cli_over_raw": ratio <= TARGETS["cli_over_raw"],
        "replay_pct_of_ideal": pct >= TARGETS["replay_pct_of_ideal"],
        "before_first_s": before <= TARGETS["before_first_s"],
        "after_last_s": after <= TARGETS["after_last_s"],
        "cached_s": cached_wall < TARGETS["cached_s"],
    }
    missed += [name for name, ok in checks.items() if not ok]


def scenario_small(repeats: int, missed: list[str]) -> None:
    runs = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp_name:
            tmp = Path(tmp_name)
            with Server(50.0, tmp / "server.json") as server:
                data = make_data_dir(tmp, 10, server.base_url, 64)
                runs.append(run_cli(data, server, 50.0))
    wall = statistics.median(r.wall_s for r in runs)
    before = statistics.median(r.before_first_s or float("nan") for r in runs)
    after = statistics.median(r.after_last_s or float("nan") for r in runs)
    cpu = statistics.median(r.cpu_s for r in runs)
    print("\nsmall: a fresh 10-example partition")
    value = f"{fmt(wall)}   CPU {fmt(cpu)}   (start -> first request {fmt(before)}, last response -> exit {fmt(after)})"
    figure("wall", value, f"< {TARGETS['small_s']} s", wall < TARGETS["small_s"])
    if wall >= TARGETS["small_s"]:
        missed.append("small_s")


def scenario_big(items: int, missed: list[str]) -> None:
    latency = 5.0
    with tempfile.TemporaryDirectory(prefix="e2e-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with Server(latency, tmp / "server.json") as server:
            data = make_data_dir(tmp, items, server.base_url, 64)
            run = run_cli(data, server, latency)
        steps = stage_memory(data.parent / ".dagster_home", run.rss_samples)
    print(f"\nbig: {items:,} examples, c64, {latency:g} ms   exit code {run.code}   requests {run.requests:,}")
    print(f"  wall {fmt(run.wall_s)}   CPU {fmt(run.cpu_s)}   start -> first request {fmt(run.before_first_s)}")
    print(f"  replay span {fmt(run.replay_span_s)}   last response -> exit {fmt(run.after_last_s)}")
    if steps:
        print("  step                        seconds   RSS at start -> peak -> at end (MB)")
    for step, seconds, begin, peak, end in steps:
        print(f"    {step:26s}{seconds:8.2f}   {begin:6.0f} -> {peak:6.0f} -> {end:6.0f}")
    rss_ok, report_ok = run.peak_rss_mb <= TARGETS["big_rss_mb"], run.report_mb <= TARGETS["report_mb"]
    figure("peak RSS", f"{run.peak_rss_mb:.0f} MB", f"<= {TARGETS['big_rss_mb']:.0f} MB", rss_ok)
    figure("report.html", f"{run.report_mb:.2f} MB", f"<= {TARGETS['report_mb']} MB", report_ok)
    if not rss_ok:
        missed.append("big_rss_mb")
    if not report_ok:
        missed.append("report_mb")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--serve", nargs=2, metavar=("LATENCY_MS", "LOG"), help=argparse.SUPPRESS)
    parser.add_argument("--raw-loop", nargs=3, metavar=("URL", "N", "C"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1,000 items; 10,000 in the memory scenario")
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--big-items", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--only", nargs="+", choices=("headline", "small", "big"), default=None)
    parser.add_argument("--enforce-targets", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.serve:
        return serve(float(args.serve[0]), Path(args.serve[1]))
    if args.raw_loop:
        return raw_loop(args.raw_loop[0], int(args.raw_loop[1]), int(args.raw_loop[2]))
    items, big = (1000, 10_000) if args.quick else (args.items, args.big_items)
    only = set(args.only or ("headline", "small", "big"))
    missed: list[str] = []
    if "headline" in only:
        scenario_headline(items, args.repeats, missed)
    if "small" in only:
        scenario_small(args.repeats, missed)
    if "big" in only:
        scenario_big(big, missed)
    print(f"\ntargets missed: {', '.join(missed) if missed else 'none'}")
    return 1 if missed and args.enforce_targets else 0


if __name__ == "__main__":
    sys.exit(main())
