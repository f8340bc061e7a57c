"""What an alert says: the :class:`Alert` value and the payloads built from it (pure, no Dagster, no I/O).

:mod:`eval_assets.notify` delivers these payloads. Alert fields carry config, dataset, provider and model
text: every human-readable text (the log line, Slack's text and blocks, the webhook's ``text``) has its
control characters escaped, so an id can neither clear a terminal, ring a bell nor reverse a line; the
webhook's data fields keep the exact values. Numbers are formatted by :mod:`eval_assets.reporting.format`,
like in every report; Slack gets its own mrkdwn (:mod:`eval_assets.reporting.slack`), never GitHub Markdown.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from eval_assets.reporting import slack
from eval_assets.reporting.format import cost_phrase, format_cost, format_metadata, format_value
from eval_assets.reporting.model import Cost, ReviewSummary
from eval_assets.reporting.slack import (
    SLACK_FIELD_TEXT_MAX,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_MAX_CONTEXT_ELEMENTS,
    SLACK_MAX_FIELDS,
    SLACK_SECTION_TEXT_MAX,
)

Severity = Literal["error", "warn"]
MetadataValue = str | float | int | None

SEVERITY_ICON: dict[str, str] = {"error": "❌", "warn": "⚠️"}

__all__ = [
    "SLACK_FIELD_TEXT_MAX",
    "SLACK_HEADER_MAX",
    "SLACK_MAX_BLOCKS",
    "SLACK_MAX_CONTEXT_ELEMENTS",
    "SLACK_MAX_FIELDS",
    "SLACK_SECTION_TEXT_MAX",
    "Alert",
    "FailedCheck",
    "alert_key",
    "slack_payload",
    "summary_line",
    "webhook_payload",
]


@dataclass(frozen=True)
class FailedCheck:
    """One failed asset check.

    Attributes:
        check_name: Name of the check, e.g. ``threshold_contains_pass_rate``.
        asset: Asset the check belongs to, e.g. ``eval_report``.
        severity: ``error`` blocks a release; ``warn`` is for information.
        description: What failed, e.g. ``0.62 < min 0.7``.
        metadata: Headline numbers of the check (value, threshold, delta, p_value, n, ...).
    """

    check_name: str
    asset: str
    severity: Severity
    description: str
    metadata: Mapping[str, MetadataValue]


@dataclass(frozen=True)
class Alert:
    """Something worth telling people about one evaluation run.

    Attributes:
        config_name: Run config name.
        eval_date: ISO date of the evaluation partition.
        run_id: Dagster run id.
        model_id: Model under test.
        checks: The failing checks this alert is about (usually one).
        headline: Headline metrics of the run, e.g. ``{"contains.pass_rate": 0.81, "cost_usd": 0.03}``.
        top_regressions: Short lines such as ``faq/faq-012 contains: pass -> fail``.
        report_path: URL of the run's report.html (with a report base URL), else its path on the machine that ran.
        dagster_url: Link to the run in the Dagster UI, if known.
        kind: ``check_failed`` for failed gates, ``run_failed`` when the run itself failed.
        run_error: The run's error, for run failures.
        cost: What the run cost, with how much of it is priced (None: not known to the alert).
        review: The night's new review tasks by reason, with the review page's link (None: not known).
    """

    config_name: str
    eval_date: str
    run_id: str
    model_id: str
    checks: tuple[FailedCheck, ...]
    headline: Mapping[str, float | None]
    top_regressions: tuple[str, ...]
    report_path: str | None
    dagster_url: str | None = None
    kind: Literal["check_failed", "run_failed"] = "check_failed"
    run_error: str | None = None
    cost: Cost | None = None
    review: ReviewSummary | None = None

    @property
    def severity(self) -> Severity:
        """``error`` if any failed check is an error (or the run failed), else ``warn``."""
        if self.kind == "run_failed" or any(c.severity == "error" for c in self.checks):
            return "error"
        return "warn"


def alert_key(alert: Alert) -> str:
    """Stable deduplication key of an alert.

    The key depends on the config, the date and which checks failed (``asset.check`` names, sorted), not on
    descriptions or numbers: re-evaluating the same failing gate must not page people twice. A run failure
    is keyed by its run id, since every failed run is news.

    Args:
        alert: The alert.

    Returns:
        ``config|date|asset.check,...`` or ``config|date|run:<run_id>``.
    """
    if alert.kind == "run_failed":
        subject = f"run:{alert.run_id}"
    else:
        subject = ",".join(sorted({f"{c.asset}.{c.check_name}" for c in alert.checks}))
    return f"{alert.config_name}|{alert.eval_date}|{subject}"


def summary_line(alert: Alert) -> str:
    """One line describing the alert, for logs and as notification fallback text.

    Args:
        alert: The alert.

    Returns:
        E.g. ``❌ nightly 2026-11-07: threshold_contains_pass_rate failed (0.62 < min 0.7) — report: ...``.
    """
    one_line, clip = slack.one_line, slack.clip
    icon = SEVERITY_ICON[alert.severity]
    if alert.kind == "run_failed":
        error_lines = [line for line in (alert.run_error or "").splitlines() if line.strip()]
        first_line = one_line(error_lines[0]) if error_lines else "no error message"
        what = f"run {one_line(alert.run_id)} failed ({clip(first_line, 200)})"
    elif not alert.checks:
        what = "checks failed"
    elif len(alert.checks) == 1:
        check = alert.checks[0]
        what = f"{one_line(check.check_name)} failed ({clip(one_line(check.description), 200)})"
    else:
        parts = "; ".join(f"{one_line(c.check_name)} ({clip(one_line(c.description), 80)})" for c in alert.checks)
        what = f"{len(alert.checks)} checks failed: {parts}"
    line = f"{icon} {one_line(alert.config_name)} {one_line(alert.eval_date)}: {what}"
    if alert.cost is not None and alert.cost.state != "known":
        line += f" — {one_line(cost_phrase(alert.cost))}"
    if alert.report_path:
        line += f" — report: {one_line(alert.report_path)}"
    if alert.dagster_url:
        line += f" — run: {one_line(alert.dagster_url)}"
    return line


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """Generic JSON body for a webhook: every field of the alert, plus ``key`` and a one-line ``text``.

    Non-finite numbers become ``null`` so the body is strict JSON. ``report`` and ``dagster_url`` are
    absolute URLs when the report base URL and the Dagster UI URL are configured; ``cost`` says whether the
    cost is known, partial or unknown, so a receiver never mistakes an unknown price for $0.

    Args:
        alert: The alert.

    Returns:
        A JSON-serializable dict.
    """
    return {
        "event": alert.kind,
        "severity": alert.severity,
        "key": alert_key(alert),
        "config": alert.config_name,
        "date": alert.eval_date,
        "run_id": alert.run_id,
        "model": alert.model_id,
        "checks": [
            {
                "name": c.check_name,
                "asset": c.asset,
                "severity": c.severity,
                "description": c.description,
                "metadata": {str(k): _json_value(v) for k, v in c.metadata.items()},
            }
            for c in alert.checks
        ],
        "headline": {str(k): _json_value(v) for k, v in alert.headline.items()},
        "cost": _cost_fields(alert.cost),
        "top_regressions": list(alert.top_regressions),
        "report": alert.report_path,
        "dagster_url": alert.dagster_url,
        "run_error": alert.run_error,
        "review_tasks": _review_fields(alert.review),
        "text": summary_line(alert),
    }


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack incoming-webhook body: fallback ``text`` and Block Kit ``blocks``, in Slack's own mrkdwn.

    Every string that comes from configs, datasets or model output is escaped (``&``, ``<``, ``>`` only),
    so an example id cannot ping ``<!channel>`` or forge a link; every text is clipped to Slack's limits.

    Args:
        alert: The alert.

    Returns:
        A JSON-serializable dict with ``text`` and ``blocks`` (header, section(s), context).
    """
    escape, one_line = slack.escape, slack.one_line
    icon = SEVERITY_ICON[alert.severity]
    title = "run failed" if alert.kind == "run_failed" else "eval gate failed"
    header = f"{icon} {title}: {one_line(alert.config_name)} {one_line(alert.eval_date)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": slack.plain(header, SLACK_HEADER_MAX)}}
    ]

    if alert.kind == "run_failed":
        body = f"*Run failed:*\n{escape(alert.run_error or 'no error message')}"
    else:
        body = "\n".join(_slack_check_line(c) for c in alert.checks) or "_no failed checks listed_"
    fields = [
        slack.mrkdwn(f"*{escape(name)}*\n{escape(_headline_value(name, value, alert.cost))}", SLACK_FIELD_TEXT_MAX)
        for name, value in list(alert.headline.items())[:SLACK_MAX_FIELDS]
    ]
    blocks.append(slack.section(body, fields=fields))

    if alert.top_regressions:
        lines = "\n".join(f"• {escape(one_line(r))}" for r in alert.top_regressions)
        blocks.append(slack.section(f"*Top regressions*\n{lines}"))

    if alert.review is not None and alert.review.total:
        counts = ", ".join(f"{n} {escape(reason)}" for reason, n in alert.review.by_reason.items() if n)
        review_link = slack.link("review them", alert.review.url)
        blocks.append(slack.section(f"*New review tasks:* {alert.review.total} ({counts}) {review_link or ''}"))

    context = [
        f"model: {escape(alert.model_id)}",
        f"run: {escape(alert.run_id)}",
        slack.link("report", alert.report_path),
        slack.link("Dagster run", alert.dagster_url),
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [slack.mrkdwn(text, SLACK_SECTION_TEXT_MAX) for text in context if text][
                :SLACK_MAX_CONTEXT_ELEMENTS
            ],
        }
    )
    return {"text": slack.plain(summary_line(alert), SLACK_SECTION_TEXT_MAX), "blocks": blocks[:SLACK_MAX_BLOCKS]}


def _json_value(value: MetadataValue) -> MetadataValue:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _review_fields(review: ReviewSummary | None) -> dict[str, Any] | None:
    if review is None:
        return None
    return {"total": review.total, "by_reason": dict(review.by_reason), "url": review.url}


def _cost_fields(cost: Cost | None) -> dict[str, Any] | None:
    if cost is None:
        return None
    return {
        "usd": _json_value(cost.usd),
        "state": cost.state,
        "priced_calls": cost.priced_calls,
        "calls": cost.calls,
        "unpriced_models": list(cost.unpriced_models),
        "text": format_cost(cost),
    }


def _headline_value(metric: str, value: float | None, cost: Cost | None) -> str:
    if metric == "cost_usd" and cost is not None:
        return format_cost(cost)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return format_value(metric, value)


def _slack_check_line(check: FailedCheck) -> str:
    escape, one_line = slack.escape, slack.one_line
    icon = SEVERITY_ICON.get(check.severity, "❌")
    line = f"{icon} *{escape(one_line(check.check_name))}* on {escape(one_line(check.asset))}"
    if check.description:
        line += f": {escape(one_line(check.description))}"
    # Multi-line values (the Markdown tables the Dagster UI shows) belong to the UI, not to a chat line.
    numbers = " · ".join(
        f"{escape(one_line(str(k)))}={escape(one_line(format_metadata(str(k), v)))}"
        for k, v in check.metadata.items()
        if not (isinstance(v, str) and "\n" in v)
    )
    return f"{line}\n    {numbers}" if numbers else line
