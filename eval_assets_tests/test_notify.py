"""Notification payloads and delivery, against a local webhook receiver (no network)."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, strategies as st

from eval_assets.config import NotificationTarget
from eval_assets.notify import (
    SLACK_FIELD_TEXT_MAX,
    SLACK_HEADER_MAX,
    SLACK_MAX_BLOCKS,
    SLACK_MAX_CONTEXT_ELEMENTS,
    SLACK_MAX_FIELDS,
    SLACK_SECTION_TEXT_MAX,
    Alert,
    DeliveryResult,
    FailedCheck,
    alert_key,
    send,
    slack_payload,
    summary_line,
    webhook_payload,
)
from eval_assets_tests.webhook_receiver import WebhookReceiver

THRESHOLD_CHECK = FailedCheck(
    check_name="threshold_contains_pass_rate",
    asset="eval_report",
    severity="error",
    description="0.62 < min 0.7",
    metadata={"value": 0.62, "threshold": 0.7, "n": 200},
)
REGRESSION_CHECK = FailedCheck(
    check_name="regression_vs_baseline",
    asset="eval_report",
    severity="warn",
    description="pass rate -0.08 vs baseline (p=0.01)",
    metadata={"delta": -0.08, "p_value": 0.01, "baseline_run": "abc123"},
)
ALERT = Alert(
    config_name="nightly",
    eval_date="2026-11-07",
    run_id="run-42",
    model_id="openai/gpt-x",
    checks=(THRESHOLD_CHECK,),
    headline={"contains.pass_rate": 0.81, "error_rate": 0.0, "cost_usd": 0.03},
    top_regressions=("faq/faq-012 contains: pass -> fail",),
    report_path="/runs/nightly/2026-11-07/report.html",
)
WARN_ALERT = replace(ALERT, checks=(REGRESSION_CHECK,))
RUN_FAILED = replace(
    ALERT, checks=(), kind="run_failed", run_error="BudgetExceeded: spent $5.01 of $5.00\n  at engine.py:88"
)
# A Slack webhook URL is a write token: the path below stands for the secret that must never leak.
SECRET_PATH = "T000/B000/s3cr3t-t0ken"


def webhook(var: str = "HOOK_URL", on: list[str] | None = None) -> NotificationTarget:
    return NotificationTarget.model_validate({"type": "webhook", "url_env": var, "on": on or ["error", "warn"]})


def slack(var: str = "SLACK_URL", on: list[str] | None = None) -> NotificationTarget:
    return NotificationTarget.model_validate({"type": "slack", "url_env": var, "on": on or ["error", "warn"]})


@pytest.fixture
def hook() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


def test_webhook_payload_shape() -> None:
    payload = webhook_payload(replace(ALERT, headline={"latency_p95_ms": float("nan"), "cost_usd": 0.03}))

    assert payload["event"] == "check_failed"
    assert payload["severity"] == "error"
    assert (payload["config"], payload["date"], payload["run_id"]) == ("nightly", "2026-11-07", "run-42")
    assert payload["checks"] == [
        {
            "name": "threshold_contains_pass_rate",
            "asset": "eval_report",
            "severity": "error",
            "description": "0.62 < min 0.7",
            "metadata": {"value": 0.62, "threshold": 0.7, "n": 200},
        }
    ]
    # NaN is not JSON: receivers written in other languages would reject the whole body.
    assert payload["headline"] == {"latency_p95_ms": None, "cost_usd": 0.03}
    assert payload["top_regressions"] == ["faq/faq-012 contains: pass -> fail"]
    assert payload["report"] == "/runs/nightly/2026-11-07/report.html"
    assert payload["key"] == alert_key(ALERT)
    assert payload["text"] == summary_line(ALERT)
    json.dumps(payload, allow_nan=False)


def test_slack_payload_shape() -> None:
    alert = replace(ALERT, report_path="https://reports.example/nightly/report.html")
    payload = slack_payload(alert)

    assert payload["text"] == summary_line(alert).replace("<", "&lt;")
    assert [block["type"] for block in payload["blocks"]] == ["header", "section", "section", "context"]
    header, checks, regressions, context = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": "❌ eval gate failed: nightly 2026-11-07"}
    assert "*threshold_contains_pass_rate* on eval_report: 0.62 &lt; min 0.7" in checks["text"]["text"]
    assert "value=0.62 · threshold=0.7 · n=200" in checks["text"]["text"]
    # Issue 7 item 3: headline numbers read as in every report (one formatting module), not as raw floats.
    assert [f["text"] for f in checks["fields"]] == [
        "*contains.pass_rate*\n81.0%",
        "*error_rate*\n0.0%",
        "*cost_usd*\n$0.0300",
    ]
    assert "faq/faq-012 contains: pass -&gt; fail" in regressions["text"]["text"]
    context_texts = [element["text"] for element in context["elements"]]
    assert "<https://reports.example/nightly/report.html|report>" in context_texts
    assert "model: openai/gpt-x" in context_texts


@pytest.mark.parametrize(
    ("field", "hostile"),
    [
        ("config_name", "<!channel> ship it"),
        ("description", "<script>alert(1)</script> & <@U123>"),
        ("top_regressions", "faq/<!here>&<#C1|general>"),
        ("model_id", "m<b>&"),
        ("report_path", "/tmp/<!channel>/report.html"),
        # Looks like a link to us but the `|` and `>` would let it smuggle its own label and a mention.
        ("report_path", "https://evil.example/x|click> <!channel"),
    ],
)
def test_slack_payload_escapes_control_characters(field: str, hostile: str) -> None:
    if field == "description":
        alert = replace(ALERT, checks=(replace(THRESHOLD_CHECK, description=hostile),))
    elif field == "top_regressions":
        alert = replace(ALERT, top_regressions=(hostile,))
    else:
        changes: dict[str, Any] = {field: hostile}
        alert = replace(ALERT, **changes)

    text = json.dumps(slack_payload(alert), ensure_ascii=False)

    for forbidden in ("<!channel>", "<!here>", "<@U123>", "<#C1", "<script>", "|click>"):
        assert forbidden not in text
    assert_only_our_markup(slack_payload(alert))


def test_slack_payload_stays_within_limits() -> None:
    alert = replace(
        ALERT,
        config_name="c" * 500,
        checks=tuple(replace(THRESHOLD_CHECK, check_name=f"check_{i}", description="&" * 400) for i in range(30)),
        headline={f"metric_{i}": float(i) for i in range(25)},
        top_regressions=tuple(f"ds/example-{i} contains: pass -> fail <&>" for i in range(400)),
        run_error="x" * 10_000,
    )

    assert_within_slack_limits(slack_payload(alert))
    assert_within_slack_limits(slack_payload(replace(alert, kind="run_failed")))


def test_summary_line() -> None:
    assert summary_line(ALERT) == (
        "❌ nightly 2026-11-07: threshold_contains_pass_rate failed (0.62 < min 0.7)"
        " — report: /runs/nightly/2026-11-07/report.html"
    )
    assert summary_line(WARN_ALERT).startswith("⚠️ nightly 2026-11-07: regression_vs_baseline failed")
    both = summary_line(replace(ALERT, checks=(THRESHOLD_CHECK, REGRESSION_CHECK), dagster_url="http://dagster/r/1"))
    assert both.startswith("❌ nightly 2026-11-07: 2 checks failed: threshold_contains_pass_rate (0.62 < min 0.7);")
    assert both.endswith(" — run: http://dagster/r/1")
    # Only the first line of a traceback-like error: one alert is one log line.
    assert summary_line(RUN_FAILED) == (
        "❌ nightly 2026-11-07: run run-42 failed (BudgetExceeded: spent $5.01 of $5.00)"
        " — report: /runs/nightly/2026-11-07/report.html"
    )
    assert "\n" not in summary_line(replace(ALERT, checks=(replace(THRESHOLD_CHECK, description="a\nb"),)))


def test_alert_key_ignores_numbers_and_order_but_not_which_checks_failed() -> None:
    key = alert_key(ALERT)
    assert key == "nightly|2026-11-07|eval_report.threshold_contains_pass_rate"
    # A rerun of the same failing gate with other numbers is the same news: same key.
    rerun = replace(ALERT, run_id="run-43", checks=(replace(THRESHOLD_CHECK, description="0.6 < min 0.7"),))
    assert alert_key(rerun) == key
    two = replace(ALERT, checks=(THRESHOLD_CHECK, REGRESSION_CHECK))
    assert alert_key(two) == alert_key(replace(two, checks=(REGRESSION_CHECK, THRESHOLD_CHECK)))
    assert alert_key(two) != key
    assert alert_key(replace(ALERT, eval_date="2026-11-08")) != key
    # Every failed run is news of its own.
    assert alert_key(RUN_FAILED) == "nightly|2026-11-07|run:run-42"
    assert alert_key(replace(RUN_FAILED, run_id="run-43")) != alert_key(RUN_FAILED)


def test_webhook_delivery(hook: WebhookReceiver) -> None:
    logs: list[str] = []

    results = send(ALERT, [webhook()], environ={"HOOK_URL": hook.url}, log=logs.append)

    assert results == [DeliveryResult(target="webhook ($HOOK_URL)", ok=True, status=200, error=None)]
    [request] = hook.received
    assert request["body"] == webhook_payload(ALERT)
    assert request["headers"]["Content-Type"] == "application/json"
    assert request["headers"]["User-Agent"] == "eval-assets"
    assert logs == [summary_line(ALERT)]


def test_slack_delivery_posts_slack_payload(hook: WebhookReceiver) -> None:
    results = send(ALERT, [slack()], environ={"SLACK_URL": hook.url}, log=lambda _: None)

    assert [r.ok for r in results] == [True]
    assert hook.received[0]["body"] == slack_payload(ALERT)


def test_server_error_is_retried_and_delivered_once(hook: WebhookReceiver) -> None:
    hook.fail_next(1, status=500)

    results = send(ALERT, [webhook()], environ={"HOOK_URL": hook.url}, log=lambda _: None, backoff_s=0)

    assert results == [DeliveryResult(target="webhook ($HOOK_URL)", ok=True, status=200, error=None)]
    assert hook.attempts == 2
    assert len(hook.received) == 1


@pytest.mark.parametrize(("status", "attempts"), [(503, 3), (429, 3), (400, 1), (404, 1)])
def test_gives_up_after_retries_and_does_not_retry_client_errors(
    hook: WebhookReceiver, status: int, attempts: int
) -> None:
    hook.fail_next(5, status=status)

    [result] = send(ALERT, [webhook()], environ={"HOOK_URL": hook.url}, log=lambda _: None, retries=2, backoff_s=0)

    assert (result.ok, result.status) == (False, status)
    assert result.error is not None and result.error.startswith(f"HTTP {status}")
    assert hook.attempts == attempts


def test_connection_refused_is_reported_not_raised() -> None:
    with socket.socket() as probe:  # a port that was just free: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/{SECRET_PATH}"

    [result] = send(ALERT, [webhook()], environ={"HOOK_URL": url}, log=lambda _: None, backoff_s=0)

    assert not result.ok and result.status is None
    assert result.error is not None and "connection failed" in result.error and "3 attempts" in result.error
    assert SECRET_PATH not in result.error


def test_missing_env_var_and_failures_never_leak_the_url(hook: WebhookReceiver) -> None:
    logs: list[str] = []
    secret_url = f"{hook.url}/{SECRET_PATH}"
    hook.fail_next(10, status=500)

    results = send(
        ALERT,
        [slack("UNSET_SLACK_URL"), webhook("HOOK_URL"), webhook("FILE_URL")],
        environ={"HOOK_URL": secret_url, "FILE_URL": f"file:///etc/{SECRET_PATH}"},
        log=logs.append,
        backoff_s=0,
    )

    assert results[0] == DeliveryResult(
        target="slack ($UNSET_SLACK_URL)", ok=False, status=None, error="$UNSET_SLACK_URL is not set"
    )
    assert (results[1].ok, results[1].status) == (False, 500)
    assert results[2] == DeliveryResult(
        target="webhook ($FILE_URL)", ok=False, status=None, error="$FILE_URL is not an http(s) URL"
    )
    assert logs[0] == summary_line(ALERT)
    assert len(logs) == 4  # the summary, then one line per failed target
    assert "$UNSET_SLACK_URL is not set" in logs[1]
    for text in [*logs, *map(repr, results)]:
        assert SECRET_PATH not in text
        assert hook.url not in text


def test_target_only_receives_its_severities(hook: WebhookReceiver) -> None:
    env = {"HOOK_URL": hook.url}

    assert send(WARN_ALERT, [webhook(on=["error"])], environ=env, log=lambda _: None) == []
    assert hook.attempts == 0

    both = replace(ALERT, checks=(THRESHOLD_CHECK, REGRESSION_CHECK))
    assert [r.ok for r in send(both, [webhook(on=["warn"])], environ=env, log=lambda _: None)] == [True]
    # A failed run is always news, whatever severities the target asked for.
    assert [r.ok for r in send(RUN_FAILED, [webhook(on=["warn"])], environ=env, log=lambda _: None)] == [True]
    assert [r["body"]["event"] for r in hook.received] == ["check_failed", "run_failed"]


def test_log_target_logs_the_summary_once() -> None:
    logs: list[str] = []

    results = send(ALERT, [NotificationTarget(type="log")], environ={}, log=logs.append)

    assert results == [DeliveryResult(target="log", ok=True, status=None, error=None)]
    assert logs == [summary_line(ALERT)]


def test_summary_is_logged_without_any_target() -> None:
    logs: list[str] = []

    assert send(WARN_ALERT, [], environ={}, log=logs.append) == []
    assert logs == [summary_line(WARN_ALERT)]


# Links we build ourselves: <http(s)://percent-encoded-url|fixed label>.
OUR_LINK = re.compile(r"<https?://[^<>|\s]+\|(?:report|Dagster run)>")
ENTITY = re.compile(r"&(?:amp|lt|gt);")


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings_in(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def assert_only_our_markup(payload: dict[str, Any]) -> None:
    for text in strings_in(payload):
        bare = OUR_LINK.sub("", text)
        assert "<" not in bare and ">" not in bare, text
        assert "&" not in ENTITY.sub("", bare), text


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    blocks = payload["blocks"]
    assert len(blocks) <= SLACK_MAX_BLOCKS
    assert len(payload["text"]) <= SLACK_SECTION_TEXT_MAX
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= SLACK_HEADER_MAX
        elif block["type"] == "section":
            assert len(block["text"]["text"]) <= SLACK_SECTION_TEXT_MAX
            fields = block.get("fields", [])
            assert len(fields) <= SLACK_MAX_FIELDS
            assert all(len(field["text"]) <= SLACK_FIELD_TEXT_MAX for field in fields)
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= SLACK_MAX_CONTEXT_ELEMENTS
            assert all(len(element["text"]) <= SLACK_SECTION_TEXT_MAX for element in block["elements"])


numbers = st.one_of(st.none(), st.floats(), st.integers())
hostile_text = st.one_of(
    st.text(),
    st.text(alphabet="<>&|!@#*_`\n abc:/", max_size=60),
    st.builds(lambda s: f"https://x.example/{s}", st.text(alphabet="<>&|! \n%a", max_size=20)),
)
checks = st.builds(
    FailedCheck,
    check_name=hostile_text,
    asset=hostile_text,
    severity=st.sampled_from(["error", "warn"]),
    description=hostile_text,
    metadata=st.dictionaries(hostile_text, st.one_of(numbers, hostile_text), max_size=4),
)
alerts = st.builds(
    Alert,
    config_name=hostile_text,
    eval_date=hostile_text,
    run_id=hostile_text,
    model_id=hostile_text,
    checks=st.lists(checks, max_size=4).map(tuple),
    headline=st.dictionaries(hostile_text, st.one_of(st.none(), st.floats()), max_size=12),
    top_regressions=st.lists(hostile_text, max_size=8).map(tuple),
    report_path=st.one_of(st.none(), hostile_text),
    dagster_url=st.one_of(st.none(), hostile_text),
    kind=st.sampled_from(["check_failed", "run_failed"]),
    run_error=st.one_of(st.none(), hostile_text),
)


@given(alerts)
def test_payloads_are_strict_json_and_slack_markup_is_ours(alert: Alert) -> None:
    slack_body = slack_payload(alert)

    json.dumps(slack_body, allow_nan=False)
    json.dumps(webhook_payload(alert), allow_nan=False)
    assert_only_our_markup(slack_body)
    assert_within_slack_limits(slack_body)
    assert "\n" not in summary_line(alert)
