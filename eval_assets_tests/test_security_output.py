"""Terminal and chat hygiene: hostile text from configs, datasets, providers and models never reaches a terminal,
a log or a Slack channel as control characters (issue 13, part 5); machine-readable fields stay exact."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from eval_assets import warehouse as wh
from eval_assets.cli import RunOutcome, main
from eval_assets.cli.run import print_summary
from eval_assets.config import NotificationTarget
from eval_assets.notify import Alert, FailedCheck, send, slack_payload, summary_line, webhook_payload
from eval_assets.reporting.gate import GateEntry, GateVerdict, render_gate
from eval_assets.settings import Settings

DAY = dt.date(2026, 11, 7)
#: OSC 8 link, OSC 0 title, clear screen, BEL, NUL, C1 CSI, RLO, DEL, a bare CR and a line separator.
EVIL = "\x1b]8;;http://evil.example\x07x\x1b]8;;\x07\x1b]0;t\x07\x1b[2J\x07\x00\x9b1m\u202e\x7f\r\u2028"
CONTROLS = ("\x1b", "\x07", "\x00", "\x9b", "\u202e", "\x7f", "\r", "\u2028")


def assert_no_controls(text: str) -> None:
    found = [repr(c) for c in CONTROLS if c in text]
    assert not found, f"raw {found} in {text!r}"


def test_run_summary_escapes_config_gates_errors_and_headline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings(data_dir=tmp_path, warehouse_path=tmp_path / "w.duckdb", runs_dir=tmp_path / "runs")
    metric = {"eval_date": DAY, "config_name": "nightly", "run_id": "r", "git_sha": "g", "code_sha": "c"}
    metric["config_hash"] = "h"
    rows = [{**metric, "metric": f"{EVIL}.pass_rate", "tag": None, "value": 0.5, "n": 2}]
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        wh.replace_partition(conn, DAY, "nightly", {"metrics": wh.frame("metrics", rows)})
    outcome = RunOutcome(
        config="nightly",
        eval_date=DAY,
        success=False,
        failed_gates=[f"eval_report.threshold_x: {EVIL}"],
        warned_gates=[f"eval_report.threshold_y: {EVIL}"],
        # A provider error that tries to forge a summary line of its own.
        error=f"model_responses: {EVIL}\n  2026-11-07 candidate            ok     all good",
    )
    assert print_summary([outcome], settings) == 1
    out = capsys.readouterr().out
    assert_no_controls(out)
    assert "\\x1b[2J" in out and "\\u202e" in out  # shown, not obeyed
    assert re.search(r"\n {8,}2026-11-07 candidate", out)  # the forged line is indented under the error


def hostile_alert(**changes: object) -> Alert:
    check = FailedCheck(
        check_name=f"threshold_{EVIL}",
        asset="eval_report",
        severity="error",
        description=f"0.62 < min 0.7 {EVIL}",
        metadata={"value": 0.62, f"tag{EVIL}": EVIL},
    )
    fields: dict[str, object] = {
        "config_name": f"nightly{EVIL}",
        "eval_date": "2026-11-07",
        "run_id": f"run{EVIL}",
        "model_id": f"openai/{EVIL}",
        "checks": (check,),
        "headline": {f"contains{EVIL}.pass_rate": 0.81},
        "top_regressions": (f"faq/{EVIL} contains: pass -> fail",),
        "report_path": f"/runs/{EVIL}/report.html",
        "dagster_url": f"http://localhost:3000/runs/{EVIL}",
    }
    return Alert(**(fields | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "alert",
    [
        hostile_alert(),
        hostile_alert(kind="run_failed", checks=(), run_error=f"Boom {EVIL}\nsecond line {EVIL}"),
    ],
    ids=["check_failed", "run_failed"],
)
def test_slack_and_log_text_escape_controls(alert: Alert) -> None:
    line = summary_line(alert)
    assert_no_controls(line)
    assert "\n" not in line and "\\x1b[2J" in line
    assert_no_controls(json.dumps(slack_payload(alert), ensure_ascii=False))


def test_webhook_text_is_escaped_but_its_data_fields_are_exact() -> None:
    alert = hostile_alert()
    payload = webhook_payload(alert)
    assert_no_controls(payload["text"])
    assert payload["config"] == alert.config_name and payload["run_id"] == alert.run_id
    assert payload["checks"][0]["description"] == alert.checks[0].description
    body = json.dumps(payload)  # what is posted: ASCII JSON, exact once parsed
    assert_no_controls(body)
    assert json.loads(body)["model"] == alert.model_id


def test_the_logged_summary_line_never_carries_a_raw_clear_screen() -> None:
    logs: list[str] = []
    results = send(hostile_alert(), [NotificationTarget(type="log")], environ={}, log=logs.append)
    assert [r.ok for r in results] == [True]
    assert logs and all("\x1b" not in entry for entry in logs)
    assert "\\x1b[2J" in logs[0]


@pytest.mark.parametrize("fmt", ["markdown", "pr-comment", "json"])
def test_gate_output_carries_no_controls(fmt: str) -> None:
    verdict = GateVerdict(
        config_name=f"nightly{EVIL}",
        eval_date="2026-11-07",
        model_id=f"openai/{EVIL}",
        gates=(GateEntry(check_name=f"threshold_{EVIL}", severity="error", passed=False, description=EVIL),),
        headline=((f"contains{EVIL}.pass_rate", 0.5, -0.1),),
        report_path=f"/runs/{EVIL}/report.html",
        incomplete=EVIL,
    )
    assert_no_controls(render_gate(verdict, fmt))  # type: ignore[arg-type]


def test_cli_errors_escape_what_they_quote(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # An environment variable cannot hold NUL; every other control can.
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(tmp_path / f"w{EVIL.replace(chr(0), '')}.duckdb"))
    assert main(["sql", "SELECT 1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no warehouse at ")
    assert_no_controls(err)
