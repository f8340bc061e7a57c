"""The kappa trend chart of judges against people, for the report and the dashboard (pure)."""

from __future__ import annotations

import polars as pl

from eval_assets.reporting.chart_style import Figure, Style, Trace, date_axis, groups, label, layout, line, update_axes


def calibration_figure(history: pl.DataFrame) -> Figure | None:
    """Kappa of each judge against people per night (``calibration_history`` rows); None without any pair.

    With several configs (the dashboard) each line names its config too.
    """
    rows = history.filter(pl.col("kappa").is_not_null()) if not history.is_empty() else history
    if rows.is_empty():
        return None
    if "config_name" not in rows.columns:
        rows = rows.with_columns(config_name=pl.lit(""))
    rows = rows.with_columns(value=pl.col("kappa"))
    several = rows.get_column("config_name").n_unique() > 1  # the dashboard: name the config too
    keys = sorted(set(rows.select("config_name", "scorer", "judge_model").rows()))
    names = {key: " / ".join(key if several else key[1:]) for key in keys}
    style = Style(configs=sorted({k[0] for k in keys}), scorers=sorted(names.values()))
    traces: list[Trace] = []
    for key, group in groups(rows, "config_name", "scorer", "judge_model"):
        name = names[key]
        # label(): plotly reads HTML in names, and config, scorer and model names are untrusted text.
        traces.append(
            line(
                group,
                name=label(name),
                colour=style.scorer_colour(name),
                dash="solid",
                hover="κ %{y:.2f} on %{customdata:,} pairs",
            )
        )
    figure: Figure = {"data": traces, "layout": {}}
    layout(
        figure,
        title="Judges against people",
        subtitle="Weighted Cohen's kappa of each judge with people's decisions, per night. 1 is full agreement.",
        plot_px=240,
    )
    update_axes(figure, "y", {"title": {"text": "κ"}, "range": [-1.05, 1.05]})
    date_axis(figure, rows)
    return figure
