"""The run report as Markdown, for Dagster's asset metadata and for GitHub (pure).

Every string in :class:`ReportData` is treated as untrusted: model outputs and inputs obviously,
but also ids, tags and provider-reported versions. Short text is cleaned to one line and escaped
(:func:`escape_inline`); long text goes into fenced blocks whose fence is longer than any backtick
run inside (:func:`fenced`). Value and delta formatting (:func:`format_value`, :func:`format_delta`)
and the cells of the baseline comparison (:func:`comparison_cells`, :func:`comparison_verdict`) are shared
with the HTML report.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Sequence
from typing import Literal

from eval_assets.reporting.model import (
    ComparisonLine,
    ExampleLine,
    FlipLine,
    GateLine,
    MetricLine,
    ReportData,
    RunSummary,
)
from eval_assets.reporting.sanitize import CELL_LIMIT, LIST_LIMIT, cell_text, clean_text

MetricKind = Literal["rate", "mean", "latency", "cost", "tokens", "number"]

MISSING = "—"
FAIL_MARK = "❌"

#: Flipped examples listed per direction; the warehouse ``flips`` table has them all.
MAX_FLIPS_SHOWN = 20
#: Header of the comparison tables (the tag table puts "Tag" in front).
COMPARISON_HEADER = (
    "Scorer",
    "Test",
    "n",
    "Baseline",
    "Current",
    "Delta",
    "95% CI",
    "p-value",
    "Flips (↓ to fail / ↑ to pass)",
    "Verdict",
)
#: Which of :data:`COMPARISON_HEADER` hold numbers (right-aligned).
COMPARISON_NUMERIC = (False, False, True, True, True, True, True, True, True, False)
#: Flip directions in the order the report lists them, with their headings.
FLIP_DIRECTIONS = (("pass_to_fail", "Pass → fail"), ("fail_to_pass", "Fail → pass"))
_TESTS = {"pass_fail": "McNemar (exact)", "graded": "paired bootstrap"}

# Entities rather than backslashes for < > &: every Markdown dialect decodes them, not all honour "\<".
# Escaping & also stops "&#x202e;" in an output from decoding into the bidi override cleaning removed.
_INLINE_ESCAPES = str.maketrans(
    {
        "\\": "\\\\",
        "`": "\\`",
        "*": "\\*",
        "_": "\\_",
        "[": "\\[",
        "]": "\\]",
        "|": "\\|",
        "#": "\\#",
        "~": "\\~",
        "$": "\\$",
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
    }
)
_BACKTICK_RUN = re.compile(r"`+")
# Text that would open a list or draw a rule when it starts a line ("- x", "1. x", "---"); "-8.0 pp" does not.
_BLOCK_START = re.compile(r"^(\d{1,9})([.)])(?=\s|$)|^([-+])(?=\s|$|[-\s]*$)")


def metric_kind(metric: str) -> MetricKind:
    """How a metric's values are shown, from its name (``contains.pass_rate``, ``latency_p95_ms``...)."""
    if metric.endswith(("pass_rate", "error_rate")):
        return "rate"
    if metric.endswith("mean"):
        return "mean"
    if metric.startswith("latency") or metric.endswith("_ms"):
        return "latency"
    if metric.startswith("cost"):
        return "cost"
    if metric.startswith("tokens"):
        return "tokens"
    return "number"


def format_value(metric: str, value: float | None) -> str:
    """A metric value for humans: ``72.5%``, ``0.812``, ``1,234 ms``, ``$0.0123``, ``12,345``, or ``—``."""
    if value is None:
        return MISSING
    kind = metric_kind(metric)
    if kind == "rate":
        return f"{value * 100:.1f}%"
    if kind == "mean":
        return f"{value:.3f}"
    if kind == "latency":
        return f"{value:,.0f} ms"
    if kind == "cost":
        return f"${value:,.4f}"
    if kind == "tokens":
        return f"{value:,.0f}"
    return f"{value:.4g}"


def format_delta(metric: str, delta: float | None) -> str:
    """A signed change: ``+1.2 pp`` for rates (percentage points), ``-0.013``, ``+12 ms``, ``-$0.0010``."""
    if delta is None:
        return MISSING
    kind = metric_kind(metric)
    if kind == "rate":
        return f"{_signed(delta * 100, 1)} pp"
    if kind == "mean":
        return _signed(delta, 3)
    if kind == "latency":
        return f"{_signed(delta, 0)} ms"
    if kind == "cost":
        sign = "-" if round(delta, 4) < 0 else "+"
        return f"{sign}${abs(delta):,.4f}"
    if kind == "tokens":
        return _signed(delta, 0)
    return f"{delta:+.4g}"


def _signed(value: float, decimals: int) -> str:
    # round() then + 0.0 turns -0.0 into 0.0, so a tiny drop reads "+0.0" rather than "-0.0".
    return f"{round(value, decimals) + 0.0:+,.{decimals}f}"


def delta_direction(line: MetricLine) -> Literal["better", "worse", "same", "unknown"]:
    """Whether the change is good news, given ``higher_is_better``."""
    if line.delta is None:
        return "unknown"
    if line.delta == 0:
        return "same"
    return "better" if (line.delta > 0) == line.higher_is_better else "worse"


def gate_verdict(severity: str | None, passed: bool) -> str:
    """``✅ pass``, ``❌ FAIL`` (error gate) or ``⚠️ WARN`` (warn gate)."""
    if passed:
        return "✅ pass"
    return "⚠️ WARN" if severity == "warn" else f"{FAIL_MARK} FAIL"


def _comparison_metric(kind: str) -> str:
    # Pass/fail comparisons are rates (shown in % and pp); graded ones are mean normalized scores.
    return "pass_rate" if kind == "pass_fail" else "mean"


def format_interval(kind: str, low: float | None, high: float | None) -> str:
    """A 95% interval of a delta: ``[-8.1, +2.3] pp`` for pass/fail, ``[-0.034, +0.012]`` for graded."""
    if low is None or high is None:
        return MISSING
    if kind == "pass_fail":
        return f"[{_signed(low * 100, 1)}, {_signed(high * 100, 1)}] pp"
    return f"[{_signed(low, 3)}, {_signed(high, 3)}]"


def format_p_value(p: float | None) -> str:
    """``0.0021``, or ``<0.0001`` below what four decimals can show."""
    if p is None:
        return MISSING
    return "<0.0001" if p < 0.0001 else f"{p:.4f}"


def comparison_verdict(line: ComparisonLine) -> str:
    """``❌ regression`` (fails the gate), ``⚠️ regression (not gated)``, ``✅ no significant drop``, or ``—``."""
    if line.n == 0:
        return MISSING
    if line.regression:
        return f"{FAIL_MARK} regression" if line.gated else "⚠️ regression (not gated)"
    return "✅ no significant drop"


def comparison_status(line: ComparisonLine) -> Literal["fail", "warn", "pass", "unknown"]:
    """The verdict as a status: a gated regression fails like a failing gate, another one warns."""
    if line.n == 0:
        return "unknown"
    if line.regression:
        return "fail" if line.gated else "warn"
    return "pass"


def comparison_cells(line: ComparisonLine) -> list[str]:
    """Plain-text cells after "Scorer" in :data:`COMPARISON_HEADER` (the renderer escapes them)."""
    metric = _comparison_metric(line.kind)
    return [
        _TESTS.get(line.kind, cell_text(line.kind)),
        f"{line.n:,}",
        format_value(metric, line.baseline),
        format_value(metric, line.current),
        format_delta(metric, line.delta),
        format_interval(line.kind, line.ci_low, line.ci_high),
        format_p_value(line.p_value),
        f"↓ {line.flipped_to_fail:,} / ↑ {line.flipped_to_pass:,}",
        comparison_verdict(line),
    ]


def regression_summary(line: ComparisonLine) -> str:
    """``refusal -11.4 pp (p=0.0030)``: a comparison in a few words (the scorer is not escaped)."""
    p = format_p_value(line.p_value)
    change = format_delta(_comparison_metric(line.kind), line.delta)
    return f"{cell_text(line.scorer)} {change} (p{'' if p.startswith('<') else '='}{p})"


def gated_regressions(comparisons: Sequence[ComparisonLine]) -> list[ComparisonLine]:
    """Overall comparisons that fail the regression gate, most significant first."""
    failing = [c for c in comparisons if c.tag is None and c.gated and c.regression]
    return sorted(failing, key=lambda c: (1.0 if c.p_value is None else c.p_value, c.delta or 0.0))


def flips_by_direction(flips: Sequence[FlipLine]) -> list[tuple[str, list[FlipLine]]]:
    """(heading, flips) per direction in :data:`FLIP_DIRECTIONS` order, leaving out empty directions."""
    grouped = [(title, [x for x in flips if x.direction == direction]) for direction, title in FLIP_DIRECTIONS]
    return [(title, items) for title, items in grouped if items]


def escape_inline(text: str) -> str:
    """Escape already-cleaned one-line text so Markdown shows it literally, in a cell or at a line start."""
    escaped = text.translate(_INLINE_ESCAPES)
    return _BLOCK_START.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", escaped, count=1)


def md_text(text: str | None, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as one escaped line of Markdown, at most ``limit`` characters before escaping."""
    # Leading blanks would make an indented code block after a list marker; cells trim them anyway.
    return escape_inline(cell_text(text, limit=limit).lstrip())


def code_span(text: str, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as an inline code span (not for table cells: GFM splits cells on ``|`` first)."""
    cleaned = cell_text(text, limit=limit)
    if not cleaned.strip():
        return "(empty)"
    fence = "`" * (_longest_backtick_run(cleaned) + 1)
    pad = " " if cleaned.startswith("`") or cleaned.endswith("`") else ""
    return f"{fence}{pad}{cleaned}{pad}{fence}"


def fenced(text: str, *, indent: str = "", limit: int = LIST_LIMIT) -> str:
    """Untrusted multi-line text as a fenced code block no line of the content can close.

    Args:
        text: Untrusted text.
        indent: Prefix of every line, so the block stays inside a list item.
        limit: Maximum length of the content.
    """
    cleaned = clean_text(text, limit=limit)
    fence = "`" * max(3, _longest_backtick_run(cleaned) + 1)
    lines = [f"{fence}text", *cleaned.split("\n"), fence]
    return "\n".join(f"{indent}{line}" for line in lines)


def _longest_backtick_run(text: str) -> int:
    return max((len(m) for m in _BACKTICK_RUN.findall(text)), default=0)


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[bool] = ()) -> str:
    """A GFM table from already-escaped cells."""
    align = [("---:" if i < len(numeric) and numeric[i] else "---") for i in range(len(header))]
    lines = [_row(header), _row(align), *(_row(r) for r in rows)]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


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
        _summary(summary, report.baseline_label),
        _notes(report.notes),
        _gates(report.gates),
        _metrics(report.metrics),
        _regression(report),
        _flips(report),
        _by_tag(report.tag_metrics),
        _worst(report.worst, report.outputs_file),
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


def _summary(s: RunSummary, baseline_label: str | None) -> str:
    baseline = baseline_label or s.baseline_date
    version = code_span(s.model_version) if s.model_version else "not reported"
    error_rate = f" ({s.n_errors / s.n_examples * 100:.1f}%)" if s.n_examples else ""
    cost = escape_inline(format_value("cost_usd", s.cost_usd)) if s.cost_usd is not None else "unknown"
    lines = [
        "## Run summary",
        "",
        f"- **Model:** {code_span(s.model_id)} (reported version: {version})",
        f"- **Run id:** {code_span(s.run_id)}",
        f"- **Git SHA:** {code_span(s.git_sha)}",
        f"- **Config hash:** {code_span(s.config_hash)}",
        f"- **Dataset hashes:** {_hashes(s.dataset_hashes)}",
        f"- **Rubric hashes:** {_hashes(s.prompt_hashes)}",
        f"- **Baseline:** {md_text(baseline) if baseline else 'none (first run)'}",
        f"- **Examples:** {s.n_examples:,}",
        f"- **Errors:** {s.n_errors:,}{error_rate}",
        f"- **Cost:** {cost}",
    ]
    if s.description.strip():
        lines.append(f"- **Description:** {md_text(s.description, limit=LIST_LIMIT)}")
    return "\n".join(lines)


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
    return [
        flag + md_text(line.metric),
        escape_inline(format_value(line.metric, line.previous)),
        escape_inline(format_value(line.metric, line.current)),
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


def _worst(examples: Sequence[ExampleLine], outputs_file: str) -> str:
    if not examples:
        return "## Worst examples\n\nNo failed examples."
    return "## Worst examples\n\n" + "\n\n".join(
        _example(i, ex, outputs_file) for i, ex in enumerate(examples, start=1)
    )


def _score_text(ex: ExampleLine) -> str:
    score = MISSING if ex.score is None else f"{ex.score:.3f}"
    verdict = {True: "pass", False: "fail", None: "not scored"}[ex.passed]
    text = f"score {score} ({verdict})"
    return text + (f", error {code_span(ex.error_type)}" if ex.error_type else "")


def _example(number: int, ex: ExampleLine, outputs_file: str) -> str:
    marker = f"{number}. "
    indent = " " * len(marker)
    reference = "\n".join(f"- {r}" for r in ex.reference) if ex.reference else "(none)"
    parts = [
        f"{marker}**{md_text(ex.anchor)}** — scorer {code_span(ex.scorer)}, {_score_text(ex)}",
        f"{indent}{_raw_output_link(ex.anchor, outputs_file)}",
    ]
    for label, text in (("Input", ex.input_text), ("Output", ex.output_text), ("Reference", reference)):
        parts += ["", f"{indent}{label}:", ""]
        parts.append(f"{indent}(no output)" if text is None else fenced(text, indent=indent))
    if ex.detail.strip():
        parts += ["", f"{indent}Detail: {md_text(ex.detail, limit=LIST_LIMIT)}"]
    return "\n".join(parts)


def _raw_output_link(anchor: str, outputs_file: str) -> str:
    # The fragment is the (cleaned, shortened) key: outputs.json has no anchors, but a reader can search
    # for it. Percent-encoding leaves no ")" or space to end the link early, and no scheme.
    fragment = urllib.parse.quote(cell_text(anchor), safe="/")
    href = f"{urllib.parse.quote(outputs_file, safe='/')}#{fragment}"
    return f"[raw output]({href}) (key {code_span(anchor)} in {md_text(outputs_file)})"


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
        f"Compared example by example with {baseline} (same examples in both runs). A regression is a drop "
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
        parts += [_flip(i, flip, report.outputs_file) for i, flip in enumerate(shown, start=1)]
        if len(items) > len(shown):
            parts.append(f"… and {len(items) - len(shown):,} more (see the warehouse `flips` table).")
    return "\n\n".join(parts)


def _flip(number: int, flip: FlipLine, outputs_file: str) -> str:
    marker = f"{number}. "
    indent = " " * len(marker)
    parts = [
        f"{marker}**{md_text(flip.anchor)}** — scorer {code_span(flip.scorer)}",
        f"{indent}{_raw_output_link(flip.anchor, outputs_file)}",
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
