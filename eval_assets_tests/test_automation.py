"""Alert and dashboard sensors, by cursor scenario, on the Dagster storages users deploy.

Every scenario runs on a real ``DAGSTER_HOME`` with Dagster's default (run-sharded SQLite) storage, where
cross-run event queries need run-aware cursors, and on PostgreSQL storage; the ephemeral in-memory
instance is what the sensors passed on before they crashed on every tick of a real one (issue 8, item 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from eval_assets.assets.partitions import cell_key
from eval_assets.automation import EVAL_JOB
from eval_assets.cli import main
from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings
from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.postgres import PostgresServer
from eval_assets_tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

FAILING_THRESHOLDS = [
    {"metric": "contains.pass_rate", "min": 1.01, "severity": "error"},
    {"metric": "tone.mean", "min": 1.01, "severity": "warn"},
    {"metric": "error_rate", "max": 0.5, "severity": "error"},
]


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as server:
        monkeypatch.setenv("EVAL_TEST_WEBHOOK", server.url)
        yield server


@pytest.fixture
def settings(data_dir: Path, tmp_path: Path) -> Settings:
    limit_datasets(data_dir, "nightly", 4)
    edit_config(
        data_dir,
        "nightly",
        thresholds=FAILING_THRESHOLDS,
        notifications=[{"type": "webhook", "url_env": "EVAL_TEST_WEBHOOK"}, {"type": "log"}],
    )
    return Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs", dagster_home=tmp_path / "dagster_home")


def postgres_storage_yaml(pg: PostgresServer, database: str) -> str:
    pg.create_database(database)
    return (
        "storage:\n  postgres:\n    postgres_db:\n"
        f"      username: postgres\n      password: ''\n      hostname: 127.0.0.1\n      port: {pg.port}\n"
        f"      db_name: {database}\n"
        # SQLAlchemy 2.1 maps a plain postgresql:// URL to psycopg 3; dagster-postgres ships psycopg2.
        "      scheme: postgresql+psycopg2\n"
        "telemetry:\n  enabled: false\n"
    )


@pytest.fixture(params=["sqlite", "postgres"])
def any_instance(request: pytest.FixtureRequest, settings: Settings) -> Iterator[dg.DagsterInstance]:
    """A persistent instance as users get it: DAGSTER_HOME with default storage, or PostgreSQL storage."""
    yield from _instance(settings, request.param, request)


@pytest.fixture
def instance(request: pytest.FixtureRequest, settings: Settings) -> Iterator[dg.DagsterInstance]:
    """A DAGSTER_HOME with Dagster's default storage: run-sharded SQLite."""
    yield from _instance(settings, "sqlite", request)


def _instance(settings: Settings, storage: str, request: pytest.FixtureRequest) -> Iterator[dg.DagsterInstance]:
    home = settings.dagster_home
    assert home is not None
    home.mkdir(parents=True)
    if storage == "postgres":
        pg: PostgresServer = request.getfixturevalue("postgres")
        (home / "dagster.yaml").write_text(postgres_storage_yaml(pg, f"dagster_{abs(hash(str(home))) % 10**9}"))
    with dg.DagsterInstance.from_config(str(home)) as persistent:
        yield persistent


@pytest.fixture
def defs(settings: Settings) -> dg.Definitions:
    return build_definitions(settings)


def run_cell(
    defs: dg.Definitions, instance: dg.DagsterInstance, day: str, *, job: str = EVAL_JOB
) -> dg.ExecuteInProcessResult:
    job_def = defs.resolve_implicit_global_asset_job_def() if job == "__ASSET_JOB" else defs.resolve_job_def(job)
    return job_def.execute_in_process(partition_key=cell_key(day, "nightly"), instance=instance, raise_on_error=False)


def tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None
) -> tuple[str | None, list[dg.RunRequest]]:
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(  # a context manager: a stage's resource (the cell leases) is scoped
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,  # type: ignore[arg-type]
    ) as context:
        result = sensor.evaluate_tick(context)
        return result.cursor or context.cursor, list(result.run_requests or [])


def test_one_message_per_failing_check_per_partition(
    defs: dg.Definitions, any_instance: dg.DagsterInstance, receiver: WebhookReceiver
) -> None:
    instance = any_instance
    assert not run_cell(defs, instance, "2026-11-06").success  # the error gate fails the run
    cursor, _ = tick(defs, instance, "check_alert_sensor", None)
    checks = sorted(body["body"]["checks"][0]["name"] for body in receiver.received)
    assert checks == ["threshold_contains_pass_rate", "threshold_tone_mean"]
    first = receiver.received[0]["body"]
    assert first["config"] == "nightly" and first["date"] == "2026-11-06"
    assert "report.html" in (first["report"] or "")
    assert "contains.pass_rate" in first["headline"]

    # Later ticks and a rerun of the same partition do not repeat an alert.
    cursor, _ = tick(defs, instance, "check_alert_sensor", cursor)
    run_cell(defs, instance, "2026-11-06")
    cursor, _ = tick(defs, instance, "check_alert_sensor", cursor)
    assert len(receiver.received) == 2

    # Another night failing the same gates is news.
    run_cell(defs, instance, "2026-11-07")
    tick(defs, instance, "check_alert_sensor", cursor)
    assert len(receiver.received) == 4
    assert {b["body"]["date"] for b in receiver.received[2:]} == {"2026-11-07"}


def test_run_failure_alert_skips_runs_already_explained_by_a_check(
    defs: dg.Definitions, any_instance: dg.DagsterInstance, receiver: WebhookReceiver, data_dir: Path
) -> None:
    instance = any_instance
    cursor, _ = tick(defs, instance, "run_failure_alert_sensor", None)
    run_cell(defs, instance, "2026-11-06")
    cursor, _ = tick(defs, instance, "run_failure_alert_sensor", cursor)
    assert receiver.received == []  # the failed blocking gate is announced by the check sensor

    # A crash outside the gates (the dataset vanished) is announced as a run failure.
    (data_dir / "datasets" / "faq.jsonl").unlink()
    assert not run_cell(defs, instance, "2026-11-07").success
    cursor, _ = tick(defs, instance, "run_failure_alert_sensor", cursor)
    tick(defs, instance, "run_failure_alert_sensor", cursor)
    assert [b["body"]["event"] for b in receiver.received] == ["run_failed"]
    assert "faq.jsonl does not exist" in receiver.received[0]["body"]["run_error"]


def test_issue8_2_materialize_all_and_backfill_runs_alert_and_refresh_the_dashboard(
    defs: dg.Definitions, instance: dg.DagsterInstance, receiver: WebhookReceiver
) -> None:
    # "Materialize all" in the UI and backfills run the implicit asset job, not eval_job.
    assert not run_cell(defs, instance, "2026-11-06", job="__ASSET_JOB").success
    assert not run_cell(defs, instance, "2026-11-07", job="__ASSET_JOB").success
    _, requests = tick(defs, instance, "dashboard_refresh_sensor", None)
    assert len(requests) == 1  # two finished runs, one refresh
    tick(defs, instance, "check_alert_sensor", None)
    assert sorted((b["body"]["date"], b["body"]["checks"][0]["name"]) for b in receiver.received) == [
        ("2026-11-06", "threshold_contains_pass_rate"),
        ("2026-11-06", "threshold_tone_mean"),
        ("2026-11-07", "threshold_contains_pass_rate"),
        ("2026-11-07", "threshold_tone_mean"),
    ]


def test_issue8_2_dashboard_sensor_asks_again_only_for_new_runs(
    defs: dg.Definitions, instance: dg.DagsterInstance
) -> None:
    run_cell(defs, instance, "2026-11-06")
    cursor, first = tick(defs, instance, "dashboard_refresh_sensor", None)
    cursor, again = tick(defs, instance, "dashboard_refresh_sensor", cursor)
    run_cell(defs, instance, "2026-11-07")
    _, later = tick(defs, instance, "dashboard_refresh_sensor", cursor)
    assert (len(first), len(again), len(later)) == (1, 0, 1)
    assert first[0].run_key != later[0].run_key


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(settings.warehouse_path))
    monkeypatch.setenv("EVAL_ASSETS_RUNS_DIR", str(settings.runs_dir))
    monkeypatch.setenv("DAGSTER_HOME", str(settings.dagster_home))
    return settings


def test_issue8_2_cli_runs_recorded_under_dagster_home_reach_the_sensors(
    cli_env: Settings, defs: dg.Definitions, receiver: WebhookReceiver
) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 1
    assert receiver.received == []  # the CLI did not notify: nobody asked it to
    with dg.DagsterInstance.from_config(str(cli_env.dagster_home)) as instance:
        tick(defs, instance, "check_alert_sensor", None)
        _, requests = tick(defs, instance, "dashboard_refresh_sensor", None)
    assert len(receiver.received) == 2 and len(requests) == 1


def test_issue8_3_cli_notify_sends_once_and_the_sensor_does_not_repeat_it(
    cli_env: Settings, defs: dg.Definitions, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet", "--notify"]) == 1
    assert sorted(b["body"]["checks"][0]["name"] for b in receiver.received) == [
        "threshold_contains_pass_rate",
        "threshold_tone_mean",
    ]
    assert "notify:" in capsys.readouterr().err
    with dg.DagsterInstance.from_config(str(cli_env.dagster_home)) as instance:
        tick(defs, instance, "check_alert_sensor", None)
        tick(defs, instance, "run_failure_alert_sensor", None)
    assert len(receiver.received) == 2
    # A rerun of the same night with --notify has nothing new to say either.
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet", "--notify"]) == 1
    assert len(receiver.received) == 2


def test_issue8_4_the_cli_defaults_dagster_home_beside_the_data_dir(
    eval_env: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit_datasets(data_dir, "nightly", 2)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"])
    home = data_dir.parent / ".dagster_home"
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_run_records(filters=dg.RunsFilter(tags={"dagster/partition/config": "nightly"}))
    assert len(runs) == 1  # the run is in the instance `dagster dev` will show
