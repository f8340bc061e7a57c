"""From a night's stored rows to the selection's inputs, and from its tasks to ``review_tasks`` rows (pure).

The ``review_queue`` asset reads the cell's tables and calls these; keeping the reshaping here keeps the
asset thin and lets tests build a night from frames without Dagster.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from eval_assets.config import EvalConfig
from eval_assets.frames import column_rows
from eval_assets.review.selection import (
    DecisionKey,
    Flip,
    JudgeVote,
    NightInputs,
    ReviewTask,
    ScoredExample,
    ScorerRule,
    output_hash,
)
from eval_assets.rubrics import Rubric
from eval_assets.scoring.registry import judge_options, scorer_for
from eval_assets.scoring.regressions import gated_regressions


@dataclass(frozen=True)
class _StoredComparison:
    """A ``comparisons`` row in the shape :func:`gated_regressions` reads."""

    scorer: str
    tag: str | None
    gated: bool
    regression: bool
    n: int
    delta: float | None
    p_value: float | None
    verdict: str | None = None


def scorer_rules(config: EvalConfig, rubrics: Mapping[str, Rubric]) -> dict[str, ScorerRule]:
    """What the selection needs of each configured scorer, by name (``rubrics``: the config's, by name)."""
    rules = {}
    for spec in config.scorers:
        panel = judge_options(spec)
        if panel is None:
            rules[spec.key] = ScorerRule(
                spec.key, False, spec.pass_score, compares_reference=scorer_for(spec).requires_reference(spec)
            )
        else:
            rubric = rubrics.get(panel.rubric)
            uses_reference = rubric is not None and rubric.requires_reference
            rules[spec.key] = ScorerRule(spec.key, True, spec.pass_score, panel.disagreement_margin, uses_reference)
    return rules


def regressed_scorers(comparisons: pl.DataFrame) -> set[str]:
    """Scorers whose regression check fails (the same rule as the gate: gated, overall, significant drop)."""
    stored = [
        _StoredComparison(
            r["scorer"], r["tag"], r["gated"], r["regression"], r["n"], r["delta"], r["p_value"], r.get("verdict")
        )
        for r in comparisons.iter_rows(named=True)
    ]
    return {c.scorer for c in gated_regressions(stored)}


def night_inputs(
    eval_date: dt.date,
    config: EvalConfig,
    config_name: str,
    rubrics: Mapping[str, Rubric],
    *,
    scores: pl.DataFrame,
    verdicts: pl.DataFrame,
    flips: pl.DataFrame,
    comparisons: pl.DataFrame,
    decided: Collection[DecisionKey],
) -> NightInputs:
    """The selection's view of one stored night.

    Args:
        eval_date: The night.
        config: The night's config.
        config_name: Its name.
        rubrics: The config's rubrics by name.
        scores: ``scores`` rows with the answer's ``output_text``.
        verdicts: ``judge_verdicts`` rows.
        flips: ``flips`` rows.
        comparisons: ``comparisons`` rows.
        decided: Keys people settled on other nights' tasks.
    """
    scored = [
        ScoredExample(dataset, example_id, scorer, score, passed, None if output is None else output_hash(output))
        for dataset, example_id, scorer, score, passed, output in column_rows(
            scores, "dataset", "example_id", "scorer", "score", "passed", "output_text"
        )
    ]
    votes = [
        JudgeVote(r["dataset"], r["example_id"], r["scorer"], r["judge_model"], r["score"])
        for r in verdicts.iter_rows(named=True)
    ]
    to_fail = [
        Flip(r["dataset"], r["example_id"], r["scorer"], r["baseline_date"])
        for r in flips.iter_rows(named=True)
        if r["direction"] == "pass_to_fail"
    ]
    return NightInputs(
        eval_date,
        config_name,
        scored,
        scorer_rules(config, rubrics),
        flips=to_fail,
        regressed=regressed_scorers(comparisons),
        votes=votes,
        decided=frozenset(decided),
    )


def task_rows(
    tasks: Sequence[ReviewTask], scores: pl.DataFrame, keys: Mapping[str, Any], *, ids: Iterable[str]
) -> list[dict[str, Any]]:
    """One ``review_tasks`` row per task, in queue order (``rank`` 1 first).

    Args:
        tasks: The selected tasks, most urgent first.
        scores: The night's score rows (for the evaluator's verdict and the dataset hash).
        keys: Run and lineage keys of the cell.
        ids: Each task's id, in the same order.
    """
    wanted = {task.key for task in tasks}
    # Only the tasks' score rows as dicts: the night has one per example and scorer, usually few tasks.
    position = {
        key: index for index, key in enumerate(column_rows(scores, "dataset", "example_id", "scorer")) if key in wanted
    }
    by_key = {key: scores.row(index, named=True) for key, index in position.items()}
    rows = []
    for rank, (task, identifier) in enumerate(zip(tasks, ids, strict=True), start=1):
        score = by_key[task.key]
        rows.append(
            {
                **keys,
                "task_id": identifier,
                "dataset": task.dataset,
                "dataset_hash": score["dataset_hash"],
                "example_id": task.example_id,
                "scorer": task.scorer,
                "output_hash": task.output_hash,
                "reason": task.reason,
                "reasons": list(task.reasons),
                "priority": task.priority,
                "rank": rank,
                "detail": task.detail,
                "score": score["score"],
                "passed": score["passed"],
            }
        )
    return rows
