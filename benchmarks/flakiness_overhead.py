"""What the flakiness ledger and the repeat statistics add to a night: wall time with and without them.

Usage::

    python benchmarks/flakiness_overhead.py                    # 5,000 examples, 3 nights of history
    python benchmarks/flakiness_overhead.py --examples 500 --history 2

Builds a private copy of ``data/`` with one synthetic dataset of ``--examples`` questions (offline model,
``contains`` scorer, no judges, so the night is dominated by what every night does: replay, score, store,
compare, report), runs ``--history`` nights to give the ledger a history, then times one more night
end to end (``eval-assets run``, in process) twice on copies of that warehouse: as shipped, and with the
ledger and the extra statistics switched off (history read, classification, ``flakiness`` rows, pass@k /
pass^k). Prints both wall times, the overhead, and the ledger's own share measured inside the night.
Asserts nothing (the machine is shared: read the ratio, and run it more than once).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

REPO_DATA = Path(__file__).resolve().parent.parent / "data"


def build_data(root: Path, examples: int) -> Path:
    """A data dir with one config ``bench`` over one dataset of ``examples`` questions."""
    data = root / "data"
    shutil.copytree(REPO_DATA / "prompts", data / "prompts")
    (data / "datasets").mkdir(parents=True)
    (data / "configs").mkdir()
    with (data / "datasets" / "bench.jsonl").open("w", encoding="utf-8") as out:
        for i in range(examples):
            row = {
                "id": f"q{i:05d}",
                "input": f"What is the parcel limit of plan number {i}?",
                "reference": f"{i % 50} parcels",
                "tags": [f"t{i % 5}"],
            }
            out.write(json.dumps(row) + "\n")
    config = {
        "description": "flakiness overhead benchmark",
        "schedule": "manual",
        "model": {"id": "offline/assistant-flaky", "temperature": 0, "max_tokens": 100},
        "datasets": [{"path": "datasets/bench.jsonl"}],
        "scorers": [{"scorer": "contains"}],
        "thresholds": [],
        "runtime": {"concurrency": 64},
    }
    (data / "configs" / "bench.yaml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return data


@contextlib.contextmanager
def environment(data: Path, warehouse: Path, runs: Path) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in ("EVAL_ASSETS_DATA_DIR", "EVAL_ASSETS_WAREHOUSE", "EVAL_ASSETS_RUNS_DIR")}
    os.environ.update(
        {"EVAL_ASSETS_DATA_DIR": str(data), "EVAL_ASSETS_WAREHOUSE": str(warehouse), "EVAL_ASSETS_RUNS_DIR": str(runs)}
    )
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


class Timer:
    """Wraps a function and adds up the time spent in it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def wrap(self, function: Any) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start

        return timed


def night(day: str, *, ledger: bool, timer: Timer | None = None) -> float:
    """Wall seconds of one ``eval-assets run`` of the bench config (in process)."""
    import polars as pl

    from eval_assets import warehouse as wh
    from eval_assets.assets import metrics as metrics_stage
    from eval_assets.cli import main
    from eval_assets.scoring import metrics as pure_metrics

    patches: list[Any] = []
    if not ledger:  # the night as it was before issue 11: no history read, no ledger, no repeat statistics
        patches = [
            mock.patch.object(wh, "score_history", return_value=pl.DataFrame()),
            mock.patch.object(metrics_stage, "ledger_from_history", return_value={}),
            mock.patch.object(pure_metrics, "repeat_values", return_value=[]),
        ]
    elif timer is not None:
        patches = [
            mock.patch.object(wh, "score_history", timer.wrap(wh.score_history)),
            mock.patch.object(metrics_stage, "ledger_from_history", timer.wrap(metrics_stage.ledger_from_history)),
            mock.patch.object(metrics_stage, "ledger_rows", timer.wrap(metrics_stage.ledger_rows)),
        ]
    with contextlib.ExitStack() as stack:
        for patch in patches:
            stack.enter_context(patch)
        start = time.perf_counter()
        status = main(["run", "--config", "bench", "--date", day, "--quiet"])
        elapsed = time.perf_counter() - start
    if status not in (0, 1):  # 1: a gate failed, which is still a whole night
        raise SystemExit(f"night {day} ended with status {status}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--examples", type=int, default=5000, help="examples in the night (default 5,000)")
    parser.add_argument("--history", type=int, default=3, help="nights run first, for the ledger (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="timed nights per variant, alternating (default 2)")
    args = parser.parse_args(argv)
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    with tempfile.TemporaryDirectory(prefix="flakiness-bench-") as tmp:
        root = Path(tmp)
        data = build_data(root, args.examples)
        history = root / "history.duckdb"
        with environment(data, history, root / "runs"):
            for i in range(args.history):
                night(f"2026-10-{i + 1:02d}", ledger=True)
        with_ledger: list[float] = []
        without: list[float] = []
        inside: list[float] = []
        for round_ in range(args.rounds):
            for variant in ("with", "without") if round_ % 2 == 0 else ("without", "with"):
                copy = root / f"{variant}-{round_}.duckdb"
                shutil.copy(history, copy)
                timer = Timer()
                with environment(data, copy, root / f"runs-{variant}-{round_}"):
                    # The timed night is new to both copies, so it replays (through the cache of earlier
                    # rounds only if they share a night: they do not).
                    seconds = night(f"2026-11-{round_ + 1:02d}", ledger=variant == "with", timer=timer)
                (with_ledger if variant == "with" else without).append(seconds)
                if variant == "with":
                    inside.append(timer.seconds)
                copy.unlink()
        on, off = statistics.median(with_ledger), statistics.median(without)
        print(f"examples per night:            {args.examples:,} (history: {args.history} nights)")
        print(f"night with ledger + stats:     {on:.2f} s  (runs: {', '.join(f'{s:.2f}' for s in with_ledger)})")
        print(f"night without:                 {off:.2f} s  (runs: {', '.join(f'{s:.2f}' for s in without)})")
        print(f"overhead (median vs median):   {(on - off) / off:+.1%}")
        share = statistics.median(inside)
        print(f"ledger inside the night:       {share:.3f} s = {share / on:.1%} of the night (read, classify, rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
