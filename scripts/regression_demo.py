"""Offline demo: 14 nights of the candidate config, one of which ships a clearly worse model.

    python scripts/regression_demo.py [--nights 14] [--bad-night 10] [--workdir DIR]

Works on a private copy of data/ (your warehouse and reports are untouched) with the offline simulator.
On the bad night the candidate config points at ``offline/assistant-mini`` (as if a bad prompt or model
change had been deployed); every other night is ``offline/assistant-v2`` with only day-to-day noise.
Prints each night's regression verdict (p-value, delta, flipped examples) and where the reports are.
Exit status 0 when the bad night, and only it, failed its regression gate.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import duckdb
import yaml

REPO = Path(__file__).resolve().parent.parent
WORSE_MODEL = "offline/assistant-mini"


def set_model(config_path: Path, model_id: str) -> None:
    config = yaml.safe_load(config_path.read_text())
    config["model"]["id"] = model_id
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nights", type=int, default=14)
    parser.add_argument("--bad-night", type=int, default=10, help="1-based night that ships the worse model")
    parser.add_argument("--first-date", default="2026-11-01")
    parser.add_argument("--workdir", type=Path, help="keep everything here (default: a temporary folder)")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="eval-assets-demo-"))
    data_dir = workdir / "data"
    if data_dir.exists():
        shutil.rmtree(data_dir)
    for folder in ("configs", "datasets", "prompts"):
        shutil.copytree(REPO / "data" / folder, data_dir / folder)
    os.environ.update(
        {
            "EVAL_ASSETS_DATA_DIR": str(data_dir),
            "EVAL_ASSETS_WAREHOUSE": str(workdir / "warehouse.duckdb"),
            "EVAL_ASSETS_RUNS_DIR": str(workdir / "runs"),
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        }
    )
    from eval_assets.cli import main as cli

    config_path = data_dir / "configs" / "candidate.yaml"
    normal_model = yaml.safe_load(config_path.read_text())["model"]["id"]
    first = dt.date.fromisoformat(args.first_date)
    failed_nights = []
    for night in range(1, args.nights + 1):
        day = first + dt.timedelta(days=night - 1)
        set_model(config_path, WORSE_MODEL if night == args.bad_night else normal_model)
        code = cli(["run", "--config", "candidate", "--date", str(day), "--quiet"])
        if code == 2:
            return 2
        with duckdb.connect(str(workdir / "warehouse.duckdb"), read_only=True) as conn:
            gate = conn.execute(
                "SELECT passed, description, metadata_json FROM gate_results WHERE config_name = 'candidate' "
                "AND eval_date = ? AND check_name = 'no_regression_vs_baseline'",
                [day],
            ).fetchall()
        passed, description, metadata = gate[0] if gate else (True, "no gate result", "{}")
        # INCONCLUSIVE (too few examples to see min_effect) warns; only a FAIL is a regression.
        verdict = json.loads(metadata or "{}").get("verdict", "PASS" if passed else "FAIL")
        if verdict == "FAIL":
            failed_nights.append(night)
        marker = {"FAIL": "REGRESSION", "INCONCLUSIVE": "unsure"}.get(verdict, "ok")
        print(
            f"night {night:2d} {day} model={WORSE_MODEL if night == args.bad_night else normal_model:<22} "
            f"{marker:<10} {description}",
            file=sys.stderr,
        )
    bad_day = first + dt.timedelta(days=args.bad_night - 1)
    print(
        f"\nReports: {workdir / 'runs'}\nThe bad night's report: {workdir / 'runs' / str(bad_day) / 'candidate'}"
        "/report.html"
    )
    expected = [args.bad_night]
    print(f"nights that failed the regression gate: {failed_nights} (expected {expected})")
    return 0 if failed_nights == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())
