"""label_model (issue 12) through ``eval-assets run``: the offline judge, and a real HTTP judge (fake server)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets_tests.fake_openai import FakeOpenAIServer

pytestmark = pytest.mark.slow

DATE = "2026-11-07"
LABEL_PROMPT = """---
scale: [0, 1]
requires_reference: true
description: Does the answer state the reference fact?
---
Classify the support answer: correct if it states the reference fact, incorrect otherwise.
{extra}
<input>
{{{{input}}}}
</input>

<reference>
{{{{reference}}}}
</reference>

<output>
{{{{output}}}}
</output>
"""


def use_label_scorers(data_dir: Path, scorers: list[dict[str, Any]], limit: int = 8) -> None:
    """The nightly config on the FAQ only, scored by ``scorers`` alone, without thresholds."""
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["datasets"] = [{"path": "datasets/faq.jsonl", "limit": limit}]
    config["scorers"] = scorers
    config["thresholds"] = []
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def rows(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_label_model_on_the_offline_judge(data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (data_dir / "prompts" / "classify-correct.md").write_text(LABEL_PROMPT.format(extra=""))
    use_label_scorers(
        data_dir,
        [
            {
                "scorer": "label_model",
                "name": "correctness",
                "rubric": "classify-correct",
                "judges": [{"id": "offline/judge", "max_tokens": 200}],
                "labels": ["correct", "incorrect"],
                "passing_labels": ["correct"],
            },
            {"scorer": "contains"},
        ],
    )
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0, capsys.readouterr().out
    warehouse = eval_env / "warehouse.duckdb"
    scores = rows(
        warehouse,
        "SELECT example_id, scorer_kind, scorer_version, score, passed, detail, judge_models FROM scores "
        "WHERE scorer = 'correctness' ORDER BY example_id",
    )
    assert len(scores) == 8
    assert {(kind, version, models) for _, kind, version, _, _, _, models in scores} == {
        ("label_model", "1", "offline/judge")
    }
    assert {row[3] for row in scores} <= {0.0, 1.0}
    for _, _, _, score, passed, detail, _ in scores:
        assert passed is (score == 1.0)
        assert detail.startswith("[correct]" if passed else "[incorrect]"), detail
    # The offline assistant answers most FAQ questions right: the labels follow the reference check.
    contains = dict(rows(warehouse, "SELECT example_id, passed FROM scores WHERE scorer = 'contains'"))
    agree = sum(passed == contains[example] for example, _, _, _, passed, _, _ in scores)
    assert agree >= 6, (scores, contains)
    verdicts = rows(warehouse, "SELECT raw_answer, error FROM judge_verdicts WHERE scorer = 'correctness'")
    assert len(verdicts) == 8 and all(error is None for _, error in verdicts)
    assert all(json.loads(raw.strip("`json\n"))["label"] in ("correct", "incorrect") for raw, _ in verdicts)
    metrics = dict(rows(warehouse, "SELECT metric, value FROM metrics WHERE tag IS NULL"))
    assert metrics["correctness.pass_rate"] == pytest.approx(sum(p for *_, p, _, _ in scores) / 8)


def test_label_model_over_real_http(data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The fake server answers with the last "ANSWER:" line of the prompt: one prompt makes the judge say
    # "Incorrect" (case is folded), the other a label that was never offered.
    (data_dir / "prompts" / "says-incorrect.md").write_text(
        LABEL_PROMPT.format(extra='ANSWER: {"label": "Incorrect", "rationale": "fake judge"}\n')
    )
    (data_dir / "prompts" / "says-maybe.md").write_text(LABEL_PROMPT.format(extra='ANSWER: {"label": "maybe"}\n'))
    with FakeOpenAIServer() as server:
        judge = {"id": "openai/fake-judge", "api_base": server.base_url, "max_tokens": 50}
        common = {"judges": [judge], "labels": ["correct", "incorrect"], "passing_labels": ["correct"]}
        use_label_scorers(
            data_dir,
            [
                {"scorer": "label_model", "name": "strict", "rubric": "says-incorrect", **common},
                {"scorer": "label_model", "name": "confused", "rubric": "says-maybe", **common},
            ],
            limit=4,
        )
        # A judge answering labels it was not offered is a broken judge: the blocking gate fails the night.
        assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
        requests = [r for r in server.requests if r.outcome == "ok"]
    assert len(requests) == 8
    prompt = requests[0].body["messages"][-1]["content"]
    assert prompt.rstrip().splitlines()[-2] == 'Choose exactly one label from this JSON list: ["correct", "incorrect"]'
    warehouse = eval_env / "warehouse.duckdb"
    strict = rows(warehouse, "SELECT score, passed, detail FROM scores WHERE scorer = 'strict'")
    assert strict == [(0.0, False, "[incorrect] fake judge")] * 4
    confused = rows(
        warehouse,
        "SELECT v.error, s.score, s.detail FROM judge_verdicts v JOIN scores s USING (example_id, scorer) "
        "WHERE scorer = 'confused'",
    )
    assert len(confused) == 4
    for error, score, detail in confused:
        assert "label 'maybe' is not one of" in error and score is None and detail.startswith("not scored: ")
    gates = dict(rows(warehouse, "SELECT check_name, passed FROM gate_results"))
    assert gates["judge_error_rate_within_limit"] is False
    assert "openai/fake-judge (confused)" in capsys.readouterr().out
