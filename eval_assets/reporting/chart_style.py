"""The charts' house style: colours, dashes, labels, lines, layout, panels and date axes (pure, plotly JSON).

Figures are plain plotly figure dicts (:class:`Figure`, the JSON plotly.js reads), not ``go.Figure``:
graph_objects validates every property as it is set, which cost ~0.35 s per report, nearly all the time
the charts took. ``eval_assets_tests/reporting/chart_golden.json`` pins the dicts to what the validated
figures serialised to (traces, axes, subplot domains, the expanded ``plotly_white`` template).

Names that reach a chart (config names, scorers, tags) are cleaned with
:mod:`eval_assets.reporting.sanitize` and HTML-escaped (:func:`label`): plotly interprets a subset of HTML
in labels (``<b>``, ``<span style>``, ``<a href>``) and decodes entities, so escaped text shows as typed.
"""

from __future__ import annotations

import functools
import html
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypedDict

import plotly.io as pio
import polars as pl
from plotly.io.json import to_json_plotly

from eval_assets.reporting.sanitize import cell_text

#: One trace as plotly.js reads it (``{"type": "scatter", "x": [...], ...}``).
Trace = dict[str, Any]


class Figure(TypedDict):
    """A plotly figure as plotly.js reads it; ``plotly.io.to_html(figure, validate=False)`` renders it."""

    data: list[Trace]
    layout: dict[str, Any]


#: Longest config, scorer or tag name shown in a chart before it is shortened.
LABEL_LIMIT = 48

# Tableau 10: distinct, print-friendly, and readable by most colour-blind readers.
PALETTE = (
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
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
_DAY_MS = 86_400_000
_AXIS = re.compile(r"[xy]axis\d*")


@dataclass(frozen=True)
class Style:
    """Colour per scorer (quality) or per config (operations); line dash per config."""

    configs: list[str]
    scorers: list[str]

    @property
    def multi(self) -> bool:
        return len(self.configs) > 1

    def scorer_colour(self, scorer: str) -> str:
        return PALETTE[self.scorers.index(scorer) % len(PALETTE)]

    def config_colour(self, config: str) -> str:
        return PALETTE[self.configs.index(config) % len(PALETTE)]

    def dash(self, config: str) -> str:
        return DASHES[self.configs.index(config) % len(DASHES)]

    def series_name(self, config: str, scorer: str) -> str:
        return f"{label(config)} · {label(scorer)}" if self.multi else label(scorer)


def label(text: str) -> str:
    # plotly decodes &lt; &gt; &amp; (and numeric entities) but shows &quot; as typed; with no "<" left
    # there is no tag for a quote to matter in.
    return html.escape(cell_text(text, limit=LABEL_LIMIT), quote=False)


def day(value: date) -> str:
    return f"{value:%b} {value.day}, {value.year}"


def line(rows: pl.DataFrame, *, name: str, colour: str, dash: str, hover: str, **extra: Any) -> Trace:
    return {
        "type": "scatter",
        "x": rows.get_column("eval_date").to_list(),
        "y": rows.get_column("value").to_list(),
        "customdata": rows.get_column("n").to_list(),
        "name": name,
        "mode": "lines+markers",
        "line": {"color": colour, "dash": dash, "width": 2},
        "marker": {"size": 7},
        "connectgaps": False,
        "hovertemplate": hover + "<extra>%{fullData.name}</extra>",
        **extra,
    }


def groups(rows: pl.DataFrame, *keys: str) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    """Rows split by ``keys``, in key order and each by date, so the same data gives the same figure."""
    parts = rows.partition_by(*keys, as_dict=True)
    return [(key, parts[key].sort("eval_date")) for key in sorted(parts)]


def panels(
    count: int, *, spacing: float, heights: Sequence[float] | None = None, titles: Sequence[str] | None = None
) -> Figure:
    """An empty figure of ``count`` panels stacked over one shared x axis, top to bottom.

    The layout ``make_subplots(rows=count, cols=1, shared_xaxes=True, row_heights=heights,
    vertical_spacing=spacing, subplot_titles=titles)`` gives, computed the same way (to the last bit of
    each domain): panel ``r`` (from 1) has axes ``xaxis<r>``/``yaxis<r>`` (``xaxis`` for 1), every x axis
    but the bottom one matches it and hides its tick labels. Put traces in a panel with :func:`in_panel`.
    """
    usable = 1.0 - spacing * (count - 1)
    if heights is None:
        sizes = [usable / count] * count
    else:
        total = float(sum(heights))
        sizes = list(reversed([usable * (h / total) for h in heights]))  # make_subplots sums them bottom up
    layout: dict[str, Any] = {}
    tops: list[float] = []
    for r, row in enumerate(range(count)[::-1]):
        bottom = sum(sizes[:row]) + row * spacing
        # Clamped to [0, 1] as make_subplots does: sums of floats can overshoot 1 by a rounding error.
        domain = [min(1.0, max(0.0, bottom)), min(1.0, max(0.0, bottom + sizes[-1 - r]))]
        n = _suffix(r + 1)
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [0.0, 1.0]}
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": domain}
        tops.append(domain[1])
    for r in range(1, count):
        layout[f"xaxis{_suffix(r)}"] |= {"matches": f"x{_suffix(count)}", "showticklabels": False}
    if titles:
        layout["annotations"] = [
            {
                "font": {"size": 16},
                "showarrow": False,
                "text": text,
                "x": 0.5,
                "xanchor": "center",
                "xref": "paper",
                "y": top,
                "yanchor": "bottom",
                "yref": "paper",
            }
            for text, top in zip(titles, tops, strict=True)
            if text
        ]
    return {"data": [], "layout": layout}


def in_panel(figure: Figure, trace: Trace, row: int) -> None:
    """Add ``trace`` to panel ``row`` (from 1) of a :func:`panels` figure."""
    n = _suffix(row)
    figure["data"].append(trace | {"xaxis": f"x{n}", "yaxis": f"y{n}"})


def update_axes(figure: Figure, letter: str, updates: dict[str, Any], *, row: int | None = None) -> None:
    """Merge ``updates`` into every ``letter`` axis (``"x"`` or ``"y"``), or only panel ``row``'s.

    Like ``go.Figure.update_xaxes``: nested dicts are merged, and a figure without panels has the one
    axis ``xaxis`` (``yaxis``).
    """
    layout = figure["layout"]
    if row is not None:
        names = [f"{letter}axis{_suffix(row)}"]
    else:
        names = [k for k in layout if _AXIS.fullmatch(k) and k.startswith(letter)] or [f"{letter}axis"]
    for name in names:
        _merge(layout.setdefault(name, {}), updates)


def layout(
    figure: Figure,
    *,
    title: str,
    subtitle: str,
    plot_px: int,
    hovermode: str = "x unified",
    x_title: bool = False,
) -> None:
    """House style; ``plot_px`` is the height of the plotting area, the legend goes just below it."""
    # Panel titles (subplot annotations) sit above their panel: the first one needs room under the subtitle.
    annotations = figure["layout"].get("annotations", [])
    top, bottom = (118 if annotations else 90), 90
    for annotation in annotations:
        _merge(annotation, {"x": 0, "xanchor": "left", "font": {"size": 14}})
    _merge(
        figure["layout"],
        {
            "template": _template(),
            "title": {"text": f"<b>{title}</b>", "subtitle": {"text": subtitle}, "x": 0, "xanchor": "left"},
            "font": {"family": _FONT, "size": 13, "color": "#202124"},
            "height": plot_px + top + bottom,
            "margin": {"l": 70, "r": 30, "t": top, "b": bottom},
            # Below the tick labels (and the axis title when there is one), whatever the plot's height.
            "legend": {
                "orientation": "h",
                "x": 0,
                "xanchor": "left",
                "y": -(60 if x_title else 36) / plot_px,
                "yanchor": "top",
            },
            "hovermode": hovermode,
            "hoverlabel": {"namelength": -1},
        },
    )


def date_axis(figure: Figure, rows: pl.DataFrame) -> None:
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
    update_axes(figure, "x", axis)


def _suffix(row: int) -> str:
    # Panels have one column, so row r owns the r-th x and y axis; plotly names the first without a number.
    return str(row) if row > 1 else ""


def _merge(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _template() -> dict[str, Any]:
    """plotly's ``plotly_white`` template, expanded as ``go.Figure`` serialises it (a fresh copy each time)."""
    template: dict[str, Any] = json.loads(_template_json())
    return template


@functools.cache
def _template_json() -> str:
    text: str = to_json_plotly(pio.templates["plotly_white"])
    return text
