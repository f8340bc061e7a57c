"""Trend charts of the warehouse ``metrics`` table, and the one shared copy of plotly.js (pure).

Charts are plain plotly figure dicts (:class:`~eval_assets.reporting.chart_style.Figure`: no graph_objects
validation, which was nearly all of their cost), drawn as SVG only. WebGL traces (``Scattergl`` and
friends) compile their shaders with ``Function``, which the reports' Content-Security-Policy forbids
(no ``'unsafe-eval'``), so they must not be used here.

Names that reach a chart (config names, scorers, tags) are cleaned with
:mod:`eval_assets.reporting.sanitize` and HTML-escaped: plotly interprets a subset of HTML in labels
(``<b>``, ``<span style>``, ``<a href>``) and decodes entities, so escaped text shows as typed.
"""

from __future__ import annotations

import functools
import html
import re
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import plotly
import plotly.io as pio
import polars as pl
from plotly.offline import get_plotlyjs

from eval_assets.files import write_atomically
from eval_assets.reporting.chart_style import (
    Figure,
    Style,
    Trace,
    date_axis,
    day,
    groups,
    in_panel,
    label,
    layout,
    line,
    panels,
    update_axes,
)

#: Columns of ``history`` (rows of the warehouse ``metrics`` table) and their types.
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "eval_date": pl.Date(),
    "config_name": pl.String(),
    "metric": pl.String(),
    "tag": pl.String(),
    "value": pl.Float64(),
    "n": pl.Int64(),
}

#: By-tag chart: height of one bar, space between tags, space between configs' panels (pixels).
_BAR_PX, _TAG_GAP_PX, _PANEL_GAP_PX = 20, 16, 64
#: Operations chart: height of each of its panels (pixels).
_OPS_PANEL_PX = 170
#: plotly.js options: resize with the page, no logo linking to plotly's website.
_PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}
# Deterministic scorers score 0 or 1, so their mean equals their pass rate to rounding.
_SAME_AS_PASS_RATE = 1e-9


def trend_figures(history: pl.DataFrame, *, config_name: str | None = None) -> list[Figure]:
    """Charts of how a config's (or every config's) metrics moved over time.

    In order, each only when ``history`` has data for it: pass rate of each scorer; average score of
    graded scorers (judges), leaving out scorers whose mean is just their pass rate; pass rate by tag
    in each config's latest run (a panel per config); tokens, cost and p95 latency. Quality charts are
    coloured by scorer, operations by config; lines are dashed by config.
    A null value leaves a gap in its line; every point has a marker, so a single run still shows.

    Args:
        history: Rows of the ``metrics`` table with the columns of :data:`HISTORY_SCHEMA`, one row per
            (eval_date, config_name, metric, tag).
        config_name: Chart only this config; None charts every config, one line per config and scorer.

    Returns:
        The figures; ``[]`` when there is nothing to chart.
    """
    data = _prepare(history, config_name)
    if data.is_empty():
        return []
    overall = data.filter(pl.col("tag").is_null())
    scored = data.filter(pl.col("metric").str.ends_with(".pass_rate") | pl.col("metric").str.ends_with(".mean"))
    scored = scored.with_columns(
        scorer=pl.col("metric").str.replace(r"\.(pass_rate|mean)$", ""),
        kind=pl.col("metric").str.extract(r"\.(pass_rate|mean)$"),
    )
    style = Style(
        configs=sorted(data.get_column("config_name").unique().to_list()),
        scorers=sorted(scored.get_column("scorer").unique().to_list()),
    )
    figures = [
        _pass_rates(scored.filter(pl.col("tag").is_null()), style),
        _judge_means(scored.filter(pl.col("tag").is_null()), style),
        _tag_pass_rates(scored.filter(pl.col("tag").is_not_null() & (pl.col("kind") == "pass_rate")), style),
        _operations(overall, style),
    ]
    return [figure for figure in figures if figure is not None]


def figures_html(figures: Sequence[Figure], *, plotly_src: str | None = None) -> str:
    """The figures as one HTML fragment that needs no network.

    Every figure fills the page's width and follows it when the window is resized. Ids are numbered, so
    the same figures give the same HTML.

    Args:
        figures: Figures from :func:`trend_figures`.
        plotly_src: Relative URL of the shared plotly.js file (see :func:`write_plotly_bundle`), loaded once
            with ``<script src>``; None inlines plotly.js (about 4.8 MB) before the first figure instead.

    Returns:
        ``<div>`` and ``<script>`` elements to place in a page whose CSP allows inline scripts (and
        ``'self'`` scripts, for ``plotly_src``); ``""`` for no figures.
    """
    parts = [
        pio.to_html(
            figure,
            # The figures are built as the JSON plotly.js reads; validating them again is what was slow.
            validate=False,
            full_html=False,
            include_plotlyjs=index == 0 and plotly_src is None,
            config=_PLOTLY_CONFIG,
            default_width="100%",
            div_id=f"trend-chart-{index + 1}",
        )
        for index, figure in enumerate(figures)
    ]
    if parts and plotly_src is not None:
        # Quoted whole: the path is ours, but a runs folder name must not end the attribute.
        parts.insert(
            0, f'<script src="{html.escape(urllib.parse.quote(plotly_src, safe="/._-"), quote=True)}"></script>'
        )
    return '<div class="charts">\n' + "\n".join(parts) + "\n</div>" if parts else ""


def plotly_bundle_name() -> str:
    """``plotly-<version>.min.js``: the file name of the installed plotly.js, versioned so that reports
    written by another plotly keep loading the copy they were made with."""
    return f"plotly-{_plotly_js_version()}.min.js"


def write_plotly_bundle(folder: Path) -> Path:
    """Write the installed plotly.js into ``folder`` once, atomically, and return its path.

    Every report and the dashboard load this one copy (instead of ~4.8 MB inlined in each page), so they
    stay small and still open offline. An existing file is left as it is: its name carries the version.
    """
    path = folder / plotly_bundle_name()
    if not path.exists():
        write_atomically(path, get_plotlyjs())
    return path


@functools.cache
def _plotly_js_version() -> str:
    # plotly.py ships its own plotly.js; the bundle's banner names its version ("plotly.js v3.0.1").
    match = re.search(r"plotly\.js v(\d+\.\d+\.\d+)", get_plotlyjs()[:500])
    return match.group(1) if match else f"py{plotly.__version__}"


# --- figures -------------------------------------------------------------------------------------


def _prepare(history: pl.DataFrame, config_name: str | None) -> pl.DataFrame:
    if history.is_empty():
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    data = history.select(pl.col(name).cast(dtype) for name, dtype in HISTORY_SCHEMA.items())
    if config_name is not None:
        data = data.filter(pl.col("config_name") == config_name)
    # Polars keeps NaN apart from null; both mean "unknown" here, for gaps, sums and comparisons alike.
    return data.with_columns(pl.col("value").fill_nan(None)).sort("eval_date", "config_name", "metric", "tag")


def _scorer_lines(rows: pl.DataFrame, style: Style, *, hover: str) -> list[Trace]:
    return [
        line(
            group,
            name=style.series_name(config, scorer),
            colour=style.scorer_colour(scorer),
            dash=style.dash(config),
            hover=hover,
        )
        for (config, scorer), group in groups(rows, "config_name", "scorer")
    ]


def _pass_rates(scored: pl.DataFrame, style: Style) -> Figure | None:
    rows = scored.filter(pl.col("kind") == "pass_rate")
    if rows.is_empty():
        return None
    figure: Figure = {"data": _scorer_lines(rows, style, hover="%{y:.1%} of %{customdata:,} examples"), "layout": {}}
    layout(
        figure,
        title="Pass rate by scorer",
        subtitle="Share of scored examples each scorer accepted, per nightly run. Higher is better.",
        plot_px=280,
    )
    update_axes(figure, "y", {"title": {"text": "Examples passing"}, "tickformat": ".0%", "range": [0, 1.05]})
    date_axis(figure, rows)
    return figure


def _graded(scored: pl.DataFrame) -> pl.DataFrame:
    """Mean rows of (config, scorer) pairs whose mean says something their pass rate does not."""
    means = scored.filter(pl.col("kind") == "mean")
    rates = scored.filter(pl.col("kind") == "pass_rate").select(
        "eval_date", "config_name", "scorer", rate=pl.col("value")
    )
    paired = means.join(rates, on=["eval_date", "config_name", "scorer"], how="left")
    differs = (pl.col("value") - pl.col("rate")).abs() > _SAME_AS_PASS_RATE
    # A mean without any pass rate to compare with is kept: it is the only view of that scorer.
    keep = paired.group_by("config_name", "scorer").agg(
        keep=differs.fill_null(False).any() | pl.col("rate").is_null().all()
    )
    return means.join(keep.filter("keep").select("config_name", "scorer"), on=["config_name", "scorer"])


def _judge_means(scored: pl.DataFrame, style: Style) -> Figure | None:
    rows = _graded(scored)
    if rows.is_empty():
        return None
    figure: Figure = {"data": _scorer_lines(rows, style, hover="%{y:.3f} over %{customdata:,} examples"), "layout": {}}
    layout(
        figure,
        title="Average judge score",
        subtitle=(
            "Mean score of graded scorers such as rubric judges, from 0 (worst) to 1 (best). "
            "Pass/fail scorers are left out: their average is their pass rate."
        ),
        plot_px=240,
    )
    update_axes(figure, "y", {"title": {"text": "Average score"}, "tickformat": ".2f", "range": [0, 1.05]})
    date_axis(figure, rows)
    return figure


def _tag_pass_rates(rows: pl.DataFrame, style: Style) -> Figure | None:
    """Bars per tag and scorer of each config's latest run, one panel per config (configs rarely share tags)."""
    latest = rows.group_by("config_name").agg(latest=pl.col("eval_date").max())
    rows = rows.join(latest, on="config_name").filter(pl.col("eval_date") == pl.col("latest"))
    if rows.is_empty():
        return None
    rows = rows.with_columns(label=pl.col("tag").map_elements(label, return_dtype=pl.String))
    configs = groups(rows, "config_name")
    sizes = [
        group.get_column("label").n_unique() * (group.get_column("scorer").n_unique() * _BAR_PX + _TAG_GAP_PX)
        for _, group in configs
    ]
    plot_px = sum(sizes) + _PANEL_GAP_PX * (len(configs) - 1)
    figure = panels(
        len(configs),
        heights=sizes,
        spacing=_PANEL_GAP_PX / plot_px if len(configs) > 1 else 0.0,
        titles=[f"{label(c)} — run of {day(g.item(0, 'eval_date'))}" for (c,), g in configs] if style.multi else None,
    )
    in_legend: set[str] = set()
    for row, ((_config,), group) in enumerate(configs, start=1):
        for (scorer,), bars in groups(group, "scorer"):
            bar = {
                "type": "bar",
                "x": bars.get_column("value").to_list(),
                "y": bars.get_column("label").to_list(),
                "customdata": bars.get_column("n").to_list(),
                "orientation": "h",
                "name": label(scorer),
                "legendgroup": label(scorer),
                "showlegend": scorer not in in_legend,
                "marker": {"color": style.scorer_colour(scorer)},
                "texttemplate": "%{x:.0%}",
                "textposition": "outside",
                "cliponaxis": False,
                "hovertemplate": "%{y}: %{x:.1%} of %{customdata:,} examples<extra>%{fullData.name}</extra>",
            }
            in_panel(figure, bar, row)
            in_legend.add(scorer)
        tags = sorted(group.get_column("label").unique().to_list())
        axis = {"categoryorder": "array", "categoryarray": tags, "autorange": "reversed", "automargin": True}
        update_axes(figure, "y", axis, row=row)
    days = {group.item(0, "eval_date") for _, group in configs}
    when = f"run of {day(days.pop())}" if len(days) == 1 and not style.multi else "latest run of each config"
    layout(
        figure,
        title=f"Pass rate by tag — {when}",
        subtitle="Share of examples passing within each tag (a slice of the datasets). Hover for the example count.",
        plot_px=plot_px,
        hovermode="closest",
        x_title=True,
    )
    figure["layout"] |= {"barmode": "group", "bargap": 0.2}
    update_axes(figure, "x", {"tickformat": ".0%", "range": [0, 1.12]})
    update_axes(figure, "x", {"title": {"text": "Examples passing"}}, row=len(configs))
    return figure


@dataclass(frozen=True)
class _Panel:
    title: str
    metric: str
    hover: str
    axis: dict[str, Any]


_PANELS = (
    _Panel("Tokens used (input + output)", "tokens", "%{y:,.0f} tokens", {"tickformat": "~s"}),
    _Panel("Cost per run (USD)", "cost_usd", "$%{y:,.4f}", {"tickprefix": "$"}),
    _Panel("Latency, 95th percentile (ms)", "latency_p95_ms", "%{y:,.0f} ms", {"ticksuffix": " ms"}),
)


def _operations(overall: pl.DataFrame, style: Style) -> Figure | None:
    tokens = (
        overall.filter(pl.col("metric").is_in(["tokens_in", "tokens_out"]))
        .group_by("eval_date", "config_name")
        .agg(
            # Unknown when either count is: a sum of half the tokens would look like a drop.
            value=pl.when((pl.col("value").count() == 2) & (pl.len() == 2)).then(pl.col("value").sum()),
            n=pl.col("n").max(),
        )
        .with_columns(metric=pl.lit("tokens"))
    )
    columns = ["eval_date", "config_name", "metric", "value", "n"]
    rows = pl.concat([overall.select(columns), tokens.select(columns)], how="vertical_relaxed")
    shown = [p for p in _PANELS if not rows.filter(pl.col("metric") == p.metric).is_empty()]
    if not shown:
        return None
    plot_px = _OPS_PANEL_PX * len(shown) + _PANEL_GAP_PX * (len(shown) - 1)
    figure = panels(
        len(shown),
        spacing=_PANEL_GAP_PX / plot_px if len(shown) > 1 else 0.0,
        titles=[p.title for p in shown],
    )
    in_legend: set[str] = set()
    for row, panel in enumerate(shown, start=1):
        for (config,), group in groups(rows.filter(pl.col("metric") == panel.metric), "config_name"):
            in_panel(
                figure,
                line(
                    group,
                    name=label(config),
                    colour=style.config_colour(config),
                    dash=style.dash(config),
                    hover=panel.hover,
                    legendgroup=label(config),
                    # One legend entry per config (a single config needs none); the panels share it.
                    showlegend=style.multi and config not in in_legend,
                ),
                row,
            )
            in_legend.add(config)
        update_axes(figure, "y", {"rangemode": "tozero", **panel.axis}, row=row)
    layout(
        figure,
        title="Operations",
        subtitle="What each nightly run consumed. Lower is better.",
        plot_px=plot_px,
    )
    date_axis(figure, rows.filter(pl.col("metric").is_in([p.metric for p in shown])))
    return figure
