"""Announce finished evaluation runs: failed checks and failed runs, once each (Dagster glue).

Used by the alert sensors and by ``eval-assets run --notify``, so a team that only runs the CLI in CI gets
the same messages as one running the daemon, and the two never announce the same failure twice: what was
announced is recorded as a tag on the run (see :data:`eval_assets.alerts.ALERT_TAG_PREFIX`), in the
Dagster instance both of them use.

Runs are read from run storage, not events from the event log: run records are indexed the same way on
every Dagster storage (the default run-sharded SQLite under ``DAGSTER_HOME`` answers cross-run event
queries only with run-aware cursors), and every way of materializing the graph leaves one: the eval job,
"Materialize all" and backfills (``__ASSET_JOB``), schedule ticks, and CLI runs recorded in the instance.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from eval_assets.alerts import (
    RUN_FAILURE_TAG,
    RunCursor,
    alert_tag,
    check_alert,
    read_evidence,
    run_failure_alert,
)
from eval_assets.assets.partitions import CONFIG_DIMENSION, DATE_DIMENSION
from eval_assets.config import NotificationTarget, load_config
from eval_assets.errors import InvalidInputError
from eval_assets.notify import send
from eval_assets.project import config_path
from eval_assets.reporting.folder import Links, RunsFolder
from eval_assets.settings import Settings

FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]
CONFIG_TAG = f"dagster/partition/{CONFIG_DIMENSION}"
DATE_TAG = f"dagster/partition/{DATE_DIMENSION}"
#: Dagster's error for a step stopped by its own blocking checks: the failed checks already say why.
_CHECKS_FAILED = "DagsterAssetCheckFailedError"


@dataclass(frozen=True)
class FinishedRun:
    """A finished run of one (date, config) cell."""

    run_id: str
    status: dg.DagsterRunStatus
    config_name: str
    eval_date: str
    updated_at: float


def cell_of(tags: Mapping[str, str]) -> tuple[str, str] | None:
    """(config, date) of a run from its partition tags; None for runs of no evaluation cell."""
    config_name, eval_date = tags.get(CONFIG_TAG), tags.get(DATE_TAG)
    return (config_name, eval_date) if config_name and eval_date else None


def finished_runs(
    instance: dg.DagsterInstance, cursor: RunCursor, *, now: float | None = None
) -> Iterator[FinishedRun]:
    """Finished runs of evaluation cells not yet handled by ``cursor``, oldest update first.

    Runs of no cell (the dashboard job) are marked handled on the way, so they are not read again.
    """
    after = dt.datetime.fromtimestamp(cursor.query_after(time.time() if now is None else now), dt.UTC)
    records = instance.get_run_records(
        filters=dg.RunsFilter(statuses=FINISHED, updated_after=after), order_by="update_timestamp", ascending=True
    )
    for record in records:
        run = record.dagster_run
        if not cursor.is_new(run.run_id):
            continue
        updated_at = record.update_timestamp.timestamp()
        cell = cell_of(run.tags)
        if cell is None:
            cursor.handled(run.run_id, updated_at)
            continue
        yield FinishedRun(run.run_id, run.status, cell[0], cell[1], updated_at)


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """The failed check evaluations of one run, in the order they were recorded."""
    records = instance.event_log_storage.get_records_for_run(
        run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ).records
    failed = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event is not None else None
        if isinstance(evaluation, dg.AssetCheckEvaluation) and not evaluation.passed:
            failed.append(evaluation)
    return failed


def announced(instance: dg.DagsterInstance, config_name: str, eval_date: str) -> set[str]:
    """Alert tags already set on any run of this cell (a rerun does not announce a known failure again)."""
    records = instance.get_run_records(filters=dg.RunsFilter(tags={CONFIG_TAG: config_name, DATE_TAG: eval_date}))
    return {tag for record in records for tag in record.dagster_run.tags if tag.startswith("eval_assets/alerted/")}


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


class Announcer:
    """Announces finished runs of one data directory and warehouse to the configs' notification targets."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        *,
        data_dir: Path,
        runs_dir: Path,
        warehouse_path: str,
        log: Callable[[str], None],
        links: Links | None = None,
    ) -> None:
        # Without explicit links (the CLI's --notify), they come from the settings of this data directory.
        self._links = links if links is not None else Settings.from_env(data_dir=data_dir).links()
        self._instance = instance
        self._data_dir = data_dir
        self._runs_dir = runs_dir
        self._warehouse_path = warehouse_path
        self._log = log

    def announce(self, run: FinishedRun) -> int:
        """Send what this run has to say that nobody was told yet; returns the number of alerts sent."""
        sent = self.announce_checks(run)
        return sent + self.announce_failure(run)

    def announce_checks(self, run: FinishedRun) -> int:
        """One alert per failed check of the run's cell not announced before (by any run of the cell)."""
        failed = failed_checks(self._instance, run.run_id)
        if not failed:
            return 0
        done = announced(self._instance, run.config_name, run.eval_date)
        sent = 0
        for evaluation in failed:
            asset = evaluation.asset_key.to_user_string()
            tag = alert_tag(asset, evaluation.check_name)
            if tag in done:
                continue
            alert = check_alert(
                config_name=run.config_name,
                eval_date=run.eval_date,
                run_id=run.run_id,
                check_name=evaluation.check_name,
                asset=asset,
                severity=evaluation.severity.value,
                description=evaluation.description,
                metadata=evaluation.metadata,
                evidence=read_evidence(self._warehouse_path, run.config_name, run.eval_date),
                report_path=self._report_path(run),
                dagster_url=self._links.dagster_run(run.run_id),
                review_base_url=self._review_page(run.config_name),
            )
            send(alert, self._targets(run.config_name), log=self._log)
            # Recorded per alert: a tick cut short, or the CLI and the daemon at once, never re-send one.
            self._instance.add_run_tags(run.run_id, {tag: _now()})
            done.add(tag)
            sent += 1
        return sent

    def announce_failure(self, run: FinishedRun) -> int:
        """Alert on a run that failed outside the gates (crash, bad input, outage); failed gates tell their own."""
        if run.status != dg.DagsterRunStatus.FAILURE:
            return 0
        if any(e.severity == dg.AssetCheckSeverity.ERROR for e in failed_checks(self._instance, run.run_id)):
            return 0
        dagster_run = self._instance.get_run_by_id(run.run_id)
        if dagster_run is None or RUN_FAILURE_TAG in dagster_run.tags:
            return 0
        failures = [
            record.event_log_entry.dagster_event
            for record in self._instance.event_log_storage.get_records_for_run(
                run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE
            ).records
            if record.event_log_entry.dagster_event is not None
        ]
        alert = run_failure_alert(
            config_name=run.config_name,
            eval_date=run.eval_date,
            run_id=run.run_id,
            error=step_failure_messages(failures) or "run failed (see the Dagster run for details)",
            evidence=read_evidence(self._warehouse_path, run.config_name, run.eval_date),
            report_path=self._report_path(run),
            dagster_url=self._links.dagster_run(run.run_id),
            review_base_url=self._review_page(run.config_name),
        )
        send(alert, self._targets(run.config_name), log=self._log)
        self._instance.add_run_tags(run.run_id, {RUN_FAILURE_TAG: _now()})
        return 1

    def _targets(self, config_name: str) -> list[NotificationTarget]:
        """The config's notification targets (none when the config cannot be read: the alert is still logged)."""
        try:
            return list(load_config(config_path(self._data_dir, config_name)).config.notifications)
        except InvalidInputError:
            return []

    def _review_page(self, config_name: str) -> str | None:
        """Where the config's review page is (None when the config cannot be read)."""
        try:
            return load_config(config_path(self._data_dir, config_name)).config.review.page_url
        except InvalidInputError:
            return None

    def _report_path(self, run: FinishedRun) -> str | None:
        folder = RunsFolder(self._runs_dir).run(run.eval_date, run.config_name)
        return self._links.report(folder) if folder.report_html.exists() else None


def finished_run(instance: dg.DagsterInstance, run_id: str) -> FinishedRun | None:
    """The finished run with this id, if it is a run of an evaluation cell."""
    record = next(iter(instance.get_run_records(filters=dg.RunsFilter(run_ids=[run_id]), limit=1)), None)
    if record is None or record.dagster_run.status not in FINISHED:
        return None
    cell = cell_of(record.dagster_run.tags)
    if cell is None:
        return None
    return FinishedRun(run_id, record.dagster_run.status, cell[0], cell[1], record.update_timestamp.timestamp())


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
