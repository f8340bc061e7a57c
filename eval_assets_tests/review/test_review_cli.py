"""Issue 10, item 3: the review commands' failures are one clear line, never a traceback or an open door."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eval_assets import warehouse as wh
from eval_assets.cli import main


def test_serve_refuses_a_non_local_bind_without_a_token(
    eval_env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVAL_ASSETS_REVIEW_TOKEN", raising=False)
    assert main(["review", "serve", "--host", "0.0.0.0", "--port", "18999"]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0" in err and "EVAL_ASSETS_REVIEW_TOKEN" in err
    monkeypatch.setenv("EVAL_ASSETS_REVIEW_TOKEN", "short")
    assert main(["review", "serve", "--host", "0.0.0.0"]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_a_locked_plain_warehouse_is_one_error_line_naming_it(
    eval_env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = eval_env / "warehouse.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
    script = f"import duckdb, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            for argv in (
                ["review", "list", "--wait", "0.5"],
                ["review", "decide", "abc", "skip", "--reviewer", "a", "--wait", "0.5"],
            ):
                assert main(argv) == 2
                err = capsys.readouterr().err
                assert err.count("\n") == 1 and "Traceback" not in err, err
                assert err.startswith(f"error: the warehouse {path} is locked by another process")
        finally:
            holder.kill()
