"""The charts' house style: colours, dashes, labels, lines, layout and date axes (pure, plotly).

Names that reach a chart (config names, scorers, tags) are cleaned with
:mod:`eval_assets.reporting.sanitize` and HTML-escaped (:func:`label`): plotly interprets a subset of HTML
in labels (``<b>``, ``<span style>``, ``<a href>``) and decodes entities, so escaped text shows as typed.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import plotly.graph_objects as go
import polars as pl

from eval_assets.reporting.sanitize import cell_text

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
_FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
_DAY_MS = 86_400_000


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


def line(rows: pl.DataFrame, *, name: str, colour: str, dash: str, hover: str, **extra: Any) -> go.Scatter:
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


def groups(rows: pl.DataFrame, *keys: str) -> list[tuple[tuple[Any, ...], pl.DataFrame]]:
    """Rows split by ``keys``, in key order and each by date, so the same data gives the same figure."""
    parts = rows.partition_by(*keys, as_dict=True)
    return [(key, parts[key].sort("eval_date")) for key in sorted(parts)]


def layout(
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


def date_axis(figure: go.Figure, rows: pl.DataFrame) -> None:
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
