"""The run report as one self-contained HTML page (pure).

Every string from :class:`ReportData` is untrusted: it is cleaned (:mod:`eval_assets.reporting.sanitize`)
then passed through ``html.escape(..., quote=True)`` before it reaches the page, and shown in
``dir="ltr"`` elements whose CSS isolates their bidi direction. The page loads nothing from the
network and carries a Content-Security-Policy; the only script it can hold is the trusted
``charts_html`` (embedded plotly), which is why ``script-src`` allows inline scripts.
"""

from __future__ import annotations

import html
import urllib.parse
from collections.abc import Iterable, Sequence

from eval_assets.reporting.markdown import (
    COMPARISON_HEADER,
    COMPARISON_NUMERIC,
    MAX_FLIPS_SHOWN,
    MISSING,
    comparison_cells,
    comparison_status,
    delta_direction,
    flips_by_direction,
    format_delta,
    format_value,
    gate_verdict,
    gated_regressions,
    regression_summary,
)
from eval_assets.reporting.model import ComparisonLine, ExampleLine, FlipLine, GateLine, MetricLine, ReportData
from eval_assets.reporting.sanitize import CELL_LIMIT, LIST_LIMIT, anchor_id, cell_text, clean_text

#: No network, no plugins, no forms; inline script only for the embedded charts (content is escaped).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'; "
    "base-uri 'none'; form-action 'none'"
)
#: Length of each untrusted block of a worst example (collapsed by default, so it can be longer).
WORST_BLOCK_LIMIT = 2_000
#: Length of each untrusted block in "All outputs", which lists every example of the run.
ALL_BLOCK_LIMIT = 1_000
#: Length of the one-line output preview shown above a collapsed example.
PREVIEW_LIMIT = 160
#: Pass -> fail flips shown expanded; the rest start collapsed.
OPEN_FLIPS = 5

_CSS = """
:root { --fail: #b3261e; --fail-bg: #fdecea; --warn: #8a5300; --warn-bg: #fff4e0; --ok: #1e7e34;
  --ok-bg: #e8f5ec; --muted: #5f6368; --line: #dadce0; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #202124;
  margin: 0 auto; max-width: 1100px; padding: 24px; }
h1 { font-size: 1.6em; margin: 0 0 4px; } h2 { margin-top: 2em; border-bottom: 1px solid var(--line); }
h3 { margin: 0 0 4px; font-size: 1.05em; } h4 { margin: 12px 0 4px; font-size: .9em; color: var(--muted); }
.sub, .meta, footer { color: var(--muted); }
.u { unicode-bidi: isolate; overflow-wrap: anywhere; }
code { font: .9em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #f1f3f4;
  padding: 1px 4px; border-radius: 3px; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f9fa; border: 1px solid var(--line);
  border-radius: 4px; padding: 8px; margin: 0; max-height: 24em; overflow: auto;
  font: .85em/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 12px; font-weight: 700; font-size: .85em; }
.badge.sim { background: #5e35b1; color: #fff; }
.simulator { background: #ede7f6; border-left: 4px solid #5e35b1; padding: 8px 12px; }
.alert { background: #fdecea; border-left: 4px solid #c62828; padding: 8px 12px; font-weight: 600; }
.verdict { padding: 10px 14px; border-radius: 6px; font-weight: 600; }
.verdict.ok { background: var(--ok-bg); color: var(--ok); }
.verdict.fail { background: var(--fail-bg); color: var(--fail); }
.verdict.warn { background: var(--warn-bg); color: var(--warn); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 12px;
  margin: 16px 0; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px; }
.card .label { color: var(--muted); font-size: .85em; } .card .value { font-size: 1.5em; font-weight: 600; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; }
th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
th { background: #f8f9fa; } td.num, th.num { text-align: right; white-space: nowrap; }
tr.fail td { background: var(--fail-bg); color: var(--fail); font-weight: 600; }
tr.warn td { background: var(--warn-bg); color: var(--warn); }
.better { color: var(--ok); } .worse { color: var(--fail); } .same, .unknown { color: var(--muted); }
.kv th { width: 180px; background: none; color: var(--muted); font-weight: 500; }
.example { border: 1px solid var(--line); border-radius: 8px; padding: 12px; margin: 12px 0; }
.example:target { outline: 3px solid #1a73e8; }
.pill { font-size: .75em; padding: 1px 8px; border-radius: 10px; vertical-align: middle; }
.pill.fail { background: var(--fail-bg); color: var(--fail); }
.pill.pass { background: var(--ok-bg); color: var(--ok); }
.pill.error, .pill.unscored { background: var(--warn-bg); color: var(--warn); }
.preview { margin: 4px 0; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  font-size: .85em; }
summary { cursor: pointer; color: #1a73e8; }
/* Names wrap between words only (a very long one scrolls the section); long headers may wrap. */
#regression { overflow-x: auto; } #regression .u { overflow-wrap: break-word; }
#regression th.num { white-space: normal; }
.sxs { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
@media (max-width: 700px) { .sxs { grid-template-columns: minmax(0, 1fr); } }
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _text(text: str | None, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text, cleaned to one line, escaped and direction-isolated."""
    return f'<span class="u" dir="ltr">{_esc(cell_text(text, limit=limit))}</span>'


def _code(text: str | None, *, limit: int = CELL_LIMIT) -> str:
    return f'<code class="u" dir="ltr">{_esc(cell_text(text, limit=limit))}</code>'


def _pre(text: str, *, limit: int) -> str:
    return f'<pre class="u" dir="ltr">{_esc(clean_text(text, limit=limit))}</pre>'


def render_html(report: ReportData, *, charts_html: str = "", all_examples: list[ExampleLine] | None = None) -> str:
    """The whole report as a standalone HTML5 page.

    Args:
        report: What to show; all of its text is treated as untrusted.
        charts_html: Trusted HTML (plotly output) placed as is in a "Trends" section; omitted if empty.
        all_examples: Every example of the run, listed under "All outputs" so that links from the
            worst examples land on the full entry; None leaves the section out.

    Returns:
        The page. Each untrusted block is shortened, so its size is bounded by the number of examples,
        not by the size of the outputs.
    """
    summary = report.summary
    title = f"Eval report — {cell_text(summary.config_name)} — {cell_text(summary.eval_date)}"
    ids = _Ids()
    body = [
        _header(report),
        _cards(report),
        _run_details(report),
        _notes(report.notes),
        _gates(report.gates),
        _metrics_section("metrics", "Metrics", report.metrics, with_tag=False),
        _regression(report),
        _flips(report.flips, all_examples, ids),
        _metrics_section("by-tag", "By tag", report.tag_metrics, with_tag=True),
        f'<section id="trends"><h2>Trends</h2>\n{charts_html}\n</section>' if charts_html else "",
        _worst(report.worst, all_examples, ids),
        _all_outputs(all_examples, ids) if all_examples is not None else "",
        "<footer><p>Untrusted text (inputs, outputs, references, ids) is escaped and shortened here; "
        f'the full raw outputs are in <a href="{_esc(_relative_href(report.outputs_file))}">'
        f"{_esc(cell_text(report.outputs_file))}</a>.</p></footer>",
    ]
    return html_page(title=title, css=_CSS, body=body)


def html_page(*, title: str, css: str, body: Sequence[str]) -> str:
    """A self-contained page under our Content-Security-Policy: the one shell every HTML output uses."""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en" dir="ltr">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_esc(title)}</title>",
            f"<style>{css}</style>",
            "</head>",
            "<body>",
            *(part for part in body if part),
            "</body>",
            "</html>",
            "",
        ]
    )


def _relative_href(path: str) -> str:
    # Percent-encoding ":" means no scheme (javascript:, http:) can survive: the link stays relative.
    return urllib.parse.quote(cell_text(path), safe="/")


def _header(report: ReportData) -> str:
    s = report.summary
    version = _code(s.model_version) if s.model_version else "not reported"
    parts = [
        "<header>",
        f"<h1>Eval report — {_text(s.config_name)} — {_text(s.eval_date)}</h1>",
        f'<p class="sub">Model {_code(s.model_id)} · reported version {version}</p>',
    ]
    if s.description.strip():
        parts.append(f'<p class="sub">{_text(s.description, limit=LIST_LIMIT)}</p>')
    if s.simulated:
        parts.append(
            '<p class="simulator"><span class="badge sim">SIMULATOR</span> The model under test is the '
            "built-in offline simulator: these numbers exercise the pipeline and say nothing about "
            "a real model.</p>"
        )
    parts += [f'<p class="alert">🛑 {_text(alert, limit=LIST_LIMIT)}</p>' for alert in report.alerts]
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
    drops = "; ".join(_esc(regression_summary(c)) for c in failing)
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
    rate = s.n_errors / s.n_examples if s.n_examples else None
    cost = _esc(format_value("cost_usd", s.cost_usd)) if s.cost_usd is not None else "unknown"
    label = _baseline(report)
    baseline = _text(label) if label else "none"
    failed = sum(1 for g in gates if not g.passed)
    return "\n".join(
        [
            '<section class="cards" id="summary">',
            _card("Examples", f"{s.n_examples:,}"),
            _card("Error rate", _esc(format_value("error_rate", rate)), f"{s.n_errors:,} errors"),
            _card("Cost", cost),
            _card("Baseline", baseline, "" if label else "first run"),
            _card("Gates failed", f"{failed} / {len(gates)}"),
            "</section>",
        ]
    )


def _hashes(hashes: dict[str, str]) -> str:
    if not hashes:
        return "none"
    return "<br>".join(f"{_text(name)} {_code(value)}" for name, value in sorted(hashes.items()))


def _run_details(report: ReportData) -> str:
    s, baseline = report.summary, _baseline(report)
    rows = [
        (
            "Model",
            f"{_code(s.model_id)} (reported version: {_code(s.model_version) if s.model_version else 'not reported'})",
        ),
        ("Run id", _code(s.run_id)),
        ("Git SHA", _code(s.git_sha)),
        ("Config hash", _code(s.config_hash)),
        ("Dataset hashes", _hashes(s.dataset_hashes)),
        ("Rubric hashes", _hashes(s.prompt_hashes)),
        ("Baseline", _text(baseline) if baseline else "none (first run)"),
        ("Examples / errors", f"{s.n_examples:,} / {s.n_errors:,}"),
    ]
    body = "\n".join(f"<tr><th>{label}</th><td>{value}</td></tr>" for label, value in rows)
    table = f'<table class="kv"><tbody>\n{body}\n</tbody></table>'
    return f"<details><summary>Run details</summary>\n{table}\n</details>"


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    items = "\n".join(f"<li>{_text(n, limit=LIST_LIMIT)}</li>" for n in notes)
    return f'<section id="notes"><h2>Notes</h2><ul>\n{items}\n</ul></section>'


def _table(header: Iterable[tuple[str, bool]], rows: Iterable[str]) -> str:
    head = "".join(f'<th class="num">{h}</th>' if num else f"<th>{h}</th>" for h, num in header)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def _status_class(severity: str | None, failed: bool) -> str:
    if not failed:
        return "pass"
    return "warn" if severity == "warn" else "fail"


def _gates(gates: Sequence[GateLine]) -> str:
    if not gates:
        return '<section id="gates"><h2>Quality gates</h2><p>No quality gates configured.</p></section>'
    rows = [
        f'<tr class="{_status_class(g.severity, not g.passed)}"><td>{_code(g.name)}</td>'
        f"<td>{_text(g.description)}</td><td>{_text(g.severity)}</td>"
        f"<td>{_esc(gate_verdict(g.severity, g.passed))}</td>"
        f"<td>{_text(g.detail, limit=LIST_LIMIT)}</td></tr>"
        for g in gates
    ]
    header = [("Check", False), ("Gate", False), ("Severity", False), ("Result", False), ("Detail", False)]
    return f'<section id="gates"><h2>Quality gates</h2>\n{_table(header, rows)}\n</section>'


def _metric_row(line: MetricLine, *, with_tag: bool, gated: bool) -> str:
    status = _status_class(line.gate_severity, line.gate_failed)
    direction = delta_direction(line)
    cells = [f"<td>{_text(line.tag)}</td>"] if with_tag else []
    cells += [
        f"<td>{_code(line.metric)}</td>",
        f'<td class="num">{_esc(format_value(line.metric, line.previous))}</td>',
        f'<td class="num">{_esc(format_value(line.metric, line.current))}</td>',
        f'<td class="num delta {direction}">{_esc(format_delta(line.metric, line.delta))}</td>',
    ]
    if with_tag:
        cells.append(f'<td class="num">{line.n:,}</td>')
    if gated:
        gate = (
            ""
            if line.threshold is None
            else (f"{_text(line.threshold)} {_esc(gate_verdict(line.gate_severity, not line.gate_failed))}")
        )
        cells.append(f"<td>{gate}</td>")
    return f'<tr class="{status}">' + "".join(cells) + "</tr>"


def _metrics_section(section_id: str, title: str, lines: Sequence[MetricLine], *, with_tag: bool) -> str:
    if not lines:
        return "" if with_tag else f'<section id="{section_id}"><h2>{title}</h2><p>No metrics.</p></section>'
    gated = any(line.threshold is not None for line in lines)
    header = [("Tag", False)] if with_tag else []
    header += [("Metric", False), ("Prev", True), ("Current", True), ("Delta", True)]
    header += [("n", True)] if with_tag else []
    header += [("Gate", False)] if gated else []
    rows = [_metric_row(line, with_tag=with_tag, gated=gated) for line in lines]
    return f'<section id="{section_id}"><h2>{title}</h2>\n{_table(header, rows)}\n</section>'


_DELTA_COLUMN = COMPARISON_HEADER.index("Delta")


def _change_direction(delta: float | None) -> str:
    # Pass rates and judge scores: higher is better.
    if delta is None:
        return "unknown"
    if delta == 0:
        return "same"
    return "better" if delta > 0 else "worse"


def _comparison_row(line: ComparisonLine, *, with_tag: bool) -> str:
    cells = [f"<td>{_text(line.tag)}</td>"] if with_tag else []
    cells.append(f"<td>{_code(line.scorer)}</td>")
    for column, value in enumerate(comparison_cells(line), start=1):
        classes = ["num"] if COMPARISON_NUMERIC[column] else []
        if column == _DELTA_COLUMN:
            classes += ["delta", _change_direction(line.delta)]
        attribute = f' class="{" ".join(classes)}"' if classes else ""
        cells.append(f"<td{attribute}>{_esc(value)}</td>")
    return f'<tr class="{comparison_status(line)}">' + "".join(cells) + "</tr>"


def _comparison_table(lines: Sequence[ComparisonLine], *, with_tag: bool) -> str:
    header = [("Tag", False)] if with_tag else []
    header += [(_esc(h), num) for h, num in zip(COMPARISON_HEADER, COMPARISON_NUMERIC, strict=True)]
    return _table(header, [_comparison_row(line, with_tag=with_tag) for line in lines])


def _regression(report: ReportData) -> str:
    title = '<section id="regression"><h2>Regression vs baseline</h2>'
    if not report.comparisons:
        if report.baseline_label is None:
            return f"{title}<p>No baseline yet: this is the first run of this config.</p></section>"
        return f"{title}<p>No comparable examples. Baseline: {_text(report.baseline_label)}.</p></section>"
    baseline = _text(report.baseline_label) if report.baseline_label else "the baseline run"
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


class _Ids:
    """Hands out each HTML id once: the same example can appear under several scorers."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            # anchor_id never emits ".", so a suffixed id cannot collide with another example's id.
            candidate = f"{wanted}.{n}"
        self._used.add(candidate)
        return candidate


def _verdict_word(ex: ExampleLine) -> str:
    if ex.error_type:
        return "error"
    return {True: "pass", False: "fail", None: "unscored"}[ex.passed]


def _example(ex: ExampleLine, *, element_id: str, limit: int, link: str | None) -> str:
    verdict = _verdict_word(ex)
    score = MISSING if ex.score is None else f"{ex.score:.3f}"
    meta = [f"scorer {_code(ex.scorer)}", f"score {score}"]
    if ex.error_type:
        meta.append(f"error {_code(ex.error_type)}")
    if link:
        meta.append(f'<a href="#{link}">full entry in All outputs</a>')
    reference = "\n".join(f"- {r}" for r in ex.reference) if ex.reference else "(none)"
    output = "(no output)" if ex.output_text is None else ex.output_text
    blocks = [("Input", ex.input_text), ("Output", output), ("Reference", reference)]
    if ex.detail.strip():
        blocks.append(("Detail", ex.detail))
    return "\n".join(
        [
            f'<article class="example {verdict}" id="{element_id}">',
            f'<h3>{_text(ex.anchor)} <span class="pill {verdict}">{verdict}</span></h3>',
            f'<p class="meta">{" · ".join(meta)}</p>',
            f'<p class="preview u" dir="ltr">{_esc(cell_text(output, limit=PREVIEW_LIMIT))}</p>',
            "<details><summary>Input, output and reference</summary>",
            *(f"<h4>{label}</h4>\n{_pre(text, limit=limit)}" for label, text in blocks),
            "</details>",
            "</article>",
        ]
    )


def _worst(worst: Sequence[ExampleLine], all_examples: Sequence[ExampleLine] | None, ids: _Ids) -> str:
    if not worst:
        return '<section id="worst"><h2>Worst examples</h2><p>No failed examples.</p></section>'
    listed = {ex.anchor for ex in all_examples} if all_examples is not None else set()
    items = []
    for ex in worst:
        # With "All outputs" present the canonical #ex-… id belongs to the full entry there.
        element_id = ids.take(anchor_id(ex.anchor, prefix="worst-ex-" if all_examples is not None else "ex-"))
        link = anchor_id(ex.anchor) if ex.anchor in listed else None
        items.append(_example(ex, element_id=element_id, limit=WORST_BLOCK_LIMIT, link=link))
    return '<section id="worst"><h2>Worst examples</h2>\n' + "\n".join(items) + "\n</section>"


def _all_outputs(examples: Sequence[ExampleLine], ids: _Ids) -> str:
    items = [
        _example(ex, element_id=ids.take(anchor_id(ex.anchor)), limit=ALL_BLOCK_LIMIT, link=None) for ex in examples
    ]
    body = "\n".join(items) if items else "<p>No examples.</p>"
    return f'<section id="all-outputs"><h2>All outputs ({len(items):,})</h2>\n{body}\n</section>'


def _flip_side(label: str, output: str | None, detail: str | None, *, with_detail: bool) -> str:
    blocks = [f"<h4>{label}</h4>", _pre("(no output)" if output is None else output, limit=WORST_BLOCK_LIMIT)]
    if with_detail:
        shown = detail if detail and detail.strip() else "(none)"
        blocks += ["<h4>Detail</h4>", _pre(shown, limit=WORST_BLOCK_LIMIT)]
    return "<div>" + "\n".join(blocks) + "</div>"


def _flip(flip: FlipLine, *, element_id: str, link: str | None, is_open: bool) -> str:
    verdict = "fail" if flip.direction == "pass_to_fail" else "pass"
    with_detail = any(d and d.strip() for d in (flip.baseline_detail, flip.current_detail))
    parts = [
        f'<article class="example flip" id="{element_id}">',
        f"<details{' open' if is_open else ''}><summary>{_text(flip.anchor)} "
        f'<span class="pill {verdict}">now {verdict}</span> · scorer {_code(flip.scorer)}</summary>',
    ]
    if link:
        parts.append(f'<p class="meta"><a href="#{link}">current run in All outputs</a></p>')
    parts += [
        f"<h4>Input</h4>\n{_pre(flip.input_text, limit=WORST_BLOCK_LIMIT)}",
        '<div class="sxs">',
        _flip_side("Before (baseline)", flip.baseline_output, flip.baseline_detail, with_detail=with_detail),
        _flip_side("Now", flip.current_output, flip.current_detail, with_detail=with_detail),
        "</div>",
        "</details>",
        "</article>",
    ]
    return "\n".join(parts)


def _flips(flips: Sequence[FlipLine], all_examples: Sequence[ExampleLine] | None, ids: _Ids) -> str:
    groups = flips_by_direction(flips)
    if not groups:
        return ""
    listed = {ex.anchor for ex in all_examples} if all_examples is not None else set()
    counts = ", ".join(f"{len(items):,} {_esc(title.lower())}" for title, items in groups)
    parts = [
        '<section id="flips"><h2>Flipped examples</h2>',
        f"<p>Examples whose verdict changed against the baseline: {counts}. At most {MAX_FLIPS_SHOWN} are "
        "listed per direction; the full list is in the warehouse <code>flips</code> table.</p>",
    ]
    for title, items in groups:
        parts.append(f"<h3>{_esc(title)} ({len(items):,})</h3>")
        for index, flip in enumerate(items[:MAX_FLIPS_SHOWN]):
            element_id = ids.take(anchor_id(flip.anchor, prefix="flip-"))
            link = anchor_id(flip.anchor) if flip.anchor in listed else None
            is_open = flip.direction == "pass_to_fail" and index < OPEN_FLIPS
            parts.append(_flip(flip, element_id=element_id, link=link, is_open=is_open))
        if len(items) > MAX_FLIPS_SHOWN:
            parts.append(
                f'<p class="meta">… and {len(items) - MAX_FLIPS_SHOWN:,} more (see the warehouse '
                "<code>flips</code> table).</p>"
            )
    parts.append("</section>")
    return "\n".join(parts)
