"""Retention (issue 9, item 4): a 120-night warehouse loses per-example detail past 90 days, keeps every aggregate
and every protected night, on a plain DuckDB file and on the default DuckLake, beside a reader's session.

Two nights are real offline runs (``eval-assets run``); the other 118 are their rows written again for other
dates through the warehouse's own cell writer, so the shapes are genuine and the build takes seconds.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from eval_assets import retention, warehouse as wh
from eval_assets.assets.partitions import cell_key
from eval_assets.cli import main
from eval_assets.definitions import build_definitions
from eval_assets.errors import InvalidInputError
from eval_assets.project import load_named_config
from eval_assets.reporting.charts import trend_figures
from eval_assets.settings import Settings
from eval_assets_tests.conftest import REPO_DATA
from eval_assets_tests.helpers import edit_config, limit_datasets

TODAY = dt.date(2026, 6, 1)
NIGHTS = 120
ACCEPTED = TODAY - dt.timedelta(days=110)
DECIDED_NIGHT = TODAY - dt.timedelta(days=100)
AGGREGATES = ("metrics", "runs", "comparisons", "gate_results", "review_decisions", "baseline_acceptances")


def night(n: int) -> dt.date:
    """Night ``n`` back from TODAY (1 is yesterday, the newest night)."""
    return TODAY - dt.timedelta(days=n)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The 120-night warehouse (a plain DuckDB file) and its data directory, built once for this module."""
    root = tmp_path_factory.mktemp("built")
    data_dir = root / "data"
    for folder in ("configs", "datasets", "prompts"):
        shutil.copytree(REPO_DATA / folder, data_dir / folder)
    with pytest.MonkeyPatch.context() as monkeypatch:
        return build(data_dir, root, monkeypatch), data_dir


@pytest.fixture
def warehouse_copy(built: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A copy of the built warehouse and data directory for one test, with the CLI pointed at them."""
    source, data = built
    path, data_dir = tmp_path / "warehouse.duckdb", tmp_path / "data"
    shutil.copy(source, path)
    shutil.copytree(data, data_dir)
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(path))
    monkeypatch.setenv("EVAL_ASSETS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return path, data_dir


def build(data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A plain DuckDB warehouse of NIGHTS nights of ``nightly``: two real runs, the rest their rows re-dated."""
    limit_datasets(data_dir, "nightly", 3)
    edit_config(data_dir, "nightly", thresholds=[])
    path = tmp_path / "built.duckdb"
    monkeypatch.setenv("EVAL_ASSETS_DATA_DIR", str(data_dir))
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", str(path))
    monkeypatch.setenv("EVAL_ASSETS_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    for n in (2, 1):
        assert main(["run", "--config", "nightly", "--date", str(night(n)), "--quiet"]) == 0
    with wh.connect(path) as conn:
        cell = {t: wh.read_partition(conn, t, night(1), "nightly") for t in wh.PARTITIONED_TABLES}
        for n in range(3, NIGHTS + 1):
            day = night(n)
            shifted = {}
            for table, rows in cell.items():
                if not rows.height:
                    continue
                moved = rows.with_columns(pl.lit(day).alias("eval_date"))
                if "baseline_date" in rows.columns:  # each night compared with the one before, as nightly runs are
                    moved = moved.with_columns(pl.lit(day - dt.timedelta(days=1)).alias("baseline_date"))
                shifted[table] = moved
            wh.replace_partition(conn, day, "nightly", shifted)
        wh.accept_baseline(conn, "nightly", ACCEPTED, accepted_by="alice", reason="the v2 prompt is intended")
        score = wh.read_partition(conn, "scores", DECIDED_NIGHT, "nightly").row(0, named=True)
        task = {**score, "task_id": "t1", "output_hash": "o1"}
        decision = wh.NewDecision("override", "bob", 1.0, None, None, "the answer is right")
        wh.record_decision(conn, task, decision)
    return path


def report_again(path: Path, data_dir: Path, day: dt.date) -> dg.ExecuteInProcessResult:
    """Materialize eval_report alone for one night of ``nightly``."""
    settings = Settings(data_dir, path, path.parent / "runs", dagster_home=None)
    job = build_definitions(settings).resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        return job.execute_in_process(
            partition_key=cell_key(day, "nightly"),
            instance=instance,
            asset_selection=[dg.AssetKey("eval_report")],
            raise_on_error=False,
        )


def counts(location: str | Path) -> dict[str, int]:
    with wh.connect(location, read_only=True) as conn:
        return {t: int(wh.scalar(conn, f"SELECT count(*) FROM {t}")) for t in wh.TABLES}


def nights_of(location: str | Path, table: str) -> set[dt.date]:
    with wh.connect(location, read_only=True) as conn:
        return {row[0] for row in conn.execute(f"SELECT DISTINCT eval_date FROM {table}").fetchall()}


def history(location: str | Path) -> pl.DataFrame:
    with wh.connect(location, read_only=True) as conn:
        return wh.metric_history(conn).sort("eval_date", "metric", "tag", nulls_last=True)


def retention_cli(*args: str) -> int:
    return main(["retention", "--today", str(TODAY), *args])


def check_pruned(location: str | Path, before: dict[str, int], trend: pl.DataFrame) -> None:
    """Aggregates and trends as before; detail only for the last 90 nights and the protected ones."""
    after = counts(location)
    assert {t: after[t] for t in AGGREGATES} == {t: before[t] for t in AGGREGATES}
    assert history(location).equals(trend)
    assert trend_figures(history(location)) == trend_figures(trend)
    recent = {night(n) for n in range(1, 91)}
    # Night 90 keeps its detail and was compared with night 91: that baseline stays, with the accepted night.
    kept = recent | {night(91), ACCEPTED}
    for table in ("examples", "responses", "scores", "judge_verdicts"):
        assert nights_of(location, table) == kept | {DECIDED_NIGHT}, table
        assert after[table] < before[table]
    with wh.connect(location, read_only=True) as conn:
        # The decided night keeps the decided example alone: its answer, its scores, its input.
        for table in ("examples", "responses", "scores"):
            left = conn.execute(
                f"SELECT DISTINCT dataset, example_id FROM {table} WHERE eval_date = ?", [DECIDED_NIGHT]
            ).fetchall()
            assert len(left) == 1, table
        assert wh.scalar(conn, "SELECT count(*) FROM runs WHERE eval_date < ?", [night(90)]) == NIGHTS - 90


@pytest.mark.slow
def test_issue9_4_retention_on_a_plain_duckdb_file(
    warehouse_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    path, data_dir = warehouse_copy
    before, trend = counts(path), history(path)
    capsys.readouterr()
    assert retention_cli("--dry-run") == 0
    out = capsys.readouterr().out
    assert counts(path) == before  # a dry run changes nothing
    # Per table: the nights and rows that go, and the protected nights with why.
    assert re.search(r"scores\s+28 nights\s+[\d,]+ rows\s+" + str(night(120)), out), out
    assert f"nightly {ACCEPTED}: accepted baseline (accepted by alice)" in out
    assert f"nightly {night(91)}: the baseline of nightly {night(90)}, whose detail is kept" in out
    assert "rows of decided examples" in out and "nothing was removed" in out
    assert retention_cli("--apply") == 0
    out = capsys.readouterr().out
    assert "removed" in out and "CHECKPOINT" in out and re.search(r"[\d,]+ bytes before, [\d,]+ bytes after", out)
    check_pruned(path, before, trend)
    pruned = counts(path)
    # A pruned night still has its gate verdict, and its report renders again from the aggregates: a night
    # with no examples left, and the decided night, which keeps one of its six.
    assert main(["gate", "--config", "nightly", "--date", str(night(100))]) in (0, 1)
    assert f"on {night(100)}" in capsys.readouterr().out
    for day in (night(95), DECIDED_NIGHT):
        with wh.connect(path, read_only=True) as conn:
            assert wh.details_pruned(conn, day, "nightly") and not wh.details_pruned(conn, night(90), "nightly")
            gates = wh.stored_gates(conn, day, "nightly")
        result = report_again(path, data_dir, day)
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        assert {g.check_name: g.passed for g in gates} == {name: checks[name] for name in (g.check_name for g in gates)}
        report_md = (path.parent / "runs" / str(day) / "nightly" / "report.md").read_text()
        assert "removed by retention" in report_md and "contains" in report_md
        assert "No failed examples" not in report_md
        with wh.connect(path, read_only=True) as conn:
            assert wh.stored_gates(conn, day, "nightly") == gates  # stored verdicts are not rewritten
    # Again: nothing left to remove.
    assert retention_cli("--apply") == 0
    assert counts(path) == pruned
    assert "removed 0 rows of scores" in capsys.readouterr().out


READER = """
import sys, time
from pathlib import Path
from eval_assets import warehouse as wh
location, stop = sys.argv[1], Path(sys.argv[2])
queries = 0
with wh.connect(location, read_only=True) as conn:
    print("ready", flush=True)
    while not stop.exists():
        conn.execute("SELECT count(*), count(DISTINCT eval_date) FROM scores").fetchall()
        queries += 1
        time.sleep(0.02)
    print(queries, conn.execute("SELECT count(*) FROM scores").fetchall()[0][0], flush=True)
"""


@pytest.mark.slow
def test_issue9_4_retention_on_the_default_lake_beside_a_reader(
    warehouse_copy: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    source, _ = warehouse_copy
    lake = wh.default_setting(tmp_path / "lakehome")
    monkeypatch.setenv("EVAL_ASSETS_WAREHOUSE", lake)
    assert main(["warehouse", "migrate", "--from", str(source)]) == 0
    before, trend = counts(lake), history(lake)
    assert before == {t: n for t, n in counts(source).items()}  # item 5: every table copied, counts equal
    capsys.readouterr()
    assert retention_cli("--dry-run") == 0
    assert counts(lake) == before
    stop = tmp_path / "stop-reader"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, lake, str(stop)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert reader.stdout is not None and reader.stdout.readline().strip() == "ready"
        assert retention_cli("--apply") == 0  # the reader holds its session all along
        time.sleep(0.3)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    queries, seen = (int(x) for x in out.split())
    assert queries > 0 and seen == counts(lake)["scores"]  # it saw the pruned lake without reopening
    check_pruned(lake, before, trend)
    out = capsys.readouterr().out
    assert "ducklake_merge_adjacent_files" in out and "ducklake_expire_snapshots" in out
    # With no reader left, no grace: the files only old snapshots needed are deleted now.
    assert retention_cli("--apply", "--grace-hours", "0") == 0
    sizes = re.search(r"([\d,]+) bytes before, ([\d,]+) bytes after", capsys.readouterr().out)
    assert sizes is not None
    assert int(sizes[2].replace(",", "")) < int(sizes[1].replace(",", ""))
    check_pruned(lake, before, trend)


def test_issue9_4_each_config_s_window_applies_to_its_own_rows(tmp_path: Path, data_dir: Path) -> None:
    # nightly keeps 10 days of answers, candidate the default 90: one night of each 30 days ago.
    edit_config(data_dir, "nightly", retention={"responses_days": 10})
    location = tmp_path / "w.duckdb"
    day = night(30)
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        for config in ("nightly", "candidate"):
            row = {"eval_date": day, "config_name": config, "run_id": "r", "git_sha": "g", "config_hash": "h",
                   "code_sha": "c", "dataset": "faq", "dataset_hash": "d", "example_id": "e1", "model_id": "m",
                   "request_hash": f"q-{config}", "attempts": 1, "cached": False, "total_latency_ms": 1.0,
                   "created_at": dt.datetime(2026, 1, 1), "reproducibility_json": None}  # fmt: skip
            wh.replace_partition(conn, day, config, {"responses": wh.frame("responses", [row])})
        plan = retention.plan(conn, data_dir, today=TODAY)
    going = {t.table: [n.cell for n in t.nights] for t in plan.tables}
    assert going["responses"] == [("nightly", day)]
    assert going["scores"] == []


def test_issue9_4_an_invalid_config_keeps_its_rows_and_retention_is_validated(data_dir: Path) -> None:
    (data_dir / "configs" / "nightly.yaml").write_text("model: {id: x}\n")
    policies = retention.read_policies(data_dir)
    assert "nightly" in policies.kept_configs and "nightly" not in policies.windows
    bad = data_dir / "configs" / "candidate.yaml"
    bad.write_text(bad.read_text() + "retention:\n  scores_days: 0\n")
    with pytest.raises(InvalidInputError, match=r"candidate\.yaml:\d+: retention\.scores_days"):
        load_named_config(data_dir, "candidate")


def test_issue9_4_a_night_written_after_the_plan_is_left_alone(tmp_path: Path) -> None:
    location = tmp_path / "w.duckdb"
    day = night(200)
    rows = [{"eval_date": day, "config_name": "c", "run_id": "r", "git_sha": "g", "config_hash": "h", "code_sha": "c",
             "metric": "m", "value": 1.0, "n": 1}]  # fmt: skip
    example = {"eval_date": day, "config_name": "c", "run_id": "r", "git_sha": "g", "config_hash": "h",
               "code_sha": "c", "dataset": "faq", "dataset_hash": "d", "example_id": "e1", "line": 1,
               "input_json": "\"q\"", "input_text": "q", "reference": ["a"], "tags": []}  # fmt: skip
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        wh.replace_partition(conn, day, "c", {"examples": wh.frame("examples", [example])})
        windows = wh.Windows()
        plan = wh.plan_retention(conn, today=TODAY, windows={}, default=windows)
        assert [n.cell for t in plan.tables for n in t.nights] == [("c", day)]
        # A backfill rewrites the night between the plan and its application: its rows are fresh, so they stay.
        wh.replace_partition(conn, day, "c", {"examples": wh.frame("examples", [example])})
        result = wh.apply_retention(conn, plan)
        assert result.skipped == {("c", day): "written since the plan was made"}
        assert wh.count_partition(conn, "examples", day, "c") == 1
        wh.replace_partition(conn, day, "c", {"metrics": wh.frame("metrics", rows)})
        assert (
            wh.apply_retention(conn, wh.plan_retention(conn, today=TODAY, windows={}, default=windows)).removed[
                "examples"
            ]
            == 1
        )


def test_issue9_4_a_night_a_run_is_replaying_is_left_alone(tmp_path: Path) -> None:
    from eval_assets.leases import cell_lease
    from eval_assets.reporting.folder import RunsFolder

    day = night(200)
    lease = RunsFolder(tmp_path / "runs").run(day, "c").lease
    hold = retention.lease_holder(tmp_path / "runs")
    with hold([("c", day)]) as busy:
        assert busy == {}  # no lock file: nobody ever replayed it here (and none is made)
    assert not lease.exists()
    with cell_lease(lease, run_id="run-1", cell="c", wait_s=0):
        script = (
            "import sys, datetime as dt\nfrom pathlib import Path\nfrom eval_assets import retention\n"
            f"with retention.lease_holder(Path({str(tmp_path / 'runs')!r}))([('c', dt.date.fromisoformat('{day}'))])"
            " as busy:\n    print(list(busy.values()))\n"
        )
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=os.environ)
    assert "being written by run run-1" in out.stdout, out.stderr


def test_issue9_4_the_weekly_job_prunes_with_the_same_plan(tmp_path: Path, data_dir: Path) -> None:
    settings = Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs", dagster_home=None)
    today = dt.datetime.now(dt.UTC).date()
    old, recent = today - dt.timedelta(days=200), today - dt.timedelta(days=5)
    with wh.connect(settings.warehouse_path) as conn:
        wh.ensure_schema(conn)
        for day in (old, recent):
            keys = {"eval_date": day, "config_name": "nightly", "run_id": "r", "git_sha": "g", "config_hash": "h",
                    "code_sha": "c"}  # fmt: skip
            example = {**keys, "dataset": "faq", "dataset_hash": "d", "example_id": "e1", "line": 1,
                       "input_json": '"q"', "input_text": "q", "reference": ["a"], "tags": []}  # fmt: skip
            metric = {**keys, "metric": "m", "value": 1.0, "n": 1}
            cell = {"examples": wh.frame("examples", [example]), "metrics": wh.frame("metrics", [metric])}
            wh.replace_partition(conn, day, "nightly", cell)
    defs = build_definitions(settings)
    assert defs.resolve_schedule_def("weekly_retention_schedule").cron_schedule == "0 4 * * 0"
    job = defs.resolve_job_def("retention_job")
    with dg.DagsterInstance.ephemeral() as instance:
        dry = {"ops": {"remove_expired_detail": {"config": {"dry_run": True}}}}
        assert job.execute_in_process(run_config=dry, instance=instance).success
        assert counts(settings.warehouse_path)["examples"] == 2
        assert job.execute_in_process(instance=instance).success
    assert nights_of(settings.warehouse_path, "examples") == {recent}
    assert nights_of(settings.warehouse_path, "metrics") == {old, recent}


def test_issue9_4_a_cached_answer_goes_only_when_old_and_no_remaining_row_uses_it(tmp_path: Path) -> None:
    location = tmp_path / "w.duckdb"
    old = dt.datetime.combine(night(200), dt.time())
    answers = [
        {"request_hash": name, "model_id": "m", "output_text": "a", "created_at": created}
        for name, created in (("unused", old), ("kept-night", old), ("pruned-night", old), ("fresh", dt.datetime.now()))
    ]
    with wh.connect(location) as conn:
        wh.ensure_schema(conn)
        wh.store_cached_responses(conn, answers)
        for day, request in ((night(5), "kept-night"), (night(150), "pruned-night")):
            row = {"eval_date": day, "config_name": "c", "run_id": "r", "git_sha": "g", "config_hash": "h",
                   "code_sha": "c", "dataset": "faq", "dataset_hash": "d", "example_id": "e1", "model_id": "m",
                   "request_hash": request, "attempts": 0, "cached": True, "total_latency_ms": None,
                   "created_at": old, "reproducibility_json": None}  # fmt: skip
            wh.replace_partition(conn, day, "c", {"responses": wh.frame("responses", [row])})
        plan = wh.plan_retention(conn, today=TODAY, windows={}, default=wh.Windows())
        # A request a kept night replayed from the cache keeps its answer, however old it is.
        assert plan.cache_rows == 2
        assert wh.apply_retention(conn, plan).cache_rows == 2
        left = {row[0] for row in conn.execute("SELECT request_hash FROM response_cache").fetchall()}
    assert left == {"kept-night", "fresh"}
