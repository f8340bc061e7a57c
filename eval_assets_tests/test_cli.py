"""The command line as users meet it: help with examples, cache commands, pipes, and a wrong directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import build_parser, main
from eval_assets_tests.helpers import edit_config, limit_datasets


def small(data_dir: Path, *configs: str) -> None:
    """Three examples a dataset and no thresholds: these tests are about the CLI, not the gates."""
    for config in configs:
        limit_datasets(data_dir, config, 3)
        edit_config(data_dir, config, thresholds=[])


@pytest.mark.parametrize("command", ["validate", "run", "gate", "sql", "cache"])
def test_issue8_23_every_command_s_help_ends_with_examples(command: str) -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command").choices
    text = subparsers[command].format_help()
    assert "examples:\n  eval-assets " + command in text


def test_issue8_9_a_directory_without_data_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    for variable in ("EVAL_ASSETS_DATA_DIR", "EVAL_ASSETS_WAREHOUSE", "EVAL_ASSETS_RUNS_DIR"):
        monkeypatch.delenv(variable, raising=False)
    for argv in (["run"], ["validate"], ["gate", "--config", "nightly"], ["sql", "select 1"], ["cache", "stats"]):
        assert main(argv) == 2
        assert "no data directory at data" in capsys.readouterr().err


@pytest.mark.slow
def test_issue8_23_cache_stats_and_clear(eval_env: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small(data_dir, "nightly", "candidate")
    for config in ("nightly", "candidate"):
        assert main(["run", "--config", config, "--date", "2026-11-06", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["cache", "stats"]) == 0
    out = capsys.readouterr().out
    assert "offline/assistant-v1" in out and "offline/assistant-v2" in out and "offline/judge" in out

    warehouse = eval_env / "warehouse.duckdb"

    def cached() -> int:
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            return int(conn.execute("SELECT count(*) FROM response_cache").fetchall()[0][0])

    before = cached()
    assert main(["cache", "clear"]) == 2  # no filter: say what to clear, clear nothing
    assert cached() == before
    assert main(["cache", "clear", "--config", "candidate"]) == 0
    removed = int(capsys.readouterr().out.split()[1])
    assert 0 < removed < before and cached() == before - removed
    # The other config's rerun is still free; the cleared one pays again.
    for config in ("nightly", "candidate"):
        assert main(["run", "--config", config, "--date", "2026-11-06", "--quiet"]) == 0
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        paid = dict(conn.execute("SELECT config_name, sum(attempts) FROM responses GROUP BY ALL").fetchall())
    assert paid["nightly"] == 0 and paid["candidate"] > 0
    assert main(["cache", "clear", "--before", "2000-01-01"]) == 0
    assert "removed 0 cached answer(s)" in capsys.readouterr().out
    assert main(["cache", "clear", "--all"]) == 0
    assert cached() == 0


@pytest.mark.slow
def test_issue8_9_a_closed_pipe_keeps_the_command_s_exit_status(eval_env: Path, data_dir: Path) -> None:
    small(data_dir, "nightly")
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--quiet"]) == 0
    command = f"{sys.executable} -m eval_assets.cli sql 'select * from range(100000) t(i)' --format csv"
    shell = f'{command} | head -1; echo "status ${{PIPESTATUS[0]}}"'
    result = subprocess.run(["bash", "-c", shell], env=os.environ.copy(), capture_output=True, text=True, timeout=120)
    assert result.stdout.splitlines() == ["i", "status 0"], result.stdout + result.stderr
    assert "BrokenPipeError" not in result.stderr


@pytest.mark.slow
def test_issue8_23_run_limit_is_a_smoke_run_without_editing_yaml(
    eval_env: Path, data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_config(data_dir, "nightly", thresholds=[])
    config_before = (data_dir / "configs" / "nightly.yaml").read_bytes()
    assert main(["run", "--config", "nightly", "--date", "2026-11-06", "--limit", "2", "--quiet"]) == 0
    assert (data_dir / "configs" / "nightly.yaml").read_bytes() == config_before
    with duckdb.connect(str(eval_env / "warehouse.duckdb"), read_only=True) as conn:
        per_dataset = dict(conn.execute("SELECT dataset, count(*) FROM responses GROUP BY ALL").fetchall())
        scored = conn.execute("SELECT count(DISTINCT (dataset, example_id)) FROM scores").fetchall()[0][0]
    assert per_dataset and set(per_dataset.values()) == {2}
    assert scored == 2 * len(per_dataset)
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["run", "--config", "nightly", "--limit", "0"])
    assert "must be a positive" in capsys.readouterr().err
