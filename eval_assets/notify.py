"""Deliver alerts: post their payloads to webhooks and Slack, log them (no Dagster import).

What an alert says is built in :mod:`eval_assets.messages` (pure); this module only sends it, with stdlib
``urllib`` so that notifying needs no extra dependency. Webhook URLs are secrets (a Slack incoming-webhook
URL is a write token): they are read from the environment at send time, and never logged or returned;
targets are named by type and variable instead, e.g. ``slack ($EVAL_SLACK_WEBHOOK)``.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval_assets.config import NotificationTarget
from eval_assets.messages import (
    SLACK_FIELD_TEXT_MAX,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_MAX_CONTEXT_ELEMENTS,
    SLACK_MAX_FIELDS,
    SLACK_SECTION_TEXT_MAX,
    Alert,
    FailedCheck,
    alert_key,
    slack_payload,
    summary_line,
    webhook_payload,
)
from eval_assets.reporting.folder import is_http_url
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.reporting.slack import one_line

# The payload API is re-exported: callers import what an alert is and how it is sent from one place.
__all__ = [
    "SLACK_FIELD_TEXT_MAX",
    "SLACK_HEADER_MAX",
    "SLACK_MAX_BLOCKS",
    "SLACK_MAX_CONTEXT_ELEMENTS",
    "SLACK_MAX_FIELDS",
    "SLACK_SECTION_TEXT_MAX",
    "Alert",
    "DeliveryResult",
    "FailedCheck",
    "NotificationError",
    "alert_key",
    "send",
    "slack_payload",
    "summary_line",
    "webhook_payload",
]

#: How much of a failed response's body is kept as the error message (webhook services explain 4xx there).
_MAX_ERROR_BODY = 200
#: Longest Retry-After we agree to wait for: notifying must not stall a sensor tick.
_MAX_RETRY_AFTER_S = 10.0
_USER_AGENT = "eval-assets"


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
    if not is_http_url(url):
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
            detail = one_line(exc.read(_MAX_ERROR_BODY).decode("utf-8", "replace"))
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


def _retry_after(value: str | None) -> float | None:
    try:
        seconds = float(value or "")
    except ValueError:
        return None  # an HTTP-date: rare for webhooks, and we cap the wait anyway
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _redact(message: str, url: str, url_env: str | None) -> str:
    # Belt and braces: urllib errors do not normally quote the URL, but a message must never leak it.
    return message.replace(url, f"${url_env}")
