"""Issue 10, item 2: the review page's view models, built from stored rows without a server."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl
import pytest

from eval_assets.review.decisions import DecisionError
from eval_assets.review.page import Filters, matching, next_task, proposed_decision, queue_view
from eval_assets.review.scales import ScorerScale
from eval_assets.review.selection import output_hash
from eval_assets.review.task_page import conversation, task_view

NIGHT = dt.date(2026, 11, 20)
HOSTILE = "<script>alert(1)</script>\x1b[31m\u202egnp.exe"
RUBRIC_1_5 = ScorerScale("faithfulness", "rubric", 1, 5, 0.75)
PASS_FAIL = ScorerScale("contains", "pass_fail", 0, 1, 1.0)


def counts() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "config_name": ["nightly", "nightly", "nightly", "candidate"],
            "eval_date": [NIGHT, NIGHT, NIGHT - dt.timedelta(1), NIGHT],
            "reasons": [
                ["judge_conflict", "calibration_sample"],
                ["regression_flip"],
                ["calibration_sample"],
                ["calibration_sample"],
            ],
            "scorer": ["faithfulness", "contains", "faithfulness", "tone"],
            "status": ["open", "decided", "open", "skipped"],
            "n": [3, 2, 5, 1],
        }
    )


def test_filters_round_trip_through_the_query_string_and_drop_what_cannot_be_a_filter() -> None:
    filters = Filters.from_query({"config": "nightly", "date": "2026-11-20", "reason": "judge_conflict"})
    assert filters == Filters("nightly", NIGHT, "judge_conflict", None, "open")  # open unless said otherwise
    assert Filters.from_query(dict(pair.split("=") for pair in filters.query().split("&"))) == filters
    assert Filters.from_query({"status": "all"}).status is None and "status=all" in Filters(status=None).query()
    odd = Filters.from_query({"date": "yesterday", "reason": "<script>", "status": "done"})
    assert (odd.date, odd.reason, odd.status) == (None, None, None)


def test_the_queue_counts_each_filter_choice_under_the_other_filters() -> None:
    frame = counts()
    filters = Filters(config="nightly", status="open")
    view = queue_view(frame.head(0), frame, pl.DataFrame(), filters, reviewer="ana", total=matching(frame, filters))
    assert view.total == 8  # 3 + 5 open nightly tasks
    facets = {facet.name: {o.value: (o.count, o.selected) for o in facet.options} for facet in view.facets}
    # A config's count ignores the config filter itself (what choosing it would show), but not the status.
    assert facets["config"] == {"candidate": (0, False), "nightly": (8, True)}
    assert list(facets["date"]) == ["2026-11-20", "2026-11-19"]  # newest night first
    # A task counts under every reason it was selected for.
    assert facets["reason"] == {
        "calibration_sample": (8, False),
        "judge_conflict": (3, False),
        "regression_flip": (0, False),
    }
    assert view.status_counts == {"open": 8, "skipped": 0, "decided": 2}
    assert matching(frame, Filters(reason="calibration_sample", status=None)) == 9


def test_queue_rows_and_progress_are_cleaned_one_line_text() -> None:
    queue = pl.DataFrame(
        [
            {
                "task_id": "t1", "eval_date": NIGHT, "config_name": "nightly", "priority": 2,
                "reasons": ["judge_conflict"], "dataset": "faq", "example_id": "a\nb", "scorer": "faithfulness",
                "score": 0.25, "status": "decided", "decision": "override", "reviewer": "ana", "detail": HOSTILE,
            }
        ]
    )  # fmt: skip
    progress = pl.DataFrame(
        [
            {
                "reviewer": "ana",
                "decided": 3,
                "skipped": 1,
                "decided_today": 2,
                "last_decided_at": dt.datetime(2026, 11, 21, 9, 30),
            }
        ]
    )
    view = queue_view(queue, counts(), progress, Filters(), reviewer="ana", total=1)
    (row,) = view.rows
    assert (row.example_id, row.score, row.decision, row.reasons) == (
        "a ⏎ b",
        "0.25",
        "override the score",
        ["judges disagree"],
    )
    assert "\x1b" not in row.detail and "\u202e" not in row.detail  # escapes and bidi made visible or removed
    (person,) = view.progress
    assert (person.decided, person.decided_today, person.last, person.is_you) == (3, 2, "2026-11-21 09:30", True)


@pytest.mark.parametrize(
    ("order", "current", "expected"),
    [
        ([("a", "decided"), ("b", "open"), ("c", "open")], "a", "b"),
        ([("a", "open"), ("b", "decided"), ("c", "open")], "b", "c"),
        ([("a", "open"), ("b", "skipped"), ("c", "decided")], "c", "a"),  # wraps around to the first open one
        ([("a", "decided"), ("b", "skipped")], "a", None),  # a skipped task is not served again
        ([("a", "open")], "a", None),  # the task just decided is not its own next
        ([("a", "open")], "gone", "a"),
    ],
)
def test_the_next_task_is_the_next_open_one_in_queue_order(
    order: list[tuple[str, str]], current: str, expected: str | None
) -> None:
    assert next_task(order, current) == expected


TASK: dict[str, Any] = {
    "task_id": "t1", "eval_date": NIGHT, "config_name": "nightly", "dataset": "faq", "example_id": "faq-001",
    "scorer": "faithfulness", "output_hash": output_hash("It costs $4.99."), "reason": "regression_flip",
    "reasons": ["regression_flip", "calibration_sample"], "priority": 1, "detail": "passed in the baseline",
    "score": 0.25, "passed": False, "status": "open",
}  # fmt: skip


@pytest.mark.parametrize(
    ("form", "scale", "expected"),
    [
        ({"decision": "agree"}, RUBRIC_1_5, ("agree", 0.25, None)),  # agreeing takes the evaluator's score
        ({"decision": "override", "score": "5", "note": "right"}, RUBRIC_1_5, ("override", 1.0, 5.0)),
        ({"decision": "override", "score": "2", "note": "half"}, RUBRIC_1_5, ("override", 0.25, 2.0)),
        ({"decision": "override", "score": "1", "note": "passes"}, PASS_FAIL, ("override", 1.0, 1.0)),
        ({"decision": "skip", "score": "3"}, RUBRIC_1_5, ("skip", None, None)),  # a stray score is ignored
    ],
)
def test_a_form_becomes_a_checked_decision(
    form: dict[str, str], scale: ScorerScale, expected: tuple[str, float | None, float | None]
) -> None:
    proposed = proposed_decision({"csrf": "x", **form}, reviewer=" ana ", task=TASK, scale=scale)
    assert (proposed.decision, proposed.score, proposed.raw_score) == expected
    assert proposed.reviewer == "ana"


@pytest.mark.parametrize(
    ("form", "scale", "message"),
    [
        ({"decision": "approve"}, RUBRIC_1_5, "unknown decision"),
        ({"decision": "override", "score": "9", "note": "n"}, RUBRIC_1_5, r"off the scale \[1, 5\]"),
        ({"decision": "override", "score": "0.5", "note": "n"}, PASS_FAIL, "0 \\(fail\\) or 1 \\(pass\\)"),
        ({"decision": "override", "score": "abc", "note": "n"}, RUBRIC_1_5, "is not a score"),
        ({"decision": "override", "score": "4"}, RUBRIC_1_5, "needs a note"),
        ({"decision": "override", "note": "n"}, RUBRIC_1_5, "needs a score"),
        ({"decision": "override", "score": "4", "note": "n"}, None, "no longer has the scorer"),
        ({"decision": "reference_wrong", "reference": "  "}, RUBRIC_1_5, "corrected reference"),
    ],
)
def test_a_form_missing_what_its_decision_needs_is_refused(
    form: dict[str, str], scale: ScorerScale | None, message: str
) -> None:
    with pytest.raises(DecisionError, match=message):
        proposed_decision(form, reviewer="ana", task=TASK, scale=scale)


def test_the_conversation_shows_the_system_prompt_unless_the_example_brings_its_own() -> None:
    assert [(m.role, m.text) for m in conversation(json.dumps("hi"), system_prompt="Be brief.")] == [
        ("system", "Be brief."),
        ("user", "hi"),
    ]
    chat = json.dumps(
        [{"role": "system", "content": "Own."}, {"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    )
    assert [m.role for m in conversation(chat, system_prompt="Be brief.")] == ["system", "user", "assistant"]
    assert conversation(chat, system_prompt="Be brief.")[0].text == "Own."


@dataclass
class Context:
    example: dict[str, Any] | None = None
    response: dict[str, Any] | None = None
    scores: pl.DataFrame = field(default_factory=pl.DataFrame)
    verdicts: pl.DataFrame = field(default_factory=pl.DataFrame)
    flip: dict[str, Any] | None = None
    history: pl.DataFrame = field(default_factory=pl.DataFrame)
    decisions: pl.DataFrame = field(default_factory=pl.DataFrame)


def test_the_task_view_shows_every_judge_the_baseline_the_history_and_cleans_model_text() -> None:
    score = {"scorer_kind": "rubric_judge", "human_labelled": False}
    context = Context(
        example={"input_json": json.dumps(HOSTILE), "reference": ["$4.99 a month", "4.99"], "tags": ["billing"]},
        response={"output_text": "It costs $4.99.", "model_id": "offline/assistant-v1", "model_version": "v1"},
        scores=pl.DataFrame(
            [
                {
                    **score,
                    "scorer": "contains",
                    "scorer_kind": "contains",
                    "score": 1.0,
                    "passed": True,
                    "detail": "ok",
                },
                {**score, "scorer": "faithfulness", "score": 0.25, "passed": False, "detail": "mean of 2"},
            ]
        ),
        verdicts=pl.DataFrame(
            [
                {
                    "scorer": "faithfulness",
                    "judge_model": "offline/judge",
                    "raw_score": 1.0,
                    "score": 0.0,
                    "rationale": HOSTILE,
                    "error": None,
                },
                {
                    "scorer": "faithfulness",
                    "judge_model": "offline/judge-strict",
                    "raw_score": 3.0,
                    "score": 0.5,
                    "rationale": "partly",
                    "error": None,
                },
            ]
        ),
        flip={
            "baseline_date": NIGHT - dt.timedelta(1),
            "baseline_config": "nightly",
            "direction": "pass_to_fail",
            "baseline_output": "Basic is $4.99 a month.",
            "baseline_detail": "judges: 5",
        },
        history=pl.DataFrame(
            [
                {
                    "eval_date": NIGHT,
                    "score": 0.25,
                    "passed": False,
                    "human_labelled": False,
                    "output_text": "It costs $4.99.",
                },
                {
                    "eval_date": NIGHT - dt.timedelta(1),
                    "score": 1.0,
                    "passed": True,
                    "human_labelled": True,
                    "output_text": "other",
                },
            ]
        ),
        decisions=pl.DataFrame(
            [
                {
                    "decided_at": dt.datetime(2026, 11, 19, 8),
                    "reviewer": "bo",
                    "decision": "agree",
                    "score": 1.0,
                    "note": "",
                    "proposed_reference": None,
                    "output_hash": "other-hash",
                }
            ]
        ),
    )
    view = task_view(TASK, context, scale=RUBRIC_1_5, system_prompt="Be brief.", order=["t0", "t1", "t2"])
    assert [m.role for m in view.messages] == ["system", "user"]
    assert "\x1b" not in view.messages[1].text and "<script>" in view.messages[1].text  # cleaned, escaped later
    assert view.references == ["$4.99 a month", "4.99"]
    assert view.evaluators[0].scorer == "faithfulness" and view.evaluators[0].under_review  # the one under review first
    assert [(j.model, j.raw, j.score) for j in view.evaluators[0].judges] == [
        ("offline/judge", "1", "0.00"),
        ("offline/judge-strict", "3", "0.50"),
    ]  # each judge separately
    assert view.baseline is not None and view.baseline["output"] == "Basic is $4.99 a month."
    assert [(h.night, h.same_output, h.this_night, h.human) for h in view.history] == [
        ("2026-11-20", True, True, False),
        ("2026-11-19", False, False, True),
    ]
    assert [(d.decision, d.on_this_output) for d in view.decisions] == [("agree with the evaluator", False)]
    assert view.evaluator_raw == "2"  # 0.25 on 1-5
    assert (view.previous_id, view.next_id, view.position) == ("t0", "t2", "2 of 3")


def test_a_task_whose_example_was_pruned_still_renders() -> None:
    view = task_view(TASK, Context(), scale=None, system_prompt=None)
    assert view.response is None and view.references == [] and view.evaluators == []
    assert [m.role for m in view.messages] == ["user"] and view.rubric_text == ""
