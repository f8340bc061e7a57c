"""The date x config partitioning shared by every asset."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg

DATE_DIMENSION = "date"
CONFIG_DIMENSION = "config"
FIRST_DATE = "2026-01-01"
#: Assets writing the warehouse share one pool: DuckDB allows a single writing process.
WAREHOUSE_POOL = "eval_warehouse"


def eval_partitions(config_names: Sequence[str]) -> dg.MultiPartitionsDefinition:
    """Daily dates (today included, for on-demand runs) x one static key per config file."""
    if not config_names:
        raise ValueError("no config files found in data/configs: add at least one *.yaml")
    return dg.MultiPartitionsDefinition(
        {
            DATE_DIMENSION: dg.DailyPartitionsDefinition(start_date=FIRST_DATE, end_offset=1),
            CONFIG_DIMENSION: dg.StaticPartitionsDefinition(list(config_names)),
        }
    )


def partition_cell(context: dg.AssetExecutionContext) -> tuple[dt.date, str]:
    """The (date, config) cell being materialized."""
    key = context.partition_key
    if not isinstance(key, dg.MultiPartitionKey):
        raise TypeError(f"expected a date x config partition key, got {key!r}")
    keys = key.keys_by_dimension
    return dt.date.fromisoformat(keys[DATE_DIMENSION]), keys[CONFIG_DIMENSION]


def cell_key(eval_date: str | dt.date, config_name: str) -> dg.MultiPartitionKey:
    """The partition key of a (date, config) cell."""
    return dg.MultiPartitionKey({DATE_DIMENSION: str(eval_date), CONFIG_DIMENSION: config_name})
