"""Slack gets its own mrkdwn: only ``&``, ``<`` and ``>`` escaped, never GitHub Markdown (issue 8 item 5)."""

from __future__ import annotations

import json

import pytest

from eval_assets.messages import Alert, FailedCheck, slack_payload, webhook_payload
from eval_assets.reporting import slack
from eval_assets.reporting.gate import GateEntry, GateVerdict, render_gate
from eval_assets.reporting.model import Cost

MARKDOWN_TABLE = "| scorer | n | delta |\n|---|---:|---:|\n| contains | 200 | -8.0 pp |"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("contains.pass_rate >= 0.7", "contains.pass_rate &gt;= 0.7"),
        ("snake_case *bold* ~x~ `code` \\n", "snake_case *bold* ~x~ `code` \\n"),  # no backslash escapes
        ("a & b <!channel>", "a &amp; b &lt;!channel&gt;"),
        ("already &gt; escaped", "already &amp;gt; escaped"),  # shown as typed, not decoded
        ("bell\x07 rlo\u202e", "bell\\x07 rlo\\u202e"),  # controls arrive as visible text
        ("two\r\nlines", "two\nlines"),
    ],
)
def test_slack_escapes_only_what_slack_escapes(raw: str, expected: str) -> None:
    assert slack.escape(raw) == expected


def test_links_are_ours_and_paths_are_text() -> None:
    assert slack.link("report", "https://evals.example/r/report.html") == "<https://evals.example/r/report.html|report>"
    assert slack.link("report", "https://x.example/a|b> <!here>") == "<https://x.example/a%7Cb%3E%20%3C!here%3E|report>"
    assert slack.link("report", "/srv/runs/<!channel>/report.html") == "report: /srv/runs/&lt;!channel&gt;/report.html"
    assert slack.link("report", None) == ""


def _alert() -> Alert:
    check = FailedCheck(
        check_name="threshold_contains_pass_rate",
        asset="eval_report",
        severity="error",
        description="contains.pass_rate >= 0.7 failed: 0.62",
        metadata={"value": 0.62, "p_value": 0.00001, "comparisons": MARKDOWN_TABLE},
    )
    return Alert(
        config_name="nightly_qa",
        eval_date="2026-11-07",
        run_id="run-1",
        model_id="openai/fake-model",
        checks=(check,),
        headline={"contains.pass_rate": 0.62, "cost_usd": None},
        top_regressions=(),
        report_path="https://evals.example/runs/2026-11-07/nightly_qa/report.html",
        dagster_url="http://dagster.internal:3000/runs/run-1",
        cost=Cost(None, 0, 80, ("openai/fake-model",)),
    )


def test_issue8_5_the_slack_message_is_mrkdwn_not_github_markdown() -> None:
    payload = slack_payload(_alert())
    text = json.dumps(payload, ensure_ascii=False)
    assert "contains.pass_rate &gt;= 0.7" in text  # Slack shows ">=": escaped once, as Slack wants
    assert "&amp;gt;" not in text and "\\\\_" not in text and "nightly\\\\_qa" not in text
    assert "nightly_qa" in text
    assert "| scorer |" not in text  # the UI's Markdown table stays in the UI
    assert "p_value=&lt;0.0001" in text
    fields = {f["text"] for f in payload["blocks"][1]["fields"]}
    assert fields == {"*contains.pass_rate*\n62.0%", "*cost_usd*\nunknown: no price for openai/fake-model"}
    context = [e["text"] for e in payload["blocks"][-1]["elements"]]
    assert "<https://evals.example/runs/2026-11-07/nightly_qa/report.html|report>" in context
    assert "<http://dagster.internal:3000/runs/run-1|Dagster run>" in context


def test_issue8_5_webhooks_carry_the_absolute_links_and_an_honest_cost() -> None:
    payload = webhook_payload(_alert())
    assert payload["report"] == "https://evals.example/runs/2026-11-07/nightly_qa/report.html"
    assert payload["dagster_url"] == "http://dagster.internal:3000/runs/run-1"
    assert payload["cost"] == {
        "usd": None,
        "state": "unknown",
        "priced_calls": 0,
        "calls": 80,
        "unpriced_models": ["openai/fake-model"],
        "text": "unknown: no price for openai/fake-model",
    }
    assert "cost unknown: no price for openai/fake-model" in payload["text"]
    # The data fields stay exact, the Markdown table included: a receiver may want it.
    assert payload["checks"][0]["metadata"]["comparisons"] == MARKDOWN_TABLE


def _verdict(**changes: object) -> GateVerdict:
    fields: dict[str, object] = {
        "config_name": "nightly_qa",
        "eval_date": "2026-11-07",
        "model_id": "openai/gpt-4o-mini",
        "gates": (
            GateEntry("threshold_contains_pass_rate", "error", False, "contains.pass_rate >= 0.7: 0.62 < min 0.7"),
            GateEntry("error_rate_within_limit", "error", True, "ok"),
        ),
        "headline": (("contains.pass_rate", 0.62, -0.08), ("cost_usd", 0.0123, None)),
        "report_path": "https://evals.example/runs/2026-11-07/nightly_qa/report.html",
        "run_url": "http://dagster.internal:3000/runs/run-1",
        "cost": Cost(0.0123, 40, 80),
    }
    return GateVerdict(**(fields | changes))  # type: ignore[arg-type]


def test_gate_as_slack_mrkdwn() -> None:
    text = render_gate(_verdict(), "slack")
    assert text.splitlines() == [
        "❌ *eval gate: nightly_qa* on 2026-11-07",
        "Model `openai/gpt-4o-mini`: 1/2 gates passed",
        "• contains.pass_rate: 62.0% (-8.0 pp)",
        "• cost_usd: $0.0123 (partial: 40 of 80 calls priced)",
        "❌ *threshold_contains_pass_rate*: contains.pass_rate &gt;= 0.7: 0.62 &lt; min 0.7",
        "<https://evals.example/runs/2026-11-07/nightly_qa/report.html|report> · "
        "<http://dagster.internal:3000/runs/run-1|Dagster run>",
    ]
    hostile = render_gate(_verdict(config_name="<!channel> x", report_path="/srv/<!here>/report.html"), "slack")
    assert "<!channel>" not in hostile and "<!here>" not in hostile


def test_issue8_5_pr_comment_links_are_absolute_with_a_base_url_and_local_paths_without() -> None:
    with_url = render_gate(_verdict(), "pr-comment")
    assert "Report: [report.html](https://evals.example/runs/2026-11-07/nightly_qa/report.html)" in with_url
    assert "Dagster run: [run](http://dagster.internal:3000/runs/run-1)" in with_url
    assert "| cost_usd | $0.0123 (partial: 40 of 80 calls priced) | — |" in with_url
    local = render_gate(_verdict(report_path="/srv/runs/2026-11-07/nightly_qa/report.html", run_url=None), "pr-comment")
    assert "Report: `/srv/runs/2026-11-07/nightly_qa/report.html`" in local
    assert "Dagster run" not in local
    data = json.loads(render_gate(_verdict(), "json"))
    assert data["cost"]["state"] == "partial" and data["run_url"].endswith("/runs/run-1")
