"""The CI gate's verdict on one partition, as Markdown, a PR comment, Slack mrkdwn or JSON (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from eval_assets.reporting import slack
from eval_assets.reporting.folder import is_http_url
from eval_assets.reporting.format import format_cost, format_delta, format_value
from eval_assets.reporting.model import Cost
from eval_assets.reporting.sanitize import cell_text
from eval_assets.scoring import catalogue

GateFormat = Literal["markdown", "pr-comment", "slack", "json"]


@dataclass(frozen=True)
class GateEntry:
    """One gate's stored verdict."""

    check_name: str
    severity: str
    passed: bool
    description: str


@dataclass(frozen=True)
class GateVerdict:
    """Everything ``eval-assets gate`` reports about one (config, date)."""

    config_name: str
    eval_date: str
    model_id: str
    gates: tuple[GateEntry, ...]
    headline: tuple[tuple[str, float | None, float | None], ...]  # (metric, value, delta)
    report_path: str | None  # URL of report.html with a report base URL, else its path on the machine that ran
    incomplete: str | None = None  # why the run never reached its gates
    run_url: str | None = None  # the run in the Dagster UI, when its URL is configured
    cost: Cost | None = None  # the run's cost, with how much of it is priced

    @property
    def passed(self) -> bool:
        """Every error-severity gate passed and the run completed."""
        return self.incomplete is None and all(g.passed for g in self.gates if g.severity == "error")


def render_gate(verdict: GateVerdict, fmt: GateFormat) -> str:
    """The verdict in the requested format."""
    if fmt == "json":
        data = asdict(verdict)
        data["passed"] = verdict.passed
        data["headline"] = [{"metric": m, "value": v, "delta": d} for m, v, d in verdict.headline]
        data["cost"] = _cost_json(verdict.cost)
        return json.dumps(data, indent=2)
    if fmt == "slack":
        return render_gate_slack(verdict)
    lines: list[str] = []
    if fmt == "pr-comment":
        # A stable marker lets a CI job update its previous comment instead of adding one per push.
        lines.append(f"<!-- eval-assets-gate:{cell_text(verdict.config_name, limit=60)} -->")
    icon = "✅" if verdict.passed else "❌"
    title = f"{icon} eval gate: `{cell_text(verdict.config_name, limit=60)}` on {verdict.eval_date}"
    lines.append(f"### {title}" if fmt == "pr-comment" else f"# {title}")
    lines.append("")
    if verdict.incomplete:
        lines.extend([f"**Run incomplete:** {_md(verdict.incomplete)}", ""])
    failed = [g for g in verdict.gates if not g.passed]
    lines.append(
        f"Model `{cell_text(verdict.model_id, limit=80)}` — {len(verdict.gates) - len(failed)}/{len(verdict.gates)} "
        "gates passed."
    )
    lines.append("")
    if verdict.headline:
        lines.extend(["| Metric | Value | Δ vs baseline |", "| --- | ---: | ---: |"])
        for metric, value, delta in verdict.headline:
            lines.append(f"| {_md(metric)} | {_md(_value(verdict, metric, value))} | {format_delta(metric, delta)} |")
        lines.append("")
    shown = verdict.gates if fmt == "markdown" else tuple(failed) or verdict.gates
    if shown:
        lines.extend(["| Gate | Severity | Result | Detail |", "| --- | --- | --- | --- |"])
        for gate in shown:
            result = "✅ pass" if gate.passed else ("❌ FAIL" if gate.severity == "error" else "⚠️ warn")
            lines.append(f"| {_md(gate.check_name)} | {gate.severity} | {result} | {_md(gate.description)} |")
        lines.append("")
    if verdict.report_path:
        lines.append(f"Report: {_md_link('report.html', verdict.report_path)}")
    if verdict.run_url:
        lines.append(f"Dagster run: {_md_link('run', verdict.run_url)}")
    return "\n".join(lines).rstrip() + "\n"


def render_gate_slack(verdict: GateVerdict) -> str:
    """The verdict as Slack mrkdwn, to post as a message's text: Slack escapes only ``&``, ``<``, ``>``.

    GitHub Markdown pasted into Slack reads wrong (``&gt;=``, ``\\_``, tables as pipes): this is its own
    rendering, with bullets instead of tables and Slack's ``<url|label>`` links.
    """
    escape, one_line = slack.escape, slack.one_line
    icon = "✅" if verdict.passed else "❌"
    lines = [f"{icon} *eval gate: {escape(one_line(verdict.config_name))}* on {escape(one_line(verdict.eval_date))}"]
    if verdict.incomplete:
        lines.append(f"*Run incomplete:* {escape(one_line(verdict.incomplete))}")
    failed = [g for g in verdict.gates if not g.passed]
    lines.append(
        f"Model `{escape(one_line(verdict.model_id))}`: {len(verdict.gates) - len(failed)}/{len(verdict.gates)} "
        "gates passed"
    )
    for metric, value, delta in verdict.headline:
        change = f" ({format_delta(metric, delta)})" if delta is not None else ""
        lines.append(f"• {escape(one_line(metric))}: {escape(_value(verdict, metric, value))}{change}")
    for gate in failed:
        mark = "❌" if gate.severity == "error" else "⚠️"
        lines.append(f"{mark} *{escape(one_line(gate.check_name))}*: {escape(one_line(gate.description))}")
    links = [slack.link("report", verdict.report_path), slack.link("Dagster run", verdict.run_url)]
    if any(links):
        lines.append(" · ".join(link for link in links if link))
    return slack.clip_escaped("\n".join(lines), slack.SLACK_SECTION_TEXT_MAX) + "\n"


def _value(verdict: GateVerdict, metric: str, value: float | None) -> str:
    if metric == "cost_usd" and verdict.cost is not None:
        return format_cost(verdict.cost)
    return format_value(metric, value)


def _cost_json(cost: Cost | None) -> dict[str, object] | None:
    if cost is None:
        return None
    return {**asdict(cost), "state": cost.state, "text": format_cost(cost)}


def _md(text: str) -> str:
    return cell_text(text, limit=200).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _md_link(label: str, target: str) -> str:
    # Only an http(s) URL becomes a link; a local path is shown as code (it is where the file is).
    if is_http_url(target) and not any(c in target for c in " ()<>`"):
        return f"[{label}]({target})"
    return f"`{cell_text(target, limit=300).replace('`', '')}`"


def headline_rows(
    rows: Sequence[tuple[str, float | None, float | None]],
) -> tuple[tuple[str, float | None, float | None], ...]:
    """The catalogue's headline metrics, in headline order (pass rates, error rate, cost, p95 latency)."""
    return tuple(catalogue.headline_rows(rows))
