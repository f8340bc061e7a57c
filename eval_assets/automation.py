"""The job, the nightly schedule, and the alert sensors."""

import datetime as dt
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets.alerts import AlertCursor, check_alert, read_evidence, run_failure_alert, split_partition
from eval_assets.assets.common import GROUP
from eval_assets.assets.partitions import CONFIG_DIMENSION, DATE_DIMENSION, cell_key
from eval_assets.config import NotificationTarget, load_config
from eval_assets.errors import InvalidInputError
from eval_assets.notify import send
from eval_assets.project import config_path
from eval_assets.resources import EvalProject

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

EVAL_JOB = "eval_job"
#: Seconds of alert sending per sensor tick (Dagster times a tick out at 60 s by default).
ALERT_TICK_BUDGET_S = 40.0
DASHBOARD_JOB = "dashboard_job"
NIGHTLY_CRON = "0 2 * * *"


def build_eval_job() -> "UnresolvedAssetJobDefinition":
    """Materializes the whole evaluation graph for one (date, config) cell (partitions come from the assets)."""
    return dg.define_asset_job(
        EVAL_JOB,
        selection=dg.AssetSelection.groups(GROUP),
        description="Replay, score, measure and report one config on one date.",
    )


def build_dashboard_job() -> "UnresolvedAssetJobDefinition":
    """Refreshes the cross-config dashboard alone."""
    return dg.define_asset_job(
        DASHBOARD_JOB, selection=dg.AssetSelection.groups("dashboard"), description="Refresh data/runs/dashboard.html."
    )


def build_dashboard_sensors(
    eval_job: "UnresolvedAssetJobDefinition", dashboard_job: "UnresolvedAssetJobDefinition"
) -> list[dg.SensorDefinition]:
    """After every finished evaluation run, refresh the dashboard.

    Runs whose blocking gate failed end as failures, and those nights matter most on the dashboard:
    one sensor per terminal status.
    """
    sensors: list[dg.SensorDefinition] = []
    for status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE):

        @dg.run_status_sensor(
            name=f"dashboard_after_{status.value.lower()}_sensor",
            run_status=status,
            monitored_jobs=[eval_job],
            request_job=dashboard_job,
            default_status=dg.DefaultSensorStatus.RUNNING,
            description=f"Re-render data/runs/dashboard.html after each evaluation run ending in {status.value}.",
        )
        def refresh_dashboard(context: dg.RunStatusSensorContext) -> dg.RunRequest:
            return dg.RunRequest(run_key=f"dashboard-after-{context.dagster_run.run_id}")

        sensors.append(refresh_dashboard)
    return sensors


def build_nightly_schedule(
    job: "UnresolvedAssetJobDefinition", nightly_configs: Sequence[str]
) -> dg.ScheduleDefinition:
    """At 02:00 UTC, evaluate yesterday's date for every config with ``schedule: nightly``."""

    @dg.schedule(
        name="nightly_eval_schedule",
        job=job,
        cron_schedule=NIGHTLY_CRON,
        execution_timezone="UTC",
        description="Yesterday's partition of every nightly config, at 02:00 UTC.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def nightly_eval_schedule(context: dg.ScheduleEvaluationContext) -> Iterator[dg.RunRequest]:
        scheduled = context.scheduled_execution_time or dt.datetime.now(dt.UTC)
        eval_date = (scheduled - dt.timedelta(days=1)).date()
        for name in nightly_configs:
            yield dg.RunRequest(
                run_key=f"{eval_date}|{name}",
                partition_key=cell_key(eval_date, name),
            )

    return nightly_eval_schedule


def _targets(project: EvalProject, config_name: str) -> list[NotificationTarget]:
    """The config's notification targets (none when the config cannot be read: the alert is still logged)."""
    try:
        return list(load_config(config_path(Path(project.data_dir), config_name)).config.notifications)
    except InvalidInputError:
        return []


def _report_path(project: EvalProject, config_name: str, eval_date: str) -> str | None:
    path = project.run_dir(eval_date, config_name) / "report.html"
    return str(path.resolve()) if path.exists() else None


#: Dagster's error for a step stopped by its own blocking checks: the failed checks already say why.
_CHECKS_FAILED = "DagsterAssetCheckFailedError"


def step_failure_messages(events: Sequence[dg.DagsterEvent]) -> str | None:
    """What failed, step by step: our Failure descriptions (file, line, field) or the root error's message.

    Dagster wraps a step's exception in ``DagsterExecutionStepExecutionError: Error occurred while
    executing op ...``; the cause chain is followed to the error that explains what went wrong. A step
    stopped by its blocking checks adds nothing to the failed checks themselves and is left out.
    """
    messages = []
    for event in events:
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            messages.append(f"{event.step_key}: {data.user_failure_data.description}")
        elif data.error is not None:
            root = data.error
            while root.cause is not None:
                root = root.cause
            if root.cls_name == _CHECKS_FAILED:
                continue
            messages.append(f"{event.step_key}: {root.message.strip()}")
    return "; ".join(messages) or None


def _run_cell(instance: dg.DagsterInstance, run_id: str) -> tuple[str, str] | None:
    """(config, date) of a run from its partition tags: checks yielded by a partitioned asset carry none."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return None
    config_name = run.tags.get(f"dagster/partition/{CONFIG_DIMENSION}")
    eval_date = run.tags.get(f"dagster/partition/{DATE_DIMENSION}")
    return (config_name, eval_date) if config_name and eval_date else None


def build_check_alert_sensor() -> dg.SensorDefinition:
    """Sends one notification per failed check per partition, reading check results from the event log.

    Dagster's run-failure sensor does not fire for failed non-blocking (warn) checks, so this reads the
    check evaluations themselves. The cursor holds the last record read and the alerts already sent.
    """

    @dg.sensor(
        name="check_alert_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed quality gates (error and warn) -> webhook / Slack / log, once per check and partition.",
    )
    def check_alert_sensor(
        context: dg.SensorEvaluationContext, project: EvalProject, warehouse: DuckDBResource
    ) -> dg.SkipReason:
        cursor = AlertCursor.parse(context.cursor)
        records = context.instance.event_log_storage.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=cursor.after),
            limit=500,
            ascending=True,
        )
        sent = 0
        started = time.monotonic()
        for record in records:
            if time.monotonic() - started > ALERT_TICK_BUDGET_S:
                break  # a hung webhook must not push the tick past Dagster's timeout: continue next tick
            cursor.after = record.storage_id
            event = record.event_log_entry.dagster_event
            evaluation = event.event_specific_data if event is not None else None
            if not isinstance(evaluation, dg.AssetCheckEvaluation) or evaluation.passed:
                continue
            cell = split_partition(evaluation.partition) or _run_cell(context.instance, record.event_log_entry.run_id)
            if cell is None:
                continue
            config_name, eval_date = cell
            asset = evaluation.asset_key.to_user_string()
            key = f"{config_name}|{eval_date}|{asset}.{evaluation.check_name}"
            if cursor.seen(key):
                continue
            alert = check_alert(
                config_name=config_name,
                eval_date=eval_date,
                run_id=record.event_log_entry.run_id,
                check_name=evaluation.check_name,
                asset=asset,
                severity=evaluation.severity.value,
                description=evaluation.description,
                metadata=evaluation.metadata,
                evidence=read_evidence(warehouse.database, config_name, eval_date),
                report_path=_report_path(project, config_name, eval_date),
            )
            send(alert, _targets(project, config_name), log=context.log.info)
            cursor.remember(key)
            context.update_cursor(cursor.dump())  # saved per alert: a tick cut short never re-sends one
            sent += 1
        context.update_cursor(cursor.dump())
        return dg.SkipReason(f"sent {sent} alert(s); read {len(records)} check evaluation(s)")

    return check_alert_sensor


def build_run_failure_alert_sensor(job: "UnresolvedAssetJobDefinition") -> dg.SensorDefinition:
    """Alerts on failed evaluation runs, except those already announced by a failed blocking check."""

    @dg.run_failure_sensor(
        name="run_failure_alert_sensor",
        monitored_jobs=[job],
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed evaluation runs (crashes, bad input, outages) -> webhook / Slack / log.",
    )
    def run_failure_alert_sensor(
        context: dg.RunFailureSensorContext, project: EvalProject, warehouse: DuckDBResource
    ) -> None:
        run = context.dagster_run
        cell = _run_cell(context.instance, run.run_id)
        if cell is None:
            return
        config_name, eval_date = cell
        checks = context.instance.event_log_storage.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        ).records
        for record in checks:
            event = record.event_log_entry.dagster_event
            evaluation = event.event_specific_data if event is not None else None
            if (
                isinstance(evaluation, dg.AssetCheckEvaluation)
                and not evaluation.passed
                and (evaluation.severity == dg.AssetCheckSeverity.ERROR)
            ):
                return  # the check alert sensor already tells this story, with the evidence
        alert = run_failure_alert(
            config_name=config_name,
            eval_date=eval_date,
            run_id=run.run_id,
            error=step_failure_messages(context.get_step_failure_events())
            or context.failure_event.message
            or "run failed",
            evidence=read_evidence(warehouse.database, config_name, eval_date),
            report_path=_report_path(project, config_name, eval_date),
        )
        send(alert, _targets(project, config_name), log=context.log.info)

    return run_failure_alert_sensor
