"""Which partition a partition is compared with."""

from __future__ import annotations

import datetime as dt

import duckdb

from eval_assets.warehouse.connection import scalar


def resolve_baseline(
    conn: duckdb.DuckDBPyConnection,
    config_name: str,
    eval_date: dt.date,
    *,
    pinned_config: str | None = None,
    pinned_date: dt.date | None = None,
) -> tuple[str, dt.date] | None:
    """The (config, date) a partition is compared with, if that partition's metrics exist.

    Default: the previous completed partition of the same config. A pinned config compares with that
    config on the same date (or its latest earlier run); a pinned date compares with exactly that date.
    """
    config = pinned_config or config_name
    if pinned_date is not None:
        found = scalar(conn, "SELECT count(*) FROM runs WHERE config_name = ? AND eval_date = ?", [config, pinned_date])
        return (config, pinned_date) if found else None
    if pinned_config is None:
        previous = previous_run_date(conn, config_name, eval_date)
        return (config, previous) if previous else None
    latest = scalar(
        conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date <= ?", [config, eval_date]
    )
    return (config, latest) if isinstance(latest, dt.date) else None


def previous_run_date(conn: duckdb.DuckDBPyConnection, config_name: str, before: dt.date) -> dt.date | None:
    """The latest earlier date whose metrics completed for this config: the default baseline."""
    found = scalar(
        conn, "SELECT max(eval_date) FROM runs WHERE config_name = ? AND eval_date < ?", [config_name, before]
    )
    return found if isinstance(found, dt.date) else None
