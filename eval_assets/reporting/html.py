"""The run report as one self-contained HTML page (pure).

Every string from :class:`ReportData` is untrusted: it is cleaned (:mod:`eval_assets.reporting.sanitize`)
then passed through ``html.escape(..., quote=True)`` before it reaches the page, and shown in
``dir="ltr"`` elements whose CSS isolates their bidi direction (see :mod:`eval_assets.reporting.page`).
The page loads nothing from the network and carries a Content-Security-Policy; the only scripts it can
hold are the trusted ``charts_html`` (plotly figures) and the shared copy of plotly.js they load from a
file beside the runs folder. Examples are laid out by :mod:`eval_assets.reporting.html_examples`.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

from eval_assets.reporting.format import (
    COMPARISON_HEADER,
    COMPARISON_NUMERIC,
    comparison_cells,
    comparison_status,
    cost_note,
    delta_direction,
    format_cost,
    format_delta,
    format_value,
    gate_verdict,
    regression_summary,
)
from eval_assets.reporting.html_examples import (
    OPEN_FLIPS,
    Ids,
    all_outputs_section,
    flips_section,
    pages_section,
    worst_section,
)
from eval_assets.reporting.model import ComparisonLine, ExampleLine, GateLine, MetricLine, ReportData
from eval_assets.reporting.page import (
    CONTENT_SECURITY_POLICY,
    code,
    esc,
    html_page,
    relative_href,
    status_class,
    table,
    text,
)
from eval_assets.reporting.people import html_section as people_html
from eval_assets.reporting.sanitize import LIST_LIMIT, cell_text
from eval_assets.reporting.stability import stability_html
from eval_assets.scoring.regressions import gated_regressions

__all__ = ["CONTENT_SECURITY_POLICY", "OPEN_FLIPS", "html_page", "render_html"]


def render_html(report: ReportData, *, charts_html: str = "", all_examples: list[ExampleLine] | None = None) -> str:
    """The whole report as a standalone HTML5 page.

    Args:
        report: What to show; all of its text is treated as untrusted.
        charts_html: Trusted HTML (plotly output) placed as is in a "Trends" section; omitted if empty.
        all_examples: Every example of the run, listed under "All outputs" so that links from the
            worst examples land on the full entry; None leaves the section out, or lists
            ``report.example_pages`` (a large run's examples on pages of their own) when there are any.

    Returns:
        The page. Each untrusted block is shortened, so its size is bounded by the number of examples
        listed in it, not by the size of the outputs.
    """
    summary = report.summary
    title = f"Eval report — {cell_text(summary.config_name)} — {cell_text(summary.eval_date)}"
    ids = Ids()
    if all_examples is not None:
        everything = all_outputs_section(all_examples, ids)
    else:
        everything = pages_section(report.example_pages) if report.example_pages else ""
    body = [
        _header(report),
        stability_html(report.stability),  # as in Markdown: newly broken examples are what a reader sees first
        _changes(report),
        _cards(report),
        _run_details(report),
        _notes(report.notes),
        _gates(report.gates),
        _metrics_section("metrics", "Metrics", report.metrics, with_tag=False),
        _regression(report),
        flips_section(report, all_examples, ids),
        people_html(report.review, report.calibration),
        _metrics_section("by-tag", "By tag", report.tag_metrics, with_tag=True),
        f'<section id="trends"><h2>Trends</h2>\n{charts_html}\n</section>' if charts_html else "",
        worst_section(report, all_examples, ids),
        everything,
        _footer(report),
    ]
    return html_page(title=title, body=body)


def _footer(report: ReportData) -> str:
    parts = [
        "<footer><p>Untrusted text (inputs, outputs, references, ids) is escaped and shortened here; "
        f'the full raw outputs are in <a href="{relative_href(report.outputs_file)}">'
        f"{esc(cell_text(report.outputs_file))}</a>.</p>"
    ]
    if report.dagster_run_url:
        parts.append(
            f'<p>Dagster run: <a href="{_absolute_href(report.dagster_run_url)}">{code(report.summary.run_id)}</a></p>'
        )
    return "".join(parts) + "</footer>"


def _absolute_href(url: str) -> str:
    # Configured http(s) URLs only (settings check them); quoted so no attribute or scheme trick survives.
    return esc(urllib.parse.quote(url, safe=":/?#[]@!$&'*+,;=%~-._"))


def _header(report: ReportData) -> str:
    s = report.summary
    version = code(s.model_version) if s.model_version else "not reported"
    parts = [
        "<header>",
        f"<h1>Eval report — {text(s.config_name)} — {text(s.eval_date)}</h1>",
        f'<p class="sub">Model {code(s.model_id)} · reported version {version}</p>',
    ]
    if s.description.strip():
        parts.append(f'<p class="sub">{text(s.description, limit=LIST_LIMIT)}</p>')
    if s.simulated:
        parts.append(
            '<p class="simulator"><span class="badge sim">SIMULATOR</span> The model under test is the '
            "built-in offline simulator: these numbers exercise the pipeline and say nothing about "
            "a real model.</p>"
        )
    parts += [f'<p class="alert">🛑 {text(alert, limit=LIST_LIMIT)}</p>' for alert in report.alerts]
    parts += [_verdict(report.gates), _regression_verdict(report.comparisons), "</header>"]
    return "\n".join(part for part in parts if part)


def _verdict(gates: Sequence[GateLine]) -> str:
    errors = sum(1 for g in gates if not g.passed and g.severity != "warn")
    warnings = sum(1 for g in gates if not g.passed and g.severity == "warn")
    if not gates:
        return '<p class="verdict warn">No quality gates are configured.</p>'
    if errors:
        return (
            f'<p class="verdict fail">{errors} of {len(gates)} quality gates failed'
            f"{f' and {warnings} warned' if warnings else ''}.</p>"
        )
    if warnings:
        return f'<p class="verdict warn">Blocking gates pass; {warnings} of {len(gates)} gates warned.</p>'
    return f'<p class="verdict ok">All {len(gates)} quality gates pass.</p>'


def _regression_verdict(comparisons: Sequence[ComparisonLine]) -> str:
    failing = gated_regressions(comparisons)
    if not failing:
        return ""
    drops = "; ".join(esc(regression_summary(c)) for c in failing)
    return (
        f'<p class="verdict fail"><span class="u" dir="ltr">Regression vs baseline: {drops}</span> '
        '(<a href="#regression">details</a>)</p>'
    )


def _card(label: str, value: str, sub: str = "") -> str:
    sub_html = f'<div class="sub">{sub}</div>' if sub else ""
    return f'<div class="card"><div class="label">{label}</div><div class="value">{value}</div>{sub_html}</div>'


def _baseline(report: ReportData) -> str | None:
    # The label ("candidate 2026-11-06") names the config too; older reports only have the date.
    return report.baseline_label or report.summary.baseline_date


def _cards(report: ReportData) -> str:
    s, gates = report.summary, report.gates
    rate = s.error_rate
    # The amount on the card, what qualifies it (partial, no price for ...) under it.
    cost = s.cost
    amount = format_value("cost_usd", cost.usd) if cost.state != "unknown" else "unknown"
    label = _baseline(report)
    baseline = text(label) if label else "none"
    failed = sum(1 for g in gates if not g.passed)
    return "\n".join(
        [
            '<section class="cards" id="summary">',
            _card("Examples", f"{s.n_examples:,}"),
            _card("Error rate", esc(format_value("error_rate", rate)), f"{s.n_errors:,} errors"),
            _card("Cost", esc(amount), text(cost_note(cost), limit=LIST_LIMIT) if cost_note(cost) else ""),
            _card("Baseline", baseline, "" if label else "first run"),
            _card("Gates failed", f"{failed} / {len(gates)}"),
            "</section>",
        ]
    )


def _hashes(hashes: dict[str, str]) -> str:
    if not hashes:
        return "none"
    return "<br>".join(f"{text(name)} {code(value)}" for name, value in sorted(hashes.items()))


def _changes(report: ReportData) -> str:
    """What differs from the baseline, first thing under the header."""
    if report.changes is None:
        return ""
    title = '<section id="changes"><h2>What changed since the baseline</h2>'
    if not report.changes:
        return (
            f"{title}<p>Nothing: same model and version, system prompt, sampling parameters, datasets, rubrics, "
            "judges, scorers and code as the baseline.</p></section>"
        )
    rows = "\n".join(
        f"<tr><td>{text(c.factor)}</td><td>{_factor(c.before)}</td><td>{_factor(c.after)}</td></tr>"
        for c in report.changes
    )
    head = "<thead><tr><th>Factor</th><th>Baseline</th><th>Now</th></tr></thead>"
    return f"{title}<table>{head}<tbody>\n{rows}\n</tbody></table></section>"


def _factor(value: str | None) -> str:
    return code(value) if value is not None else "(none)"


def _why(reason: str | None) -> str:
    return f" ({text(reason, limit=LIST_LIMIT)})" if reason else ""


def _run_details(report: ReportData) -> str:
    s, baseline = report.summary, _baseline(report)
    rows = [
        (
            "Model",
            f"{code(s.model_id)} (reported version: {code(s.model_version) if s.model_version else 'not reported'})",
        ),
        ("Run id", code(s.run_id)),
        ("Git SHA", code(s.git_sha)),
        ("Config hash", code(s.config_hash)),
        ("Dataset hashes", _hashes(s.dataset_hashes)),
        ("Rubric hashes", _hashes(s.prompt_hashes)),
        *([("Reproducibility inputs", _hashes(s.reproducibility))] if s.reproducibility else []),
        (
            "Baseline",
            (text(baseline) if baseline else "none")
            + (_why(report.baseline_reason) if baseline or report.baseline_reason else " (first run)"),
        ),
        ("Examples / errors", f"{s.n_examples:,} / {s.n_errors:,}"),
    ]
    body = "\n".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    table = f'<table class="kv"><tbody>\n{body}\n</tbody></table>'
    return f"<details><summary>Run details</summary>\n{table}\n</details>"


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "\n".join(f"<li>{text(n, limit=LIST_LIMIT)}</li>" for n in notes)
    return f'<section id="notes"><h2>Notes</h2><ul>\n{items}\n</ul></section>'


def _gates(gates: Sequence[GateLine]) -> str:
    if not gates:
        return '<section id="gates"><h2>Quality gates</h2><p>No quality gates configured.</p></section>'
    rows = [
        f'<tr class="{status_class(g.severity, not g.passed)}"><td>{code(g.name)}</td>'
        f"<td>{text(g.description)}</td><td>{text(g.severity)}</td>"
        f"<td>{esc(gate_verdict(g.severity, g.passed))}</td>"
        f"<td>{text(g.detail, limit=LIST_LIMIT)}</td></tr>"
        for g in gates
    ]
    header = [("Check", False), ("Gate", False), ("Severity", False), ("Result", False), ("Detail", False)]
    return f'<section id="gates"><h2>Quality gates</h2>\n{table(header, rows)}\n</section>'


def _metric_row(line: MetricLine, *, with_tag: bool, gated: bool) -> str:
    status = status_class(line.gate_severity, line.gate_failed)
    direction = delta_direction(line)
    cells = [f"<td>{text(line.tag)}</td>"] if with_tag else []
    cells += [
        f"<td>{code(line.metric)}</td>",
        f'<td class="num">{esc(format_value(line.metric, line.previous))}</td>',
        f'<td class="num">{esc(_current(line))}</td>',
        f'<td class="num delta {direction}">{esc(format_delta(line.metric, line.delta))}</td>',
    ]
    if with_tag:
        cells.append(f'<td class="num">{line.n:,}</td>')
    if gated:
        gate = (
            ""
            if line.threshold is None
            else (f"{text(line.threshold)} {esc(gate_verdict(line.gate_severity, not line.gate_failed))}")
        )
        cells.append(f"<td>{gate}</td>")
    return f'<tr class="{status}">' + "".join(cells) + "</tr>"


def _current(line: MetricLine) -> str:
    current = format_cost(line.cost) if line.cost is not None else format_value(line.metric, line.current)
    return f"{current} ({line.human_labelled:,} human-labelled)" if line.human_labelled else current


def _metrics_section(section_id: str, title: str, lines: Sequence[MetricLine], *, with_tag: bool) -> str:
    if not lines:
        return "" if with_tag else f'<section id="{section_id}"><h2>{title}</h2><p>No metrics.</p></section>'
    gated = any(line.threshold is not None for line in lines)
    header = [("Tag", False)] if with_tag else []
    header += [("Metric", False), ("Prev", True), ("Current", True), ("Delta", True)]
    header += [("n", True)] if with_tag else []
    header += [("Gate", False)] if gated else []
    rows = [_metric_row(line, with_tag=with_tag, gated=gated) for line in lines]
    return f'<section id="{section_id}"><h2>{title}</h2>\n{table(header, rows)}\n</section>'


_DELTA_COLUMN = COMPARISON_HEADER.index("Delta")


def _change_direction(delta: float | None) -> str:
    # Pass rates and judge scores: higher is better.
    if delta is None:
        return "unknown"
    if delta == 0:
        return "same"
    return "better" if delta > 0 else "worse"


def _comparison_row(line: ComparisonLine, *, with_tag: bool) -> str:
    cells = [f"<td>{text(line.tag)}</td>"] if with_tag else []
    cells.append(f"<td>{code(line.scorer)}</td>")
    for column, value in enumerate(comparison_cells(line), start=1):
        classes = ["num"] if COMPARISON_NUMERIC[column] else []
        if column == _DELTA_COLUMN:
            classes += ["delta", _change_direction(line.delta)]
        attribute = f' class="{" ".join(classes)}"' if classes else ""
        cells.append(f"<td{attribute}>{esc(value)}</td>")
    return f'<tr class="{comparison_status(line)}">' + "".join(cells) + "</tr>"


def _comparison_table(lines: Sequence[ComparisonLine], *, with_tag: bool) -> str:
    header = [("Tag", False)] if with_tag else []
    header += [(esc(h), num) for h, num in zip(COMPARISON_HEADER, COMPARISON_NUMERIC, strict=True)]
    return table(header, [_comparison_row(line, with_tag=with_tag) for line in lines])


def _regression(report: ReportData) -> str:
    title = '<section id="regression"><h2>Regression vs baseline</h2>'
    if not report.comparisons:
        if report.baseline_label is None:
            return f"{title}<p>No baseline yet: this is the first run of this config.</p></section>"
        return f"{title}<p>No comparable examples. Baseline: {text(report.baseline_label)}.</p></section>"
    baseline = text(report.baseline_label) if report.baseline_label else "the baseline run"
    parts = [
        title,
        f"<p>Compared example by example with {baseline} (same examples in both runs). A regression is a drop "
        "larger than the configured minimum effect and significant at the configured level; only gated "
        "scorers (❌) fail the regression gate.</p>",
    ]
    overall = [c for c in report.comparisons if c.tag is None]
    if overall:
        parts.append(_comparison_table(overall, with_tag=False))
    dropped = [c for c in report.comparisons if c.tag is not None and c.regression]
    if dropped:
        parts += ["<h3>Significant drops by tag</h3>", _comparison_table(dropped, with_tag=True)]
    parts.append("</section>")
    return "\n".join(parts)
