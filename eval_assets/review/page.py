"""What the review page shows, built from stored rows (pure: frames and dicts in, plain view models out).

The web layer queries the warehouse and renders templates; everything in between lives here, so the page's
content is unit-tested without a server. Every text that came from a model, a dataset or a provider is
cleaned with the report's sanitiser (:func:`~eval_assets.reporting.sanitize.clean_text`) and then escaped by
the template engine, so model output is shown inert.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import polars as pl

from eval_assets.reporting.sanitize import cell_text
from eval_assets.review.decisions import DECISIONS, DecisionError, ProposedDecision, check_decision
from eval_assets.review.policy import REASONS
from eval_assets.review.scales import ScorerScale

#: A long answer or prompt is cut here (the page stays fast; the warehouse keeps the whole text).
TEXT_LIMIT = 20_000
STATUSES = ("open", "skipped", "decided")
REASON_LABELS = {
    "regression_flip": "regression flip",
    "judge_conflict": "judges disagree",
    "judge_vs_deterministic": "judge vs deterministic scorer",
    "calibration_sample": "calibration sample",
}
DECISION_LABELS = {
    "agree": "agree with the evaluator",
    "override": "override the score",
    "reference_wrong": "reference is wrong",
    "ambiguous": "ambiguous",
    "remove": "remove the example",
    "skip": "skip",
}
#: Keyboard shortcuts of the task view: key, what it does, the decision it submits (None: moves or focuses).
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("a", "agree with the evaluator"),
    ("o", "override: pick a score, write a note, Enter"),
    ("r", "reference wrong: write the corrected one, Enter"),
    ("m", "mark ambiguous"),
    ("x", "mark to be removed"),
    ("s", "skip (decide later)"),
    ("j / k", "next / previous task"),
    ("q", "back to the queue"),
)


@dataclass(frozen=True)
class Filters:
    """The queue's filters, as the page's query string carries them (``status`` None: every status)."""

    config: str | None = None
    date: dt.date | None = None
    reason: str | None = None
    scorer: str | None = None
    status: str | None = "open"

    @classmethod
    def from_query(cls, params: Mapping[str, str]) -> Filters:
        """Filters from query parameters; a value that cannot be a filter is dropped, not an error."""
        date = None
        with contextlib.suppress(ValueError):
            date = dt.date.fromisoformat(params["date"]) if params.get("date") else None
        status = params.get("status", "open")
        return cls(
            config=params.get("config") or None,
            date=date,
            reason=params.get("reason") if params.get("reason") in REASONS else None,
            scorer=params.get("scorer") or None,
            status=status if status in STATUSES else None,
        )

    def query(self, **changes: Any) -> str:
        """The query string of these filters (with ``changes``), ``status=all`` when every status is shown."""
        chosen = replace(self, **changes)
        pairs = {
            "config": chosen.config,
            "date": chosen.date.isoformat() if chosen.date else None,
            "reason": chosen.reason,
            "scorer": chosen.scorer,
            "status": chosen.status or "all",
        }
        return urllib.parse.urlencode({key: value for key, value in pairs.items() if value})

    def queue_arguments(self) -> dict[str, Any]:
        """Keyword arguments of :func:`eval_assets.warehouse.review_queue`."""
        return {
            "config_name": self.config,
            "eval_date": self.date,
            "reason": self.reason,
            "scorer": self.scorer,
            "status": self.status,
        }


@dataclass(frozen=True)
class Option:
    """One choice of a filter, with how many tasks it holds under the other filters."""

    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Facet:
    """A filter of the queue and its choices."""

    name: str
    label: str
    options: list[Option]


@dataclass(frozen=True)
class QueueRow:
    """One task in the queue list."""

    task_id: str
    eval_date: str
    config: str
    priority: int
    reasons: list[str]
    dataset: str
    example_id: str
    scorer: str
    score: str
    status: str
    decision: str
    reviewer: str
    detail: str


@dataclass(frozen=True)
class Progress:
    """One reviewer's work."""

    reviewer: str
    decided: int
    skipped: int
    decided_today: int
    last: str
    is_you: bool


@dataclass(frozen=True)
class QueueView:
    """The queue page."""

    filters: Filters
    facets: list[Facet]
    status_counts: dict[str, int]
    rows: list[QueueRow]
    total: int
    progress: list[Progress]
    reviewer: str


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def queue_view(
    queue: pl.DataFrame,
    counts: pl.DataFrame,
    progress: pl.DataFrame,
    filters: Filters,
    *,
    reviewer: str,
    total: int,
) -> QueueView:
    """The queue page from the filtered queue, the counts of every task and every reviewer's progress.

    Args:
        queue: ``review_queue`` rows under ``filters`` (at most as many as the page lists).
        counts: ``queue_counts`` rows (config, night, reasons, scorer, status, n) of every task.
        progress: ``reviewer_progress`` rows.
        filters: The filters applied.
        reviewer: The person looking (their line of the progress is marked).
        total: How many tasks match ``filters`` (``queue`` may be cut).
    """
    wanted = {
        "config": None if filters.config is None else pl.col("config_name") == filters.config,
        "date": None if filters.date is None else pl.col("eval_date") == filters.date,
        "reason": None if filters.reason is None else pl.col("reasons").list.contains(filters.reason),
        "scorer": None if filters.scorer is None else pl.col("scorer") == filters.scorer,
        "status": None if filters.status is None else pl.col("status") == filters.status,
    }

    def others(name: str) -> pl.DataFrame:
        kept = counts
        for facet, condition in wanted.items():
            if facet != name and condition is not None:
                kept = kept.filter(condition)
        return kept

    def tally(frame: pl.DataFrame, column: str) -> dict[str, int]:
        if frame.is_empty():
            return {}
        if column == "reasons":
            frame = frame.explode("reasons")
        grouped = frame.group_by(column).agg(pl.col("n").sum())
        return {str(key): int(n) for key, n in grouped.iter_rows()}

    selected = {
        "config": filters.config,
        "date": filters.date.isoformat() if filters.date else None,
        "reason": filters.reason,
        "scorer": filters.scorer,
    }
    facets = []
    for name, column, label in (
        ("config", "config_name", "Config"),
        ("date", "eval_date", "Night"),
        ("reason", "reasons", "Reason"),
        ("scorer", "scorer", "Scorer"),
    ):
        counted = tally(others(name), column)
        every = sorted({str(v) for v in counts.get_column(column).explode().to_list()} if counts.height else set())
        if name == "date":
            every.reverse()  # newest night first
        options = [
            Option(value, REASON_LABELS.get(value, value) if name == "reason" else value, counted.get(value, 0),
                   value == selected[name])
            for value in every
        ]  # fmt: skip
        facets.append(Facet(name, label, options))
    by_status = tally(others("status"), "status")
    rows = [
        QueueRow(
            task_id=r["task_id"],
            eval_date=r["eval_date"].isoformat(),
            config=cell_text(r["config_name"]),
            priority=int(r["priority"]),
            reasons=[REASON_LABELS.get(reason, reason) for reason in r["reasons"]],
            dataset=cell_text(r["dataset"]),
            example_id=cell_text(r["example_id"]),
            scorer=cell_text(r["scorer"]),
            score=_score(r["score"]),
            status=r["status"],
            decision=DECISION_LABELS.get(r["decision"] or "", ""),
            reviewer=cell_text(r["reviewer"]),
            detail=cell_text(r["detail"], limit=160),
        )
        for r in queue.iter_rows(named=True)
    ]
    people = [
        Progress(
            reviewer=cell_text(p["reviewer"]),
            decided=int(p["decided"]),
            skipped=int(p["skipped"]),
            decided_today=int(p["decided_today"]),
            last=p["last_decided_at"].strftime("%Y-%m-%d %H:%M") if p["last_decided_at"] else "",
            is_you=p["reviewer"] == reviewer,
        )
        for p in progress.iter_rows(named=True)
    ]
    return QueueView(
        filters, facets, {s: by_status.get(s, 0) for s in STATUSES}, rows, total, people, cell_text(reviewer)
    )


def matching(counts: pl.DataFrame, filters: Filters) -> int:
    """How many tasks of ``queue_counts`` rows match ``filters``."""
    conditions = [
        pl.col("config_name") == filters.config if filters.config else None,
        pl.col("eval_date") == filters.date if filters.date else None,
        pl.col("reasons").list.contains(filters.reason) if filters.reason else None,
        pl.col("scorer") == filters.scorer if filters.scorer else None,
        pl.col("status") == filters.status if filters.status else None,
    ]
    kept = counts
    for condition in conditions:
        if condition is not None:
            kept = kept.filter(condition)
    return int(kept.get_column("n").sum()) if kept.height else 0


def next_task(order: Sequence[tuple[str, str]], current: str) -> str | None:
    """The task to show after deciding ``current``: the next open one in queue order, wrapping around.

    Args:
        order: (task id, status) of the filtered queue, in queue order (every status, so the position of a
            task just decided is known).
        current: The task just decided.
    """
    ids = [task for task, _ in order]
    start = ids.index(current) + 1 if current in ids else 0
    for task, status in [*order[start:], *order[:start]]:
        if status == "open" and task != current:
            return task
    return None


def proposed_decision(
    form: Mapping[str, str], *, reviewer: str, task: Mapping[str, Any], scale: ScorerScale | None
) -> ProposedDecision:
    """The decision a task view's form submits, checked.

    ``agree`` takes the evaluator's score as the person's; ``override`` reads ``score`` on the scorer's scale.

    Raises:
        DecisionError: an unknown decision, a score off the scale, or what the decision needs missing.
    """
    decision = form.get("decision", "")
    if decision not in DECISIONS:
        raise DecisionError(f"unknown decision {decision!r}")
    note = form.get("note", "").strip()
    reference = form.get("reference", "").strip() if decision == "reference_wrong" else None
    score = raw = None
    if decision == "override":
        if scale is None:
            raise DecisionError(f"the config {task['config_name']} no longer has the scorer {task['scorer']}")
        text = form.get("score", "").strip()
        if not text:
            raise DecisionError("an override needs a score (on the rubric's scale)")
        try:
            raw = float(text)
        except ValueError:
            raise DecisionError(f"{text!r} is not a score") from None
        score = scale.normalized(raw)
    elif decision == "agree":
        score = task["score"]
    return check_decision(
        ProposedDecision(
            decision, reviewer.strip(), score=score, raw_score=raw, proposed_reference=reference, note=note
        )
    )
