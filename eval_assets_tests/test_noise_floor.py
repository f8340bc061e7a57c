"""Issue 11, item 6: the A/A noise floor re-runs the baseline against itself and never touches the real night."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.scoring.comparison import ScorerComparison
from eval_assets.scoring.noise import noise_floor, render_noise_floor
from eval_assets.scoring.statistics import PairedComparison
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


@pytest.mark.slow
def test_noise_floor_reruns_the_baseline_without_touching_the_real_night(
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
