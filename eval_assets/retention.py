"""Retention across configs: each config's ``retention:`` windows for its own rows, what the configs protect,
the leases of nights being replayed, and the text a dry run or an apply prints (no Dagster).

Several configs share one warehouse, and every per-example row names its config: so each config's windows
apply to that config's rows only (one config keeping 365 days keeps nobody else's rows). The response
cache is shared by request, not by config: its rows go only past the longest ``cache_days`` of any config,
and only when no remaining row still names the request. Rows of a config whose file is gone get the
default windows (90 days); rows of a config whose file does not validate are kept until it does.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from eval_assets import warehouse as wh
from eval_assets.config_base import Retention
from eval_assets.errors import InvalidInputError
from eval_assets.leases import CellBusyError, cell_lease, read_holder
from eval_assets.project import config_names, load_named_config
from eval_assets.reporting.folder import RunsFolder
from eval_assets.warehouse.retention import Cell, Protection, RetentionPlan, RetentionResult, Windows

#: How long a lake keeps snapshots (and the files only they need) past a retention run, unless told otherwise.
DEFAULT_GRACE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Policies:
    """What the config files say: each config's windows, the nights they pin, the configs kept whole."""

    windows: Mapping[str, Windows]
    pins: tuple[Protection, ...]
    kept_configs: Mapping[str, str]
    baselines: Mapping[str, tuple[str | None, dt.date | None]]


def windows_of(retention: Retention) -> Windows:
    """The warehouse's form of a config's ``retention:`` block."""
    return Windows(retention.responses_days, retention.scores_days, retention.verdicts_days, retention.cache_days)


def read_policies(data_dir: Path) -> Policies:
    """Every config's windows and pins; an invalid config keeps its rows (its windows cannot be known)."""
    windows: dict[str, Windows] = {}
    pins: list[Protection] = []
    kept: dict[str, str] = {}
    baselines: dict[str, tuple[str | None, dt.date | None]] = {}
    for name in config_names(data_dir):
        try:
            loaded = load_named_config(data_dir, name)
        except InvalidInputError:
            kept[name] = f"configs/{name}.yaml does not validate: its rows are kept until it does"
            continue
        config = loaded.config
        windows[name] = windows_of(config.retention)
        baselines[name] = (config.baseline.config, config.baseline.date)
        if config.baseline.date is not None:
            target = config.baseline.config or name
            pins.append(Protection(target, config.baseline.date, f"pinned as baseline.date in configs/{name}.yaml"))
    return Policies(windows, tuple(pins), kept, baselines)


def current_baselines(conn: duckdb.DuckDBPyConnection, policies: Policies, today: dt.date) -> list[Protection]:
    """The night each config's next run would be compared with: its per-example scores are needed then."""
    found = []
    for name, (pinned_config, pinned_date) in policies.baselines.items():
        choice = wh.choose_baseline(conn, name, today, pinned_config=pinned_config, pinned_date=pinned_date)
        if isinstance(choice, wh.BaselineChoice):
            found.append(Protection(choice.config_name, choice.eval_date, f"the current baseline of {name}"))
    return found


def plan(conn: duckdb.DuckDBPyConnection, data_dir: Path, *, today: dt.date) -> RetentionPlan:
    """What retention would remove today (reads only)."""
    policies = read_policies(data_dir)
    return wh.plan_retention(
        conn,
        today=today,
        windows=policies.windows,
        default=windows_of(Retention()),
        protect=[*policies.pins, *current_baselines(conn, policies, today)],
        kept_configs=policies.kept_configs,
    )


def lease_holder(runs_dir: Path) -> Callable[[Sequence[Cell]], contextlib.AbstractContextManager[Mapping[Cell, str]]]:
    """Holds the leases of cells a run has replayed here, for a batch; yields the cells a run holds now.

    A cell no run has leased has no lock file, and none is made for it: a run that starts on it later writes
    through the cell's write token, which the removal takes too.
    """
    runs = RunsFolder(runs_dir)

    @contextlib.contextmanager
    def hold(cells: Sequence[Cell]) -> Iterator[Mapping[Cell, str]]:
        busy: dict[Cell, str] = {}
        with contextlib.ExitStack() as stack:
            for config_name, eval_date in cells:
                path = runs.run(eval_date, config_name).lease
                if not path.exists():
                    continue
                try:
                    stack.enter_context(
                        cell_lease(path, run_id="retention", cell=f"{config_name} {eval_date}", wait_s=0, log=_quiet)
                    )
                except CellBusyError:
                    busy[(config_name, eval_date)] = f"being written by {read_holder(path).describe()}"
            yield busy

    return hold


def _quiet(message: str) -> None:
    """Leases announce waits; retention never waits."""


def describe_plan(plan: RetentionPlan) -> list[str]:
    """What a dry run prints: per table the nights and rows that go, then what is kept and why."""
    lines = [f"retention as of {plan.today}: per-example detail older than each config's retention windows"]
    width = max(len(t.table) for t in plan.tables)
    for table in plan.tables:
        span = _span(table.nights)
        kept = f", keeping {table.kept_rows:,} rows of decided examples" if table.kept_rows else ""
        lines.append(
            f"  {table.table:<{width}}  {len(table.nights):>5,} nights  {table.rows:>10,} rows{span}{kept}"
            f"  ({table.kind}_days)"
        )
    lines.append(
        f"  {'response_cache':<{width}}  {plan.cache_rows:>10,} cached answers received before "
        f"{plan.cache_before:%Y-%m-%d} that no remaining row uses (cache_days)"
    )
    if plan.protected:
        lines.append("protected nights (kept whole):")
        lines.extend(f"  {p.config_name} {p.eval_date}: {p.reason}" for p in plan.protected)
    lines.extend(f"kept: {name}: {why}" for name, why in sorted(plan.kept_configs.items()))
    return lines


def describe_result(result: RetentionResult) -> list[str]:
    """What an apply prints: what was removed, and the nights left alone."""
    lines = [
        f"  removed {rows:,} rows of {table} ({result.nights[table]:,} nights)"
        for table, rows in result.removed.items()
    ]
    lines.append(f"  removed {result.cache_rows:,} cached answers")
    lines.extend(f"  left {config} {day} alone: {why}" for (config, day), why in sorted(result.skipped.items()))
    return lines


def describe_maintenance(done: wh.Maintenance) -> list[str]:
    """The maintenance steps and the bytes on disk before and after."""
    steps = ", ".join(f"{name} ({count})" for name, count in done.steps)
    lines = [f"  maintenance: {steps}"]
    if done.bytes_before is not None and done.bytes_after is not None:
        lines.append(f"  on disk: {done.bytes_before:,} bytes before, {done.bytes_after:,} bytes after")
    else:
        lines.append("  on disk: not measured (the catalog or the data files are not on this machine)")
    return lines


def _span(nights: Sequence[wh.NightRows]) -> str:
    if not nights:
        return ""
    days = sorted(n.eval_date for n in nights)
    return f"  {days[0]} .. {days[-1]}"
