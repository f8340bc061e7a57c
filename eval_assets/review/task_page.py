"""The task view of the review page, built from the task and its stored context (pure).

Everything a reviewer needs on one page: the whole conversation, the answer, every reference, the baseline's
answer for a flip, every evaluator's score and rationale (each judge separately), the rubric, the example's
recent nights and every decision made on it. Untrusted text is cleaned here and escaped by the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import polars as pl

from eval_assets.reporting.sanitize import cell_text, clean_text
from eval_assets.review.page import DECISION_LABELS, REASON_LABELS, SHORTCUTS, TEXT_LIMIT
from eval_assets.review.scales import ScorerScale
from eval_assets.review.selection import output_hash


class StoredContext(Protocol):
    """What the warehouse stores about a task's example (``eval_assets.warehouse.TaskContext``)."""

    @property
    def example(self) -> dict[str, Any] | None: ...
    @property
    def response(self) -> dict[str, Any] | None: ...
    @property
    def scores(self) -> pl.DataFrame: ...
    @property
    def verdicts(self) -> pl.DataFrame: ...
    @property
    def flip(self) -> dict[str, Any] | None: ...
    @property
    def history(self) -> pl.DataFrame: ...
    @property
    def decisions(self) -> pl.DataFrame: ...


@dataclass(frozen=True)
class Message:
    """One turn of the conversation the model answered."""

    role: str
    text: str


@dataclass(frozen=True)
class JudgeLine:
    """One judge's verdict on the example."""

    model: str
    score: str
    raw: str
    rationale: str
    error: str


@dataclass(frozen=True)
class Evaluator:
    """One scorer's verdict on the example (a judge panel lists each judge)."""

    scorer: str
    kind: str
    score: str
    passed: bool | None
    detail: str
    judges: list[JudgeLine]
    under_review: bool
    human: bool


@dataclass(frozen=True)
class HistoryLine:
    """The example on the task's scorer one night."""

    night: str
    score: str
    passed: bool | None
    human: bool
    same_output: bool
    this_night: bool


@dataclass(frozen=True)
class DecisionLine:
    """One decision ever made on the example and scorer."""

    when: str
    reviewer: str
    decision: str
    score: str
    note: str
    reference: str
    on_this_output: bool


@dataclass
class TaskView:
    """The task page."""

    task: dict[str, Any]
    title: str
    reasons: list[str]
    detail: str
    messages: list[Message]
    response: str | None
    response_error: str
    model: str
    references: list[str]
    tags: list[str]
    baseline: dict[str, str] | None
    evaluators: list[Evaluator]
    rubric_name: str
    rubric_description: str
    rubric_text: str
    scale: ScorerScale | None
    evaluator_raw: str
    history: list[HistoryLine]
    decisions: list[DecisionLine]
    status: str
    previous_id: str | None = None
    next_id: str | None = None
    position: str = ""
    shortcuts: tuple[tuple[str, str], ...] = field(default=SHORTCUTS)


def text_block(text: str | None) -> str:
    """Untrusted multi-line text, cleaned and cut at :data:`TEXT_LIMIT` (the template escapes it)."""
    return "" if text is None else clean_text(text, limit=TEXT_LIMIT)


def conversation(input_json: str | None, *, system_prompt: str | None) -> list[Message]:
    """The turns the model saw: the config's system prompt (unless the example has its own), then the input."""
    try:
        loaded = json.loads(input_json) if input_json else ""
    except ValueError:
        loaded = input_json or ""
    turns: list[Message] = []
    if isinstance(loaded, list):
        for turn in loaded:
            content = turn.get("content", "") if isinstance(turn, dict) else turn
            role = str(turn.get("role", "?")) if isinstance(turn, dict) else "?"
            text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False, indent=1)
            turns.append(Message(cell_text(role, limit=20), text_block(text)))
    else:
        turns.append(Message("user", text_block(str(loaded))))
    if system_prompt and not any(turn.role == "system" for turn in turns):
        turns.insert(0, Message("system", text_block(system_prompt)))
    return turns


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _raw(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def task_view(
    task: Mapping[str, Any],
    context: StoredContext,
    *,
    scale: ScorerScale | None,
    system_prompt: str | None,
    order: list[str] | None = None,
) -> TaskView:
    """The task page of one stored task.

    Args:
        task: The ``review_queue`` row of the task (with its status and latest decision).
        context: What the warehouse stores about its example (:func:`eval_assets.warehouse.task_context`).
        scale: The scale a person scores the task's scorer on (None: the config no longer has it).
        system_prompt: The config's system prompt (shown as the first turn unless the example has its own).
        order: Task ids of the filtered queue in order, for previous / next and the position.
    """
    example, response = context.example or {}, context.response or {}
    output = response.get("output_text")
    current_hash = output_hash(output) if output is not None else None
    judges: dict[str, list[JudgeLine]] = {}
    for v in context.verdicts.iter_rows(named=True):
        judges.setdefault(v["scorer"], []).append(
            JudgeLine(
                cell_text(v["judge_model"]),
                _score(v["score"]),
                _raw(v["raw_score"]),
                text_block(v["rationale"]),
                cell_text(v["error"], limit=300),
            )
        )
    evaluators = [
        Evaluator(
            scorer=cell_text(s["scorer"]),
            kind=cell_text(s["scorer_kind"]),
            score=_score(s["score"]),
            passed=s["passed"],
            detail=text_block(s["detail"]),
            judges=judges.get(s["scorer"], []),
            under_review=s["scorer"] == task["scorer"],
            human=bool(s.get("human_labelled")),
        )
        for s in context.scores.iter_rows(named=True)
    ]
    evaluators.sort(key=lambda e: not e.under_review)  # the scorer under review first
    flip = context.flip
    baseline = None
    if flip is not None:
        baseline = {
            "night": flip["baseline_date"].isoformat(),
            "config": cell_text(flip["baseline_config"]),
            "direction": "passed then, fails now" if flip["direction"] == "pass_to_fail" else "failed then, passes now",
            "output": text_block(flip["baseline_output"]),
            "detail": text_block(flip["baseline_detail"]),
        }
    history = [
        HistoryLine(
            night=h["eval_date"].isoformat(),
            score=_score(h["score"]),
            passed=h["passed"],
            human=bool(h["human_labelled"]),
            same_output=h["output_text"] is not None and output_hash(h["output_text"]) == current_hash,
            this_night=h["eval_date"] == task["eval_date"],
        )
        for h in context.history.iter_rows(named=True)
    ]
    decisions = [
        DecisionLine(
            when=d["decided_at"].strftime("%Y-%m-%d %H:%M:%S"),
            reviewer=cell_text(d["reviewer"]),
            decision=DECISION_LABELS.get(d["decision"], d["decision"]),
            score=_score(d["score"]) if d["score"] is not None else "",
            note=text_block(d["note"]),
            reference=text_block(d["proposed_reference"]),
            on_this_output=d["output_hash"] == task["output_hash"],
        )
        for d in context.decisions.iter_rows(named=True)
    ]
    rubric = scale.rubric if scale is not None else None
    previous_id = next_id = None
    position = ""
    if order and task["task_id"] in order:
        at = order.index(task["task_id"])
        previous_id = order[at - 1] if at > 0 else None
        next_id = order[at + 1] if at + 1 < len(order) else None
        position = f"{at + 1} of {len(order)}"
    score = task["score"]
    return TaskView(
        task=dict(task),
        title=f"{cell_text(task['dataset'])} / {cell_text(task['example_id'])} · {cell_text(task['scorer'])}",
        reasons=[REASON_LABELS.get(r, r) for r in task["reasons"]],
        detail=text_block(task["detail"]),
        messages=conversation(example.get("input_json"), system_prompt=system_prompt),
        response=text_block(output) if output is not None else None,
        response_error=cell_text(
            " ".join(str(x) for x in (response.get("error_type"), response.get("error_message")) if x), limit=300
        ),
        model=cell_text(
            " · ".join(str(x) for x in (response.get("model_id"), response.get("model_version")) if x), limit=200
        ),
        references=[text_block(r) for r in example.get("reference") or []],
        tags=[cell_text(t, limit=60) for t in example.get("tags") or []],
        baseline=baseline,
        evaluators=evaluators,
        rubric_name=cell_text(rubric.name) if rubric else "",
        rubric_description=cell_text(rubric.description, limit=300) if rubric else "",
        rubric_text=text_block(rubric.template) if rubric else "",
        scale=scale,
        evaluator_raw=f"{scale.raw(score):g}" if scale is not None and score is not None else "",
        history=history,
        decisions=decisions,
        status=task["status"],
        previous_id=previous_id,
        next_id=next_id,
        position=position,
    )
