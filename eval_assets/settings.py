"""Where things live on disk. Read from the environment when Dagster or the CLI loads, never at import."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from eval_assets.reporting.folder import Links, base_url
from eval_assets.warehouse.location import WarehouseLocation, default_setting, parse_location

ENV_DATA_DIR = "EVAL_ASSETS_DATA_DIR"
ENV_WAREHOUSE = "EVAL_ASSETS_WAREHOUSE"
ENV_RUNS_DIR = "EVAL_ASSETS_RUNS_DIR"
ENV_DAGSTER_HOME = "DAGSTER_HOME"
ENV_SENSOR_INTERVAL = "EVAL_ASSETS_SENSOR_INTERVAL_S"
ENV_REPORT_BASE_URL = "EVAL_ASSETS_REPORT_BASE_URL"
ENV_DAGSTER_URL = "EVAL_ASSETS_DAGSTER_URL"
#: Seconds between sensor evaluations (alerts, dashboard refresh) unless the environment says otherwise.
DEFAULT_SENSOR_INTERVAL_S = 30


@dataclass(frozen=True)
class Settings:
    """Paths of the data directory, the warehouse, the report folders and the Dagster instance.

    ``warehouse_path`` is where the warehouse lives (:class:`~eval_assets.warehouse.location.WarehouseLocation`;
    a path given here is a plain DuckDB file). ``str()`` of it is the setting as written.
    """

    data_dir: Path
    warehouse_path: WarehouseLocation
    runs_dir: Path
    dagster_home: Path | None = None
    sensor_interval_s: int = DEFAULT_SENSOR_INTERVAL_S
    #: Where the runs folder is published (links in reports and alerts become absolute); None: local paths.
    report_base_url: str | None = None
    #: The Dagster UI, so alerts and reports can link the run (``<dagster_url>/runs/<run id>``).
    dagster_url: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.warehouse_path, WarehouseLocation):  # a path or a setting string
            object.__setattr__(self, "warehouse_path", parse_location(self.warehouse_path, data_dir=self.data_dir))

    @classmethod
    def from_env(cls, *, data_dir: str | Path | None = None) -> Settings:
        """``EVAL_ASSETS_DATA_DIR`` (default ``data``), ``EVAL_ASSETS_WAREHOUSE`` (default: a DuckLake with the
        catalog ``<data dir>/warehouse.sqlite`` and Parquet files in ``<data dir>/warehouse.files/``; the forms
        are in :mod:`eval_assets.warehouse.location`), ``EVAL_ASSETS_RUNS_DIR`` (default ``<data dir>/runs``) and
        ``DAGSTER_HOME`` (default ``.dagster_home`` beside the data directory, so CLI runs land in the same
        instance ``dagster dev`` shows).

        Args:
            data_dir: Overrides ``EVAL_ASSETS_DATA_DIR`` (the CLI's ``--data-dir``); the warehouse and runs
                folder follow it unless their own variables are set.
        """
        data_dir = Path(data_dir or os.environ.get(ENV_DATA_DIR) or "data")
        warehouse = parse_location(os.environ.get(ENV_WAREHOUSE) or default_setting(data_dir), data_dir=data_dir)
        runs_dir = Path(os.environ.get(ENV_RUNS_DIR) or data_dir / "runs")
        # Dagster wants an absolute DAGSTER_HOME.
        dagster_home = Path(os.environ.get(ENV_DAGSTER_HOME) or data_dir.absolute().parent / ".dagster_home")
        interval = os.environ.get(ENV_SENSOR_INTERVAL)
        return cls(
            data_dir=data_dir,
            warehouse_path=warehouse,
            runs_dir=runs_dir,
            dagster_home=dagster_home.absolute(),
            sensor_interval_s=int(interval) if interval else DEFAULT_SENSOR_INTERVAL_S,
            report_base_url=base_url(os.environ.get(ENV_REPORT_BASE_URL), variable=ENV_REPORT_BASE_URL),
            dagster_url=base_url(os.environ.get(ENV_DAGSTER_URL), variable=ENV_DAGSTER_URL),
        )

    def links(self) -> Links:
        """What people can open: absolute URLs when the runs folder or Dagster UI is published, else local paths."""
        return Links(report_base_url=self.report_base_url, dagster_url=self.dagster_url)
