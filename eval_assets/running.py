"""Run (date, config) cells through Dagster in-process for the CLI, in the instance the UI sees."""

from __future__ import annotations

import datetime as dt
import fcntl
import logging
import sys
from collections.abc import Sequence

import dagster as dg

from eval_assets import warehouse as wh
from eval_assets.announcing import Announcer, finished_run, step_failure_messages
from eval_assets.assets.partitions import cell_key
from eval_assets.automation import DASHBOARD_JOB, EVAL_JOB
from eval_assets.outcome import RunOutcome
from eval_assets.settings import Settings


def instance_for_cli(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance at ``settings.dagster_home``, so the UI and the sensors see CLI runs.

    The folder is created on first use: the quickstart's first run must already be in ``dagster dev``.
    Processes opening the instance take turns (an ``flock`` on ``<home>/.eval-assets.lock``): two that
    create a new SQLite instance at once both stamp its schema version, and every later process then fails
    on "Version table 'alembic_version' has more than one head present" (seen with 4 runs at once).
    """
    if settings.dagster_home is None:
        return dg.DagsterInstance.ephemeral()
    home = settings.dagster_home
    new = not home.exists()
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".eval-assets.lock", "a", encoding="utf-8") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if new and not (home / "dagster.yaml").exists():
            # Created here, so the settings are ours to choose: this tool runs offline, where usage statistics
            # cannot be sent; Dagster's banner about them would also bury the quickstart's summary.
            (home / "dagster.yaml").write_text(
                "# Created by eval-assets. Dagster instance settings: https://docs.dagster.io/deployment/oss/dagster-yaml\n"
                "telemetry:\n  enabled: false\n",
                encoding="utf-8",
            )
        return dg.DagsterInstance.from_config(str(home))


def run_cells_with(
    defs: dg.Definitions,
    settings: Settings,
    configs: Sequence[str],
    dates: Sequence[dt.date],
    *,
    use_cache: bool,
    quiet: bool,
    notify: bool = False,
    limit: int | None = None,
) -> list[RunOutcome]:
    """Materialize every (date, config) cell, one run each, dates in order so baselines exist.

    ``limit`` keeps the first N examples of each dataset (a smoke run). With ``notify``, each finished cell is
    announced like the alert sensors would (and only once, whoever
    comes first), for teams that run the CLI in CI without a Dagster daemon.

    ``defs`` are the definitions built for ``settings``: taken as an argument (``definitions.run_cells`` builds
    them) so this module never imports the module that assembles the jobs, one of which re-runs nights.
    """
    job = defs.resolve_job_def(EVAL_JOB)
    with instance_for_cli(settings) as instance:
        announcer = (
            Announcer(
                instance,
                data_dir=settings.data_dir,
                runs_dir=settings.runs_dir,
                warehouse_path=str(settings.warehouse_path),
                log=lambda line: print(f"notify: {line}", file=sys.stderr, flush=True),
            )
            if notify
            else None
        )
        outcomes = _run_all(
            job, instance, configs, dates, use_cache=use_cache, quiet=quiet, announcer=announcer, limit=limit
        )
        if any(o.reached_report for o in outcomes):
            dashboard = defs.resolve_job_def(DASHBOARD_JOB).execute_in_process(
                instance=instance, raise_on_error=False, run_config=_quiet_logs(quiet)
            )
            if not dashboard.success:
                print("warning: the dashboard could not be refreshed (see the Dagster logs)", file=sys.stderr)
        return outcomes


def _quiet_logs(quiet: bool) -> dict[str, object]:
    return {"loggers": {"console": {"config": {"log_level": "WARNING" if quiet else "INFO"}}}}


def _run_all(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    configs: Sequence[str],
    dates: Sequence[dt.date],
    *,
    use_cache: bool,
    quiet: bool,
    announcer: Announcer | None,
    limit: int | None = None,
) -> list[RunOutcome]:
    total = len(configs) * len(dates)
    outcomes: list[RunOutcome] = []
    replay_options = {"config": {"use_cache": use_cache}}
    ops = {
        "eval_examples": {"config": {"limit": limit}},
        "model_responses": replay_options,
        "example_scores": replay_options,
        "judge_calibration": replay_options,
    }
    run_config = {"ops": ops, **_quiet_logs(quiet)}
    for day in dates:
        for config in configs:
            position = len(outcomes) + 1
            print(f"[{position}/{total}] {config} {day}: running", file=sys.stderr, flush=True)
            result = job.execute_in_process(
                partition_key=cell_key(day, config),
                instance=instance,
                raise_on_error=False,
                run_config=run_config,
            )
            outcomes.append(outcome_of(result, config, day))
            run = finished_run(instance, result.run_id) if announcer is not None else None
            if announcer is not None and run is not None:
                announcer.announce(run)
    return outcomes


def outcome_of(result: dg.ExecuteInProcessResult, config: str, day: dt.date) -> RunOutcome:
    """Failed gates and run errors of one in-process run."""
    failed: list[str] = []
    warned: list[str] = []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        label = f"{evaluation.asset_key.to_user_string()}.{evaluation.check_name}"
        description = evaluation.description or ""
        line = f"{label}: {description}".rstrip(": ")
        (failed if evaluation.severity == dg.AssetCheckSeverity.ERROR else warned).append(line)
    error = None
    if not result.success:
        error = step_failure_messages(result.get_step_failure_events())
        if error is None and not failed:  # a run stopped by its blocking gates is explained by them
            error = "run failed (see the Dagster logs)"
    reached_report = any(
        event.asset_key == dg.AssetKey("eval_report") for event in result.get_asset_materialization_events()
    )
    return RunOutcome(
        config=config,
        eval_date=day,
        success=result.success,
        failed_gates=failed,
        warned_gates=warned,
        error=error,
        reached_report=reached_report,
    )


def headline(settings: Settings, outcome: RunOutcome) -> str:
    """The catalogue's headline figures of a finished cell in one line: pass rates with deltas, errors (when
    any), cost (saying when it is unknown or partial) and p95 latency."""
    from eval_assets.reporting.format import cost_of, cost_phrase, headline_text
    from eval_assets.scoring.catalogue import headline_rows

    if not settings.warehouse_path.exists():
        return ""
    try:
        with wh.connect(settings.warehouse_path, read_only=True) as conn:
            metrics = wh.read_partition(conn, "metrics", outcome.eval_date, outcome.config)
            runs = wh.read_partition(conn, "runs", outcome.eval_date, outcome.config)
    except Exception as exc:  # the summary must never hide the exit status
        logging.getLogger(__name__).debug("no headline: %s", exc)
        return ""
    overall = [
        (r["metric"], r["value"], r["n"], r["delta"]) for r in metrics.filter(metrics["tag"].is_null()).rows(named=True)
    ]
    model_id = str(runs.item(0, "model_id")) if runs.height else None
    parts = []
    for metric, value, _, delta in headline_rows(overall):
        if metric == "cost_usd":
            parts.append(cost_phrase(cost_of({m: (v, n) for m, v, n, _ in overall}, model_id=model_id)))
        elif value is not None and (value or metric != "error_rate"):  # no news: "errors 0.0%" is left out
            parts.append(headline_text(metric, value, delta))
    return ", ".join(parts)
