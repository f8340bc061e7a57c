"""``eval-assets noise-floor``: re-run a config's baseline night against itself and count the gate's false alarms."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from eval_assets import warehouse as wh
from eval_assets.cli.options import command_parser, parse_date, positive, yesterday
from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.reporting.sanitize import terminal_text
from eval_assets.settings import Settings

#: At most this many re-runs: each one pays for a whole night of calls.
MAX_RUNS = 100


def add_parser(commands: Any) -> None:
    """Register ``noise-floor``."""
    parser = command_parser(
        commands,
        "noise-floor",
        help="A/A test: re-run the baseline night against itself (cache bypassed) and report the false-alarm rate",
        examples="  eval-assets noise-floor --config nightly --runs 10        the baseline tonight's night would get\n"
        "  eval-assets noise-floor --config nightly --date 2026-11-24 --runs 5",
    )
    parser.add_argument("--config", required=True, help="config name")
    parser.add_argument("--runs", required=True, type=positive(int), help=f"re-runs (1 .. {MAX_RUNS}); each is paid")
    parser.add_argument("--date", help="the night whose baseline is re-run (YYYY-MM-DD; default: tonight's)")
    parser.set_defaults(needs="data", handler=cmd_noise_floor)


def cmd_noise_floor(args: argparse.Namespace, settings: Settings) -> int:
    """Re-run the baseline night ``--runs`` times in scratch warehouses and compare each with the stored night.

    The re-runs never touch the real warehouse: each writes a scratch warehouse of its own (its rows, its
    answer cache), so the night's rows and cache stay as they were and every re-run calls the model afresh.
    The distribution is written to ``noise_floor.json`` in the baseline night's run folder.
    """
    from eval_assets.project import validate_data_dir
    from eval_assets.running import run_cells
    from eval_assets.scoring.comparison import compare_runs
    from eval_assets.scoring.noise import noise_floor, render_noise_floor

    if args.runs > MAX_RUNS:
        raise UsageError(f"--runs is at most {MAX_RUNS} (each re-run pays for a whole night), got {args.runs}")
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    day = parse_date(args.date, "--date") if args.date else yesterday() + dt.timedelta(days=1)
    plan = validate_data_dir(settings.data_dir, names=[args.config])[args.config]
    with wh.connect(settings.warehouse_path, read_only=True) as conn:
        choice = wh.choose_baseline(conn, args.config, day)
        if not isinstance(choice, wh.BaselineChoice):
            raise UsageError(f"{args.config} {day} has no baseline to re-run: {choice.reason}")
        night_config, night = choice.key
        stored = wh.scores_with_outputs(conn, night, night_config)
    policy = plan.config.config.regression
    runs = []
    with tempfile.TemporaryDirectory(prefix="eval-assets-aa-") as scratch_dir:
        for index in range(args.runs):
            scratch = dataclasses.replace(
                settings,
                warehouse_path=Path(scratch_dir) / f"aa-{index}.duckdb",  # type: ignore[arg-type]  # parsed in __post_init__
                runs_dir=Path(scratch_dir) / "runs",
                dagster_home=None,
            )
            run_cells(scratch, [night_config], [night], use_cache=False, quiet=True)
            with wh.connect(scratch.warehouse_path, read_only=True) as conn:
                again = wh.scores_with_outputs(conn, night, night_config)
            runs.append(compare_runs(again, stored, policy=policy))
    floors = noise_floor(runs, alpha=policy.alpha)
    print(terminal_text(f"A/A: {night_config} {night} re-run {args.runs} time(s) against itself ({choice.reason})"))
    print(terminal_text(render_noise_floor(floors)))
    folder = settings.runs_dir / str(night) / night_config
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "config": night_config,
        "night": str(night),
        "runs": args.runs,
        "alpha": policy.alpha,
        "scorers": [
            {"scorer": f.scorer, "deltas": list(f.deltas), "false_alarms": f.false_alarms, "rate": f.false_alarm_rate}
            for f in floors
        ],
    }
    (folder / "noise_floor.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return EXIT_OK
