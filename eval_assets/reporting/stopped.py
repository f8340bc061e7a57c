"""The report of a night that stopped before its report stage (pure: rendering and files, no Dagster).

A night stops when a blocking gate upstream of the report fails (too many provider errors, the budget
reached) or a stage raises. Nothing downstream runs, yet the person who opens ``report.html`` in the
morning must learn what ran, what failed and what to do: this writes the same three files a full report
does (``report.md``, ``report.html``, ``outputs.json``, plus this execution's ``outputs/<run id>.json``),
with the answers received so far. The next complete run of the cell replaces them with its full report.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eval_assets.files import json_document, write_atomically
from eval_assets.reporting.folder import RunFolder
from eval_assets.reporting.markdown_text import code_span, fenced, md_text, table as md_table
from eval_assets.reporting.page import html_page, pre, table as html_table, text

#: How much of one stop reason a report shows (a stack of provider messages can be long).
REASON_LIMIT = 4_000


@dataclass(frozen=True)
class StoppedNight:
    """What a stopped night's report says.

    Attributes:
        config_name: The cell's config.
        eval_date: The cell's date (ISO).
        run_id: The Dagster run that stopped.
        stage: The asset that stopped the night (``model_responses``, ...).
        reasons: What failed, one entry per failed gate or error (untrusted text: it may quote a provider).
        next_step: What to do about it.
        stored: Rows stored for this cell so far, per table (``examples``, ``responses``, ...).
        errors_by_type: Failed model calls by error kind.
        outputs: The answers received so far (one mapping per response row), for ``outputs.json``.
    """

    config_name: str
    eval_date: str
    run_id: str
    stage: str
    reasons: Sequence[str]
    next_step: str
    stored: Mapping[str, int] = field(default_factory=dict)
    errors_by_type: Mapping[str, int] = field(default_factory=dict)
    outputs: Sequence[Mapping[str, Any]] = ()

    @property
    def headline(self) -> str:
        """One line for the report's title and the summary."""
        return f"{self.config_name} {self.eval_date}: stopped at {self.stage}, no scores for this night"


def render_stopped_markdown(night: StoppedNight) -> str:
    """The Markdown report (GitHub, the Dagster UI)."""
    lines = [
        f"# {md_text(night.config_name)} · {md_text(night.eval_date)}: night stopped",
        "",
        f"**Stopped at {code_span(night.stage)}**: nothing after it ran, so this night has no scores, metrics or"
        " verdict. The answers received before the stop are stored and cached.",
        "",
        "## What failed",
        "",
    ]
    for reason in night.reasons:
        lines += [fenced(reason, limit=REASON_LIMIT), ""]
    lines += ["## What to do", "", md_text(night.next_step, limit=REASON_LIMIT), "", "## What ran", ""]
    lines.append(
        md_table(["stored", "rows"], [[md_text(t), f"{n:,}"] for t, n in night.stored.items()], numeric=[False, True])
    )
    if night.errors_by_type:
        lines += ["", "Failed calls by kind:", ""]
        rows = [[md_text(kind), f"{n:,}"] for kind, n in sorted(night.errors_by_type.items())]
        lines.append(md_table(["error", "calls"], rows, numeric=[False, True]))
    lines += ["", f"Run {code_span(night.run_id)}; the answers received are in `outputs.json`.", ""]
    return "\n".join(lines)


def render_stopped_html(night: StoppedNight) -> str:
    """The HTML report (self-contained, every string escaped)."""
    stored = html_table(
        [("stored", False), ("rows", True)],
        [f'<tr><td>{text(t)}</td><td class="num">{n:,}</td></tr>' for t, n in night.stored.items()],
    )
    errors = (
        html_table(
            [("error", False), ("calls", True)],
            [f'<tr><td>{text(k)}</td><td class="num">{n:,}</td></tr>' for k, n in sorted(night.errors_by_type.items())],
        )
        if night.errors_by_type
        else ""
    )
    body = [
        f"<h1>{text(night.config_name)} · {text(night.eval_date)}: night stopped</h1>",
        f'<p class="fail"><strong>Stopped at {text(night.stage)}</strong>: nothing after it ran, so this night has'
        " no scores, metrics or verdict. The answers received before the stop are stored and cached.</p>",
        "<h2>What failed</h2>",
        *(pre(reason, limit=REASON_LIMIT) for reason in night.reasons),
        "<h2>What to do</h2>",
        f"<p>{text(night.next_step, limit=REASON_LIMIT)}</p>",
        "<h2>What ran</h2>",
        stored,
        errors,
        f"<p>Run {text(night.run_id)}; the answers received are in <code>outputs.json</code>.</p>",
    ]
    return html_page(title=f"{night.config_name} {night.eval_date}: night stopped", body=body)


def stopped_outputs_document(night: StoppedNight) -> dict[str, Any]:
    """``outputs.json`` of a stopped night: the stop itself, then the answers received."""
    return {
        "status": "stopped",
        "config_name": night.config_name,
        "eval_date": night.eval_date,
        "run_id": night.run_id,
        "stopped_at": night.stage,
        "reasons": list(night.reasons),
        "next_step": night.next_step,
        "stored": dict(night.stored),
        "errors_by_type": dict(night.errors_by_type),
        "outputs": [dict(row) for row in night.outputs],
    }


def publish_stopped_report(folder: RunFolder, night: StoppedNight) -> dict[str, Path]:
    """Write the stopped night's files, outputs first (the reports name them), each atomically."""
    encoded = json_document(stopped_outputs_document(night))
    write_atomically(folder.run_outputs(night.run_id), encoded)
    write_atomically(folder.outputs_json, encoded)
    write_atomically(folder.report_md, render_stopped_markdown(night))
    write_atomically(folder.report_html, render_stopped_html(night))
    return {"report_html": folder.report_html, "report_md": folder.report_md, "outputs_json": folder.outputs_json}
