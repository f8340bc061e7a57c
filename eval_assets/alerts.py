"""Turn failed checks and failed runs into alerts with the evidence attached (no Dagster import)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from eval_assets import warehouse as wh
from eval_assets.notify import Alert, FailedCheck

HEADLINE_METRICS = ("error_rate", "cost_usd", "latency_p95_ms")
MAX_TOP_REGRESSIONS = 5
MAX_SENT_KEYS = 5000


@dataclass
class AlertCursor:
    """Sensor cursor: the last event-log record read, and the alerts already sent (to never repeat one)."""

    after: int = 0
    sent: list[str] = field(default_factory=list)

    @classmethod
    def parse(cls, raw: str | None) -> AlertCursor:
        """Read a cursor; a missing or foreign one starts from the beginning."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(after=int(data.get("after", 0)), sent=[str(key) for key in data.get("sent", [])])
        except (ValueError, TypeError, AttributeError):
            return cls()

    def dump(self) -> str:
        """Serialize, keeping the most recent keys only (a bounded cursor)."""
        return json.dumps({"after": self.after, "sent": self.sent[-MAX_SENT_KEYS:]})

    def seen(self, key: str) -> bool:
        """Whether this alert was sent already."""
        return key in self.sent

    def remember(self, key: str) -> None:
        """Record a sent alert."""
        self.sent.append(key)


@dataclass(frozen=True)
class Evidence:
    """What the warehouse says about a partition: headline numbers and the worst changes."""

    model_id: str
    headline: dict[str, float | None]
    top_regressions: tuple[str, ...]


def split_partition(partition: str | None) -> tuple[str, str] | None:
    """``"nightly|2026-11-07"`` -> ``("nightly", "2026-11-07")`` (Dagster orders dimensions by name)."""
    if not partition or "|" not in partition:
        return None
    config, date = partition.split("|", 1)
    return config, date


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
    metrics = conn.execute(
        "SELECT metric, value, delta FROM metrics WHERE config_name = ? AND eval_date = ? AND tag IS NULL",
        [config_name, eval_date],
    ).fetchall()
    model = conn.execute(
        "SELECT any_value(model_id) FROM runs WHERE config_name = ? AND eval_date = ?", [config_name, eval_date]
    ).fetchall()
    headline: dict[str, float | None] = {}
    drops: list[tuple[float, str]] = []
    for metric, value, delta in metrics:
        if metric.endswith(".pass_rate") or metric in HEADLINE_METRICS:
            headline[metric] = value
        if metric.endswith(".pass_rate") and delta is not None and delta < 0:
            drops.append((delta, f"{metric} {value:.1%} ({delta * 100:+.1f} pp vs baseline)"))
    lines = [line for _, line in sorted(drops)[:MAX_TOP_REGRESSIONS]]
    lines.extend(_flipped_examples(conn, config_name, eval_date, MAX_TOP_REGRESSIONS))
    return Evidence(model_id=str(model[0][0] or "") if model else "", headline=headline, top_regressions=tuple(lines))


def _flipped_examples(conn: duckdb.DuckDBPyConnection, config_name: str, eval_date: str, limit: int) -> list[str]:
    tables = {row[0] for row in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "flips" not in tables:
        return []
    rows = conn.execute(
        "SELECT dataset, example_id, scorer FROM flips WHERE config_name = ? AND eval_date = ? "
        "AND direction = 'pass_to_fail' ORDER BY scorer, dataset, example_id LIMIT ?",
        [config_name, eval_date, limit],
    ).fetchall()
    return [f"{dataset}/{example_id} {scorer}: pass -> fail" for dataset, example_id, scorer in rows]


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
) -> Alert:
    """An alert for one failed check of one partition."""
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
    )


def run_failure_alert(
    *, config_name: str, eval_date: str, run_id: str, error: str, evidence: Evidence, report_path: str | None
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
        kind="run_failed",
        run_error=error,
    )


def _plain(value: Any) -> str | float | int | None:
    """Dagster metadata values flattened to what a notification can show."""
    inner = getattr(value, "value", value)
    if inner is None or isinstance(inner, str | int | float):
        return inner
    return str(inner)
