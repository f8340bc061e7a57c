"""Issue 10, "done means": the offline 14-night demo of people in the loop, through ``eval-assets run``.

One night regresses (a worse model ships): its queue holds its flips. Two judges grade faithfulness, so
their conflicts become tasks; every night draws its calibration sample. After night 3 a person decides
the sampled faithfulness verdicts in the terminal, overriding the judge on some; the next night with the
same output uses the person's verdict, and the ``calibration`` table shows the judges' agreement and kappa
with n. The judges have too few decisions to be calibrated, so an ``error`` threshold on their metric
reports as a warning with the reason, and the night does not fail on it. A frozen anchor set is re-graded
every night.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets.review.selection import output_hash
from eval_assets.rubrics import load_rubric
from eval_assets_tests.assets.test_review_queue import set_model, two_judges
from eval_assets_tests.helpers import edit_config

pytestmark = pytest.mark.slow

NIGHTS = [str(dt.date(2026, 11, 1) + dt.timedelta(days=i)) for i in range(14)]
REGRESSED = NIGHTS[9]
DECIDED_AFTER = NIGHTS[2]


def query(warehouse: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql, params or []).fetchall()


def write_anchors(data_dir: Path) -> None:
    """Four frozen faithfulness anchors a person graded: two right answers (5) and two wrong ones (1)."""
    faq = [json.loads(line) for line in (data_dir / "datasets" / "faq.jsonl").read_text().splitlines()[:4]]
    anchors = []
    for i, example in enumerate(faq):
        reference = example["reference"] if isinstance(example["reference"], str) else example["reference"][0]
        right = i % 2 == 0
        anchors.append(
            {
                "id": f"anchor-{i}",
                "input": example["input"],
                "reference": reference,
                "score": 5 if right else 1,
                "output": f"The answer is {reference}." if right else "I cannot help with that, sorry.",
            }
        )
    (data_dir / "prompts" / "rubric-faithfulness.anchors.jsonl").write_text(
        "".join(json.dumps(a) + "\n" for a in anchors)
    )


def test_fourteen_nights_of_people_in_the_loop(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    two_judges(
        data_dir,
        "candidate",
        max_tasks_per_night=10_000,
        calibration_rate=0.25,
        calibration={"min_decisions": 50, "kappa_floor": 0.4},
    )
    config = yaml.safe_load((data_dir / "configs" / "candidate.yaml").read_text())
    thresholds = [t for t in config["thresholds"] if t["metric"] != "faithfulness.mean"]
    edit_config(data_dir, "candidate", thresholds=[*thresholds, {"metric": "faithfulness.mean", "min": 0.99}])
    write_anchors(data_dir)
    warehouse = eval_env / "warehouse.duckdb"
    monkeypatch.setenv("EVAL_ASSETS_REVIEWER", "ana")

    def run(first: str, last: str) -> int:
        return main(["run", "--config", "candidate", "--from", first, "--to", last, "--quiet"])

    # Four runs of several nights each (one process per range keeps the demo quick): the decisions come
    # after the third night, the bad model ships on the tenth and is rolled back on the eleventh.
    assert run(NIGHTS[0], NIGHTS[2]) == 0
    capsys.readouterr()
    listing = ["review", "list", "--date", DECIDED_AFTER, "--reason", "calibration_sample", "--scorer", "faithfulness"]
    assert main([*listing, "--format", "json", "--limit", "1000"]) == 0
    sampled = json.loads(capsys.readouterr().out)
    assert len(sampled) >= 2
    decided: list[tuple[str, str]] = []  # (task id, decision)
    for number, task in enumerate(sampled):
        # Every other verdict is overridden: the person gives the other end of the scale.
        if number % 2:
            args = ["override", "--score", "1" if task["score"] >= 0.75 else "5", "--note", "misreads the reference"]
        else:
            args = ["agree"]
        assert main(["review", "decide", task["task_id"], *args]) == 0
        decided.append((task["task_id"], args[0]))
    assert run(NIGHTS[3], NIGHTS[8]) == 0
    set_model(data_dir, "candidate", "offline/assistant-mini")  # a bad model change ships
    assert run(REGRESSED, REGRESSED) == 1
    set_model(data_dir, "candidate", config["model"]["id"])  # and is rolled back
    # The error threshold on faithfulness.mean fails every night, but only warns: the judges are not
    # calibrated. Only the regressed night failed (its regression check).
    assert run(NIGHTS[10], NIGHTS[13]) == 0

    # Every night gets its calibration sample, and the two judges' conflicts are tasks.
    per_night = dict(
        query(
            warehouse,
            "SELECT eval_date::VARCHAR, count(*) FROM review_tasks "
            "WHERE list_contains(reasons, 'calibration_sample') GROUP BY ALL",
        )
    )
    assert sorted(per_night) == NIGHTS and min(per_night.values()) > 0  # type: ignore[type-var]
    conflicts = dict(
        query(
            warehouse,
            "SELECT eval_date::VARCHAR, count(*) FROM review_tasks "
            "WHERE list_contains(reasons, 'judge_conflict') GROUP BY ALL",
        )
    )
    flagged = dict(
        query(warehouse, "SELECT eval_date::VARCHAR, count(*) FROM scores WHERE judges_disagree GROUP BY ALL")
    )
    assert sorted(conflicts) == NIGHTS
    for night in NIGHTS[:3]:  # before anyone decided: every flagged example is a task
        assert conflicts[night] == flagged[night] > 0
    for night in NIGHTS[3:]:  # after: a decided example with the same output gets no new task
        assert 0 < conflicts[night] <= flagged[night]

    # The regressed night's queue holds its flips on the regressed scorers, and no other night has any.
    flips = set(
        query(
            warehouse,
            "SELECT f.dataset, f.example_id, f.scorer FROM flips f JOIN comparisons c "
            "USING (eval_date, config_name, scorer) WHERE f.eval_date = ? AND f.direction = 'pass_to_fail' "
            "AND c.gated AND c.regression AND c.tag IS NULL",
            [REGRESSED],
        )
    )
    queued = set(
        query(
            warehouse,
            "SELECT dataset, example_id, scorer FROM review_tasks WHERE eval_date = ? "
            "AND list_contains(reasons, 'regression_flip')",
            [REGRESSED],
        )
    )
    assert flips and queued == flips
    assert query(
        warehouse, "SELECT DISTINCT eval_date::VARCHAR FROM review_tasks WHERE reason = 'regression_flip'"
    ) == [(REGRESSED,)]

    # The night after the decisions: an unchanged output is scored by the person, not the judge.
    after = NIGHTS[3]
    people = {
        (d, e, o): (decision, score)
        for d, e, o, decision, score in query(
            warehouse, "SELECT dataset, example_id, output_hash, decision, score FROM review_decisions"
        )
    }
    rows = query(
        warehouse,
        "SELECT s.dataset, s.example_id, r.output_text, s.score, s.evaluator_score, s.human_labelled FROM scores s "
        "JOIN responses r USING (eval_date, config_name, dataset, example_id) "
        "WHERE s.eval_date = ? AND s.scorer = 'faithfulness' AND r.output_text IS NOT NULL",
        [after],
    )
    same = [
        (d, e, score, evaluator, labelled)
        for d, e, o, score, evaluator, labelled in rows
        if (d, e, output_hash(str(o))) in people
    ]
    assert same, "some decided answers must be unchanged the next night"
    for d, e, score, evaluator, labelled in same:
        assert labelled and evaluator is not None
        assert score == pytest.approx(next(s for (dd, ee, _), (_, s) in people.items() if (dd, ee) == (d, e)))
    overridden = [row for row in same if row[2] != row[3]]
    assert overridden, "an override the next night shows the person's score, not the judge's"

    # calibration: both judges against the person's decisions, with n, agreement and kappa, every night after.
    scored = [task for task, kind in decided if kind in ("agree", "override")]
    for night in NIGHTS[3:]:
        rows = query(
            warehouse,
            "SELECT judge_model, n, agreement, kappa, kappa_low, kappa_high, calibrated, reason, weighting "
            "FROM calibration WHERE eval_date = ? AND scorer = 'faithfulness' AND sample = 'decisions' "
            "ORDER BY judge_model",
            [night],
        )
        assert [r[0] for r in rows] == ["offline/judge", "offline/judge-strict"]
        for _, n, agreement, kappa, low, high, calibrated, reason, weighting in rows:
            assert n == len(scored) and weighting == "quadratic"
            assert 0 < agreement < 1  # type: ignore[operator]  # the overrides disagree, the agreements agree
            assert -1 <= low <= kappa <= high <= 1  # type: ignore[operator]
            assert not calibrated and reason == f"{n} human decision(s), fewer than the 50 needed"
    for night in NIGHTS[:3]:
        assert query(
            warehouse,
            "SELECT DISTINCT n FROM calibration WHERE eval_date = ? AND sample = 'decisions' "
            "AND scorer = 'faithfulness'",
            [night],
        ) == [(0,)]
    # The anchor set is re-graded every night by both judges.
    anchors = query(warehouse, "SELECT eval_date::VARCHAR, judge_model, n FROM calibration WHERE sample = 'anchors'")
    assert {(night, judge, 4) for night in NIGHTS for judge in ("offline/judge", "offline/judge-strict")} == set(
        anchors
    )

    # The uncalibrated judge's error threshold is a warning, with the reason, in the gate and the report.
    ((severity, passed, description),) = query(
        warehouse,
        "SELECT severity, passed, description FROM gate_results WHERE eval_date = ? "
        "AND check_name = 'threshold_faithfulness_mean'",
        [NIGHTS[-1]],
    )
    assert (severity, passed) == ("warn", False)
    assert "warns only: judge faithfulness is not calibrated against people" in str(description)
    report = (eval_env / "runs" / NIGHTS[-1] / "candidate" / "report.md").read_text()
    assert "warns only: judge faithfulness is not calibrated" in report
    assert "## People in the loop" in report and "κ (quadratic)" in report
    assert f"(http://127.0.0.1:8765/?config=candidate&date={NIGHTS[-1]})" in report
    html = (eval_env / "runs" / NIGHTS[-1] / "candidate" / "report.html").read_text()
    assert "Judges against people" in html  # the kappa trend chart

    # The overrides become the rubric's few-shot calibration examples, once; the prompt hash changes with them.
    stored_hash = query(
        warehouse,
        "SELECT DISTINCT prompt_hash FROM scores WHERE eval_date = ? AND scorer = 'faithfulness'",
        [NIGHTS[-1]],
    )
    assert stored_hash == [(load_rubric(data_dir / "prompts" / "rubric-faithfulness.md").content_hash,)]
    capsys.readouterr()
    assert main(["review", "export-calibration"]) == 0
    overrides = sum(1 for _, kind in decided if kind == "override")
    assert f"rubric-faithfulness: {overrides} calibration example(s) added, 0 already there" in capsys.readouterr().out
    examples = data_dir / "prompts" / "rubric-faithfulness.examples.jsonl"
    written = examples.read_text()
    assert len(written.splitlines()) == overrides
    assert {json.loads(line)["metadata"]["reviewer"] for line in written.splitlines()} == {"ana"}
    assert main(["review", "export-calibration"]) == 0
    assert examples.read_text() == written  # no duplicates on a re-run
    rubric = load_rubric(data_dir / "prompts" / "rubric-faithfulness.md")
    assert len(rubric.examples) == overrides and (rubric.content_hash,) != stored_hash[0]  # judges will re-run
