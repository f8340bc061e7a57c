"""How big report.html gets, and how long the report takes to render, as the number of examples grows.

Usage::

    python benchmarks/report_size.py                      # 100, 5,000 and 50,000 examples, before and after
    python benchmarks/report_size.py --sizes 100 1000 --mode after

Builds one night's report from synthetic warehouse rows with the pure functions the report stage uses
(``build_report``, ``example_lines``, ``OutputsDocument``, the renderers), so no model, warehouse or
Dagster is involved. Two layouts:

* ``before``: what the report stage wrote until the report was split: plotly.js inlined in report.html and
  every example's entry inlined under "All outputs" (``render_html(..., all_examples=...)`` with
  ``figures_html(figures)``); the same pure calls still render it.
* ``after``: ``publish_report`` as the report stage calls it: one shared plotly.js per runs folder, the
  examples inline only for small runs, else on pages of 500 (``examples/0001.html``...), outputs.json and
  ``outputs/<run id>.json``.

Printed per size and layout: report.html's size, what else was written (pages, outputs, the shared
plotly.js, written once per runs folder), and the wall time of rendering and writing. Figures, not a timed
test: nothing fails on a slow machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from eval_assets.reporting.build import build_report, example_lines
from eval_assets.reporting.charts import figures_html, trend_figures
from eval_assets.reporting.folder import Links, RunsFolder
from eval_assets.reporting.html import render_html
from eval_assets.reporting.markdown import render_markdown
from eval_assets.reporting.model import ComparisonLine, FlipLine, RunSummary
from eval_assets.reporting.outputs import OutputsDocument
from eval_assets.reporting.publish import publish_report

DAY = dt.date(2026, 11, 7)
CONFIG = "nightly"
SCORERS = ("contains", "faithfulness")
TAGS = ("billing", "account", "shipping", "refunds", "jailbreak")
#: A plausible answer: a support reply of a few sentences.
ANSWER = (
    "Thanks for reaching out! The Plus plan costs $9.99 a month and you can cancel at any time from "
    "Settings > Billing. Refunds are available within 30 days of the charge; after that the plan stays "
    "active until the end of the billing period. Is there anything else I can help with?"
)


def synthetic(n: int) -> dict[str, pl.DataFrame]:
    """Warehouse-shaped rows of one night with ``n`` examples, two scorers, five tags and 30 days of history."""
    ids = [f"faq-{i:06d}" for i in range(n)]
    keys = {"dataset": ["faq"] * n, "example_id": ids}
    tags = [[TAGS[i % len(TAGS)]] for i in range(n)]
    inputs = [f"Question {i}: how much does the Plus plan cost, and can I get a refund if I cancel?" for i in range(n)]
    passed = [i % 7 != 0 for i in range(n)]
    examples = pl.DataFrame(
        {
            **keys,
            "line": list(range(1, n + 1)),
            "input_json": [json.dumps(x) for x in inputs],
            "input_text": inputs,
            "reference": [["$9.99", "9.99"]] * n,
            "tags": tags,
        }
    )
    responses = pl.DataFrame(
        {
            **keys,
            "output_text": [f"{ANSWER} (#{i})" for i in range(n)],
            "model_version": ["gpt-4o-mini-2024-07-18"] * n,
            "finish_reason": ["stop"] * n,
            "input_tokens": [120] * n,
            "output_tokens": [80] * n,
            "cost_usd": [0.00006] * n,
            "latency_ms": [400.0 + i % 300 for i in range(n)],
            "cached": [False] * n,
            "error_type": [None] * n,
            "error_message": [None] * n,
            "request_hash": [f"{i:064x}" for i in range(n)],
        },
        schema_overrides={"error_type": pl.String, "error_message": pl.String},
    )
    scores = pl.concat(
        pl.DataFrame(
            {
                **keys,
                "scorer": [scorer] * n,
                "score": [1.0 if p else 0.25 for p in passed],
                "passed": passed,
                "detail": ["matched '$9.99'" if p else "The answer omits the refund window." for p in passed],
            }
        )
        for scorer in SCORERS
    )
    scored = scores.join(examples.select("dataset", "example_id", "input_text", "reference", "tags"), on=keys.keys())
    scored = scored.join(responses.select("dataset", "example_id", "output_text", "error_type"), on=keys.keys())
    metrics = pl.DataFrame(
        [
            *((f"{s}.{m}", tag, 0.8, 0.82, n) for s in SCORERS for m in ("pass_rate", "mean") for tag in (None, *TAGS)),
            *(
                (m, None, v, v * 1.05, n)
                for m, v in (("error_rate", 0.0), ("latency_p95_ms", 690.0), ("cost_usd", 0.006 * n / 100))
            ),
        ],
        schema={
            "metric": pl.String,
            "tag": pl.String,
            "value": pl.Float64,
            "baseline_value": pl.Float64,
            "n": pl.Int64,
        },
        orient="row",
    )
    history = pl.DataFrame(
        [
            (DAY - dt.timedelta(days=d), CONFIG, f"{s}.pass_rate", tag, 0.8 + 0.05 * math.sin(d), n)
            for d in range(30)
            for s in SCORERS
            for tag in (None, *TAGS)
        ],
        schema={
            "eval_date": pl.Date,
            "config_name": pl.String,
            "metric": pl.String,
            "tag": pl.String,
            "value": pl.Float64,
            "n": pl.Int64,
        },
        orient="row",
    )
    return {
        "examples": examples,
        "responses": responses,
        "scores": scores,
        "scored": scored,
        "metrics": metrics,
        "history": history,
    }


def summary(n: int) -> RunSummary:
    return RunSummary(
        config_name=CONFIG,
        eval_date=str(DAY),
        description="Nightly regression eval",
        model_id="openai/gpt-4o-mini",
        model_version="gpt-4o-mini-2024-07-18",
        run_id="3f2a9c1e-8d4b-4e0a-9f1c-2b7d5e6a8c90",
        git_sha="abc1234",
        config_hash="cfg0hash",
        dataset_hashes={"faq": "d4t4"},
        prompt_hashes={"faithfulness": "rubr1c"},
        baseline_date=str(DAY - dt.timedelta(days=1)),
        n_examples=n,
        n_errors=0,
        cost_usd=0.006 * n / 100,
        simulated=False,
        priced_calls=n,
        cost_calls=n,
    )


def report_inputs(n: int) -> tuple[dict[str, pl.DataFrame], object, list[object]]:
    rows = synthetic(n)
    base = build_report(summary(n), rows["metrics"], [], rows["scored"])
    flips = [
        FlipLine("faq", f"faq-{i:06d}", "contains", direction, "How much is Plus?", ANSWER, ANSWER, "ok", "missing")
        for direction in ("pass_to_fail", "fail_to_pass")
        for i in range(min(n, 60))
    ]
    comparisons = [
        ComparisonLine(s, None, "pass_fail", n, 0.82, 0.8, -0.02, -0.05, 0.01, 0.2, 30, 20, False, True)
        for s in SCORERS
    ]
    from dataclasses import replace

    report = replace(
        base, flips=flips, comparisons=comparisons, baseline_label=f"{CONFIG} {DAY - dt.timedelta(days=1)}"
    )
    one_per_example = (
        rows["scored"]
        .sort(["dataset", "example_id", "scorer"])
        .unique(subset=["dataset", "example_id"], keep="first", maintain_order=True)
    )
    return rows, report, example_lines(one_per_example)


def measure(n: int, mode: str, root: Path) -> dict[str, object]:
    rows, report, everything = report_inputs(n)
    started = time.perf_counter()
    folder = RunsFolder(root / mode / str(n)).run(DAY, CONFIG)
    folder.path.mkdir(parents=True, exist_ok=True)
    outputs = OutputsDocument(report.summary, rows["examples"], rows["responses"], rows["scores"])  # type: ignore[attr-defined]
    if mode == "before":
        # the layout before paging: one indent-1 document
        folder.outputs_json.write_text(json.dumps(json.loads(b"".join(outputs.encoded())), indent=1, default=str))
        folder.report_md.write_text(render_markdown(report))  # type: ignore[arg-type]
        charts = figures_html(trend_figures(rows["history"], config_name=CONFIG))
        folder.report_html.write_text(render_html(report, charts_html=charts, all_examples=everything))  # type: ignore[arg-type]
    else:
        publish_report(
            folder,
            report,
            all_examples=everything,
            history=rows["history"],
            outputs=outputs,  # type: ignore[arg-type]
            links=Links(),
        )
    seconds = time.perf_counter() - started
    pages = sorted((folder.path / "examples").glob("*.html"))
    assets = list(folder.runs.assets.glob("*.js"))
    return {
        "examples": n,
        "layout": mode,
        "report_html_bytes": folder.report_html.stat().st_size,
        "pages": len(pages),
        "largest_page_bytes": max((p.stat().st_size for p in pages), default=0),
        "outputs_json_bytes": folder.outputs_json.stat().st_size,
        "shared_plotly_bytes": sum(a.stat().st_size for a in assets),
        "seconds": round(seconds, 2),
    }


def _mb(size: object) -> str:
    return f"{int(size) / 1_000_000:,.2f} MB"  # type: ignore[call-overload]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 5_000, 50_000])
    parser.add_argument("--mode", choices=("before", "after", "both"), default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON object per measurement")
    args = parser.parse_args(argv)
    modes = ("before", "after") if args.mode == "both" else (args.mode,)
    print(
        f"{'examples':>9} {'layout':<7} {'report.html':>12} {'pages':>6} {'largest page':>13} "
        f"{'outputs.json':>13} {'shared plotly':>14} {'render+write':>13}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            for mode in modes:
                result = measure(n, mode, Path(tmp))
                if args.json:
                    print(json.dumps(result))
                    continue
                print(
                    f"{n:>9,} {mode:<7} {_mb(result['report_html_bytes']):>12} {result['pages']:>6} "
                    f"{_mb(result['largest_page_bytes']):>13} {_mb(result['outputs_json_bytes']):>13} "
                    f"{_mb(result['shared_plotly_bytes']):>14} {result['seconds']:>11.2f} s",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
