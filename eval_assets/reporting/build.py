"""Assemble ReportData and the raw-outputs document from warehouse rows (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

import orjson
import polars as pl

from eval_assets.config import Threshold
from eval_assets.frames import column_rows
from eval_assets.reporting.model import Cost, ExampleLine, GateLine, MetricLine, ReportData, RunSummary
from eval_assets.scoring.catalogue import higher_is_better, in_report_table
from eval_assets.scoring.gates import GateOutcome

#: Version of the outputs.json layout: 2 stores each input as JSON (a string or chat messages), not as a
#: JSON string of it, and adds ``schema_version``.
OUTPUTS_SCHEMA_VERSION = 2


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


#: An example's fields in outputs.json taken from its responses row: document key -> column.
_RESPONSE_FIELDS = {
    "output": "output_text",
    "model_version": "model_version",
    "finish_reason": "finish_reason",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "cost_usd": "cost_usd",
    "latency_ms": "latency_ms",
    "cached": "cached",
    "error_type": "error_type",
    "error_message": "error_message",
    "request_hash": "request_hash",
}


def outputs_document(
    summary: RunSummary, examples: pl.DataFrame, responses: pl.DataFrame, scores: pl.DataFrame
) -> dict[str, Any]:
    """Raw outputs keyed ``<dataset>/<example id>`` (the keys report links name), with the run's metadata.

    Each example's ``input`` is the input itself as JSON (a string, or a list of chat messages), exactly
    as in the dataset, never a JSON string of it.
    """
    by_key: dict[str, dict[str, Any]] = {}
    for dataset, example_id, line, input_json, reference, tags in column_rows(
        examples, "dataset", "example_id", "line", "input_json", "reference", "tags"
    ):
        by_key[f"{dataset}/{example_id}"] = {
            "dataset": dataset,
            "example_id": example_id,
            "line": line,
            "input": orjson.loads(input_json),  # a string or chat messages of strings, as the dataset wrote it
            "reference": reference,
            "tags": tags,
            "scores": {},
        }
    fields = tuple(_RESPONSE_FIELDS)
    for dataset, example_id, *values in column_rows(responses, "dataset", "example_id", *_RESPONSE_FIELDS.values()):
        entry = by_key.setdefault(f"{dataset}/{example_id}", {"scores": {}})
        entry.update(zip(fields, values, strict=True))
    for dataset, example_id, scorer, score, passed, detail in column_rows(
        scores, "dataset", "example_id", "scorer", "score", "passed", "detail"
    ):
        entry = by_key.setdefault(f"{dataset}/{example_id}", {"scores": {}})
        entry["scores"][scorer] = {"score": score, "passed": passed, "detail": detail}
    run = asdict(summary)
    run["cost"] = {"state": summary.cost.state, **asdict(summary.cost)}
    return {"schema_version": OUTPUTS_SCHEMA_VERSION, "run": run, "examples": by_key}
