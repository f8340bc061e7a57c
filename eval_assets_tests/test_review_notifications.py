"""Alerts name the night's new review tasks, counted by reason, with a link to the review page."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path

from eval_assets import warehouse as wh
from eval_assets.alerts import check_alert, read_evidence
from eval_assets.messages import slack_payload, webhook_payload
from eval_assets.reporting.model import ReviewSummary
from eval_assets_tests.test_notify import ALERT

NIGHT = dt.date(2026, 11, 7)


def task(number: int, reason: str, priority: int) -> dict[str, object]:
    return {
        "eval_date": NIGHT,
        "config_name": "nightly",
        "run_id": "r",
        "git_sha": "g",
        "config_hash": "h",
        "task_id": f"t{number}",
        "dataset": "faq",
        "dataset_hash": "d",
        "example_id": f"faq-{number:03}",
        "scorer": "faithfulness",
        "output_hash": "o",
        "reason": reason,
        "reasons": [reason],
        "priority": priority,
        "rank": number,
        "detail": "why",
        "score": 0.5,
        "passed": False,
        "code_sha": None,
    }


def test_evidence_counts_the_nights_tasks_and_the_alert_links_the_review_page(tmp_path: Path) -> None:
    path = tmp_path / "w.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        rows = [task(1, "calibration_sample", 4), task(2, "regression_flip", 1), task(3, "regression_flip", 1)]
        wh.replace_partition(conn, NIGHT, "nightly", {"review_tasks": wh.frame("review_tasks", rows)})
    evidence = read_evidence(path, "nightly", str(NIGHT))
    assert list(evidence.review_tasks.items()) == [("regression_flip", 2), ("calibration_sample", 1)]  # urgent first
    alert = check_alert(
        config_name="nightly",
        eval_date=str(NIGHT),
        run_id="r",
        check_name="threshold_x",
        asset="eval_report",
        severity="error",
        description="low",
        metadata={},
        evidence=evidence,
        report_path=None,
        review_base_url="https://review.example.test/",
    )
    assert alert.review == ReviewSummary(
        {"regression_flip": 2, "calibration_sample": 1}, "https://review.example.test/?config=nightly&date=2026-11-07"
    )
    # Without a review page to link (the config is unreadable), the alert goes out without the tasks.
    unlinked = check_alert(
        config_name="nightly",
        eval_date=str(NIGHT),
        run_id="r",
        check_name="threshold_x",
        asset="eval_report",
        severity="error",
        description="low",
        metadata={},
        evidence=evidence,
        report_path=None,
    )
    assert unlinked.review is None


def test_webhook_and_slack_payloads_name_the_tasks() -> None:
    review = ReviewSummary({"regression_flip": 3, "judge_conflict": 2}, "http://127.0.0.1:8765/?config=n&date=d")
    payload = webhook_payload(replace(ALERT, review=review))
    assert payload["review_tasks"] == {
        "total": 5,
        "by_reason": {"regression_flip": 3, "judge_conflict": 2},
        "url": "http://127.0.0.1:8765/?config=n&date=d",
    }
    json.dumps(payload, allow_nan=False)
    assert webhook_payload(ALERT)["review_tasks"] is None
    texts = [json.dumps(block) for block in slack_payload(replace(ALERT, review=review))["blocks"]]
    (line,) = [text for text in texts if "New review tasks" in text]
    assert "5 (3 regression_flip, 2 judge_conflict)" in line
    assert "<http://127.0.0.1:8765/?config=n&amp;date=d|review them>" in line  # & escaped for mrkdwn
    assert not any("New review tasks" in text for text in map(json.dumps, slack_payload(ALERT)["blocks"]))
