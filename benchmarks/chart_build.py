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
import datetime as dt
import math
import statistics
import time
from collections.abc import Callable

import polars as pl

from eval_assets.reporting.charts import HISTORY_SCHEMA, figures_html, trend_figures

START = dt.date(2026, 10, 1)
BINARY, GRADED = ("contains", "exact_match"), ("faithfulness",)
TAGS = ("billing", "account", "shipping", "refunds")
PLOTLY_SRC = "../../_assets/plotly.min.js"


def history(configs: int, nights: int) -> pl.DataFrame:
    """Synthetic ``metrics`` rows: smooth values, a missing value now and then."""
    rows: list[tuple[dt.date, str, str, str | None, float | None, int]] = []
    for c in range(configs):
        config = f"nightly-{c}"
        for d in range(nights):
            day = START + dt.timedelta(days=d)
            wave = 0.1 * math.sin(d / 3 + c)
            for s, scorer in enumerate(BINARY + GRADED):
                rate = None if (d + s) % 17 == 5 else round(0.7 + wave - 0.05 * s, 4)
                mean = rate if scorer in BINARY or rate is None else round(rate + 0.08, 4)
                rows.append((day, config, f"{scorer}.pass_rate", None, rate, 200))
                rows.append((day, config, f"{scorer}.mean", None, mean, 200))
                for t, tag in enumerate(TAGS):
                    value = round(0.5 + 0.1 * t + wave, 4)
                    rows.append((day, config, f"{scorer}.pass_rate", tag, value, 50))
                    rows.append((day, config, f"{scorer}.mean", tag, value, 50))
            rows += [
                (day, config, "error_rate", None, 0.01, 200),
                (day, config, "tokens_in", None, 50_000.0 + 1_000 * d, 200),
                (day, config, "tokens_out", None, 20_000.0 + 500 * c, 200),
                (day, config, "cost_usd", None, 0.25 + 0.01 * d, 200),
                (day, config, "latency_p50_ms", None, 600.0, 200),
                (day, config, "latency_p95_ms", None, 1_500.0 + 100 * wave, 200),
            ]
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row")


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
