"""The whole graph, materialized through the CLI on a temporary warehouse with the offline model."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from eval_assets.cli import main
from eval_assets_tests.helpers import edit_config, limit_datasets

pytestmark = pytest.mark.slow

LINEAGE = ("eval_date", "config_name", "run_id", "git_sha", "config_hash", "dataset_hash")


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def counts(warehouse: Path) -> dict[str, int]:
    tables = ("examples", "responses", "scores", "judge_verdicts", "metrics", "runs")
    return {t: query(warehouse, f"SELECT count(*) FROM {t}")[0][0] for t in tables}  # type: ignore[misc]


@pytest.fixture
def small_nightly(data_dir: Path, eval_env: Path) -> Path:
    limit_datasets(data_dir, "nightly", 6)
    return eval_env / "warehouse.duckdb"


def test_two_nights_store_lineage_and_compare_with_the_previous_night(
    small_nightly: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", "nightly", "--from", "2026-11-06", "--to", "2026-11-07", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "report.html" in out and "2026-11-07 nightly" in out

    for table in ("responses", "scores"):
        nulls = " OR ".join(f"{col} IS NULL" for col in LINEAGE)
        assert query(small_nightly, f"SELECT count(*) FROM {table} WHERE {nulls}") == [(0,)]
    judged = query(
        small_nightly,
        "SELECT count(*), count(prompt_hash), count(judge_models) FROM scores WHERE scorer_kind = 'rubric_judge'",
    )[0]
    assert judged[0] > 0 and judged[0] == judged[1] == judged[2]
    model_versions = query(small_nightly, "SELECT DISTINCT model_version FROM responses")
    assert model_versions and all(v[0] for v in model_versions)

    baseline = query(small_nightly, "SELECT DISTINCT baseline_date FROM metrics WHERE eval_date = '2026-11-07'")
    assert baseline == [(dt.date(2026, 11, 6),)]
    first = query(small_nightly, "SELECT DISTINCT baseline_date FROM metrics WHERE eval_date = '2026-11-06'")
    assert first == [(None,)]

    report = (eval_env / "runs" / "2026-11-07" / "nightly" / "report.md").read_text()
    assert "| Metric | Prev | Current | Delta |" in report
    assert "Baseline:** nightly 2026-11-06" in report
    outputs = json.loads((eval_env / "runs" / "2026-11-07" / "nightly" / "outputs.json").read_text())
    assert len(outputs["examples"]) == 12
    assert (eval_env / "runs" / "2026-11-07" / "nightly" / "report.html").read_text().startswith("<!DOCTYPE html>")


def test_readme_sql_examples_run_on_a_real_warehouse(small_nightly: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The README's queries are a public interface: they must keep working against the schema.
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    queries = re.findall(r"```sql\n(.*?)```", readme, flags=re.S)
    assert len(queries) >= 3
    assert main(["run", "--config", "nightly", "--from", "2026-11-06", "--to", "2026-11-07", "--quiet"]) == 0
    for sql in queries:
        assert query(small_nightly, sql), sql  # every example returns rows on a populated warehouse
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM responses", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines() == ["n", "24"]
    assert main(["sql", "SELEC nonsense"]) == 2


def test_rerunning_a_partition_keeps_row_counts_and_calls_no_model(small_nightly: Path) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    before = counts(small_nightly)
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    assert counts(small_nightly) == before
    # Every answer of the rerun came from the cache: nothing was paid twice.
    assert query(small_nightly, "SELECT bool_and(cached), sum(attempts) FROM responses") == [(True, 0)]
    assert query(small_nightly, "SELECT bool_and(cached) FROM judge_verdicts") == [(True,)]


def test_malformed_dataset_line_exits_2_and_writes_nothing(
    small_nightly: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    before = counts(small_nightly)
    faq = data_dir / "datasets" / "faq.jsonl"
    lines = faq.read_text().splitlines()
    lines[2] = lines[2][:-5]  # truncated JSON on line 3
    faq.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["validate"]) == 2
    assert f"{faq}:3:" in capsys.readouterr().err
    assert main(["run", "--config", "nightly", "--date", "2026-11-07", "--quiet"]) == 2
    assert f"{faq}:3:" in capsys.readouterr().err
    assert counts(small_nightly) == before


def test_failing_error_gate_exits_1_but_still_writes_the_report(
    small_nightly: Path, data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_config(
        data_dir,
        "nightly",
        thresholds=[
            {"metric": "contains.pass_rate", "min": 1.01, "severity": "error"},
            {"metric": "tone.mean", "min": 1.01, "severity": "warn"},
        ],
    )
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "gate failed: eval_report.threshold_contains_pass_rate" in out
    assert "warning: eval_report.threshold_tone_mean" in out
    report = (eval_env / "runs" / "2026-11-06" / "nightly" / "report.md").read_text()
    assert "FAIL" in report


def test_usage_errors_exit_2(eval_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--date", "2026-13-01"]) == 2
    assert main(["run", "--from", "2026-11-07", "--to", "2026-11-01"]) == 2
    assert main(["run", "--config", "nope", "--date", "2026-11-01"]) == 2
    assert "no such config" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2


def test_a_rerun_stopped_by_a_gate_does_not_leave_the_old_verdict_current(
    small_nightly: Path, data_dir: Path, eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    edit_config(data_dir, "nightly", budget={"max_usd": 0.0001})  # too small for one call
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet", "--no-cache"]) == 1
    capsys.readouterr()
    assert main(["gate", "--config", "nightly", "--date", "2026-11-06"]) == 1
    assert "Run incomplete" in capsys.readouterr().out
    assert query(small_nightly, "SELECT count(*) FROM metrics") == [(0,)]
    # The old report is gone; in its place the stopped night's (issue 8.10), which gives no verdict.
    report = (eval_env / "runs" / "2026-11-06" / "nightly" / "report.md").read_text()
    assert "night stopped" in report and "budget reached" in report
    assert "PASS" not in report and "FAIL" not in report


def test_a_scorer_added_since_the_baseline_does_not_break_the_report(small_nightly: Path, data_dir: Path) -> None:
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    config = yaml.safe_load((data_dir / "configs" / "nightly.yaml").read_text())
    edit_config(data_dir, "nightly", scorers=[*config["scorers"], {"scorer": "exact_match", "datasets": ["faq"]}])
    assert main(["run", "--config", "nightly", "--date", "2026-11-07", "--quiet"]) == 0


def test_data_dir_option_moves_the_warehouse_and_reports_too(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for variable in ("EVAL_ASSETS_DATA_DIR", "EVAL_ASSETS_WAREHOUSE", "EVAL_ASSETS_RUNS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # nothing may land in the working directory's data/
    limit_datasets(data_dir, "nightly", 3)
    code = main(["--data-dir", str(data_dir), "run", "--config", "nightly", "--date", "2026-11-06", "--quiet"])
    assert code in (0, 1)  # three examples are too few for the bundled gates to mean anything
    # The default warehouse is a DuckLake under the data directory: its SQLite catalog and its Parquet files.
    assert (data_dir / "warehouse.sqlite").exists() and (data_dir / "warehouse.files").is_dir()
    assert (data_dir / "runs" / "2026-11-06" / "nightly").is_dir()
    assert not (elsewhere / "data").exists()


def test_issue8_17_gate_without_a_date_gates_last_night_not_an_older_one(
    small_nightly: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An older night passed; last night's run wrote nothing (it crashed, or was never run). A CI job that
    # runs `run ... ; gate` must not go green on the old night.
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["gate", "--config", "nightly"]) != 0
    assert "was not evaluated on" in capsys.readouterr().err
