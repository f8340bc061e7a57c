"""Issue 10, item 4 (first bullet): a person's verdict on an unchanged output counts in the metrics."""

from __future__ import annotations

import polars as pl

from eval_assets.review.selection import output_hash
from eval_assets.review.verdicts import apply_human_verdicts, verdict_keys
from eval_assets.scoring.metrics import scorer_metrics


def row(example: str, score: float | None, scorer: str = "faithfulness") -> dict[str, object]:
    passed = None if score is None else score >= 0.75
    return {"dataset": "faq", "example_id": example, "scorer": scorer, "score": score, "passed": passed,
            "detail": "judge said so", "tags": ["billing"]}  # fmt: skip


OUTPUTS = {("faq", "a"): "Plus is $9.99.", ("faq", "b"): "Plus is $4.99.", ("faq", "c"): None}


def test_only_the_decided_key_with_the_same_output_takes_the_person_s_verdict() -> None:
    rows = [row("a", 0.25), row("b", 1.0), row("c", None), row("a", 1.0, scorer="tone")]
    verdicts = {
        ("faq", "a", output_hash("Plus is $9.99."), "faithfulness"): (1.0, "ana"),
        ("faq", "b", output_hash("Plus is $3.99."), "faithfulness"): (0.0, "bo"),  # decided on an older answer
    }
    out = apply_human_verdicts(rows, OUTPUTS, verdicts, pass_scores={"faithfulness": 0.75, "tone": 0.5})
    a, b, c, tone = out
    assert (a["score"], a["passed"], a["human_labelled"], a["evaluator_score"]) == (1.0, True, True, 0.25)
    assert a["detail"].startswith("human verdict 1.00 by ana (the evaluator said 0.25: judge said so")
    assert (b["score"], b["human_labelled"], b["evaluator_score"]) == (1.0, False, None)  # the answer changed
    assert (c["score"], c["human_labelled"]) == (None, False)  # no answer, nothing a person could have seen
    assert (tone["score"], tone["human_labelled"]) == (1.0, False)  # decisions are per scorer
    assert rows[0]["score"] == 0.25  # the input rows are left as they were


def test_a_person_s_score_passes_at_the_scorer_s_own_pass_score() -> None:
    key = ("faq", "a", output_hash("Plus is $9.99."), "faithfulness")
    (out,) = apply_human_verdicts([row("a", 1.0)], OUTPUTS, {key: (0.5, "ana")}, pass_scores={"faithfulness": 0.75})
    assert (out["score"], out["passed"]) == (0.5, False)


def test_verdict_keys_skip_failed_calls() -> None:
    keys = verdict_keys([row("a", 0.25), row("c", None)], OUTPUTS)
    assert keys == [("faq", "a", output_hash("Plus is $9.99."), "faithfulness")]


def test_metrics_count_the_human_labelled_examples_overall_and_per_tag() -> None:
    rows = apply_human_verdicts(
        [row("a", 0.25), row("b", 1.0)],
        OUTPUTS,
        {("faq", "a", output_hash("Plus is $9.99."), "faithfulness"): (1.0, "ana")},
        pass_scores={"faithfulness": 0.75},
    )
    values = {(m.metric, m.tag): (m.value, m.n) for m in scorer_metrics(pl.DataFrame(rows))}
    assert values[("faithfulness.human_labelled", None)] == (1.0, 2)
    assert values[("faithfulness.human_labelled", "billing")] == (1.0, 2)
    assert values[("faithfulness.pass_rate", None)] == (1.0, 2)  # both pass now: one by the person's verdict


def test_the_report_shows_how_many_examples_of_a_metric_are_human_labelled() -> None:
    from eval_assets.reporting.build import metric_lines
    from eval_assets.reporting.html import render_html
    from eval_assets.reporting.markdown import render_markdown
    from eval_assets_tests.reporting import factories as f

    stored = pl.DataFrame(
        [
            {"metric": "faithfulness.pass_rate", "tag": None, "value": 0.5, "n": 8, "baseline_value": None},
            {"metric": "faithfulness.mean", "tag": None, "value": 0.6, "n": 8, "baseline_value": None},
            {"metric": "faithfulness.human_labelled", "tag": None, "value": 3.0, "n": 8, "baseline_value": None},
            {"metric": "contains.pass_rate", "tag": None, "value": 0.9, "n": 8, "baseline_value": None},
            {"metric": "contains.human_labelled", "tag": None, "value": 0.0, "n": 8, "baseline_value": None},
        ]
    )
    overall, _ = metric_lines(stored, [])
    counts = {line.metric: line.human_labelled for line in overall}
    # The count qualifies the scorer's pass rate and mean; it is not a row of its own.
    assert counts == {"faithfulness.pass_rate": 3, "faithfulness.mean": 3, "contains.pass_rate": 0}
    page = f.report(metrics=overall)
    markdown, html = render_markdown(page), render_html(page)
    assert "50.0% (3 human-labelled)" in markdown and "(3 human-labelled)" in html
    assert "90.0% (" not in markdown  # nothing said where no person decided
