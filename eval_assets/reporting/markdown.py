"""The run report as Markdown, for Dagster's asset metadata and for GitHub (pure).

Every string in :class:`ReportData` is treated as untrusted: model outputs and inputs obviously,
but also ids, tags and provider-reported versions. Short text is cleaned to one line and escaped, long
text goes into fenced blocks whose fence is longer than any backtick run inside (both in
:mod:`eval_assets.reporting.markdown_text`). Numbers come from :mod:`eval_assets.reporting.format`, like
in every other output. Links point at the HTML report's entries (``report.html#ex-...``), absolute under
the report base URL. This is GitHub Markdown: Slack gets its own rendering (:mod:`eval_assets.reporting.slack`).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Sequence

from eval_assets.reporting.format import (
    COMPARISON_HEADER,
    COMPARISON_NUMERIC,
    FAIL_MARK,
    MISSING,
    comparison_cells,
    comparison_status,
    comparison_verdict,
    delta_direction,
    format_cost,
    format_delta,
    format_interval,
    format_p_value,
    format_value,
    gate_verdict,
    regression_summary,
)
from eval_assets.reporting.markdown_text import code_span, escape_inline, fenced, md_text, table
from eval_assets.reporting.model import (
    MAX_FLIPS_SHOWN,
    ComparisonLine,
    ExampleLine,
    FlipLine,
    GateLine,
    MetricLine,
    ReportData,
    flips_by_direction,
)
from eval_assets.reporting.people import markdown_section as people_markdown
from eval_assets.reporting.sanitize import LIST_LIMIT, anchor_id
from eval_assets.reporting.stability import render_stability

# Formatting and escaping helpers that older callers import from here (their homes: format, markdown_text, model).
__all__ = [
    "COMPARISON_HEADER",
    "COMPARISON_NUMERIC",
    "MAX_FLIPS_SHOWN",
    "MISSING",
    "code_span",
    "comparison_cells",
    "comparison_status",
    "comparison_verdict",
    "delta_direction",
    "escape_inline",
    "fenced",
    "flips_by_direction",
    "format_delta",
    "format_interval",
    "format_p_value",
    "format_value",
    "gate_verdict",
    "md_text",
    "regression_summary",
    "render_markdown",
    "table",
]


def render_markdown(report: ReportData) -> str:
    """The whole report as GitHub-flavoured Markdown.

    Args:
        report: What to show; all of its text is treated as untrusted.

    Returns:
        Markdown whose size is bounded whatever the size of the outputs inside ``report``.
    """
    summary = report.summary
    sections = [
        f"# Eval report — {md_text(summary.config_name)} — {md_text(summary.eval_date)}",
        _simulator_notice() if summary.simulated else "",
        _alerts(report.alerts),
        render_stability(report.stability),  # newly broken examples are what a reader should see first
        _changes(report),
        _summary(report),
        _notes(report.notes),
        _gates(report.gates),
        _metrics(report.metrics),
        _regression(report),
        _flips(report),
        people_markdown(report.review, report.calibration),
        _by_tag(report.tag_metrics),
        _worst(report),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def _simulator_notice() -> str:
    return (
        "> **⚠️ SIMULATOR: the model under test is the built-in offline simulator. "
        "These numbers exercise the pipeline and say nothing about a real model.**"
    )


def _hashes(hashes: dict[str, str]) -> str:
    if not hashes:
        return "none"
    return ", ".join(f"{md_text(name)} {code_span(value)}" for name, value in sorted(hashes.items()))


def _changes(report: ReportData) -> str:
    """The report's opening: what differs from the baseline, so a drop is read next to its likely cause."""
    if report.changes is None:
        return ""
    title = "## What changed since the baseline\n\n"
    if not report.changes:
        return title + (
            "Nothing: same model and version, system prompt, sampling parameters, datasets, rubrics, judges, "
            "scorers and code as the baseline."
        )
    rows = [[md_text(c.factor), _factor(c.before), _factor(c.after)] for c in report.changes]
    return title + table(["Factor", "Baseline", "Now"], rows, numeric=[False, False, False])


def _factor(value: str | None) -> str:
    return code_span(value) if value is not None else "(none)"


def _why(reason: str | None) -> str:
    return f" ({md_text(reason, limit=LIST_LIMIT)})" if reason else ""


def _summary(report: ReportData) -> str:
    s = report.summary
    baseline = report.baseline_label or s.baseline_date
    version = code_span(s.model_version) if s.model_version else "not reported"
    error_rate = f" ({s.error_rate * 100:.1f}%)" if s.error_rate is not None else ""
    lines = [
        "## Run summary",
        "",
        f"- **Model:** {code_span(s.model_id)} (reported version: {version})",
        f"- **Run id:** {code_span(s.run_id)}" + _run_link(report),
        f"- **Git SHA:** {code_span(s.git_sha)}",
        f"- **Config hash:** {code_span(s.config_hash)}",
        f"- **Dataset hashes:** {_hashes(s.dataset_hashes)}",
        f"- **Rubric hashes:** {_hashes(s.prompt_hashes)}",
        *([f"- **Reproducibility inputs:** {_hashes(s.reproducibility)}"] if s.reproducibility else []),
        f"- **Baseline:** {md_text(baseline) if baseline else 'none'}"
        + (_why(report.baseline_reason) if baseline or report.baseline_reason else " (first run)"),
        f"- **Examples:** {s.n_examples:,}",
        f"- **Errors:** {s.n_errors:,}{error_rate}",
        f"- **Cost:** {md_text(format_cost(s.cost), limit=LIST_LIMIT)}",
    ]
    if s.description.strip():
        lines.append(f"- **Description:** {md_text(s.description, limit=LIST_LIMIT)}")
    files = _files_line(report)
    if files:
        lines.append(files)
    return "\n".join(lines)


def _href(report: ReportData, relative: str) -> str:
    # Percent-encoding leaves no ")" or space to end the link early, and a relative link no ":" (no scheme).
    if report.folder_url:
        return urllib.parse.quote(report.href(relative), safe=":/?#[]@!$&'*+,;=%~-._")
    return urllib.parse.quote(relative, safe="/#")


def _files_line(report: ReportData) -> str:
    """Where the HTML report and the raw outputs are: links under the base URL, else the folder on disk."""
    if report.folder_url:
        html = f"[report.html]({_href(report, 'report.html')})"
        outputs = f"[{md_text(report.outputs_file)}]({_href(report, report.outputs_file)})"
        return f"- **Files:** {html} · {outputs}"
    if report.folder_path:
        where = code_span(report.folder_path, limit=300)
        return f"- **Files:** `report.html` and {code_span(report.outputs_file)} in {where} (on the machine that ran)"
    return ""


def _run_link(report: ReportData) -> str:
    if not report.dagster_run_url:
        return ""
    href = urllib.parse.quote(report.dagster_run_url, safe=":/?#[]@!$&'*+,;=%~-._")
    return f" ([Dagster run]({href}))"


def _alerts(alerts: Sequence[str]) -> str:
    return "\n\n".join(f"> **🛑 {md_text(alert, limit=LIST_LIMIT)}**" for alert in alerts)


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return "## Notes\n\n" + "\n".join(f"- {md_text(note, limit=LIST_LIMIT)}" for note in notes)


def _gates(gates: Sequence[GateLine]) -> str:
    if not gates:
        return "## Quality gates\n\nNo quality gates configured."
    rows = [
        [
            md_text(g.name),
            md_text(g.description),
            md_text(g.severity),
            gate_verdict(g.severity, g.passed),
            md_text(g.detail),
        ]
        for g in gates
    ]
    return "## Quality gates\n\n" + table(["Check", "Gate", "Severity", "Result", "Detail"], rows)


def _metric_cells(line: MetricLine) -> list[str]:
    flag = ""
    if line.gate_failed:
        flag = "⚠️ " if line.gate_severity == "warn" else f"{FAIL_MARK} "
    current = format_cost(line.cost) if line.cost is not None else format_value(line.metric, line.current)
    if line.human_labelled:
        current += f" ({line.human_labelled:,} human-labelled)"
    return [
        flag + md_text(line.metric),
        escape_inline(format_value(line.metric, line.previous)),
        md_text(current),
        escape_inline(format_delta(line.metric, line.delta)),
    ]


def _gate_cell(line: MetricLine) -> str:
    if line.threshold is None:
        return ""
    return f"{md_text(line.threshold)} {gate_verdict(line.gate_severity, not line.gate_failed)}"


def _metrics(lines: Sequence[MetricLine]) -> str:
    if not lines:
        return "## Metrics\n\nNo metrics."
    gated = any(line.threshold is not None for line in lines)
    header = ["Metric", "Prev", "Current", "Delta"] + (["Gate"] if gated else [])
    rows = [_metric_cells(line) + ([_gate_cell(line)] if gated else []) for line in lines]
    return "## Metrics\n\n" + table(header, rows, numeric=[False, True, True, True])


def _by_tag(lines: Sequence[MetricLine]) -> str:
    if not lines:
        return ""
    gated = any(line.threshold is not None for line in lines)
    header = ["Tag", "Metric", "Prev", "Current", "Delta", "n"] + (["Gate"] if gated else [])
    rows = [
        [md_text(line.tag), *_metric_cells(line), f"{line.n:,}"] + ([_gate_cell(line)] if gated else [])
        for line in lines
    ]
    return "## By tag\n\n" + table(header, rows, numeric=[False, False, True, True, True, True])


def _worst(report: ReportData) -> str:
    examples = report.worst
    if report.details_pruned:
        return f"## Worst examples\n\n{md_text(report.details_pruned, limit=LIST_LIMIT)}"
    if not examples:
        return "## Worst examples\n\nNo failed examples."
    return "## Worst examples\n\n" + "\n\n".join(_example(i, ex, report) for i, ex in enumerate(examples, start=1))


def _score_text(ex: ExampleLine) -> str:
    score = MISSING if ex.score is None else f"{ex.score:.3f}"
    verdict = {True: "pass", False: "fail", None: "not scored"}[ex.passed]
    text = f"score {score} ({verdict})"
    return text + (f", error {code_span(ex.error_type)}" if ex.error_type else "")


def _example(number: int, ex: ExampleLine, report: ReportData) -> str:
    marker = f"{number}. "
    indent = " " * len(marker)
    reference = "\n".join(f"- {r}" for r in ex.reference) if ex.reference else "(none)"
    parts = [
        f"{marker}**{md_text(ex.anchor)}** — scorer {code_span(ex.scorer)}, {_score_text(ex)}",
        f"{indent}{_entry_link(ex.anchor, report)}",
    ]
    for label, text in (("Input", ex.input_text), ("Output", ex.output_text), ("Reference", reference)):
        parts += ["", f"{indent}{label}:", ""]
        parts.append(f"{indent}(no output)" if text is None else fenced(text, indent=indent))
    if ex.detail.strip():
        parts += ["", f"{indent}Detail: {md_text(ex.detail, limit=LIST_LIMIT)}"]
    return "\n".join(parts)


def entry_href(anchor: str, report: ReportData) -> str:
    """Where an example's full entry is: ``report.html#ex-...`` or its page, absolute under the base URL."""
    return _href(report, report.entry_links.get(anchor) or f"report.html#{anchor_id(anchor)}")


def _entry_link(anchor: str, report: ReportData) -> str:
    # The key is shown too: it is how to find the example in outputs.json, which has no anchors.
    return f"[full entry]({entry_href(anchor, report)}) (key {code_span(anchor)} in {md_text(report.outputs_file)})"


def _comparison_row(line: ComparisonLine, *, with_tag: bool) -> list[str]:
    tag = [md_text(line.tag)] if with_tag else []
    return [*tag, md_text(line.scorer), *(escape_inline(cell) for cell in comparison_cells(line))]


def _regression(report: ReportData) -> str:
    title = "## Regression vs baseline\n\n"
    if not report.comparisons:
        if report.baseline_label is None:
            return title + "No baseline yet: this is the first run of this config."
        return title + f"No comparable examples. Baseline: {md_text(report.baseline_label)}."
    baseline = md_text(report.baseline_label) if report.baseline_label else "the baseline run"
    parts = [
        f"Compared example by example with {baseline}{_why(report.baseline_reason)} (same examples in both "
        "runs). A regression is a drop "
        "larger than the configured minimum effect and significant at the configured level; only gated "
        f"scorers ({FAIL_MARK}) fail the regression gate."
    ]
    overall = [c for c in report.comparisons if c.tag is None]
    if overall:
        rows = [_comparison_row(c, with_tag=False) for c in overall]
        parts.append(table(COMPARISON_HEADER, rows, numeric=COMPARISON_NUMERIC))
    dropped = [c for c in report.comparisons if c.tag is not None and c.regression]
    if dropped:
        rows = [_comparison_row(c, with_tag=True) for c in dropped]
        header = ["Tag", *COMPARISON_HEADER]
        parts += ["### Significant drops by tag", table(header, rows, numeric=[False, *COMPARISON_NUMERIC])]
    return title + "\n\n".join(parts)


def _flips(report: ReportData) -> str:
    groups = flips_by_direction(report.flips)
    if not groups:
        return ""
    counts = ", ".join(f"{len(items):,} {title.lower()}" for title, items in groups)
    parts = [
        "## Flipped examples",
        f"Examples whose verdict changed against the baseline: {counts}. At most {MAX_FLIPS_SHOWN} are listed "
        "per direction; the full list is in the warehouse `flips` table.",
    ]
    for title, items in groups:
        parts.append(f"### {title} ({len(items):,})")
        shown = items[:MAX_FLIPS_SHOWN]
        parts += [_flip(i, flip, report) for i, flip in enumerate(shown, start=1)]
        if len(items) > len(shown):
            parts.append(f"… and {len(items) - len(shown):,} more (see the warehouse `flips` table).")
    return "\n\n".join(parts)


def _flip(number: int, flip: FlipLine, report: ReportData) -> str:
    marker = f"{number}. "
    indent = " " * len(marker)
    parts = [
        f"{marker}**{md_text(flip.anchor)}** — scorer {code_span(flip.scorer)}",
        f"{indent}{_entry_link(flip.anchor, report)}",
    ]
    blocks = (("Input", flip.input_text), ("Before (baseline)", flip.baseline_output), ("Now", flip.current_output))
    for label, text in blocks:
        parts += ["", f"{indent}{label}:", ""]
        parts.append(f"{indent}(no output)" if text is None else fenced(text, indent=indent))
    details = [("Detail before", flip.baseline_detail), ("Detail now", flip.current_detail)]
    if any(text and text.strip() for _, text in details):
        for label, text in details:
            shown = md_text(text, limit=LIST_LIMIT) if text and text.strip() else "(none)"
            parts += ["", f"{indent}{label}: {shown}"]
    return "\n".join(parts)
