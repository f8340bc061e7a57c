"""Issue 11, item 6: the A/A noise floor re-runs the baseline against itself and never touches the real night."""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from eval_assets.automation import NOISE_FLOOR_JOB
from eval_assets.cli import main
from eval_assets.definitions import build_definitions
from eval_assets.scoring.comparison import ScorerComparison
from eval_assets.scoring.noise import noise_floor, render_noise_floor
from eval_assets.scoring.statistics import PairedComparison
from eval_assets.settings import Settings
from eval_assets_tests.helpers import limit_datasets


def _comparison(scorer: str, delta: float, verdict: str, *, gated: bool = True) -> ScorerComparison:
    paired = PairedComparison("pass_fail", 100, 0.9, 0.9 + delta, delta, None, None, 0.5, (), (), 0.95)
    return ScorerComparison(scorer, None, paired, verdict == "FAIL", gated, verdict)  # type: ignore[arg-type]


def test_the_noise_floor_counts_false_alarms_of_gated_scorers_only() -> None:
    runs = [
        [_comparison("contains", -0.01, "PASS"), _comparison("tone", -0.2, "FAIL", gated=False)],
        [_comparison("contains", -0.08, "FAIL")],
        [_comparison("contains", 0.02, "PASS")],
        [_comparison("contains", 0.0, "INCONCLUSIVE")],  # not a false alarm: the gate did not fail
    ]
    (floor,) = noise_floor(runs, alpha=0.05)
    assert floor.scorer == "contains" and floor.runs == 4 and floor.false_alarms == 1
    assert floor.false_alarm_rate == pytest.approx(0.25)
    assert floor.spread() == pytest.approx((-0.08, -0.005, 0.02))
    assert "1/4 (25%)" in render_noise_floor([floor]) and "0.05" in render_noise_floor([floor])


def _run_job(run_config: dict[str, object]) -> dg.ExecuteInProcessResult:
    job = build_definitions(Settings.from_env()).resolve_job_def(NOISE_FLOOR_JOB)
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)


def _job_config(**config: object) -> dict[str, object]:
    return {"ops": {"measure_the_noise_floor": {"config": config}}}


@pytest.mark.slow
def test_noise_floor_cli_and_job_rerun_the_baseline_without_touching_the_real_night(
    data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limit_datasets(data_dir, "candidate", 5)
    assert main(["run", "--config", "candidate", "--date", "2026-11-01", "--quiet"]) in (0, 1)
    warehouse = eval_env / "warehouse.duckdb"

    def state() -> list[object]:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            return [
                conn.execute("SELECT count(*), max(created_at), max(run_id) FROM responses").fetchall(),
                conn.execute("SELECT count(*), max(created_at) FROM response_cache").fetchall(),
                conn.execute("SELECT count(*), max(run_id) FROM scores").fetchall(),
            ]

    before = state()
    capsys.readouterr()
    assert main(["noise-floor", "--config", "candidate", "--runs", "2", "--date", "2026-11-02"]) == 0
    out = capsys.readouterr().out
    assert "A/A: candidate 2026-11-01 re-run 2 time(s)" in out and "contains" in out
    assert state() == before  # the real night's rows and the answer cache are as they were
    record = json.loads((eval_env / "runs" / "2026-11-01" / "candidate" / "noise_floor.json").read_text())
    by_scorer = {s["scorer"]: s for s in record["scorers"]}
    # The offline models are deterministic: re-running the night gives the night, so the floor is exactly 0.
    assert by_scorer["contains"]["deltas"] == [0.0, 0.0] and by_scorer["contains"]["false_alarms"] == 0

    assert main(["noise-floor", "--config", "candidate", "--runs", "2", "--date", "2026-11-01"]) == 2  # no baseline

    # The job (issue 11, item 6): the same procedure, the same figures, the real night untouched again.
    record_path = eval_env / "runs" / "2026-11-01" / "candidate" / "noise_floor.json"
    record_path.unlink()
    result = _run_job(_job_config(config="candidate", runs=2, date="2026-11-02"))
    assert result.success
    assert result.output_for_node("measure_the_noise_floor") == str(record_path)
    assert json.loads(record_path.read_text()) == record  # the CLI's figures, run count, alpha and night
    assert state() == before
    # No baseline, a date that is not one, or more re-runs than allowed: the run fails and says why.
    failed = _run_job(_job_config(config="candidate", runs=1, date="2026-11-01"))
    assert not failed.success
    (failure,) = failed.get_step_failure_events()
    assert "has no baseline to re-run" in str(failure.step_failure_data.user_failure_data.description)
    assert not _run_job(_job_config(config="candidate", runs=1, date="2026-13-01")).success
    (too_many,) = _run_job(_job_config(config="candidate", runs=101)).get_step_failure_events()
    assert "less than or equal to 100" in str(too_many.step_failure_data.error)
    assert state() == before
