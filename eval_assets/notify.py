"""Failed-gate notifications: payloads for generic webhooks and Slack, and their delivery (no Dagster import).

Payload builders are pure functions of an :class:`Alert`. :func:`send` posts them with stdlib ``urllib``
so that notifying needs no extra dependency. Webhook URLs are secrets (a Slack incoming-webhook URL is
a write token): they are read from the environment at send time, and never logged or returned; targets
are named by type and variable instead, e.g. ``slack ($EVAL_SLACK_WEBHOOK)``.

Alert fields carry config, dataset, provider and model text: every human-readable text (the log line,
Slack's text and blocks, the webhook's ``text``) has its control characters escaped
(:func:`~eval_assets.reporting.sanitize.terminal_text`), so an id can neither clear a terminal, ring a
bell nor reverse a line; the webhook's data fields keep the exact values.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from eval_assets.config import NotificationTarget
from eval_assets.reporting.sanitize import terminal_text

Severity = Literal["error", "warn"]
MetadataValue = str | float | int | None

#: Slack Block Kit limits we build within (characters of one text object, per Slack's reference).
SLACK_HEADER_MAX = 150
SLACK_SECTION_TEXT_MAX = 3000
SLACK_FIELD_TEXT_MAX = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_CONTEXT_ELEMENTS = 10
SLACK_MAX_BLOCKS = 50
#: Longest URL we turn into a Slack link; a longer "URL" is more likely junk than a report address.
_MAX_LINK_URL = 1000
#: How much of a failed response's body is kept as the error message (webhook services explain 4xx there).
_MAX_ERROR_BODY = 200
#: Longest Retry-After we agree to wait for: notifying must not stall a sensor tick.
_MAX_RETRY_AFTER_S = 10.0
_USER_AGENT = "eval-assets"
_SEVERITY_ICON: dict[str, str] = {"error": "❌", "warn": "⚠️"}


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
        report_path: Local path or URL of the run's report.html.
        dagster_url: Link to the run in the Dagster UI, if known.
        kind: ``check_failed`` for failed gates, ``run_failed`` when the run itself failed.
        run_error: The run's error, for run failures.
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

    @property
    def severity(self) -> Severity:
        """``error`` if any failed check is an error (or the run failed), else ``warn``."""
        if self.kind == "run_failed" or any(c.severity == "error" for c in self.checks):
            return "error"
        return "warn"


@dataclass(frozen=True)
class DeliveryResult:
    """Outcome of notifying one target.

    Attributes:
        target: The target named without its secret, e.g. ``slack ($EVAL_SLACK_WEBHOOK)`` or ``log``.
        ok: Whether the notification was delivered (a 2xx answer, or logged).
        status: Last HTTP status received, if any.
        error: Why delivery failed; never contains the URL.
    """

    target: str
    ok: bool
    status: int | None
    error: str | None


class NotificationError(Exception):
    """A notification could not be delivered (raised internally; :func:`send` reports it in its results)."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


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
    icon = _SEVERITY_ICON[alert.severity]
    if alert.kind == "run_failed":
        error_lines = [line for line in (alert.run_error or "").splitlines() if line.strip()]
        first_line = _one_line(error_lines[0]) if error_lines else "no error message"
        what = f"run {_one_line(alert.run_id)} failed ({_clip(first_line, 200)})"
    elif not alert.checks:
        what = "checks failed"
    elif len(alert.checks) == 1:
        check = alert.checks[0]
        what = f"{_one_line(check.check_name)} failed ({_clip(_one_line(check.description), 200)})"
    else:
        parts = "; ".join(f"{_one_line(c.check_name)} ({_clip(_one_line(c.description), 80)})" for c in alert.checks)
        what = f"{len(alert.checks)} checks failed: {parts}"
    line = f"{icon} {_one_line(alert.config_name)} {_one_line(alert.eval_date)}: {what}"
    if alert.report_path:
        line += f" — report: {_one_line(alert.report_path)}"
    if alert.dagster_url:
        line += f" — run: {_one_line(alert.dagster_url)}"
    return line


def webhook_payload(alert: Alert) -> dict[str, Any]:
    """Generic JSON body for a webhook: every field of the alert, plus ``key`` and a one-line ``text``.

    Non-finite numbers become ``null`` so the body is strict JSON.

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
        "top_regressions": list(alert.top_regressions),
        "report": alert.report_path,
        "dagster_url": alert.dagster_url,
        "run_error": alert.run_error,
        "text": summary_line(alert),
    }


def slack_payload(alert: Alert) -> dict[str, Any]:
    """Slack incoming-webhook body: fallback ``text`` and Block Kit ``blocks``.

    Every string that comes from configs, datasets or model output is escaped (``&``, ``<``, ``>``), so
    an example id cannot ping ``<!channel>`` or forge a link; every text is clipped to Slack's limits.

    Args:
        alert: The alert.

    Returns:
        A JSON-serializable dict with ``text`` and ``blocks`` (header, section(s), context).
    """
    icon = _SEVERITY_ICON[alert.severity]
    title = "run failed" if alert.kind == "run_failed" else "eval gate failed"
    header = f"{icon} {title}: {_one_line(alert.config_name)} {_one_line(alert.eval_date)}"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _slack_text(header, SLACK_HEADER_MAX)}}
    ]

    if alert.kind == "run_failed":
        body = f"*Run failed:*\n{_escape(alert.run_error or 'no error message')}"
    else:
        body = "\n".join(_slack_check_line(c) for c in alert.checks) or "_no failed checks listed_"
    fields = [
        _mrkdwn(f"*{_escape(name)}*\n{_format_number(value)}", SLACK_FIELD_TEXT_MAX)
        for name, value in list(alert.headline.items())[:SLACK_MAX_FIELDS]
    ]
    section: dict[str, Any] = {"type": "section", "text": _mrkdwn(body, SLACK_SECTION_TEXT_MAX)}
    if fields:
        section["fields"] = fields
    blocks.append(section)

    if alert.top_regressions:
        lines = "\n".join(f"• {_escape(_one_line(r))}" for r in alert.top_regressions)
        blocks.append({"type": "section", "text": _mrkdwn(f"*Top regressions*\n{lines}", SLACK_SECTION_TEXT_MAX)})

    context = [
        f"model: {_escape(alert.model_id)}",
        f"run: {_escape(alert.run_id)}",
        _slack_link("report", alert.report_path),
        _slack_link("Dagster run", alert.dagster_url),
    ]
    blocks.append(
        {
            "type": "context",
            "elements": [_mrkdwn(text, SLACK_SECTION_TEXT_MAX) for text in context if text][
                :SLACK_MAX_CONTEXT_ELEMENTS
            ],
        }
    )
    return {"text": _slack_text(summary_line(alert), SLACK_SECTION_TEXT_MAX), "blocks": blocks[:SLACK_MAX_BLOCKS]}


def send(
    alert: Alert,
    targets: Sequence[NotificationTarget],
    *,
    environ: Mapping[str, str] = os.environ,
    timeout_s: float = 10.0,
    log: Callable[[str], None] = print,
    retries: int = 2,
    backoff_s: float = 0.5,
) -> list[DeliveryResult]:
    """Log the alert once, and deliver it to every target subscribed to its severity.

    A target receives the alert if its ``on`` list includes the severity of any failed check; run
    failures go to every target. Delivery never raises: each target's outcome is a :class:`DeliveryResult`,
    and failures are also logged (by target type and variable name, never by URL). Delivery is
    at-least-once: a request that timed out may have arrived and is retried anyway.

    Args:
        alert: What to announce.
        targets: The config's notification targets.
        environ: Where webhook URLs are looked up (``target.url_env``); read at call time.
        timeout_s: Timeout of one HTTP attempt.
        log: Receives the summary line and delivery failures.
        retries: Extra attempts after a 5xx, 429 or connection error.
        backoff_s: Delay before the first retry; doubles with each retry.

    Returns:
        One result per target that the alert was meant for, in target order.
    """
    summary = summary_line(alert)
    # The summary is always logged exactly once; a `log` target is satisfied by that same line.
    log(summary)
    severities = {"error", "warn"} if alert.kind == "run_failed" else {c.severity for c in alert.checks}
    results: list[DeliveryResult] = []
    for target in targets:
        if not severities.intersection(target.on):
            continue
        if target.type == "log":
            results.append(DeliveryResult(target="log", ok=True, status=None, error=None))
            continue
        result = _deliver_http(
            alert, target, environ=environ, timeout_s=timeout_s, retries=retries, backoff_s=backoff_s
        )
        if not result.ok:
            log(terminal_text(f"notification to {result.target} failed: {result.error}"))
        results.append(result)
    return results


def _deliver_http(
    alert: Alert,
    target: NotificationTarget,
    *,
    environ: Mapping[str, str],
    timeout_s: float,
    retries: int,
    backoff_s: float,
) -> DeliveryResult:
    name = f"{target.type} (${target.url_env})"
    url = environ.get(target.url_env or "", "").strip()
    if not url:
        return DeliveryResult(target=name, ok=False, status=None, error=f"${target.url_env} is not set")
    # urllib also opens file:// and ftp:// URLs: only ever POST to a web address.
    if not _is_http_url(url):
        return DeliveryResult(target=name, ok=False, status=None, error=f"${target.url_env} is not an http(s) URL")
    payload = slack_payload(alert) if target.type == "slack" else webhook_payload(alert)
    body = json.dumps(payload, allow_nan=False).encode()

    attempts = max(retries, 0) + 1
    status: int | None = None
    error = ""
    for attempt in range(attempts):
        try:
            status = _post(url, body, timeout_s=timeout_s)
            return DeliveryResult(target=name, ok=True, status=status, error=None)
        except _RetryableError as exc:
            status, error = exc.status, _redact(str(exc), url, target.url_env)
            if attempt + 1 < attempts:
                delay = backoff_s * 2**attempt
                if exc.retry_after_s is not None:
                    delay = max(delay, min(exc.retry_after_s, _MAX_RETRY_AFTER_S))
                time.sleep(delay)
        except NotificationError as exc:
            return DeliveryResult(
                target=name, ok=False, status=exc.status, error=_redact(str(exc), url, target.url_env)
            )
    plural = "s" if attempts > 1 else ""
    return DeliveryResult(target=name, ok=False, status=status, error=f"{error} (after {attempts} attempt{plural})")


class _RetryableError(NotificationError):
    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after_s = retry_after_s


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib turns a redirected POST into a GET without body, which would look like a delivery: refuse.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _post(url: str, body: bytes, *, timeout_s: float) -> int:
    """POST once; return the 2xx status or raise NotificationError (retryable or not)."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", "User-Agent": _USER_AGENT}
    )
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=timeout_s) as response:
            response.read()
            status: int = response.status
    except urllib.error.HTTPError as exc:
        with exc:  # the error holds the open response: close it
            detail = _one_line(exc.read(_MAX_ERROR_BODY).decode("utf-8", "replace"))
        message = f"HTTP {exc.code}" + (f": {detail}" if detail else "")
        if exc.code == 429 or exc.code >= 500:
            retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
            raise _RetryableError(message, status=exc.code, retry_after_s=retry_after) from None
        raise NotificationError(message, status=exc.code) from None
    except ValueError as exc:
        # Raised for malformed URLs (control characters, bad port); its message may quote the URL.
        raise NotificationError(f"the URL is malformed ({type(exc).__name__})") from None
    except urllib.error.URLError as exc:
        raise _RetryableError(f"connection failed: {exc.reason}") from None
    except (OSError, http.client.HTTPException) as exc:
        raise _RetryableError(f"connection failed: {type(exc).__name__}: {exc}") from None
    if not 200 <= status < 300:
        raise NotificationError(f"HTTP {status}", status=status)
    return status


def _is_http_url(text: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value or "")
    except ValueError:
        return None  # an HTTP-date: rare for webhooks, and we cap the wait anyway
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _redact(message: str, url: str, url_env: str | None) -> str:
    # Belt and braces: urllib errors do not normally quote the URL, but a message must never leak it.
    return message.replace(url, f"${url_env}")


def _json_value(value: MetadataValue) -> MetadataValue:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _format_number(value: MetadataValue) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return _escape(_one_line(str(value)))
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _slack_check_line(check: FailedCheck) -> str:
    icon = _SEVERITY_ICON.get(check.severity, "❌")
    line = f"{icon} *{_escape(_one_line(check.check_name))}* on {_escape(_one_line(check.asset))}"
    if check.description:
        line += f": {_escape(_one_line(check.description))}"
    numbers = " · ".join(f"{_escape(_one_line(str(k)))}={_format_number(v)}" for k, v in check.metadata.items())
    return f"{line}\n    {numbers}" if numbers else line


def _slack_link(label: str, target: str | None) -> str:
    if not target:
        return ""
    if _is_http_url(target) and len(target) <= _MAX_LINK_URL:
        # Inside <url|label>, `|` and `>` would end the URL and whitespace breaks it: percent-encode them.
        safe_url = urllib.parse.quote(target, safe="/:?#[]@!$'()*+,;=%~-._&")
        return f"<{_escape(safe_url)}|{label}>"
    return f"{label}: {_escape(_one_line(target))}"


def _mrkdwn(escaped_text: str, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": _clip_escaped(escaped_text, limit)}


def _slack_text(raw: str, limit: int) -> str:
    return _clip_escaped(_escape(raw), limit)


def _escape(text: str) -> str:
    """Escape Slack's control characters (https://api.slack.com/reference/surfaces/formatting#escaping).

    Terminal controls are escaped too (line breaks kept): Slack shows mrkdwn text as it is received.
    """
    text = _unify_line_breaks(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TRAILING_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _clip_escaped(text: str, limit: int) -> str:
    """Clip already-escaped text to ``limit`` characters without cutting an entity in half."""
    if len(text) <= limit:
        return text
    cut = _TRAILING_PARTIAL_ENTITY.sub("", text[: limit - 1])
    # A cut inside a <url|label> link we built would leave a raw '<': drop the unfinished link.
    opening = cut.rfind("<")
    if opening > cut.rfind(">"):
        cut = cut[:opening]
    return cut + "…"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _one_line(text: str) -> str:
    """Collapse line breaks so one alert stays one log line (lines joined by ' | '), controls escaped."""
    lines = [" ".join(line.split()) for line in _unify_line_breaks(text).split("\n")]
    return " | ".join(line for line in lines if line)


def _unify_line_breaks(text: str) -> str:
    """CRLF and CR become LF; every control character but LF and tab is escaped (see the module docstring)."""
    return terminal_text(text.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t")
