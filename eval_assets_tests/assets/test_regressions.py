"""Regressions through the graph: a clearly worse night fails the gate, noise does not; judges; baselines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets_tests.helpers import edit_config, limit_datasets

pytestmark = pytest.mark.slow


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def set_model(data_dir: Path, config: str, model_id: str) -> None:
    path = data_dir / "configs" / f"{config}.yaml"
    data = yaml.safe_load(path.read_text())
    data["model"]["id"] = model_id
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_regressed_night_fails_the_gate_and_a_noisy_night_does_not(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for day in ("2026-11-05", "2026-11-06"):
        assert main(["run", "--config", "candidate", "--date", day, "--quiet"]) == 0
    set_model(data_dir, "candidate", "offline/assistant-mini")  # a bad prompt/model change ships
    assert main(["run", "--config", "candidate", "--date", "2026-11-07", "--quiet"]) == 1
    capsys.readouterr()

    assert main(["gate", "--config", "candidate", "--date", "2026-11-06"]) == 0
    assert "✅ eval gate" in capsys.readouterr().out
    assert main(["gate", "--config", "candidate", "--date", "2026-11-07", "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    regression = next(g for g in verdict["gates"] if g["check_name"] == "no_regression_vs_baseline")
    assert verdict["passed"] is False and regression["passed"] is False
    assert "regression vs candidate 2026-11-06" in regression["description"]
    assert main(["gate", "--config", "candidate", "--date", "2026-11-07", "--format", "pr-comment"]) == 1
    comment = capsys.readouterr().out
    assert comment.startswith("<!-- eval-assets-gate:candidate -->") and "❌" in comment

    warehouse = eval_env / "warehouse.duckdb"
    significant = query(
        warehouse,
        "SELECT scorer, p_value, delta FROM comparisons WHERE eval_date = '2026-11-07' AND gated AND regression",
    )
    assert significant and all(p < 0.05 and d < -0.05 for _, p, d in significant)  # type: ignore[operator]
    flips = query(warehouse, "SELECT count(*) FROM flips WHERE eval_date = '2026-11-07' AND direction = 'pass_to_fail'")
    assert flips[0][0] > 5  # type: ignore[operator]
    report = (eval_env / "runs" / "2026-11-07" / "candidate" / "report.md").read_text()
    assert "## Regression vs baseline" in report and "## Flipped examples" in report

    assert main(["gate", "--config", "candidate", "--date", "2026-01-01"]) == 2
    assert main(["gate", "--config", "nope"]) == 2


def test_two_judges_are_stored_separately_and_their_agreement_measured(data_dir: Path, eval_env: Path) -> None:
    limit_datasets(data_dir, "nightly", 12)
    config = yaml.safe_load((data_dir / "configs" / "nightly.yaml").read_text())
    for scorer in config["scorers"]:
        if scorer.get("name") == "faithfulness":
            scorer["judges"] = [{"id": "offline/judge"}, {"id": "offline/judge-strict"}]
            scorer["disagreement_margin"] = 0.2
    edit_config(data_dir, "nightly", scorers=config["scorers"])
    assert main(["run", "--config", "nightly", "--date", "2026-11-07", "--quiet"]) == 0
    warehouse = eval_env / "warehouse.duckdb"
    assert query(
        warehouse, "SELECT count(*), count(DISTINCT judge_model) FROM judge_verdicts WHERE scorer = 'faithfulness'"
    ) == [(24, 2)]
    spread = query(
        warehouse, "SELECT count(judge_spread), count(judges_disagree) FROM scores WHERE scorer = 'faithfulness'"
    )
    assert spread == [(12, 12)]
    agreement = query(
        warehouse, "SELECT value, n FROM metrics WHERE metric = 'faithfulness.judge_agreement' AND tag IS NULL"
    )
    assert len(agreement) == 1 and 0.0 <= agreement[0][0] <= 1.0 and agreement[0][1] == 12  # type: ignore[operator]


def test_a_pinned_baseline_compares_the_candidate_with_production(data_dir: Path, eval_env: Path) -> None:
    for name in ("nightly", "candidate"):
        limit_datasets(data_dir, name, 10)
    edit_config(data_dir, "candidate", baseline={"config": "nightly"})
    assert main(["run", "--config", "nightly", "--date", "2026-11-07", "--quiet"]) == 0
    assert main(["run", "--config", "candidate", "--date", "2026-11-07", "--quiet"]) in (0, 1)
    warehouse = eval_env / "warehouse.duckdb"
    rows = query(
        warehouse, "SELECT DISTINCT baseline_config, baseline_date FROM comparisons WHERE config_name = 'candidate'"
    )
    assert [(c, str(d)) for c, d in rows] == [("nightly", "2026-11-07")]
    report = (eval_env / "runs" / "2026-11-07" / "candidate" / "report.md").read_text()
    assert "nightly 2026-11-07" in report


def test_the_regression_demo_script_flags_only_the_bad_night(tmp_path: Path) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "regression_demo.py"
    result = subprocess.run(
        [sys.executable, str(script), "--nights", "3", "--bad-night", "3", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "nights that failed the regression gate: [3] (expected [3])" in result.stdout
