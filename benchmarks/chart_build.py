"""How long the trend charts take to build and render, per report and for the dashboard.

Usage::

    python benchmarks/chart_build.py                 # 3 configs x 30 nights, 15 repeats
    python benchmarks/chart_build.py --configs 6 --nights 60 --repeats 30

Every nightly cell builds its report's charts (``trend_figures(history, config_name=...)`` then
``figures_html``) and the dashboard builds every config's again. The history is synthetic ``metrics`` rows:
per config and night two pass/fail scorers and a judge (pass rate and mean), each also per tag, plus the six
operations metrics. Printed: the time of the first call in this process (imports and caches warm up) and
the median and best of the repeats, for one config (a report) and all configs (the dashboard). Figures,
not a timed test: nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # run as a script: make eval_assets and the chart tests' history importable
    sys.path.insert(0, str(REPO_ROOT))

from eval_assets.reporting.charts import figures_html, trend_figures  # noqa: E402  (after the path fix above)
from eval_assets_tests.reporting.test_charts import trend_history  # noqa: E402

BINARY, GRADED = ("contains", "exact_match"), ("faithfulness",)
TAGS = ("billing", "account", "shipping", "refunds")
PLOTLY_SRC = "../../_assets/plotly.min.js"


def history(configs: int, nights: int) -> pl.DataFrame:
    """Synthetic ``metrics`` rows, made as the chart tests make theirs (one night without a contains score)."""
    scorers = (list(BINARY), list(GRADED), list(TAGS))
    return trend_history(nights, configs={f"nightly-{c}": scorers for c in range(configs)})


def timed(work: Callable[[], object], repeats: int) -> tuple[float, float, float]:
    """(first call, median, best) in seconds; the first call is not among the repeats."""
    times = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times[1:]), min(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--configs", type=int, default=3)
    parser.add_argument("--nights", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    rows = history(args.configs, args.nights)
    print(f"history: {rows.height} metrics rows ({args.configs} configs x {args.nights} nights)")
    cases: dict[str, Callable[[], object]] = {
        "report (one config)": lambda: figures_html(
            trend_figures(rows, config_name="nightly-0"), plotly_src=PLOTLY_SRC
        ),
        "dashboard (all configs)": lambda: figures_html(trend_figures(rows), plotly_src=PLOTLY_SRC),
        "trend_figures only (all)": lambda: trend_figures(rows),
    }
    print(f"{'':<26} {'first':>8} {'median':>8} {'best':>8}")
    for name, work in cases.items():
        first, median, best = timed(work, args.repeats)
        print(f"{name:<26} {first:>7.3f}s {median:>7.3f}s {best:>7.3f}s")


if __name__ == "__main__":
    main()
