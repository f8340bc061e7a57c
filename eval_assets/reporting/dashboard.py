"""The cross-config dashboard page: the latest run of each config, then their trends (pure)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from eval_assets.reporting.chart_style import Figure
from eval_assets.reporting.charts import figures_html, trend_figures
from eval_assets.reporting.folder import RunsFolder
from eval_assets.reporting.format import format_cost, format_value
from eval_assets.reporting.model import Cost, error_share
from eval_assets.reporting.page import html_page
from eval_assets.reporting.sanitize import cell_text


def render_dashboard(
    history: pl.DataFrame,
    *,
    latest_runs: pl.DataFrame,
    generated_at: str,
    plotly_src: str | None = None,
    extra_figures: Sequence[Figure] = (),
) -> str:
    """One standalone HTML page across configs: the latest run of each, then their trends.

    Args:
        history: Rows of the ``metrics`` table of every config (see :func:`.charts.trend_figures`).
        latest_runs: One row per config with ``eval_date``, ``config_name``, ``model_id``,
            ``model_version``, ``n_examples``, ``n_errors``, ``cost_usd`` and optionally
            ``gates_failed`` (the number of failed quality gates), ``priced_calls`` and ``cost_calls``
            (answered calls with a price, and in all: a cost with unpriced calls says so), and ``calls`` (model
            calls, repeats included: the errors' share is of calls).
        generated_at: When the page was made, shown as is.
        plotly_src: Relative URL of the shared plotly.js (see :func:`~eval_assets.reporting.charts.figures_html`);
            None inlines it.
        extra_figures: Charts placed after the metric trends (e.g. judges against people).

    Returns:
        The page, linking each config to its report (:attr:`RunFolder.report_href`).
    """
    runs = latest_runs.sort("config_name") if not latest_runs.is_empty() else latest_runs
    charts = figures_html([*trend_figures(history), *extra_figures], plotly_src=plotly_src)
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
    return html_page(title="Eval dashboard", body=body)


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _cell(text: object) -> str:
    """Untrusted text for a table cell: cleaned to one line, escaped, direction-isolated."""
    return f'<span class="u" dir="ltr">{_esc(cell_text(None if text is None else str(text)))}</span>'


def _report_href(eval_date: object, config_name: str) -> str:
    return RunsFolder(Path()).run(eval_date, config_name).report_href


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
        share = error_share(n_errors, calls=row.get("calls"), examples=n_examples)
        errors = f"{n_errors:,}" + (f" ({share:.1%})" if share is not None else "")
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
            f'<td class="num">{_esc(_cost(row))}</td>',
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
        '<table class="runs">\n<thead><tr>'
        + "".join(header)
        + "</tr></thead>\n<tbody>\n"
        + "\n".join(rows)
        + "\n</tbody></table>"
    )


def _cost(row: dict[str, Any]) -> str:
    if "priced_calls" not in row or row.get("priced_calls") is None:
        return format_value("cost_usd", row["cost_usd"])  # how much is priced is not known: the amount alone
    calls = row.get("cost_calls")
    return format_cost(Cost(row["cost_usd"], int(row["priced_calls"]), int(calls) if calls is not None else None))
