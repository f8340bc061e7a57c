"""Where things live on disk. Read from the environment when Dagster or the CLI loads, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_DATA_DIR = "EVAL_ASSETS_DATA_DIR"
ENV_WAREHOUSE = "EVAL_ASSETS_WAREHOUSE"
ENV_RUNS_DIR = "EVAL_ASSETS_RUNS_DIR"


@dataclass(frozen=True)
class Settings:
    """Paths of the data directory, the DuckDB warehouse and the report folders."""

    data_dir: Path
    warehouse_path: Path
    runs_dir: Path

    @classmethod
    def from_env(cls, *, data_dir: str | Path | None = None) -> Settings:
        """``EVAL_ASSETS_DATA_DIR`` (default ``data``), ``EVAL_ASSETS_WAREHOUSE`` (default
        ``<data dir>/warehouse.duckdb``) and ``EVAL_ASSETS_RUNS_DIR`` (default ``<data dir>/runs``).

        Args:
            data_dir: Overrides ``EVAL_ASSETS_DATA_DIR`` (the CLI's ``--data-dir``); the warehouse and runs
                folder follow it unless their own variables are set.
        """
        data_dir = Path(data_dir or os.environ.get(ENV_DATA_DIR) or "data")
        warehouse = Path(os.environ.get(ENV_WAREHOUSE) or data_dir / "warehouse.duckdb")
        runs_dir = Path(os.environ.get(ENV_RUNS_DIR) or data_dir / "runs")
        return cls(data_dir=data_dir, warehouse_path=warehouse, runs_dir=runs_dir)
