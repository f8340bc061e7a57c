"""The jobs, the nightly and weekly schedules, and the alert sensors."""

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import dagster as dg
from dagster_duckdb import DuckDBResource
from pydantic import Field

from eval_assets import retention, warehouse as wh
from eval_assets.alerts import RunCursor
from eval_assets.announcing import Announcer, FinishedRun, finished_runs
from eval_assets.assets.common import GROUP
from eval_assets.assets.partitions import cell_key
from eval_assets.noise_floor import MAX_RUNS, NoNightToRerunError, Rerun, measure_noise_floor
from eval_assets.resources import EvalProject
from eval_assets.settings import Settings

if TYPE_CHECKING:
    from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

EVAL_JOB = "eval_job"
#: Seconds of alert sending per sensor tick (Dagster times a tick out at 60 s by default).
ALERT_TICK_BUDGET_S = 40.0
DASHBOARD_JOB = "dashboard_job"
NIGHTLY_CRON = "0 2 * * *"
NOISE_FLOOR_JOB = "noise_floor_job"
RETENTION_JOB = "retention_job"
#: Sundays at 04:00 UTC: after the night's runs, so retention rarely meets a night being written.
RETENTION_CRON = "0 4 * * 0"


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


def build_dashboard_sensor(dashboard_job: "UnresolvedAssetJobDefinition", *, interval_s: int) -> dg.SensorDefinition:
    """After evaluation runs finish, however they were launched, refresh the dashboard once.

    Runs whose blocking gate failed end as failures, and those nights matter most on the dashboard, so
    every finished run counts. A backfill finishing fifty partitions in one interval asks for one refresh.
    """

    @dg.sensor(
        name="dashboard_refresh_sensor",
        job=dashboard_job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Re-render data/runs/dashboard.html after evaluation runs finish (any job, UI, backfill, CLI).",
    )
    def dashboard_refresh_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cursor = RunCursor.parse(context.cursor)
        latest = None
        for run in finished_runs(context.instance, cursor):
            cursor.handled(run.run_id, run.updated_at)
            latest = run
        requests = [dg.RunRequest(run_key=f"dashboard-after-{latest.run_id}")] if latest else []
        return dg.SensorResult(run_requests=requests, cursor=cursor.dump())

    return dashboard_refresh_sensor


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


def _announcer(context: dg.SensorEvaluationContext, project: EvalProject, warehouse: DuckDBResource) -> Announcer:
    return Announcer(
        context.instance,
        data_dir=Path(project.data_dir),
        runs_dir=Path(project.runs_dir),
        warehouse_path=warehouse.database,
        log=context.log.info,
        links=project.links(),
    )


def build_check_alert_sensor(*, interval_s: int) -> dg.SensorDefinition:
    """Sends one notification per failed check per partition, for every finished evaluation run.

    Dagster's run-failure sensor does not fire for failed non-blocking (warn) checks, and run-status
    sensors skip runs without a code-location origin (CLI runs), so this reads finished runs and their
    check evaluations itself; see :mod:`eval_assets.announcing` for why from run storage.
    """

    @dg.sensor(
        name="check_alert_sensor",
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed quality gates (error and warn) -> webhook / Slack / log, once per check and partition.",
    )
    def check_alert_sensor(
        context: dg.SensorEvaluationContext, project: EvalProject, warehouse: DuckDBResource
    ) -> dg.SkipReason:
        return _announce_finished(context, _announcer(context, project, warehouse).announce_checks)

    return check_alert_sensor


def build_run_failure_alert_sensor(*, interval_s: int) -> dg.SensorDefinition:
    """Alerts on failed evaluation runs, except those already announced by a failed blocking check."""

    @dg.sensor(
        name="run_failure_alert_sensor",
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Failed evaluation runs (crashes, bad input, outages) -> webhook / Slack / log.",
    )
    def run_failure_alert_sensor(
        context: dg.SensorEvaluationContext, project: EvalProject, warehouse: DuckDBResource
    ) -> dg.SkipReason:
        return _announce_finished(context, _announcer(context, project, warehouse).announce_failure)

    return run_failure_alert_sensor


def _announce_finished(context: dg.SensorEvaluationContext, announce: Callable[[FinishedRun], int]) -> dg.SkipReason:
    cursor = RunCursor.parse(context.cursor)
    sent = handled = 0
    started = time.monotonic()
    for run in finished_runs(context.instance, cursor):
        if time.monotonic() - started > ALERT_TICK_BUDGET_S:
            break  # a hung webhook must not push the tick past Dagster's timeout: continue next tick
        sent += announce(run)
        cursor.handled(run.run_id, run.updated_at)
        handled += 1
        context.update_cursor(cursor.dump())  # saved per run: a tick cut short never re-reads a handled run
    context.update_cursor(cursor.dump())
    return dg.SkipReason(f"sent {sent} alert(s) for {handled} finished run(s)")


class RetentionOptions(dg.Config):
    """How the retention job runs (set in the launchpad)."""

    dry_run: bool = Field(default=False, description="Only log what would be removed; change nothing.")
    grace_hours: float = Field(
        default=retention.DEFAULT_GRACE.total_seconds() / 3600,
        ge=0,
        le=24 * 365,
        description="DuckLake: keep snapshots (and the files only they need) this long for readers' transactions.",
    )


@dg.op(description="Remove per-example detail past each config's retention windows, then compact the warehouse.")
def remove_expired_detail(
    context: dg.OpExecutionContext, config: RetentionOptions, project: EvalProject, warehouse: DuckDBResource
) -> None:
    """The retention run: the same plan and removal as ``eval-assets retention``, logged."""
    today = dt.datetime.now(dt.UTC).date()
    with warehouse.get_connection() as conn:
        wh.ensure_schema(conn)
        plan = retention.plan(conn, Path(project.data_dir), today=today)
        lines = retention.describe_plan(plan)
        if not config.dry_run:
            result = wh.apply_retention(conn, plan, hold=retention.lease_holder(Path(project.runs_dir)))
            lines += ["applied:", *retention.describe_result(result)]
            done = wh.give_space_back(conn, warehouse.database, grace=dt.timedelta(hours=config.grace_hours))
            lines += retention.describe_maintenance(done)
    context.log.info("\n".join(lines))


def build_retention_job() -> dg.JobDefinition:
    """Prunes per-example detail; aggregates, accepted baselines and decided examples stay."""

    @dg.job(name=RETENTION_JOB, description="Remove per-example detail past each config's retention: windows.")
    def retention_job() -> None:
        remove_expired_detail()

    return retention_job


def build_retention_schedule(job: dg.JobDefinition) -> dg.ScheduleDefinition:
    """Weekly retention (``retention:`` in each config; default 90 days of detail)."""
    return dg.ScheduleDefinition(
        name="weekly_retention_schedule",
        job=job,
        cron_schedule=RETENTION_CRON,
        execution_timezone="UTC",
        description="Remove per-example detail past each config's retention windows, Sundays at 04:00 UTC.",
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )


class NoiseFloorOptions(dg.Config):
    """Which baseline the A/A job re-runs, and how often (set in the launchpad)."""

    config: str = Field(description="Config name.")
    runs: int = Field(ge=1, le=MAX_RUNS, description=f"Re-runs (1 .. {MAX_RUNS}); each one pays for a whole night.")
    date: str | None = Field(
        default=None,
        description="The night whose baseline is re-run (YYYY-MM-DD); default: tonight's (UTC).",
    )


def build_noise_floor_job(settings: Settings, rerun: Rerun) -> dg.JobDefinition:
    """The A/A test as a job: the same measurement as ``eval-assets noise-floor``, logged and recorded.

    ``rerun`` materializes one night in a scratch warehouse with the cache bypassed; ``definitions.py`` passes
    it in, because re-running needs the assembled definitions and this module is one of their parts.
    ``settings`` are the ones the definitions were built for; the paths come from the resources, so the job
    reads the warehouse and writes the runs folder its resources name.
    """

    @dg.op(description="Re-run the baseline night N times in scratch warehouses (cache bypassed); count false alarms.")
    def measure_the_noise_floor(
        context: dg.OpExecutionContext, config: NoiseFloorOptions, project: EvalProject, warehouse: DuckDBResource
    ) -> dg.Output[str]:
        here = dataclasses.replace(
            settings,
            data_dir=Path(project.data_dir),
            runs_dir=Path(project.runs_dir),
            warehouse_path=warehouse.database,  # type: ignore[arg-type]  # parsed in __post_init__
        )
        try:
            # As the CLI: by default the baseline that tonight's night would get.
            day = dt.date.fromisoformat(config.date) if config.date else dt.datetime.now(dt.UTC).date()
        except ValueError as exc:
            raise dg.Failure(description=f"noise_floor_job: date {config.date!r} is not a date: {exc}") from None
        try:
            measured = measure_noise_floor(here, config.config, day, runs=config.runs, rerun=rerun)
        except NoNightToRerunError as exc:
            raise dg.Failure(description=str(exc)) from None
        context.log.info(measured.describe())
        rates = {f.scorer: f"{f.false_alarms}/{f.runs}" for f in measured.floors}
        return dg.Output(
            str(measured.record),
            metadata={
                "night": dg.MetadataValue.text(f"{measured.config_name} {measured.night}"),
                "baseline reason": dg.MetadataValue.text(measured.reason),
                "false alarms": dg.MetadataValue.json(rates),
                "record": dg.MetadataValue.path(str(measured.record)),
            },
        )

    @dg.job(name=NOISE_FLOOR_JOB, description="A/A: re-run a config's baseline night against itself (cache off).")
    def noise_floor_job() -> None:
        measure_the_noise_floor()

    return noise_floor_job
