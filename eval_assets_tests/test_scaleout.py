"""Scale-out as deployed: partitions in parallel under Dagster's multiprocess executor with no pool limit, the
same partition run twice at once, and the deployment recipe of ``deploy/`` on PostgreSQL.

Every claim is about processes, so the runs are real subprocesses (``dagster asset materialize`` uses the
multiprocess executor: each step is one more process) on a real ``DAGSTER_HOME``, and what they wrote is
compared with what one sequential ``eval-assets run`` writes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pytest
import yaml

from eval_assets import warehouse as wh
from eval_assets.definitions import build_definitions
from eval_assets.settings import Settings
from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.postgres import PostgresServer
from eval_assets_tests.test_automation import tick

REPO_ROOT = Path(__file__).resolve().parent.parent
DEPLOY = REPO_ROOT / "deploy"
DAY = "2026-01-05"
#: Four configs (copies of nightly), so four partitions of one date run at once with no baseline between them.
CONFIGS = ("nightly", "night_b", "night_c", "night_d")
ALERT_SENSORS = ("check_alert_sensor", "run_failure_alert_sensor")
DAGSTER = str(Path(sys.executable).with_name("dagster"))
MATERIALIZE = [DAGSTER, "asset", "materialize", "-m", "eval_assets.definitions", "--select", "group:evaluation"]


def small_configs(data_dir: Path, names: Sequence[str]) -> None:
    """Configs ``names``: nightly with 2 examples per dataset and no gates (every run succeeds), and copies."""
    limit_datasets(data_dir, "nightly", 2)
    edit_config(data_dir, "nightly", thresholds=[])
    text = (data_dir / "configs" / "nightly.yaml").read_text(encoding="utf-8")
    for name in names:
        (data_dir / "configs" / f"{name}.yaml").write_text(text, encoding="utf-8")


def environment(data_dir: Path, home: Path, warehouse: str, **extra: str) -> dict[str, str]:
    """A subprocess environment on this data directory, Dagster instance and warehouse."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVAL_ASSETS_", "DAGSTER_"))}
    env.update(
        EVAL_ASSETS_DATA_DIR=str(data_dir),
        EVAL_ASSETS_WAREHOUSE=warehouse,
        EVAL_ASSETS_RUNS_DIR=str(data_dir / "runs"),
        DAGSTER_HOME=str(home),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        **extra,
    )
    return env


def prepared_home(folder: Path, dagster_yaml: str = "telemetry:\n  enabled: false\n") -> Path:
    """A DAGSTER_HOME whose storage exists before the parallel runs (as after `dagster dev` or a first run):
    processes that create a new SQLite instance at once corrupt its schema version table."""
    folder.mkdir(parents=True, exist_ok=True)
    if not (folder / "dagster.yaml").exists():
        (folder / "dagster.yaml").write_text(dagster_yaml, encoding="utf-8")
    with dg.DagsterInstance.from_config(str(folder)):
        pass
    return folder


def materialize_at_once(env: dict[str, str], configs: Sequence[str], cwd: Path) -> list[str]:
    """``dagster asset materialize`` of the evaluation group, one process per config's cell, all at once."""
    runs = [
        subprocess.Popen(
            [*MATERIALIZE, "--partition", f"{config}|{DAY}", "-c", str(DEPLOY / "run_config.yaml")],
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for config in configs
    ]
    # Every process is waited for (and its pipe closed) before any failure is reported: a failed run must not
    # leave the others running, or their pipes open for a later test's garbage collection to warn about.
    outputs = [run.communicate(timeout=1200)[0] for run in runs]
    for run, output in zip(runs, outputs, strict=True):
        assert run.returncode == 0, output[-4000:]
    return outputs


def cli_run(env: dict[str, str], configs: Sequence[str], cwd: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "eval_assets.cli", "run", "--date", DAY, "--quiet"]
    return subprocess.Popen(
        [*command, *(arg for config in configs for arg in ("--config", config))],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finished(run: subprocess.Popen[str]) -> str:
    output, _ = run.communicate(timeout=1200)
    assert run.returncode == 0, output[-4000:]
    return output


def cell_counts(location: str) -> dict[str, list[tuple[object, ...]]]:
    """Per partitioned table and cell: rows and distinct run ids (run ids differ between runs; counts may not)."""
    with wh.connect(location, read_only=True) as conn:
        return {
            table: conn.execute(
                f"SELECT eval_date, config_name, count(*), count(DISTINCT run_id) FROM {table} "
                "GROUP BY ALL ORDER BY ALL"
            ).fetchall()
            for table in wh.PARTITIONED_TABLES
        }


def one_copy_each(counts: dict[str, list[tuple[object, ...]]]) -> None:
    for table, cells in counts.items():
        for *cell, _, run_ids in cells:
            assert run_ids == 1, (table, cell, run_ids)  # one run's rows per cell, never two runs mixed


def sensor_ticks(settings: Settings) -> list[str]:
    """Evaluate the alert sensors against the instance at ``settings.dagster_home``; their skip messages."""
    defs = build_definitions(settings)
    messages = []
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance:
        for name in ALERT_SENSORS:
            sensor = defs.resolve_sensor_def(name)
            with dg.build_sensor_context(  # a context manager: a stage's resource (the cell leases) is scoped
                instance=instance,
                definitions=defs,
                resources=defs.resources,
            ) as context:
                result = sensor.evaluate_tick(context)
            messages.append(str(result.skip_message))
        assert tick(defs, instance, "dashboard_refresh_sensor", None)[1]  # the finished runs ask for a refresh
    return messages


@pytest.mark.slow
def test_four_partitions_at_once_under_the_multiprocess_executor_write_what_a_sequential_run_writes(
    data_dir: Path, tmp_path: Path
) -> None:
    """Issue 9: four cells at once, no pool limit, each step its own process, on the default SQLite catalog."""
    small_configs(data_dir, CONFIGS[1:])
    home = prepared_home(tmp_path / "home")
    parallel = wh.default_setting(data_dir)
    outputs = materialize_at_once(environment(data_dir, home, parallel), CONFIGS, tmp_path)
    assert all("RUN_SUCCESS" in output for output in outputs)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.SUCCESS]))
    assert len(records) == 4
    # They ran at once (no pool limit held one back): every run started before any ended.
    assert max(r.start_time or 0 for r in records) < min(r.end_time or 0 for r in records)

    sequential = f"ducklake:sqlite:{tmp_path / 'sequential' / 'warehouse.sqlite'}"
    finished(cli_run(environment(data_dir, tmp_path / "home-seq", sequential), CONFIGS, tmp_path))
    counts = cell_counts(parallel)
    assert counts == cell_counts(sequential)
    assert {cell[1] for cell in counts["responses"]} == set(CONFIGS)
    one_copy_each(counts)

    # The alert sensors evaluate against the default (SQLite) instance these runs were recorded in.
    settings = Settings(data_dir, wh.parse_location(parallel), data_dir / "runs", dagster_home=home)
    assert all("for 4 finished run(s)" in message for message in sensor_ticks(settings))


@pytest.mark.slow
def test_the_same_partition_run_twice_at_once_ends_with_one_consistent_copy(data_dir: Path, tmp_path: Path) -> None:
    """Two `eval-assets run` of one cell at once: one waits on the cell's lease; one copy of every table."""
    small_configs(data_dir, [])
    location = wh.default_setting(data_dir)
    env = environment(data_dir, tmp_path / "home", location)
    first, second = cli_run(env, ["nightly"], tmp_path), cli_run(env, ["nightly"], tmp_path)
    outputs = [finished(first), finished(second)]
    assert any("is being run by run" in output for output in outputs), outputs  # the lease made one wait
    twice = cell_counts(location)
    one_copy_each(twice)
    finished(cli_run(env, ["nightly"], tmp_path))  # a third run, alone, rewrites the cell
    assert cell_counts(location) == twice  # what the two left is what one sequential run leaves


@pytest.mark.slow
def test_the_deployment_recipe_runs_on_postgres_storage_and_a_postgres_lake(
    postgres: PostgresServer, data_dir: Path, tmp_path: Path
) -> None:
    """deploy/dagster.yaml as shipped (PostgreSQL run, event and schedule storage), the lake on a PostgreSQL
    catalog, two partitions at once under the multiprocess executor, then the alert sensors on that instance."""
    small_configs(data_dir, ["night_b"])
    postgres.create_database("deploy_dagster")
    postgres.create_database("deploy_lake")
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    pg_env = {
        "DAGSTER_PG_USERNAME": "postgres",
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_HOST": "127.0.0.1",
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": "deploy_dagster",
    }
    lake = (
        f"ducklake:postgres:dbname=deploy_lake host=127.0.0.1 port={postgres.port} user=postgres"
        f"?data_path={tmp_path / 'lake-files'}/"
    )
    os.environ.update(pg_env)
    try:
        prepared_home(home)  # the storage's tables, as `dagster instance migrate` or the first webserver makes them
        outputs = materialize_at_once(environment(data_dir, home, lake, **pg_env), ["nightly", "night_b"], tmp_path)
        assert all("RUN_SUCCESS" in output for output in outputs)
        counts = cell_counts(lake)
        assert {cell[1] for cell in counts["scores"]} == {"nightly", "night_b"}
        one_copy_each(counts)
        # The two configs are copies: their cells hold the same number of rows in every table.
        for table, cells in counts.items():
            assert len({n for *_, n, _ in cells}) <= 1, (table, cells)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
            assert type(instance.schedule_storage).__name__ == "PostgresScheduleStorage"
        settings = Settings(data_dir, wh.parse_location(lake, data_dir=data_dir), data_dir / "runs", dagster_home=home)
        assert all("for 2 finished run(s)" in message for message in sensor_ticks(settings))
    finally:
        for name in pg_env:
            os.environ.pop(name, None)


def test_every_deploy_file_parses_and_the_readme_names_it() -> None:
    # The Kubernetes and Celery variants cannot run here (no cluster, no broker, their packages are not
    # dependencies): at least they parse, and the README's section points at each of them.
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    files = sorted(path for path in DEPLOY.rglob("*") if path.is_file() and path.suffix in (".yaml", ".py"))
    assert {path.name for path in files} == {"dagster.yaml", "run_config.yaml", "definitions.py", "celery.yaml"}
    for path in files:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".yaml":
            assert isinstance(yaml.safe_load(text), dict), path
        else:
            compile(text, str(path), "exec")
        assert f"`{path.relative_to(REPO_ROOT)}`" in readme, path
