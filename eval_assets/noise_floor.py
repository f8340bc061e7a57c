"""The A/A noise floor: re-run a config's baseline night against itself, in scratch warehouses, and compare.

Shared by ``eval-assets noise-floor`` and the ``noise_floor_job``. The re-runs never touch the real warehouse:
each writes a scratch warehouse of its own (its rows, its answer cache), so the night's rows and cache stay as
they were and every re-run calls the model afresh (the cache is bypassed too, for good measure). Each re-run is
compared with the stored night exactly as the gate compares a night with its baseline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from eval_assets import warehouse as wh
from eval_assets.scoring.noise import NoiseFloor, noise_floor, render_noise_floor
from eval_assets.settings import Settings

#: At most this many re-runs (CLI and job): each one pays for a whole night of calls.
MAX_RUNS = 100
#: How a night is re-run: ``rerun(scratch settings, config, night)`` materializes it with the cache bypassed.
Rerun = Callable[[Settings, str, dt.date], object]


class NoNightToRerunError(ValueError):
    """The night has no baseline: there is nothing to re-run."""


@dataclass(frozen=True)
class MeasuredNoiseFloor:
    """The outcome of one A/A measurement."""

    config_name: str
    night: dt.date
    reason: str  # why that night is the baseline
    runs: int
    floors: tuple[NoiseFloor, ...]
    record: Path  # noise_floor.json in the night's run folder

    def describe(self) -> str:
        """What a person reads: the night, the table, where the distribution went."""
        return (
            f"A/A: {self.config_name} {self.night} re-run {self.runs} time(s) against itself ({self.reason})\n"
            f"{render_noise_floor(self.floors)}\ndistribution: {self.record}"
        )


def measure_noise_floor(
    settings: Settings, config_name: str, day: dt.date, *, runs: int, rerun: Rerun
) -> MeasuredNoiseFloor:
    """Re-run the baseline of ``config_name``'s night ``day`` ``runs`` times and record the deltas.

    ``rerun(settings, config, night)`` materializes one night with the cache bypassed (the CLI and the
    ``noise_floor_job`` pass ``definitions.rerun_without_cache``; taken as an argument so this module does not
    import the Dagster glue).

    Raises:
        NoNightToRerunError: the night has no baseline.
        InvalidInputError: the config or its datasets are invalid.
    """
    from eval_assets.project import validate_data_dir
    from eval_assets.scoring.comparison import compare_runs

    plan = validate_data_dir(settings.data_dir, names=[config_name])[config_name]
    with wh.connect(settings.warehouse_path, read_only=True) as conn:
        choice = wh.choose_baseline(conn, config_name, day)
        if not isinstance(choice, wh.BaselineChoice):
            raise NoNightToRerunError(f"{config_name} {day} has no baseline to re-run: {choice.reason}")
        night_config, night = choice.key
        stored = wh.scores_with_outputs(conn, night, night_config)
    policy = plan.config.config.regression
    compared = []
    with tempfile.TemporaryDirectory(prefix="eval-assets-aa-") as scratch_dir:
        for index in range(runs):
            scratch = dataclasses.replace(
                settings,
                warehouse_path=Path(scratch_dir) / f"aa-{index}.duckdb",  # type: ignore[arg-type]  # parsed in __post_init__
                runs_dir=Path(scratch_dir) / "runs",
                dagster_home=None,
            )
            rerun(scratch, night_config, night)
            with wh.connect(scratch.warehouse_path, read_only=True) as conn:
                again = wh.scores_with_outputs(conn, night, night_config)
            compared.append(compare_runs(again, stored, policy=policy))
    floors = tuple(noise_floor(compared, alpha=policy.alpha))
    folder = settings.runs_dir / str(night) / night_config
    folder.mkdir(parents=True, exist_ok=True)
    record = folder / "noise_floor.json"
    document = {
        "config": night_config,
        "night": str(night),
        "runs": runs,
        "alpha": policy.alpha,
        "scorers": [
            {"scorer": f.scorer, "deltas": list(f.deltas), "false_alarms": f.false_alarms, "rate": f.false_alarm_rate}
            for f in floors
        ],
    }
    record.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return MeasuredNoiseFloor(night_config, night, choice.reason, runs, floors, record)
