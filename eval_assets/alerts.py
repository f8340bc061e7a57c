"""Turn failed checks and failed runs into alerts with the evidence attached (no Dagster import)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from eval_assets import warehouse as wh
from eval_assets.messages import Alert, FailedCheck
from eval_assets.reporting.format import cost_of, format_delta, format_value
from eval_assets.reporting.model import Cost, ReviewSummary, review_url
from eval_assets.scoring.catalogue import headline_rows

MAX_TOP_REGRESSIONS = 5


#: Runs that finished within this long before a sensor's first tick are still announced (a CLI run just before
#: `dagster dev` started); older history is not replayed.
INITIAL_LOOKBACK_S = 24 * 3600.0
#: Runs updated this long before the watermark are read again: run storages do not promise that update
#: timestamps arrive in order across processes, and the processed-run list makes the overlap harmless.
WATERMARK_OVERLAP_S = 300.0
MAX_PROCESSED_RUNS = 5000


@dataclass
class RunCursor:
    """Sensor cursor over finished runs: a time watermark and the runs already handled.

    Sensors read finished runs from run storage rather than events from the event log: run records are
    indexed alike on every Dagster storage (run-sharded SQLite, PostgreSQL), and every way of
    materializing the graph (the eval job, "Materialize all", backfills, CLI runs) leaves one.
    """

    updated_after: float | None = None
    processed: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> RunCursor:
        """Read a cursor; a missing or foreign one (e.g. an older sensor's) starts afresh."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            after = data.get("updated_after")
            return cls(
                updated_after=float(after) if after is not None else None,
                processed=[str(run_id) for run_id in data.get("processed", [])],
            )
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str:
        """Serialize, keeping the most recent run ids only (a bounded cursor)."""
        return json.dumps({"updated_after": self.updated_after, "processed": self.processed[-MAX_PROCESSED_RUNS:]})

    def query_after(self, now: float) -> float:
        """Read runs updated after this POSIX time."""
        if self.updated_after is None:
            return now - INITIAL_LOOKBACK_S
        return self.updated_after - WATERMARK_OVERLAP_S

    def is_new(self, run_id: str) -> bool:
        """Whether this run still needs handling."""
        return run_id not in self.processed

    def handled(self, run_id: str, updated_at: float) -> None:
        """Record a handled run and move the watermark."""
        self.processed.append(run_id)
        self.updated_after = max(self.updated_after or updated_at, updated_at)


def alert_tag(asset: str, check_name: str) -> str:
    """The run tag recording that a failed check of this run's partition was announced."""
    return f"{ALERT_TAG_PREFIX}{asset}.{check_name}"


#: Run tags recording announced alerts: one home shared by the sensors and ``eval-assets run --notify``,
#: so each failed check of a partition is announced once, whoever noticed it first.
ALERT_TAG_PREFIX = "eval_assets/alerted/"
RUN_FAILURE_TAG = f"{ALERT_TAG_PREFIX}run_failure"


@dataclass(frozen=True)
class Evidence:
    """What the warehouse says about a partition: headline numbers and the worst changes."""

    model_id: str
    headline: dict[str, float | None]
    top_regressions: tuple[str, ...]
    cost: Cost | None = None
    review_tasks: Mapping[str, int] = field(default_factory=dict)  # the night's new tasks by reason


def read_evidence(warehouse_path: str | Path, config_name: str, eval_date: str) -> Evidence:
    """Headline metrics and top regressions of a partition; empty when the warehouse cannot be read now.

    A busy warehouse (a run is writing) must not lose the alert: it goes out with less detail.
    """
    try:
        with wh.connect(warehouse_path, read_only=True) as conn:
            return _evidence(conn, config_name, eval_date)
    except (duckdb.Error, OSError):
        return Evidence(model_id="", headline={}, top_regressions=("(metrics unavailable: warehouse busy)",))


def _evidence(conn: duckdb.DuckDBPyConnection, config_name: str, eval_date: str) -> Evidence:
    day = dt.date.fromisoformat(eval_date)
    metrics = [(m.metric, m.value, m.n, m.delta) for m in wh.overall_metrics(conn, day, config_name)]
    model_id = wh.model_of(conn, day, config_name) or ""
    headline = {metric: value for metric, value, _, _ in headline_rows(metrics)}
    drops: list[tuple[float, str]] = []
    for metric, value, _, delta in metrics:
        if metric.endswith(".pass_rate") and delta is not None and delta < 0:
            shown = f"{format_value(metric, value)} ({format_delta(metric, delta)} vs baseline)"
            drops.append((delta, f"{metric} {shown}"))
    # Newly broken examples first (the flakiness ledger): the regression a person should look at.
    broken, flaky = wh.ledger_highlights(conn, day, config_name, limit=MAX_TOP_REGRESSIONS)
    lines = [f"newly broken: {d}/{e} {s} ({outcomes})" for d, e, s, outcomes in broken]
    lines.extend(line for _, line in sorted(drops)[:MAX_TOP_REGRESSIONS])
    if flaky:
        lines.append(f"{flaky} flaky example(s) set apart from the regression gate")
    lines.extend(
        f"{dataset}/{example_id} {scorer}: pass -> fail"
        for dataset, example_id, scorer in wh.flipped_to_fail(conn, day, config_name, limit=MAX_TOP_REGRESSIONS)
    )
    cost = cost_of({metric: (value, n) for metric, value, n, _ in metrics}, model_id=model_id) if metrics else None
    tasks = wh.review_task_counts(conn, day, config_name)
    return Evidence(model_id=model_id, headline=headline, top_regressions=tuple(lines), cost=cost, review_tasks=tasks)


def review_of(evidence: Evidence, *, base_url: str | None, config_name: str, eval_date: str) -> ReviewSummary | None:
    """The night's review tasks as an alert names them (None without a review page to link)."""
    if base_url is None:
        return None
    return ReviewSummary(
        dict(evidence.review_tasks), review_url(base_url, config_name=config_name, eval_date=eval_date)
    )


def check_alert(
    *,
    config_name: str,
    eval_date: str,
    run_id: str,
    check_name: str,
    asset: str,
    severity: str,
    description: str | None,
    metadata: Mapping[str, Any],
    evidence: Evidence,
    report_path: str | None,
    dagster_url: str | None = None,
    review_base_url: str | None = None,
) -> Alert:
    """An alert for one failed check of one partition (``report_path`` and ``dagster_url`` as people open them;
    ``review_base_url``: the review page, linked with the night's new tasks)."""
    check = FailedCheck(
        check_name=check_name,
        asset=asset,
        severity="error" if severity.lower() == "error" else "warn",
        description=description or "check failed",
        metadata={key: _plain(value) for key, value in metadata.items()},
    )
    return Alert(
        config_name=config_name,
        eval_date=eval_date,
        run_id=run_id,
        model_id=evidence.model_id,
        checks=(check,),
        headline=evidence.headline,
        top_regressions=evidence.top_regressions,
        report_path=report_path,
        dagster_url=dagster_url,
        cost=evidence.cost,
        review=review_of(evidence, base_url=review_base_url, config_name=config_name, eval_date=eval_date),
    )


def run_failure_alert(
    *,
    config_name: str,
    eval_date: str,
    run_id: str,
    error: str,
    evidence: Evidence,
    report_path: str | None,
    dagster_url: str | None = None,
    review_base_url: str | None = None,
) -> Alert:
    """An alert for a run that failed outside the quality gates (crash, bad input, provider outage...)."""
    return Alert(
        config_name=config_name,
        eval_date=eval_date,
        run_id=run_id,
        model_id=evidence.model_id,
        checks=(),
        headline=evidence.headline,
        top_regressions=evidence.top_regressions,
        report_path=report_path,
        dagster_url=dagster_url,
        kind="run_failed",
        run_error=error,
        cost=evidence.cost,
        review=review_of(evidence, base_url=review_base_url, config_name=config_name, eval_date=eval_date),
    )


def _plain(value: Any) -> str | float | int | None:
    """Dagster metadata values flattened to what a notification can show."""
    inner = getattr(value, "value", value)
    if inner is None or isinstance(inner, str | int | float):
        return inner
    return str(inner)
