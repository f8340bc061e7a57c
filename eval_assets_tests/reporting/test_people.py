"""The report's "People in the loop" section and the kappa trend chart (pure)."""

from __future__ import annotations

import datetime as dt

import polars as pl

from eval_assets.reporting.dashboard import render_dashboard
from eval_assets.reporting.model import CalibrationLine, ReviewSummary
from eval_assets.reporting.people import html_section, markdown_section
from eval_assets.reporting.people_chart import calibration_figure

HOSTILE = "<img src=x onerror=alert(1)>"
LINE = CalibrationLine(
    "faithfulness",
    HOSTILE,
    "decisions",
    12,
    0.75,
    0.6,
    0.31,
    0.89,
    "quadratic",
    False,
    "12 human decision(s), fewer than the 20 needed",
)
REVIEW = ReviewSummary({"regression_flip": 3, "calibration_sample": 2}, "http://127.0.0.1:8765/?config=c&date=d")


def history(configs: list[str]) -> pl.DataFrame:
    rows = [
        {
            "eval_date": dt.date(2026, 11, day),
            "config_name": config,
            "scorer": "faithfulness",
            "judge_model": HOSTILE,
            "n": day,
            "agreement": 0.8,
            "kappa": 0.1 * day,
            "kappa_low": 0.0,
            "kappa_high": 1.0,
            "calibrated": False,
        }
        for day in (1, 2, 3)
        for config in configs
    ]
    return pl.DataFrame(rows)


def test_sections_list_the_tasks_and_each_judges_agreement_escaped() -> None:
    md = markdown_section(REVIEW, [LINE])
    assert md.startswith("## People in the loop")
    assert r"**New review tasks:** 5 (3 regression\_flip, 2 calibration\_sample)" in md  # Markdown-escaped
    assert "[review them](http://127.0.0.1:8765/?config=c&date=d)" in md
    assert "| 12 | 75% | 0.60 [0.31, 0.89] | no | 12 human decision(s), fewer than the 20 needed |" in md
    page = html_section(REVIEW, [LINE])
    assert HOSTILE not in page and "&lt;img" in page
    assert 'href="http://127.0.0.1:8765/?config=c&amp;date=d"' in page
    assert markdown_section(None, []) == "" and html_section(None, []) == ""


def test_the_kappa_chart_draws_one_line_per_judge_and_names_configs_on_the_dashboard() -> None:
    figure = calibration_figure(history(["nightly"]))
    assert figure is not None
    (trace,) = figure["data"]
    assert list(trace["y"]) == [0.1, 0.2, 0.30000000000000004] and "<img" not in trace["name"]
    assert calibration_figure(history(["nightly"]).with_columns(kappa=None)) is None  # nobody decided yet
    several = calibration_figure(history(["nightly", "candidate"]))
    assert several is not None
    assert sorted(t["name"].split(" / ")[0] for t in several["data"]) == ["candidate", "nightly"]
    page = render_dashboard(pl.DataFrame(), latest_runs=pl.DataFrame(), generated_at="now", extra_figures=[several])
    assert "Judges against people" in page
