"""Trend charts and the dashboard: which figures and lines a history gives, and HTML that needs no network."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from datetime import date, timedelta

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from eval_assets.reporting.chart_style import Figure
from eval_assets.reporting.charts import HISTORY_SCHEMA, figures_html, trend_figures
from eval_assets.reporting.dashboard import render_dashboard
from eval_assets.reporting.html import CONTENT_SECURITY_POLICY
from eval_assets_tests.reporting.html_checks import parse

START = date(2025, 3, 1)
#: Per config: pass/fail scorers, graded (judge) scorers, tags.
CONFIGS = {
    "nightly-qa": (["contains"], ["helpfulness"], ["geography", "history"]),
    "nightly-math": (["numeric_match"], [], ["algebra", "arithmetic"]),
}
TITLES = ["Pass rate by scorer", "Average judge score", "Pass rate by tag", "Operations"]


def trend_history(
    days: int = 14, *, configs: dict[str, tuple[list[str], list[str], list[str]]] = CONFIGS
) -> pl.DataFrame:
    """Plausible ``metrics`` rows: smooth made-up values, one night where contains scored nothing."""
    rows: list[tuple[date, str, str, str | None, float | None, int]] = []
    for c, (config, (binary, graded, tags)) in enumerate(configs.items()):
        for d in range(days):
            day = START + timedelta(days=d)
            wave = 0.1 * math.sin(d / 2 + c)
            for s, scorer in enumerate(binary + graded):
                rate = None if (scorer == "contains" and d == 5) else round(0.7 + wave - 0.05 * s, 4)
                # A pass/fail scorer's mean is its pass rate; a judge's is not.
                mean = rate if scorer in binary or rate is None else round(rate + 0.08, 4)
                rows += [
                    (day, config, f"{scorer}.pass_rate", None, rate, 200),
                    (day, config, f"{scorer}.mean", None, mean, 200),
                ]
                for t, tag in enumerate(tags):
                    rows.append((day, config, f"{scorer}.pass_rate", tag, round(0.5 + 0.1 * t + wave, 4), 40))
                    rows.append((day, config, f"{scorer}.mean", tag, round(0.5 + 0.1 * t + wave, 4), 40))
            rows += [
                (day, config, "error_rate", None, 0.01, 200),
                (day, config, "tokens_in", None, 50_000.0 + 1_000 * d, 200),
                (day, config, "tokens_out", None, 20_000.0 + 500 * c, 200),
                (day, config, "cost_usd", None, 0.25 + 0.01 * d, 200),
                (day, config, "latency_p50_ms", None, 600.0, 200),
                (day, config, "latency_p95_ms", None, 1_500.0 + 100 * wave, 200),
            ]
    return pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row")


def _titles(figures: list[Figure]) -> list[str]:
    return [re.sub(r"<[^>]+>", "", figure["layout"]["title"]["text"]) for figure in figures]


def _names(figure: Figure) -> list[str]:
    return [trace["name"] for trace in figure["data"]]


def test_two_configs_over_two_weeks_give_four_figures_with_a_line_per_config_and_scorer() -> None:
    figures = trend_figures(trend_history())

    assert [title.split(" — ")[0] for title in _titles(figures)] == TITLES
    rates, means, tags, ops = figures
    assert _names(rates) == [
        "nightly-math · numeric_match",
        "nightly-qa · contains",
        "nightly-qa · helpfulness",
    ]
    assert all(len(trace["x"]) == 14 for trace in rates["data"])
    # contains and numeric_match are pass/fail: their means would repeat the pass-rate chart.
    assert _names(means) == ["nightly-qa · helpfulness"]
    # One panel per config (configs seldom share tags), bars coloured by scorer as in the lines above.
    assert [a["text"] for a in tags["layout"]["annotations"]] == [
        "nightly-math — run of Mar 14, 2025",
        "nightly-qa — run of Mar 14, 2025",
    ]
    assert [(trace["name"], trace["yaxis"]) for trace in tags["data"]] == [
        ("numeric_match", "y"),
        ("contains", "y2"),
        ("helpfulness", "y2"),
    ]
    assert [trace["marker"]["color"] for trace in tags["data"]] == [
        next(line["line"]["color"] for line in rates["data"] if line["name"].endswith(trace["name"]))
        for trace in tags["data"]
    ]
    tag_names = sorted({y for trace in tags["data"] for y in trace["y"]})
    assert tag_names == ["algebra", "arithmetic", "geography", "history"]
    # Three panels (tokens, cost, latency), one line per config in each, one legend entry per config.
    assert len(ops["data"]) == 6
    assert [trace["name"] for trace in ops["data"] if trace.get("showlegend")] == ["nightly-math", "nightly-qa"]
    assert [a["text"] for a in ops["layout"]["annotations"]] == [
        "Tokens used (input + output)",
        "Cost per run (USD)",
        "Latency, 95th percentile (ms)",
    ]


def test_one_config_is_charted_alone_with_scorer_names() -> None:
    figures = trend_figures(trend_history(), config_name="nightly-qa")

    assert _names(figures[0]) == ["contains", "helpfulness"]
    assert _names(figures[2]) == ["contains", "helpfulness"]
    assert not figures[2]["layout"].get("annotations"), "no panel title for a single config"
    assert {trace["name"] for trace in figures[3]["data"]} == {"nightly-qa"}
    assert not any(trace.get("showlegend") for trace in figures[3]["data"]), "a one-entry legend is noise"


def test_tokens_are_input_plus_output() -> None:
    ops = trend_figures(trend_history(days=2), config_name="nightly-qa")[-1]

    tokens = next(trace for trace in ops["data"] if trace["yaxis"] == "y")
    assert tokens["y"] == [70_000.0, 71_000.0]


def test_null_value_leaves_a_gap_in_the_line() -> None:
    rates = trend_figures(trend_history(), config_name="nightly-qa")[0]

    contains = next(trace for trace in rates["data"] if trace["name"] == "contains")
    assert contains["y"][5] is None and contains["y"][4] is not None
    assert contains["connectgaps"] is False


@pytest.mark.parametrize(
    "history",
    [
        pl.DataFrame(),
        pl.DataFrame(schema=HISTORY_SCHEMA),
        # The config asked for has no rows.
        trend_history(days=1).filter(pl.col("config_name") == "nightly-math"),
    ],
    ids=["no-columns", "no-rows", "other-config"],
)
def test_nothing_to_chart_gives_no_figures_and_no_html(history: pl.DataFrame) -> None:
    figures = trend_figures(history, config_name="nightly-qa")

    assert figures == []
    assert figures_html(figures) == ""


def test_a_single_run_shows_markers_on_a_one_day_axis() -> None:
    figures = trend_figures(trend_history(days=1))

    assert len(figures) == 4
    for figure in figures:
        for trace in figure["data"]:
            # A line needs two points; a lone run is only visible as a marker.
            assert trace["type"] == "bar" or "markers" in trace["mode"]
    start, end = figures[0]["layout"]["xaxis"]["range"]
    assert (start, end) == ("2025-02-28T12:00:00", "2025-03-01T12:00:00")
    assert _titles(figures)[2] == "Pass rate by tag — latest run of each config"
    assert _titles(trend_figures(trend_history(days=1), config_name="nightly-qa"))[2] == (
        "Pass rate by tag — run of Mar 1, 2025"
    )


def test_only_operations_metrics_give_only_the_operations_figure() -> None:
    history = trend_history(days=3, configs={"ops-only": ([], [], [])})

    assert _titles(trend_figures(history)) == ["Operations"]


def test_mean_without_pass_rate_is_still_charted() -> None:
    # A scorer that only reports a mean has no other chart: leaving it out would hide it entirely.
    history = trend_history(days=3).filter(pl.col("metric") != "contains.pass_rate")

    means = trend_figures(history, config_name="nightly-qa")[1]
    assert _names(means) == ["contains", "helpfulness"]


def test_charts_are_svg_only() -> None:
    # WebGL traces need 'unsafe-eval' (regl compiles shaders with Function), which the CSP forbids.
    traces = [trace for figure in trend_figures(trend_history()) for trace in figure["data"]]

    assert {trace["type"] for trace in traces} == {"scatter", "bar"}


def test_names_reach_plotly_escaped_and_cleaned() -> None:
    # plotly renders a subset of HTML in labels (<a href>, <b>, <span style>) and decodes entities,
    # so escaped text shows as typed; the bidi override is made visible like everywhere else.
    hostile = '<a href="javascript:alert(1)">x</a>\u202e'
    history = trend_history(days=2, configs={hostile: (["contains"], [], [hostile])})

    _, tags, ops = trend_figures(history)
    escaped = '&lt;a href="javascript:alert(1)"&gt;x&lt;/a&gt;\\u202e'
    assert list(tags["data"][0]["y"]) == [escaped]
    assert ops["data"][0]["name"] == escaped


def test_figures_html_inlines_plotly_once_and_loads_nothing() -> None:
    fragment = figures_html(trend_figures(trend_history()))

    bundle = get_plotlyjs()
    assert fragment.count(bundle) == 1
    assert fragment.count("<script") == 6  # window.PlotlyConfig, the bundle, one Plotly.newPlot per figure
    assert not re.search(r"<script[^>]*\ssrc\s*=", fragment, re.IGNORECASE)
    # The bundle itself mentions URLs (map tiles, MathJax) it never fetches for these charts; ours must not.
    ours = fragment.replace(bundle, "")
    assert not re.search(r"https?://|cdn", ours, re.IGNORECASE), re.findall(r".{40}(?:https?://|cdn).{40}", ours)
    assert '"responsive": true' in ours


def test_figures_html_is_deterministic() -> None:
    history = trend_history(days=3)

    assert figures_html(trend_figures(history)) == figures_html(trend_figures(history))


def latest_runs(**extra: Sequence[object]) -> pl.DataFrame:
    """The ``latest_runs`` view for the two configs of :func:`trend_history`."""
    return pl.DataFrame(
        {
            "eval_date": [date(2025, 3, 14), date(2025, 3, 12)],
            "config_name": ["nightly-qa", "nightly-math"],
            "model_id": ["openai/gpt-4o-mini", "anthropic/claude-3-5-haiku"],
            "model_version": ["gpt-4o-mini-2024-07-18", None],
            "n_examples": [200, 120],
            "n_errors": [3, 0],
            "cost_usd": [0.31, None],
            **extra,
        }
    )


def _latest_section(page_html: str) -> str:
    return page_html[page_html.index('<section id="latest">') : page_html.index('<section id="trends">')]


def test_dashboard_lists_each_config_with_a_relative_link_to_its_report() -> None:
    page_html = render_dashboard(trend_history(), latest_runs=latest_runs(gates_failed=[1, 0]), generated_at="now")

    page = parse(page_html)
    assert not page.nesting_errors
    assert page.attribute_values("href") == ["2025-03-12/nightly-math/report.html", "2025-03-14/nightly-qa/report.html"]
    assert CONTENT_SECURITY_POLICY in page.attribute_values("content")
    assert page.tables == [[7, 7, 7]]  # header + one row per config, sorted by name
    assert "1 of 2 configs fail quality gates" in page.all_text
    assert page_html.count(get_plotlyjs()) == 1
    table = parse(_latest_section(page_html)).all_text
    assert "not run on the newest date" in table  # nightly-math's latest run is older than nightly-qa's
    assert "1 failed" in table and "all pass" in table
    assert "$0.3100" in table and "—" in table  # unknown cost
    assert "3 (1.5%)" in table


def test_dashboard_without_gates_column_leaves_it_out() -> None:
    page_html = render_dashboard(trend_history(days=1), latest_runs=latest_runs(), generated_at="now")

    assert parse(page_html).tables == [[6, 6, 6]]
    assert "gates" not in parse(_latest_section(page_html)).all_text


@pytest.mark.parametrize(
    ("gates_failed", "verdict"),
    [
        ([0, 0], "Every config passes its quality gates (2 checked)."),
        # A config whose gates were never evaluated must not be reported as passing.
        ([0, None], "No config fails its quality gates; results unknown for"),
        ([3, None], "1 of 2 configs fail quality gates:"),
    ],
)
def test_dashboard_verdict(gates_failed: list[int | None], verdict: str) -> None:
    page_html = render_dashboard(pl.DataFrame(), latest_runs=latest_runs(gates_failed=gates_failed), generated_at="")

    assert verdict in page_html


def test_dashboard_with_nothing_yet() -> None:
    page_html = render_dashboard(pl.DataFrame(), latest_runs=pl.DataFrame(), generated_at="2025-03-14 06:00")

    assert "No runs yet" in page_html and "No metrics yet" in page_html
    assert "<script" not in page_html


def test_dashboard_escapes_names_and_keeps_links_relative() -> None:
    hostile = '"><script>alert(1)</script>/../../x:y'
    runs = latest_runs().with_columns(config_name=pl.lit(hostile), model_id=pl.lit("<img src=x onerror=alert(1)>"))

    page_html = render_dashboard(pl.DataFrame(), latest_runs=runs, generated_at="<b>now</b>")
    page = parse(page_html)
    assert "script" not in page.tag_names and "img" not in page.tag_names and "b" not in page.tag_names
    hrefs = page.attribute_values("href")
    assert all(href.count("/") == 2 and ":" not in href for href in hrefs), hrefs
    assert hostile in page.all_text


def test_the_dashboard_gives_errors_as_a_share_of_calls_when_repeats_call_each_example_again() -> None:
    # 200 examples called 3 times each: 300 failed calls are half of the calls, not 150% of the examples.
    runs = latest_runs(calls=[600, None]).with_columns(pl.Series("n_errors", [300, 6]))
    latest = _latest_section(render_dashboard(trend_history(), latest_runs=runs, generated_at="now"))
    assert "300 (50.0%)" in latest
    assert "6 (5.0%)" in latest  # calls unknown (older rows): one per example
