"""The graph as Dagster sees it: asset keys, partitions, checks, job and schedule are pinned here."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings

ASSETS = ["eval_examples", "model_responses", "example_scores", "run_metrics", "eval_report"]


@pytest.fixture
def defs(data_dir: Path, tmp_path: Path) -> dg.Definitions:
    return build_definitions(Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs"))


def test_assets_form_the_documented_chain(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == {*ASSETS, "eval_dashboard", "review_queue", "judge_calibration"}
    # The queue hangs off the metrics, not the report: a regressed night's blocking gate stops the report's
    # downstream, and that is the night whose flips people must see.
    assert graph.get(dg.AssetKey("review_queue")).parent_keys == {dg.AssetKey("run_metrics")}
    assert graph.get(dg.AssetKey("judge_calibration")).parent_keys == {dg.AssetKey("example_scores")}
    # The report lists the night's review tasks and judge calibration, so it waits for both.
    people = {dg.AssetKey("review_queue"), dg.AssetKey("judge_calibration")}
    assert graph.get(dg.AssetKey("eval_dashboard")).parent_keys == {dg.AssetKey("eval_report")}
    assert graph.get(dg.AssetKey("eval_dashboard")).partitions_def is None
    for upstream, downstream in itertools.pairwise(ASSETS):
        parents = graph.get(dg.AssetKey(downstream)).parent_keys
        assert parents == {dg.AssetKey(upstream)} | (people if downstream == "eval_report" else set())


def test_partitions_are_date_by_config(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    partitions = graph.get(dg.AssetKey("eval_report")).partitions_def
    assert isinstance(partitions, dg.MultiPartitionsDefinition)
    dims = {d.name: d.partitions_def for d in partitions.partitions_defs}
    assert set(dims) == {"date", "config"}
    assert set(dims["config"].get_partition_keys()) == {"nightly", "candidate", "openai-gpt4o-mini"}


def test_checks_are_declared_with_blocking_gates(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checks = {(key.asset_key.to_user_string(), key.name) for key in graph.asset_check_keys}
    assert ("eval_examples", "examples_complete") in checks
    assert ("model_responses", "error_rate_within_limit") in checks
    assert ("eval_report", "threshold_contains_pass_rate") in checks
    assert ("eval_report", "threshold_refusal_pass_rate") in checks
    assert ("eval_report", "no_regression_vs_baseline") in checks
    assert ("model_responses", "budget_respected") in checks
    assert ("example_scores", "budget_respected") in checks
    for key in graph.asset_check_keys:
        assert graph.get_check_spec(key).blocking, key


def test_nightly_schedule_requests_yesterday_for_nightly_configs(defs: dg.Definitions) -> None:
    schedule = defs.resolve_schedule_def("nightly_eval_schedule")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "UTC"
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 8, 2, 0, tzinfo=dt.UTC), repository_def=defs.get_repository_def()
    )
    requests = list(schedule.evaluate_tick(context).run_requests or [])
    cells = sorted(str(r.partition_key) for r in requests)
    # The manual example config (needs an API key) is never scheduled.
    assert cells == ["candidate|2026-11-07", "nightly|2026-11-07"]
    assert {r.run_key for r in requests} == {"2026-11-07|nightly", "2026-11-07|candidate"}


def test_sensors_and_jobs(defs: dg.Definitions) -> None:
    names = {sensor.name for sensor in defs.sensors or []}
    assert names == {
        "check_alert_sensor",
        "run_failure_alert_sensor",
        "dashboard_refresh_sensor",
    }
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"eval_job", "dashboard_job"}


def test_workspace_loads_with_dagster_cli() -> None:
    root = Path(__file__).resolve().parent.parent
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def definitions_snapshot(defs: dg.Definitions) -> dict[str, object]:
    """What a deployment depends on by name: asset keys and their parents, checks, jobs, schedules, sensors."""
    graph = defs.resolve_asset_graph()
    assets = {
        key.to_user_string(): {
            "parents": sorted(parent.to_user_string() for parent in graph.get(key).parent_keys),
            "partitioned": graph.get(key).partitions_def is not None,
            "group": graph.get(key).group_name,
        }
        for key in sorted(graph.get_all_asset_keys())
    }
    kind = {True: "blocking", False: "advisory"}
    checks = sorted(
        f"{key.asset_key.to_user_string()}.{key.name} ({kind[graph.get_check_spec(key).blocking]})"
        for key in graph.asset_check_keys
    )
    schedules = {
        schedule.name: f"{schedule.cron_schedule} {schedule.execution_timezone} {schedule.default_status.value}"
        for schedule in defs.schedules or []
    }
    sensors = {sensor.name: sensor.default_status.value for sensor in defs.sensors or []}
    jobs = sorted(job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__"))
    return {"assets": assets, "checks": checks, "jobs": jobs, "schedules": schedules, "sensors": sensors}


def test_issue7_8_definitions_match_their_snapshot(defs: dg.Definitions) -> None:
    """A renamed asset, check, job, schedule or sensor breaks deployments, alerts and saved UI links.

    After an intended change, rewrite the snapshot: ``EVAL_ASSETS_UPDATE_SNAPSHOT=1 pytest -k snapshot``.
    """
    current = definitions_snapshot(defs)
    if os.environ.get("EVAL_ASSETS_UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())
