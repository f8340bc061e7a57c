"""The CI gate's verdict on one partition, as Markdown, a PR comment or JSON (pure)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

from eval_assets.reporting.sanitize import cell_text

GateFormat = Literal["markdown", "pr-comment", "json"]


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
    report_path: str | None
    incomplete: str | None = None  # why the run never reached its gates

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
        return json.dumps(data, indent=2)
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
            lines.append(f"| {_md(metric)} | {_fmt(metric, value)} | {_fmt_delta(metric, delta)} |")
        lines.append("")
    shown = verdict.gates if fmt == "markdown" else tuple(failed) or verdict.gates
    if shown:
        lines.extend(["| Gate | Severity | Result | Detail |", "| --- | --- | --- | --- |"])
        for gate in shown:
            result = "✅ pass" if gate.passed else ("❌ FAIL" if gate.severity == "error" else "⚠️ warn")
            lines.append(f"| {_md(gate.check_name)} | {gate.severity} | {result} | {_md(gate.description)} |")
        lines.append("")
    if verdict.report_path:
        lines.append(f"Report: `{cell_text(verdict.report_path, limit=200)}`")
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return cell_text(text, limit=200).replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _is_rate(metric: str) -> bool:
    return metric.endswith(("pass_rate", "error_rate", "judge_agreement"))


def _fmt(metric: str, value: float | None) -> str:
    if value is None:
        return "—"
    if metric == "cost_usd":
        return f"${value:.4f}"
    return f"{value:.1%}" if _is_rate(metric) else f"{value:.4g}"


def _fmt_delta(metric: str, delta: float | None) -> str:
    if delta is None:
        return "—"
    if metric == "cost_usd":
        return f"{'+' if delta >= 0 else '-'}${abs(delta):.4f}"
    return f"{delta * 100:+.1f} pp" if _is_rate(metric) else f"{delta:+.4g}"


def headline_rows(
    rows: Sequence[tuple[str, float | None, float | None]],
) -> tuple[tuple[str, float | None, float | None], ...]:
    """Pass rates first, then error rate and cost."""
    order = {"error_rate": 1, "cost_usd": 2}
    kept = [r for r in rows if r[0].endswith(".pass_rate") or r[0] in order]
    return tuple(sorted(kept, key=lambda r: (order.get(r[0], 0), r[0])))
