"""Issue 14: a judge that fails on every example must not let the night pass (whole graph, through the CLI)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets_tests.fake_openai import FakeOpenAIServer
from eval_assets_tests.helpers import limit_datasets

pytestmark = pytest.mark.slow

DATE = "2026-11-07"


def set_judges(data_dir: Path, judge: dict[str, Any]) -> None:
    """Grade every rubric scorer of the nightly config with ``judge``."""
    path = data_dir / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    for scorer in config["scorers"]:
        if scorer["scorer"] == "rubric_judge":
            scorer["judges"] = [judge]
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def gate_rows(warehouse: Path) -> dict[str, tuple[str, bool, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        rows = conn.execute("SELECT check_name, severity, passed, description FROM gate_results").fetchall()
    return {name: (severity, passed, description) for name, severity, passed, description in rows}


@pytest.fixture
def nightly(data_dir: Path, eval_env: Path) -> Path:
    limit_datasets(data_dir, "nightly", 12)
    return data_dir


def test_issue14_a_judge_answering_free_text_fails_the_run_and_says_so(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_judges(nightly, {"id": "offline/judge-chatty", "max_tokens": 200})
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "judge_error_rate_within_limit" in out and "the judge is broken, not the model" in out
    assert "offline/judge-chatty" in out and "deserves a" in out  # one raw answer, in the judge's own words

    gates = gate_rows(eval_env / "warehouse.duckdb")
    severity, passed, description = gates["judge_error_rate_within_limit"]
    assert (severity, passed) == ("error", False) and "12 of 12 verdicts unusable" in description
    severity, passed, description = gates["scorer_coverage_sufficient"]
    assert (severity, passed) == ("error", False) and "faithfulness: 0 of 12 examples scored" in description
    # The warn threshold on faithfulness.mean fails with the reason, not a bare "no data".
    _, passed, description = gates["threshold_faithfulness_mean"]
    assert not passed and "12 judge answers unparseable" in description

    report = (eval_env / "runs" / DATE / "nightly" / "report.md").read_text()
    alert = next(line for line in report.splitlines() if line.startswith("> **🛑"))
    assert "The judge is broken, not the model" in alert and "offline/judge-chatty (faithfulness)" in alert
    assert "deserves a" in alert
    assert report.index("🛑") < report.index("## Run summary")  # the headline, before anything else
    html = (eval_env / "runs" / DATE / "nightly" / "report.html").read_text()
    assert 'class="alert"' in html and "The judge is broken, not the model" in html

    # CI reads the same verdict without Dagster.
    assert main(["gate", "--config", "nightly", "--date", DATE, "--format", "json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert any(g["check_name"] == "judge_error_rate_within_limit" and not g["passed"] for g in verdict["gates"])


def test_issue14_two_percent_parse_errors_pass_with_a_warning(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit_datasets(nightly, "nightly", 60)
    set_judges(nightly, {"id": "offline/judge-sloppy", "max_tokens": 200})
    code = main(["run", "--config", "nightly", "--date", DATE, "--quiet"])
    out = capsys.readouterr().out
    with duckdb.connect(str(eval_env / "warehouse.duckdb"), read_only=True) as conn:
        errors, total = conn.execute("SELECT count(error), count(*) FROM judge_verdicts").fetchone()  # type: ignore[misc]
    assert 0 < errors <= 0.05 * total  # the simulator's 2% prose rate, on this sample
    assert code == 0, out
    assert "warning: eval_report.judge_error_rate_within_limit" in out and "within the 5.0% limit" in out
    severity, passed, _ = gate_rows(eval_env / "warehouse.duckdb")["judge_error_rate_within_limit"]
    assert (severity, passed) == ("warn", False)


def test_issue14_free_text_judge_over_real_http(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The fake server echoes the prompt back: prose, as a chat model given the wrong prompt would answer.
    with FakeOpenAIServer() as server:
        set_judges(nightly, {"id": "openai/fake-judge", "api_base": server.base_url, "max_tokens": 200})
        assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
        assert server.count("ok") > 0
    out = capsys.readouterr().out
    assert "the judge is broken, not the model" in out and "openai/fake-judge" in out and "Echo:" in out


def test_issue14_max_judge_error_rate_is_configurable(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_judges(nightly, {"id": "offline/judge-chatty", "max_tokens": 200})
    path = nightly / "configs" / "nightly.yaml"
    config = yaml.safe_load(path.read_text())
    config["runtime"].update(max_judge_error_rate=1.0, min_scored_share=0.0)
    config["thresholds"] = [t for t in config["thresholds"] if not t["metric"].startswith(("faithfulness", "tone"))]
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    # A team that knowingly tolerates a broken judge can say so; the night then only warns.
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 0
    assert "warning: eval_report.judge_error_rate_within_limit" in capsys.readouterr().out


def test_issue8_9_a_failed_step_shows_its_root_cause_not_dagsters_wrapper(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report stage renders through reporting.publish (which writes the report folder).
    import eval_assets.reporting.publish as report

    def broken(*args: object, **kwargs: object) -> str:
        raise RuntimeError("disk full while writing report.md")

    monkeypatch.setattr(report, "render_markdown", broken)
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "RuntimeError: disk full while writing report.md" in out
    assert "DagsterExecutionStepExecutionError" not in out


def test_issue14_a_night_stopped_by_its_blocking_checks_lists_the_checks_not_a_dagster_error(
    nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_judges(nightly, {"id": "offline/judge-chatty", "max_tokens": 200})
    assert main(["run", "--config", "nightly", "--date", DATE, "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "gate failed: eval_report.judge_error_rate_within_limit" in out
    assert "DagsterAssetCheckFailedError" not in out and "error:" not in out
