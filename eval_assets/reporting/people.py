"""The report's "People in the loop" section: the night's new review tasks and judges measured against people.

Pure: lines in, Markdown and HTML out (the kappa chart is in ``people_chart``: plotly stays out of here).
Every name is untrusted text (escaped by the shared helpers); the review page's link comes from
the config's ``review.page_url``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

from eval_assets.reporting.markdown_text import md_text
from eval_assets.reporting.model import CalibrationLine, ReviewSummary, review_url


def review_summary(by_reason: Mapping[str, int], *, base_url: str, config_name: str, eval_date: str) -> ReviewSummary:
    """The summary of a night's tasks, counted by their most urgent reason."""
    return ReviewSummary(dict(by_reason), review_url(base_url, config_name=config_name, eval_date=eval_date))


def reason_counts(summary: ReviewSummary) -> str:
    """``3 regression_flip, 2 calibration_sample`` (reasons with no task left out)."""
    return ", ".join(f"{count} {reason}" for reason, count in summary.by_reason.items() if count) or "none"


def _kappa(line: CalibrationLine) -> str:
    if line.kappa is None:
        return "—"
    return f"{line.kappa:.2f} [{line.kappa_low:.2f}, {line.kappa_high:.2f}]"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def markdown_section(review: ReviewSummary | None, calibration: Sequence[CalibrationLine]) -> str:
    """The Markdown section; empty when there is neither a task nor a judge."""
    parts = []
    if review is not None:
        parts.append(
            f"**New review tasks:** {review.total} ({md_text(reason_counts(review))}) — [review them]({review.url})"
        )
    if calibration:
        weighting = calibration[0].weighting
        parts.append(
            f"| Judge scorer | Judge | Sample | n | Agreement | κ ({weighting}) [CI] | May block | Why |\n"
            "|---|---|---|---:|---:|---|---|---|\n"
            + "\n".join(
                f"| {md_text(c.scorer)} | {md_text(c.judge_model)} | {c.sample} | {c.n} | {_percent(c.agreement)} | "
                f"{_kappa(c)} | {'yes' if c.calibrated else 'no'} | {md_text(c.reason)} |"
                for c in calibration
            )
        )
    return "## People in the loop\n\n" + "\n\n".join(parts) if parts else ""


def html_section(review: ReviewSummary | None, calibration: Sequence[CalibrationLine]) -> str:
    """The HTML section; empty when there is neither a task nor a judge."""
    esc = html.escape
    parts = []
    if review is not None:
        parts.append(
            f"<p><strong>New review tasks:</strong> {review.total} ({esc(reason_counts(review))}) — "
            f'<a href="{esc(review.url, quote=True)}">review them</a></p>'
        )
    if calibration:
        rows = "".join(
            f"<tr><td>{esc(c.scorer)}</td><td>{esc(c.judge_model)}</td><td>{esc(c.sample)}</td>"
            f'<td class="num">{c.n}</td><td class="num">{_percent(c.agreement)}</td><td>{esc(_kappa(c))}</td>'
            f"<td>{'yes' if c.calibrated else 'no'}</td><td>{esc(c.reason)}</td></tr>"
            for c in calibration
        )
        parts.append(
            "<table><thead><tr><th>Judge scorer</th><th>Judge</th><th>Sample</th><th>n</th><th>Agreement</th>"
            f"<th>κ ({esc(calibration[0].weighting)}) [CI]</th><th>May block</th><th>Why</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )
    if not parts:
        return ""
    return '<section id="people"><h2>People in the loop</h2>\n' + "\n".join(parts) + "\n</section>"
