"""Paid answers survive other processes: an analyst's read-only session mid-run, and ``kill -9`` on a big night.

Real processes and real DuckDB files: the replay runs in a child process against the local OpenAI-compatible
server (in this process, so it counts every request), and the test opens the warehouse or kills the child.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main as cli_main
from eval_assets.config import ModelSpec
from eval_assets.llm.calls import build_call
from eval_assets.llm.journal import AnswerJournal
from eval_assets.warehouse import DuckDBCacheStore
from eval_assets_tests.assets.test_provider_graph import SECRET, write_inputs
from eval_assets_tests.fake_openai import FakeOpenAIServer
from eval_assets_tests.llm.replay_child import KEY_ENV, MODEL_ID

pytestmark = pytest.mark.slow

KEY = "sk-durability-test"


def start_child(warehouse: Path, base_url: str, *, items: int, concurrency: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "eval_assets_tests.llm.replay_child",
        "--warehouse",
        str(warehouse),
        "--base-url",
        base_url,
        "--items",
        str(items),
        "--concurrency",
        str(concurrency),
    ]
    with log.open("wb") as out:
        return subprocess.Popen(command, env={**os.environ, KEY_ENV: KEY}, stdout=out, stderr=subprocess.STDOUT)


def wait_for(
    condition: Callable[[], bool], child: subprocess.Popen[bytes], log: Path, *, timeout_s: float = 120
) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert child.poll() is None, f"child exited early:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"timed out:\n{log.read_text()[-3000:]}"
        time.sleep(0.002)


def finish(child: subprocess.Popen[bytes], log: Path) -> dict[str, object]:
    code = child.wait(timeout=300)
    text = log.read_text()
    assert code == 0, text[-3000:]
    summary: dict[str, object] = json.loads(text.strip().splitlines()[-1])
    return summary


def settled_count(server: FakeOpenAIServer) -> int:
    """Requests received, once requests the dead child left in socket buffers have all arrived."""
    count = server.count()
    while True:
        time.sleep(0.3)
        if server.count() == count:
            return count
        count = server.count()


def journal_of(warehouse: Path) -> AnswerJournal:
    return AnswerJournal(DuckDBCacheStore(warehouse).journal_dir)


def cache_rows(warehouse: Path) -> int:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return int(conn.execute("SELECT count(*) FROM response_cache").fetchall()[0][0])


def test_issue13_readonly_connection_mid_run_loses_nothing(tmp_path: Path) -> None:
    # Measured before the journal: an analyst's read-only session opened after 116 of 2,000 calls made the
    # cache writer fail; the run made all 2,000 calls, then failed, keeping 81 (1,919 paid answers lost).
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeOpenAIServer(api_key=KEY, latency_s=0.02) as server:
        log = tmp_path / "first.log"
        child = start_child(warehouse, server.base_url, items=2000, concurrency=16, log=log)
        wait_for(lambda: server.count("ok") >= 100, child, log)
        analyst = duckdb.connect(str(warehouse), read_only=True)  # held for the rest of the run
        try:
            assert server.count() < 2000, "the analyst must arrive mid-run"
            summary = finish(child, log)
            assert summary == {"ok": 2000, "cached": 0, "errors": []}  # the run did not fail
            assert server.count() == 2000
            assert "answers kept in the answer journal" in log.read_text()
            # Nothing reached the warehouse while the analyst held it; every answer is in the journal.
            assert analyst.execute("SELECT count(*) FROM response_cache").fetchall() == [(0,)]
            assert len(journal_of(warehouse).read().rows) == 2000
        finally:
            analyst.close()

        log = tmp_path / "rerun.log"
        summary = finish(start_child(warehouse, server.base_url, items=2000, concurrency=16, log=log), log)
        assert summary == {"ok": 2000, "cached": 2000, "errors": []}
        assert server.count() == 2000, "the rerun paid again for answers the first run received"
    assert cache_rows(warehouse) == 2000
    assert journal_of(warehouse).files() == []  # settled into the warehouse, then removed


def test_issue13_readonly_connection_during_eval_assets_run_loses_nothing(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The same through the whole graph: the analyst holds the file until the replay has given up writing
    # the cache; the run then finishes and the rerun of the night makes no call at all. (600 examples: the
    # graph's other stages cost seconds per thousand, and the 2,000-call case is the test above.)
    items = 600
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    warehouse = eval_env / "warehouse.duckdb"
    with FakeOpenAIServer(api_key=SECRET, latency_s=0.02) as server:
        write_inputs(data_dir, server.base_url, n=items)
        config_path = data_dir / "configs" / "local.yaml"
        config = json.loads(config_path.read_text())
        config["scorers"] = [{"scorer": "contains"}]
        config["runtime"]["concurrency"] = 16
        config_path.write_text(json.dumps(config))
        log = eval_env / "child.log"
        command = [sys.executable, "-m", "eval_assets.cli", "run", "--config", "local", "--date", "2026-11-07"]
        with log.open("wb") as out:
            child = subprocess.Popen(command, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for(lambda: server.count("ok") >= 100, child, log)
            with duckdb.connect(str(warehouse), read_only=True) as analyst:
                assert server.count() < items, "the analyst must arrive mid-run"
                wait_for(lambda: "answers kept in the answer journal" in log.read_text(), child, log)
                assert analyst.execute("SELECT count(*) FROM response_cache").fetchall() == [(0,)]
            assert child.wait(timeout=300) == 0, log.read_text()[-3000:]
        finally:
            if child.poll() is None:
                child.kill()
        assert server.count() == items
        assert cli_main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        assert server.count() == items, "the rerun paid again for answers the first run received"
    assert cache_rows(warehouse) == items


def test_issue8_14_kill9_repeats_only_inflight(tmp_path: Path) -> None:
    # Measured before the journal: a background writer flushed about once a second, so kill -9 on a
    # 50,000-item night lost up to 1,339 answers. Now only the calls in flight (<= concurrency) are repeated.
    items, concurrency = 5000, 64
    warehouse = tmp_path / "warehouse.duckdb"
    with FakeOpenAIServer(api_key=KEY, latency_s=0.02) as server:
        model = ModelSpec(id=MODEL_ID, api_base=server.base_url, api_key_env=KEY_ENV, max_tokens=20)
        log = tmp_path / "killed.log"
        child = start_child(warehouse, server.base_url, items=items, concurrency=concurrency, log=log)
        wait_for(lambda: server.count() >= items // 2, child, log)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        seen = settled_count(server)
        assert items // 2 <= seen < items

        journaled = journal_of(warehouse).read()
        assert journaled.skipped_lines <= 1  # at most the line being written at the kill
        kept = set(journaled.rows)
        assert seen - concurrency <= len(kept) <= seen

        log = tmp_path / "rerun.log"
        summary = finish(start_child(warehouse, server.base_url, items=items, concurrency=concurrency, log=log), log)
        assert summary["ok"] == items and summary["cached"] == len(kept)
        rerun = server.requests[seen:]
        assert len(rerun) == items - len(kept)
        assert items - seen <= len(rerun) <= items - seen + concurrency
        # Not one journaled answer was asked for again.
        question_of = {
            build_call(
                i, model, [{"role": "user", "content": f"Question {i}?\nANSWER: fact {i}"}], scope="2026-11-07"
            ).request_hash: f"Question {i}?\nANSWER: fact {i}"
            for i in range(items)
        }
        assert not {r.body["messages"][-1]["content"] for r in rerun} & {question_of[h] for h in kept}
    assert cache_rows(warehouse) == items
