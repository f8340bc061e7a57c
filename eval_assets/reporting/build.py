"""Assemble ReportData from warehouse rows (pure); the raw-outputs document is :mod:`.outputs`."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from eval_assets.config import Threshold
from eval_assets.frames import column_rows
from eval_assets.reporting.model import Cost, ExampleLine, GateLine, MetricLine, ReportData, RunSummary
from eval_assets.scoring.catalogue import higher_is_better, in_report_table
from eval_assets.scoring.gates import GateOutcome


def gate_lines(outcomes: Sequence[GateOutcome]) -> list[GateLine]:
    """Gate verdicts for the report."""
    return [
        GateLine(o.threshold.check_name, o.threshold.describe(), o.threshold.severity, o.passed, o.reason)
        for o in outcomes
    ]


def metric_lines(
    metrics: pl.DataFrame, outcomes: Sequence[GateOutcome], cost: Cost | None = None
) -> tuple[list[MetricLine], list[MetricLine]]:
    """Overall and per-tag rows of the metrics table, with gates attached where they exist.

    ``cost`` (what is known of the run's prices) qualifies the overall ``cost_usd`` row.
    """
    gates: dict[tuple[str, str | None], GateOutcome] = {(o.threshold.metric, o.threshold.tag): o for o in outcomes}
    # "<scorer>.human_labelled" is not a row of its own: it qualifies the scorer's pass rate and mean.
    people = {
        (row["metric"].rpartition(".")[0], row["tag"]): int(row["value"] or 0)
        for row in metrics.iter_rows(named=True)
        if row["metric"].endswith(".human_labelled")
    }
    overall: list[MetricLine] = []
    by_tag: list[MetricLine] = []
    for row in metrics.sort(["tag", "metric"], nulls_last=False).iter_rows(named=True):
        if not in_report_table(row["metric"]):
            continue
        gate = gates.get((row["metric"], row["tag"]))
        line = MetricLine(
            metric=row["metric"],
            tag=row["tag"],
            current=row["value"],
            previous=row["baseline_value"],
            n=row["n"],
            higher_is_better=higher_is_better(row["metric"]),
            threshold=_bounds(gate.threshold) if gate else None,
            gate_failed=bool(gate and not gate.passed),
            gate_severity=gate.threshold.severity if gate else None,
            cost=cost if row["metric"] == "cost_usd" and row["tag"] is None else None,
            human_labelled=people.get((str(row["metric"]).rpartition(".")[0], row["tag"]), 0)
            if str(row["metric"]).endswith((".pass_rate", ".mean"))
            else 0,
        )
        if row["tag"] is None:
            overall.append(line)
        elif row["metric"].endswith(".pass_rate") or gate is not None:
            by_tag.append(line)
    return overall, by_tag


def _bounds(threshold: Threshold) -> str:
    parts = []
    if threshold.min is not None:
        parts.append(f">= {threshold.min:g}")
    if threshold.max is not None:
        parts.append(f"<= {threshold.max:g}")
    return " and ".join(parts)


def example_lines(scored: pl.DataFrame) -> list[ExampleLine]:
    """Rows of the ``scored_examples`` view as report lines."""
    return [
        ExampleLine(
            dataset=dataset,
            example_id=example_id,
            scorer=scorer,
            score=score,
            passed=passed,
            input_text=input_text,
            output_text=output_text,
            reference=list(reference or []),
            detail=detail or "",
            error_type=error_type,
        )
        for dataset, example_id, scorer, score, passed, input_text, output_text, reference, detail, error_type in (
            column_rows(scored, *_LINE_COLUMNS)
        )
    ]


#: The ``scored_examples`` columns of a report line, in :func:`example_lines`' order.
_LINE_COLUMNS = (
    "dataset", "example_id", "scorer", "score", "passed", "input_text", "output_text", "reference", "detail",
    "error_type",
)  # fmt: skip


def worst_examples(scored: pl.DataFrame, *, limit: int = 10) -> list[ExampleLine]:
    """Failed scores, lowest first, then failed calls; at most one line per example, ``limit`` in all."""
    failing = scored.filter((pl.col("passed") == False) | pl.col("error_type").is_not_null())  # noqa: E712
    ordered = failing.sort(["score", "dataset", "example_id", "scorer"], nulls_last=True)
    unique = ordered.unique(subset=["dataset", "example_id"], keep="first", maintain_order=True)
    return example_lines(unique.head(limit))


def build_report(
    summary: RunSummary, metrics: pl.DataFrame, outcomes: Sequence[GateOutcome], scored: pl.DataFrame
) -> ReportData:
    """Everything the reports show."""
    overall, by_tag = metric_lines(metrics, outcomes, summary.cost)
    return ReportData(
        summary=summary,
        metrics=overall,
        tag_metrics=by_tag,
        gates=gate_lines(outcomes),
        worst=worst_examples(scored),
    )
