"""Issue 10, "done means": the review queue through ``eval-assets run``, offline, over several nights.

One night regresses (the model is swapped for a worse one): its queue holds exactly its flips on the
regressed scorers; a two-judge rubric gives judge-conflict tasks exactly where the judges disagree; every
night gets its calibration sample. Then people decide through the CLI, and a decided example with an
unchanged output gets no new task the next night.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets.review.selection import output_hash
from eval_assets_tests.helpers import edit_config, limit_datasets

pytestmark = pytest.mark.slow

NIGHTS = ("2026-11-05", "2026-11-06", "2026-11-07")
REGRESSED = "2026-11-07"


def query(warehouse: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def two_judges(data_dir: Path, config: str, **review: object) -> None:
    """Grade faithfulness with two judges, one of them noisy, and set the review block.

    The offline judges mostly give 5 or 1, and a noisy one slips by a point: 5 vs 4 stays on one side of
    the pass line (4), so a margin below one point (0.25) is what makes their slips conflicts.
    """
    data = yaml.safe_load((data_dir / "configs" / f"{config}.yaml").read_text())
    for scorer in data["scorers"]:
        if scorer.get("name") == "faithfulness":
            scorer["judges"] = [{"id": "offline/judge"}, {"id": "offline/judge-strict"}]
            scorer["disagreement_margin"] = 0.2
    edit_config(data_dir, config, scorers=data["scorers"], review=review)


def set_model(data_dir: Path, config: str, model_id: str) -> None:
    path = data_dir / "configs" / f"{config}.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"]["id"] = model_id
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_regressed_night_queues_its_flips_two_judges_conflict_and_every_night_is_sampled(
    data_dir: Path, eval_env: Path
) -> None:
    two_judges(data_dir, "candidate", max_tasks_per_night=10_000, calibration_rate=0.05)
    for night in NIGHTS:
        if night == REGRESSED:
            set_model(data_dir, "candidate", "offline/assistant-mini")  # a bad model change ships
        assert main(["run", "--config", "candidate", "--date", night, "--quiet"]) == (1 if night == REGRESSED else 0)
    warehouse = eval_env / "warehouse.duckdb"

    def tasks(night: str, reason: str) -> set[tuple[object, ...]]:
        return set(
            query(
                warehouse,
                "SELECT dataset, example_id, scorer FROM review_tasks "
                "WHERE eval_date = ? AND list_contains(reasons, ?)",
                [night, reason],
            )
        )

    # The regressed night: every pass -> fail flip of every regressed scorer, and nothing else, is a task.
    regressed = query(
        warehouse, "SELECT scorer FROM comparisons WHERE eval_date = ? AND gated AND regression", [REGRESSED]
    )
    assert regressed
    flips = set(
        query(
            warehouse,
            "SELECT dataset, example_id, scorer FROM flips WHERE eval_date = ? AND direction = 'pass_to_fail' "
            "AND list_contains(?, scorer)",
            [REGRESSED, [row[0] for row in regressed]],
        )
    )
    assert len(flips) > 5 and tasks(REGRESSED, "regression_flip") == flips
    assert query(warehouse, "SELECT DISTINCT priority FROM review_tasks WHERE reason = 'regression_flip'") == [(1,)]
    for night in NIGHTS[:-1]:
        assert tasks(night, "regression_flip") == set()  # good nights flip a few examples too: noise, no task

    for night in NIGHTS:
        # Judge conflicts: exactly the examples the scoring stage flagged (two judges apart or across the line).
        flagged = set(
            query(
                warehouse,
                "SELECT dataset, example_id, scorer FROM scores WHERE eval_date = ? AND judges_disagree",
                [night],
            )
        )
        assert flagged and tasks(night, "judge_conflict") == flagged
        # The calibration sample: 5% of the night's judge verdicts, rounded up, drawn anew each night.
        (verdicts,) = query(
            warehouse,
            "SELECT count(*) FROM scores WHERE eval_date = ? AND scorer_kind = 'rubric_judge' AND score IS NOT NULL",
            [night],
        )[0]
        assert len(tasks(night, "calibration_sample")) == math.ceil(0.05 * int(verdicts)) > 0  # type: ignore[call-overload]
    samples = [tasks(night, "calibration_sample") for night in NIGHTS]
    assert samples[0] != samples[1]
    # Ranks are the queue's order: one per task, most urgent first.
    for night in NIGHTS:
        rows = query(warehouse, "SELECT rank, priority FROM review_tasks WHERE eval_date = ? ORDER BY rank", [night])
        assert [r for r, _ in rows] == list(range(1, len(rows) + 1))
        assert [p for _, p in rows] == sorted(p for _, p in rows)  # type: ignore[type-var]


def test_people_decide_in_the_terminal_and_an_unchanged_output_gets_no_new_task(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    limit_datasets(data_dir, "nightly", 6)
    edit_config(data_dir, "nightly", review={"reasons": ["calibration_sample"], "calibration_rate": 1.0})
    assert main(["run", "--config", "nightly", "--date", "2026-11-05", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["review", "list", "--config", "nightly", "--status", "open", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed and {task["reason"] for task in listed} == {"calibration_sample"}
    monkeypatch.setenv("EVAL_ASSETS_REVIEWER", "ana")
    for task in listed:
        assert main(["review", "decide", task["task_id"], "agree"]) == 0
    first = listed[0]["task_id"]
    assert main(["review", "decide", first, "override", "--score", "1", "--note", "ignores the reference"]) == 0
    assert "replaces agree" in capsys.readouterr().out
    assert main(["review", "decide", first, "override", "--score", "9", "--note", "x"]) == 2  # off the 1-5 scale
    assert "off the scale [1, 5]" in capsys.readouterr().err
    assert main(["review", "decide", first, "override", "--score", "2"]) == 2  # an override says why
    assert main(["review", "decide", "nope", "agree"]) == 2
    assert main(["review", "list", "--status", "open"]) == 0
    assert "no review tasks match" in capsys.readouterr().err

    export = eval_env / "decisions.jsonl"
    assert main(["review", "export", "--output", str(export)]) == 0
    decisions = [json.loads(line) for line in export.read_text().splitlines()]
    assert len(decisions) == len(listed) + 1  # the changed decision is a new line; the first one is kept
    override = decisions[-1]
    assert (override["decision"], override["raw_score"], override["score"]) == ("override", 1.0, 0.0)
    assert (override["previous_decision"], override["reviewer"]) == ("agree", "ana")

    # The next night: examples whose output is unchanged since a person decided them get no new task.
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    warehouse = eval_env / "warehouse.duckdb"
    decided = set(query(warehouse, "SELECT dataset, example_id, output_hash, scorer FROM review_decisions"))
    tasks = query(
        warehouse, "SELECT dataset, example_id, output_hash, scorer FROM review_tasks WHERE eval_date = '2026-11-06'"
    )
    judged = {
        (dataset, example, output_hash(str(output)), scorer)
        for dataset, example, scorer, output in query(
            warehouse,
            "SELECT s.dataset, s.example_id, s.scorer, r.output_text FROM scores s JOIN responses r "
            "USING (eval_date, config_name, dataset, example_id) WHERE s.eval_date = '2026-11-06' "
            "AND s.scorer_kind = 'rubric_judge' AND s.score IS NOT NULL",
        )
    }
    assert judged & decided  # some answers are the same as the night before: the rule has work to do
    assert set(tasks) == judged - decided  # every verdict is sampled (rate 1.0), except the decided ones

    # Human verdicts count: the unchanged, decided examples are scored by the person, and the report says so.
    people = {
        (d, e, o, s): score
        for d, e, o, s, score in query(
            warehouse,
            "SELECT dataset, example_id, output_hash, scorer, score FROM review_decisions "
            "QUALIFY row_number() OVER (PARTITION BY dataset, example_id, output_hash, scorer "
            "ORDER BY decided_at DESC) = 1",
        )
    }
    labelled = query(
        warehouse,
        "SELECT s.dataset, s.example_id, s.scorer, r.output_text, s.score, s.evaluator_score FROM scores s "
        "JOIN responses r USING (eval_date, config_name, dataset, example_id) "
        "WHERE s.eval_date = '2026-11-06' AND s.human_labelled",
    )
    assert {(d, e, output_hash(str(o)), s) for d, e, s, o, _, _ in labelled} == judged & decided
    for d, e, s, o, score, evaluator in labelled:
        assert score == people[(d, e, output_hash(str(o)), s)] and evaluator is not None  # the evaluator's is kept
    counted = dict(
        query(
            warehouse,
            "SELECT metric, value FROM metrics WHERE eval_date = '2026-11-06' AND tag IS NULL "
            "AND metric LIKE '%.human_labelled'",
        )
    )
    per_scorer = {s: sum(1 for _, _, t, _, _, _ in labelled if t == s) for s in {t for _, _, t, _, _, _ in labelled}}
    assert {m.removesuffix(".human_labelled"): int(v) for m, v in counted.items() if v} == per_scorer  # type: ignore[call-overload]
    report = (eval_env / "runs" / "2026-11-06" / "nightly" / "report.md").read_text()
    assert "human-labelled)" in report
