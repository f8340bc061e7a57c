"""Trend charts of the warehouse ``metrics`` table, and the cross-config dashboard page (pure).

Charts are plotly figures drawn as SVG only. WebGL traces (``Scattergl`` and friends) compile their
shaders with ``Function``, which the reports' Content-Security-Policy forbids (no ``'unsafe-eval'``),
so they must not be used here.

Names that reach a chart (config names, scorers, tags) are cleaned with
:mod:`eval_assets.reporting.sanitize` and HTML-escaped: plotly interprets a subset of HTML in labels
(``<b>``, ``<span style>``, ``<a href>``) and decodes entities, so escaped text shows as typed.
"""

from __future__ import annotations

import html
import math
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
from plotly.subplots import make_subplots

from eval_assets.reporting.html import html_page
from eval_assets.reporting.markdown import format_value
from eval_assets.reporting.sanitize import cell_text

#: Columns of ``history`` (rows of the warehouse ``metrics`` table) and their types.
HISTORY_SCHEMA: dict[str, pl.DataType] = {
    "eval_date": pl.Date(),
    "config_name": pl.String(),
    "metric": pl.String(),
    "tag": pl.String(),
    "value": pl.Float64(),
    "n": pl.Int64(),
}
#: Longest config, scorer or tag name shown in a chart before it is shortened.
LABEL_LIMIT = 48

# Tableau 10: distinct, print-friendly, and readable by most colour-blind readers.
_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
)
_DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
_DAY_MS = 86_400_000
#: By-tag chart: height of one bar, space between tags, space between configs' panels (pixels).
_BAR_PX, _TAG_GAP_PX, _PANEL_GAP_PX = 20, 16, 64
#: Operations chart: height of each of its panels (pixels).
_OPS_PANEL_PX = 170
#: plotly.js options: resize with the page, no logo linking to plotly's website.
_PLOTLY_CONFIG = {"responsive": True, "displaylogo": False}
# Deterministic scorers score 0 or 1, so their mean equals their pass rate to rounding.
_SAME_AS_PASS_RATE = 1e-9


def trend_figures(history: pl.DataFrame, *, config_name: str | None = None) -> list[go.Figure]:
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
    style = _Style(
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


def figures_html(figures: Sequence[go.Figure]) -> str:
    """The figures as one HTML fragment that needs no network.

    plotly.js is inlined once, before the first figure; every figure fills the page's width and
    follows it when the window is resized. Ids are numbered, so the same figures give the same HTML.

    Args:
        figures: Figures from :func:`trend_figures`.

    Returns:
        ``<div>`` and ``<script>`` elements to place in a page whose CSP allows inline scripts;
        ``""`` for no figures.
    """
    parts = [
        pio.to_html(
            figure,
            full_html=False,
            include_plotlyjs=index == 0,
            config=_PLOTLY_CONFIG,
            default_width="100%",
            div_id=f"trend-chart-{index + 1}",
        )
        for index, figure in enumerate(figures)
    ]
    return '<div class="charts">\n' + "\n".join(parts) + "\n</div>" if parts else ""


def render_dashboard(history: pl.DataFrame, *, latest_runs: pl.DataFrame, generated_at: str) -> str:
    """One standalone HTML page across configs: the latest run of each, then their trends.

    Args:
        history: Rows of the ``metrics`` table of every config (see :func:`trend_figures`).
        latest_runs: One row per config with ``eval_date``, ``config_name``, ``model_id``,
            ``model_version``, ``n_examples``, ``n_errors``, ``cost_usd`` and optionally
            ``gates_failed`` (the number of failed quality gates).
        generated_at: When the page was made, shown as is.

    Returns:
        The page, linking each config to its report at ``<date>/<config>/report.html``.
    """
    runs = latest_runs.sort("config_name") if not latest_runs.is_empty() else latest_runs
    charts = figures_html(trend_figures(history))
    body = [
        "<header>",
        "<h1>Eval dashboard</h1>",
        f'<p class="sub">{_esc(_runs_summary(runs))} · generated {_esc(cell_text(generated_at))}</p>',
        _dashboard_verdict(runs),
        "</header>",
        '<section id="latest"><h2>Latest run per config</h2>',
        _runs_table(runs) if not runs.is_empty() else "<p>No runs yet.</p>",
        "</section>",
        '<section id="trends"><h2>Trends across configs</h2>',
        charts or "<p>No metrics yet.</p>",
        "</section>",
    ]
    return html_page(title="Eval dashboard", css=_DASHBOARD_CSS, body=body)


# --- figures -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Style:
    """Colour per scorer (quality) or per config (operations); line dash per config."""

    configs: list[str]
    scorers: list[str]

    @property
    def multi(self) -> bool:
        return len(self.configs) > 1

    def scorer_colour(self, scorer: str) -> str:
        return _PALETTE[self.scorers.index(scorer) % len(_PALETTE)]

    def config_colour(self, config: str) -> str:
        return _PALETTE[self.configs.index(config) % len(_PALETTE)]

    def dash(self, config: str) -> str:
        return _DASHES[self.configs.index(config) % len(_DASHES)]

    def series_name(self, config: str, scorer: str) -> str:
        return f"{_label(config)} · {_label(scorer)}" if self.multi else _label(scorer)


def _prepare(history: pl.DataFrame, config_name: str | None) -> pl.DataFrame:
    if history.is_empty():
        return pl.DataFrame(schema=HISTORY_SCHEMA)
    data = history.select(pl.col(name).cast(dtype) for name, dtype in HISTORY_SCHEMA.items())
    if config_name is not None:
        data = data.filter(pl.col("config_name") == config_name)
    # Polars keeps NaN apart from null; both mean "unknown" here, for gaps, sums and comparisons alike.
    return data.with_columns(pl.col("value").fill_nan(None)).sort("eval_date", "config_name", "metric", "tag")


def _label(text: str) -> str:
    # plotly decodes &lt; &gt; &amp; (and numeric entities) but shows &quot; as typed; with no "<" left
    # there is no tag for a quote to matter in.
    return html.escape(cell_text(text, limit=LABEL_LIMIT), quote=False)


def _day(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def _line(rows: pl.DataFrame, *, name: str, colour: str, dash: str, hover: str, **extra: Any) -> go.Scatter:
    return go.Scatter(
        x=rows.get_column("eval_date").to_list(),
        y=rows.get_column("value").to_list(),
        customdata=rows.get_column("n").to_list(),
        name=name,
        mode="lines+markers",
        line={"color": colour, "dash": dash, "width": 2},
        marker={"size": 7},
        connectgaps=False,
        hovertemplate=hover + "<extra>%{fullData.name}</extra>",
        **extra,
    )


def _groups(rows: pl.DataFrame, *keys: str) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    """Rows split by ``keys``, in key order and each by date, so the same data gives the same figure."""
    parts = rows.partition_by(*keys, as_dict=True)
    return [(key, parts[key].sort("eval_date")) for key in sorted(parts)]


def _scorer_lines(rows: pl.DataFrame, style: _Style, *, hover: str) -> list[go.Scatter]:
    return [
        _line(
            group,
            name=style.series_name(config, scorer),
            colour=style.scorer_colour(scorer),
            dash=style.dash(config),
            hover=hover,
        )
        for (config, scorer), group in _groups(rows, "config_name", "scorer")
    ]


def _pass_rates(scored: pl.DataFrame, style: _Style) -> go.Figure | None:
    rows = scored.filter(pl.col("kind") == "pass_rate")
    if rows.is_empty():
        return None
    figure = go.Figure(_scorer_lines(rows, style, hover="%{y:.1%} of %{customdata:,} examples"))
    _layout(
        figure,
        title="Pass rate by scorer",
        subtitle="Share of scored examples each scorer accepted, per nightly run. Higher is better.",
        plot_px=280,
    )
    figure.update_yaxes(title_text="Examples passing", tickformat=".0%", range=[0, 1.05])
    _date_axis(figure, rows)
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


def _judge_means(scored: pl.DataFrame, style: _Style) -> go.Figure | None:
    rows = _graded(scored)
    if rows.is_empty():
        return None
    figure = go.Figure(_scorer_lines(rows, style, hover="%{y:.3f} over %{customdata:,} examples"))
    _layout(
        figure,
        title="Average judge score",
        subtitle=(
            "Mean score of graded scorers such as rubric judges, from 0 (worst) to 1 (best). "
            "Pass/fail scorers are left out: their average is their pass rate."
        ),
        plot_px=240,
    )
    figure.update_yaxes(title_text="Average score", tickformat=".2f", range=[0, 1.05])
    _date_axis(figure, rows)
    return figure


def _tag_pass_rates(rows: pl.DataFrame, style: _Style) -> go.Figure | None:
    """Bars per tag and scorer of each config's latest run, one panel per config (configs rarely share tags)."""
    latest = rows.group_by("config_name").agg(latest=pl.col("eval_date").max())
    rows = rows.join(latest, on="config_name").filter(pl.col("eval_date") == pl.col("latest"))
    if rows.is_empty():
        return None
    rows = rows.with_columns(label=pl.col("tag").map_elements(_label, return_dtype=pl.String))
    panels = _groups(rows, "config_name")
    sizes = [
        group.get_column("label").n_unique() * (group.get_column("scorer").n_unique() * _BAR_PX + _TAG_GAP_PX)
        for _, group in panels
    ]
    plot_px = sum(sizes) + _PANEL_GAP_PX * (len(panels) - 1)
    figure = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        row_heights=sizes,
        vertical_spacing=_PANEL_GAP_PX / plot_px if len(panels) > 1 else 0.0,
        subplot_titles=[f"{_label(c)} — run of {_day(g.item(0, 'eval_date'))}" for (c,), g in panels]
        if style.multi
        else None,
    )
    in_legend: set[str] = set()
    for row, ((_config,), group) in enumerate(panels, start=1):
        for (scorer,), bars in _groups(group, "scorer"):
            figure.add_trace(
                go.Bar(
                    x=bars.get_column("value").to_list(),
                    y=bars.get_column("label").to_list(),
                    customdata=bars.get_column("n").to_list(),
                    orientation="h",
                    name=_label(scorer),
                    legendgroup=_label(scorer),
                    showlegend=scorer not in in_legend,
                    marker={"color": style.scorer_colour(scorer)},
                    texttemplate="%{x:.0%}",
                    textposition="outside",
                    cliponaxis=False,
                    hovertemplate="%{y}: %{x:.1%} of %{customdata:,} examples<extra>%{fullData.name}</extra>",
                ),
                row=row,
                col=1,
            )
            in_legend.add(scorer)
        tags = sorted(group.get_column("label").unique().to_list())
        figure.update_yaxes(
            categoryorder="array", categoryarray=tags, autorange="reversed", automargin=True, row=row, col=1
        )
    days = {group.item(0, "eval_date") for _, group in panels}
    when = f"run of {_day(days.pop())}" if len(days) == 1 and not style.multi else "latest run of each config"
    _layout(
        figure,
        title=f"Pass rate by tag — {when}",
        subtitle="Share of examples passing within each tag (a slice of the datasets). Hover for the example count.",
        plot_px=plot_px,
        hovermode="closest",
        x_title=True,
    )
    figure.update_layout(barmode="group", bargap=0.2)
    figure.update_xaxes(tickformat=".0%", range=[0, 1.12])
    figure.update_xaxes(title_text="Examples passing", row=len(panels), col=1)
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


def _operations(overall: pl.DataFrame, style: _Style) -> go.Figure | None:
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
    panels = [p for p in _PANELS if not rows.filter(pl.col("metric") == p.metric).is_empty()]
    if not panels:
        return None
    plot_px = _OPS_PANEL_PX * len(panels) + _PANEL_GAP_PX * (len(panels) - 1)
    figure = make_subplots(
        rows=len(panels),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=_PANEL_GAP_PX / plot_px if len(panels) > 1 else 0.0,
        subplot_titles=[p.title for p in panels],
    )
    in_legend: set[str] = set()
    for row, panel in enumerate(panels, start=1):
        for (config,), group in _groups(rows.filter(pl.col("metric") == panel.metric), "config_name"):
            figure.add_trace(
                _line(
                    group,
                    name=_label(config),
                    colour=style.config_colour(config),
                    dash=style.dash(config),
                    hover=panel.hover,
                    legendgroup=_label(config),
                    # One legend entry per config (a single config needs none); the panels share it.
                    showlegend=style.multi and config not in in_legend,
                ),
                row=row,
                col=1,
            )
            in_legend.add(config)
        figure.update_yaxes(rangemode="tozero", row=row, col=1, **panel.axis)
    _layout(
        figure,
        title="Operations",
        subtitle="What each nightly run consumed. Lower is better.",
        plot_px=plot_px,
    )
    _date_axis(figure, rows.filter(pl.col("metric").is_in([p.metric for p in panels])))
    return figure


def _layout(
    figure: go.Figure,
    *,
    title: str,
    subtitle: str,
    plot_px: int,
    hovermode: str = "x unified",
    x_title: bool = False,
) -> None:
    """House style; ``plot_px`` is the height of the plotting area, the legend goes just below it."""
    # Panel titles (subplot annotations) sit above their panel: the first one needs room under the subtitle.
    panel_titles = bool(figure.layout.annotations)
    top, bottom = (118 if panel_titles else 90), 90
    figure.update_annotations(x=0, xanchor="left", font={"size": 14})
    figure.update_layout(
        template="plotly_white",
        title={"text": f"<b>{title}</b>", "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
        font={"family": _FONT, "size": 13, "color": "#202124"},
        height=plot_px + top + bottom,
        margin={"l": 70, "r": 30, "t": top, "b": bottom},
        # Below the tick labels (and the axis title when there is one), whatever the plot's height.
        legend={
            "orientation": "h",
            "x": 0,
            "xanchor": "left",
            "y": -(60 if x_title else 36) / plot_px,
            "yanchor": "top",
        },
        hovermode=hovermode,
        hoverlabel={"namelength": -1},
    )


def _date_axis(figure: go.Figure, rows: pl.DataFrame) -> None:
    """Whole days on the x axis, padded by half a day so the first and last markers are not cut."""
    first, last = rows.get_column("eval_date").min(), rows.get_column("eval_date").max()
    if not isinstance(first, date) or not isinstance(last, date):
        return
    span = (last - first).days
    start = datetime.combine(first, datetime.min.time()) - timedelta(hours=12)
    end = datetime.combine(last, datetime.min.time()) + timedelta(hours=12)
    axis: dict[str, Any] = {
        "type": "date",
        "range": [start.isoformat(), end.isoformat()],
        "hoverformat": "%a %b %-d, %Y",
    }
    if span <= 90:
        # Left to itself plotly ticks a short span every few hours, printing the same day twice.
        axis |= {"tick0": first.isoformat(), "dtick": _DAY_MS * max(1, math.ceil(span / 10)), "tickformat": "%b %-d"}
    figure.update_xaxes(**axis)


# --- dashboard -----------------------------------------------------------------------------------

_DASHBOARD_CSS = """
:root { --fail: #b3261e; --fail-bg: #fdecea; --ok: #1e7e34; --ok-bg: #e8f5ec; --warn: #8a5300;
  --warn-bg: #fff4e0; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124;
  margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { margin-top: 2em; border-bottom: 1px solid var(--line); }
.sub { color: var(--muted); }
.u { unicode-bidi: isolate; overflow-wrap: anywhere; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f4;
  padding: 1px 4px; border-radius: 3px; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.verdict.ok { background: var(--ok-bg); color: var(--ok); }
.verdict.fail { background: var(--fail-bg); color: var(--fail); }
.verdict.warn { background: var(--warn-bg); color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; } td.num, th.num { text-align: right; white-space: nowrap; }
tr.fail td { background: var(--fail-bg); }
.fail-text { color: var(--fail); font-weight: 600; } .ok-text { color: var(--ok); }
.stale { color: var(--warn); font-size: .85em; }
.charts > div { margin: 16px 0 28px; }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(text: object) -> str:
    """Untrusted text for a table cell: cleaned to one line, escaped, direction-isolated."""
    return f'<span class="u" dir="ltr">{_esc(cell_text(None if text is None else str(text)))}</span>'


def _report_href(eval_date: object, config_name: str) -> str:
    # Each segment is quoted whole: "/" or ":" in a name cannot add a directory or a scheme.
    segments = (urllib.parse.quote(str(part), safe="", errors="replace") for part in (eval_date, config_name))
    return "/".join([*segments, "report.html"])


def _runs_summary(runs: pl.DataFrame) -> str:
    if runs.is_empty():
        return "No runs yet"
    newest = str(runs.get_column("eval_date").max())
    count = runs.height
    return f"{count} config{'s' if count != 1 else ''} · newest run {cell_text(newest)}"


def _gates_failed(row: dict[str, Any]) -> int | None:
    value = row.get("gates_failed")
    return None if value is None else int(value)


def _dashboard_verdict(runs: pl.DataFrame) -> str:
    if runs.is_empty() or "gates_failed" not in runs.columns:
        return ""
    counts = {row["config_name"]: _gates_failed(row) for row in runs.iter_rows(named=True)}
    failing = [name for name, failed in counts.items() if failed]
    unknown = [name for name, failed in counts.items() if failed is None]
    if failing:
        names = ", ".join(_cell(name) for name in failing)
        return f'<p class="verdict fail">{len(failing)} of {runs.height} configs fail quality gates: {names}.</p>'
    if unknown:
        names = ", ".join(_cell(name) for name in unknown)
        return f'<p class="verdict warn">No config fails its quality gates; results unknown for {names}.</p>'
    return f'<p class="verdict ok">Every config passes its quality gates ({runs.height} checked).</p>'


def _runs_table(runs: pl.DataFrame) -> str:
    with_gates = "gates_failed" in runs.columns
    newest = runs.get_column("eval_date").max()
    header = ["<th>Config</th>", "<th>Run date</th>", "<th>Model</th>", '<th class="num">Examples</th>']
    header += ['<th class="num">Errors</th>', '<th class="num">Cost</th>']
    header += ["<th>Quality gates</th>"] if with_gates else []
    rows = []
    for row in runs.iter_rows(named=True):
        failed = _gates_failed(row) if with_gates else None
        n_examples, n_errors = int(row["n_examples"]), int(row["n_errors"])
        errors = f"{n_errors:,}" + (f" ({n_errors / n_examples:.1%})" if n_examples else "")
        version = row["model_version"]
        stale = ' <span class="stale">not run on the newest date</span>' if row["eval_date"] != newest else ""
        cells = [
            f'<td><a href="{_esc(_report_href(row["eval_date"], row["config_name"]))}">'
            f"{_cell(row['config_name'])}</a></td>",
            f"<td>{_cell(row['eval_date'])}{stale}</td>",
            f'<td><code class="u" dir="ltr">{_esc(cell_text(row["model_id"]))}</code>'
            + (f'<br><span class="sub">version {_cell(version)}</span>' if version else "")
            + "</td>",
            f'<td class="num">{n_examples:,}</td>',
            f'<td class="num">{_esc(errors)}</td>',
            f'<td class="num">{_esc(format_value("cost_usd", row["cost_usd"]))}</td>',
        ]
        if with_gates:
            if failed is None:
                cells.append('<td class="sub">unknown</td>')
            elif failed:
                cells.append(f'<td class="fail-text">{failed:,} failed</td>')
            else:
                cells.append('<td class="ok-text">all pass</td>')
        css = ' class="fail"' if failed else ""
        rows.append(f"<tr{css}>" + "".join(cells) + "</tr>")
    return (
        "<table>\n<thead><tr>" + "".join(header) + "</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"
    )
