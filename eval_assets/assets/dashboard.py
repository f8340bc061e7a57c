"""eval_dashboard: one page across configs (latest run of each, trends), refreshed after each evaluation run."""

import datetime as dt

import dagster as dg
from dagster_duckdb import DuckDBResource

from eval_assets import warehouse as wh
from eval_assets.assets.common import open_warehouse
from eval_assets.assets.partitions import WAREHOUSE_POOL
from eval_assets.files import write_atomically
from eval_assets.reporting.charts import plotly_bundle_name, write_plotly_bundle
from eval_assets.reporting.dashboard import render_dashboard
from eval_assets.reporting.folder import ASSETS_DIR
from eval_assets.reporting.people_chart import calibration_figure
from eval_assets.resources import EvalProject


@dg.asset(
    deps=["eval_report"],
    group_name="dashboard",
    kinds={"duckdb", "html"},
    pool=WAREHOUSE_POOL,
    code_version="1",
)
def eval_dashboard(project: EvalProject, warehouse: DuckDBResource) -> dg.MaterializeResult:  # type: ignore[type-arg]  # Dagster inspects this annotation
    """Cross-config dashboard (data/runs/dashboard.html): latest run per config and trend charts."""
    with open_warehouse(warehouse) as conn:
        history = wh.metric_history(conn)
        latest = wh.latest_run_summaries(conn)
        judged = calibration_figure(wh.calibration_history(conn))
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    runs = project.runs_folder()
    if not history.is_empty() or judged is not None:
        write_plotly_bundle(runs.assets)
    page = render_dashboard(
        history,
        latest_runs=latest,
        generated_at=generated,
        plotly_src=f"{ASSETS_DIR}/{plotly_bundle_name()}",
        extra_figures=[judged] if judged is not None else [],
    )
    path = runs.dashboard
    write_atomically(path, page)
    return dg.MaterializeResult(
        metadata={
            "dashboard": dg.MetadataValue.path(str(path.resolve())),
            "configs": dg.MetadataValue.int(latest.height),
        }
    )
