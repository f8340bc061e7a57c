"""The one place that assembles the Definitions (assets, checks, jobs, schedules, resources) and runs cells."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Sequence
from pathlib import Path

import dagster as dg

from eval_assets.assets.calibration import build_judge_calibration
from eval_assets.assets.dashboard import eval_dashboard
from eval_assets.assets.examples import build_eval_examples
from eval_assets.assets.metrics import build_run_metrics
from eval_assets.assets.partitions import eval_partitions
from eval_assets.assets.report import build_eval_report
from eval_assets.assets.responses import build_model_responses
from eval_assets.assets.review import build_review_queue
from eval_assets.assets.scores import build_example_scores
from eval_assets.automation import (
    build_check_alert_sensor,
    build_dashboard_job,
    build_dashboard_sensor,
    build_eval_job,
    build_nightly_schedule,
    build_noise_floor_job,
    build_retention_job,
    build_retention_schedule,
    build_run_failure_alert_sensor,
)
from eval_assets.config import check_specs_needed
from eval_assets.errors import InvalidInputError
from eval_assets.outcome import RunOutcome
from eval_assets.project import config_names, declared_schedule, ignored_config_files, load_named_config
from eval_assets.resources import CellLeases, EvalProject, LLMClient, WarehouseResource
from eval_assets.running import run_cells_with
from eval_assets.settings import Settings


def nightly_config_names(data_dir: Path, names: list[str]) -> list[str]:
    """Configs the nightly schedule runs. A config too broken to read is included, so its failure is loud.

    Read through the package's bounded YAML loader: a YAML bomb in one config fails that config in
    milliseconds instead of hanging the load of every config's definitions.
    """
    nightly = []
    for name in names:
        try:
            schedule = declared_schedule(data_dir, name)
        except InvalidInputError:
            nightly.append(name)
            continue
        if schedule == "nightly":
            nightly.append(name)
    return nightly


def threshold_checks(data_dir: Path, names: list[str]) -> dict[str, str]:
    """Threshold check names across every valid config (an invalid one fails its own runs instead)."""
    loaded = []
    for name in names:
        try:
            loaded.append(load_named_config(data_dir, name))
        except InvalidInputError as exc:
            warnings.warn(f"config {name} is invalid, its thresholds are not declared: {exc}", stacklevel=2)
    return check_specs_needed(loaded)


def build_definitions(settings: Settings) -> dg.Definitions:
    """All definitions for one data directory, warehouse and runs folder."""
    names = config_names(settings.data_dir)
    if not names:
        raise FileNotFoundError(
            f"no configs in {settings.data_dir.resolve() / 'configs'}: run from the repository root "
            "or set EVAL_ASSETS_DATA_DIR"
        )
    for ignored in ignored_config_files(settings.data_dir):
        # Left out (its name cannot be a partition key) rather than breaking every config's definitions.
        warnings.warn(str(ignored), stacklevel=2)
    partitions = eval_partitions(names)
    assets = [
        build_eval_examples(partitions),
        build_model_responses(partitions),
        build_example_scores(partitions),
        build_run_metrics(partitions),
        build_eval_report(partitions, threshold_checks(settings.data_dir, names)),
        build_review_queue(partitions),
        build_judge_calibration(partitions),
        eval_dashboard,
    ]
    job = build_eval_job()
    dashboard_job = build_dashboard_job()
    retention_job = build_retention_job()
    return dg.Definitions(
        assets=assets,
        jobs=[job, dashboard_job, retention_job, build_noise_floor_job(settings, rerun_without_cache)],
        schedules=[
            build_nightly_schedule(job, nightly_config_names(settings.data_dir, names)),
            build_retention_schedule(retention_job),
        ],
        sensors=[
            build_check_alert_sensor(interval_s=settings.sensor_interval_s),
            build_run_failure_alert_sensor(interval_s=settings.sensor_interval_s),
            build_dashboard_sensor(dashboard_job, interval_s=settings.sensor_interval_s),
        ],
        resources={
            "project": EvalProject(
                data_dir=str(settings.data_dir),
                runs_dir=str(settings.runs_dir),
                report_base_url=settings.report_base_url,
                dagster_url=settings.dagster_url,
            ),
            "warehouse": WarehouseResource(database=str(settings.warehouse_path)),
            "llm": LLMClient(),
            "cell_leases": CellLeases(),
        },
    )


def run_cells(
    settings: Settings,
    configs: Sequence[str],
    dates: Sequence[dt.date],
    *,
    use_cache: bool,
    quiet: bool,
    notify: bool = False,
    limit: int | None = None,
) -> list[RunOutcome]:
    """Materialize every (date, config) cell with the definitions of ``settings`` (see
    :func:`eval_assets.running.run_cells_with`). Here, beside the assembly, so no part of the definitions
    has to import the assembly to run nights (the noise-floor job is given :func:`rerun_without_cache`)."""
    return run_cells_with(
        build_definitions(settings),
        settings,
        configs,
        dates,
        use_cache=use_cache,
        quiet=quiet,
        notify=notify,
        limit=limit,
    )


def rerun_without_cache(scratch: Settings, config_name: str, night: dt.date) -> list[RunOutcome]:
    """One A/A re-run: the night materialized again in ``scratch``'s warehouse, every answer asked afresh."""
    return run_cells(scratch, [config_name], [night], use_cache=False, quiet=True)


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by ``dagster dev -w workspace.yaml`` and the CLI."""
    return build_definitions(Settings.from_env())
