"""Alert sensors, by cursor scenario: one notification per failing check per partition, across ticks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from eval_assets.assets.partitions import cell_key
from eval_assets.automation import EVAL_JOB
from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings
from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        monkeypatch.setenv("EVAL_TEST_WEBHOOK", server.url)
        yield server


@pytest.fixture
def failing_setup(data_dir: Path, tmp_path: Path) -> tuple[dg.Definitions, dg.DagsterInstance]:
    limit_datasets(data_dir, "nightly", 4)
    edit_config(
        data_dir,
        "nightly",
        thresholds=[
            {"metric": "contains.pass_rate", "min": 1.01, "severity": "error"},
            {"metric": "tone.mean", "min": 1.01, "severity": "warn"},
            {"metric": "error_rate", "max": 0.5, "severity": "error"},
        ],
        notifications=[{"type": "webhook", "url_env": "EVAL_TEST_WEBHOOK"}, {"type": "log"}],
    )
    defs = build_definitions(Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs"))
    return defs, dg.DagsterInstance.ephemeral()


def run_cell(defs: dg.Definitions, instance: dg.DagsterInstance, day: str) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def(EVAL_JOB).execute_in_process(
        partition_key=cell_key(day, "nightly"), instance=instance, raise_on_error=False
    )


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None) -> str | None:
    sensor = defs.resolve_sensor_def(name)
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,  # type: ignore[arg-type]
    )
    sensor.evaluate_tick(context)
    return context.cursor


def test_one_message_per_failing_check_per_partition(
    failing_setup: tuple[dg.Definitions, dg.DagsterInstance], receiver: WebhookReceiver
) -> None:
    defs, instance = failing_setup
    with instance:
        assert not run_cell(defs, instance, "2026-11-06").success  # the error gate fails the run
        cursor = tick(defs, instance, "check_alert_sensor", None)
        checks = sorted(body["body"]["checks"][0]["name"] for body in receiver.received)
        assert checks == ["threshold_contains_pass_rate", "threshold_tone_mean"]
        first = receiver.received[0]["body"]
        assert first["config"] == "nightly" and first["date"] == "2026-11-06"
        assert "report.html" in (first["report"] or "")
        assert "contains.pass_rate" in first["headline"]

        # Later ticks and a rerun of the same partition do not repeat an alert.
        cursor = tick(defs, instance, "check_alert_sensor", cursor)
        run_cell(defs, instance, "2026-11-06")
        cursor = tick(defs, instance, "check_alert_sensor", cursor)
        assert len(receiver.received) == 2

        # Another night failing the same gates is news.
        run_cell(defs, instance, "2026-11-07")
        tick(defs, instance, "check_alert_sensor", cursor)
        assert len(receiver.received) == 4
        assert {b["body"]["date"] for b in receiver.received[2:]} == {"2026-11-07"}


def test_run_failure_alert_skips_runs_already_explained_by_a_check(
    failing_setup: tuple[dg.Definitions, dg.DagsterInstance], receiver: WebhookReceiver, data_dir: Path
) -> None:
    defs, instance = failing_setup
    with instance:
        # A run-status sensor's first tick only sets its cursor to "now": it never replays history.
        cursor = tick(defs, instance, "run_failure_alert_sensor", None)
        run_cell(defs, instance, "2026-11-06")
        cursor = tick(defs, instance, "run_failure_alert_sensor", cursor)
        assert receiver.received == []  # the failed blocking gate is announced by the check sensor

        # A crash outside the gates (the dataset vanished) is announced as a run failure.
        (data_dir / "datasets" / "faq.jsonl").unlink()
        assert not run_cell(defs, instance, "2026-11-07").success
        cursor = tick(defs, instance, "run_failure_alert_sensor", cursor)
        tick(defs, instance, "run_failure_alert_sensor", cursor)
        assert [b["body"]["event"] for b in receiver.received] == ["run_failed"]
        assert "faq.jsonl does not exist" in receiver.received[0]["body"]["run_error"]
