"""Batch ids are persisted: a killed or failed wait resumes the submitted batch instead of paying for another."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import duckdb
import pytest

from eval_assets.cli import main as cli_main
from eval_assets.config import BatchMode, ModelSpec
from eval_assets.llm.batch import BatchJob, BatchStatus, run_batch
from eval_assets.llm.batch_ledger import MAX_RECORD_AGE_S, BatchLedger, BatchRecord
from eval_assets.llm.batch_openai import OpenAIBatchClient
from eval_assets.llm.cache import ResponseCache, cache_row
from eval_assets.llm.cached_replay import BATCH_UNFINISHED, ReplaySettings, replay_with_cache
from eval_assets.llm.calls import CallOutcome, ModelCall, Provider, build_call
from eval_assets.warehouse import DuckDBCacheStore
from eval_assets_tests.assets.test_provider_graph import SECRET, write_inputs
from eval_assets_tests.fake_openai import FakeOpenAIServer
from eval_assets_tests.llm.test_batch import SCRIPT_MODEL, ScriptedClient, make_calls

KEY_ENV = "EVAL_TEST_KEY"


def ledger_of(warehouse: Path) -> BatchLedger:
    return ResponseCache(DuckDBCacheStore(warehouse)).batches


@pytest.mark.slow
def test_issue8_15_batch_resumed_after_kill(data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a run killed while waiting for its batch submitted a new batch on rerun, and a real provider
    # bills both. Now the rerun polls the recorded batch and fetches its answers: 0 new batches, 0 direct calls.
    monkeypatch.setenv(KEY_ENV, SECRET)
    warehouse = eval_env / "warehouse.duckdb"
    with FakeOpenAIServer(api_key=SECRET, batch_polls_to_complete=10**9) as server:  # never done while we wait
        write_inputs(data_dir, server.base_url, n=12)
        config_path = data_dir / "configs" / "local.yaml"
        config = json.loads(config_path.read_text())
        config["scorers"] = [{"scorer": "contains"}]
        config["runtime"]["batch"] = {"enabled": True, "min_calls": 5, "poll_interval_s": 0.05}
        config_path.write_text(json.dumps(config))
        log = eval_env / "child.log"
        command = [sys.executable, "-m", "eval_assets.cli", "run", "--config", "local", "--date", "2026-11-07"]
        with log.open("wb") as out:
            child = subprocess.Popen(command, env=os.environ.copy(), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while server.batch_stats["batch_polls"] < 3:
                assert child.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
                time.sleep(0.02)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        assert server.batch_stats["batches_created"] == 1
        [record] = ledger_of(warehouse).pending()
        assert len(record.request_hashes) == 12

        server.batch_polls_to_complete = 1  # the provider finishes the batch while nobody is watching
        assert cli_main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        assert server.batch_stats["batches_created"] == 1, "the rerun submitted (and paid for) a second batch"
        assert server.count() == 0, "the rerun sent the batch's calls directly"
        assert server.batch_stats["file_content_reads"] >= 1
        assert server.count_batch() == 12
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*), count(output_text) FROM responses").fetchall() == [(12, 12)]
    assert ledger_of(warehouse).pending() == []  # answers kept: the record is gone


class FailingFetch(OpenAIBatchClient):
    """The real client, except that reading the results fails (the provider's file endpoint is down)."""

    async def fetch(self, job: BatchJob, status: BatchStatus) -> dict[str, dict[str, Any]]:
        raise ConnectionError("file endpoint unreachable")


class NoDirectCalls:
    """A provider that must not be used: every batch call has to stay in the batch."""

    async def complete(self, model: ModelSpec, messages: Sequence[dict[str, str]], *, timeout_s: float) -> Any:
        raise AssertionError("a batched call was sent directly")


def test_issue8_15_failed_fetch_is_fetched_again_not_resent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Before: a completed batch whose fetch failed had its calls re-sent directly (paid twice).
    monkeypatch.setenv(KEY_ENV, SECRET)
    store = DuckDBCacheStore(tmp_path / "warehouse.duckdb")
    settings = ReplaySettings(batch=BatchMode(enabled=True, min_calls=1, poll_interval_s=0.01))
    provider: Provider = NoDirectCalls()
    with FakeOpenAIServer(api_key=SECRET, batch_polls_to_complete=1) as server:
        model = ModelSpec(id="openai/gpt-4o-mini", api_base=server.base_url, api_key_env=KEY_ENV, max_tokens=20)
        calls = [
            build_call(i, model, [{"role": "user", "content": f"q{i}\nANSWER: a{i}"}], scope="d") for i in range(6)
        ]

        def failing(spec: ModelSpec) -> AbstractAsyncContextManager[OpenAIBatchClient]:
            return FailingFetch(spec)

        first = replay_with_cache(calls, provider, store, settings, batch_client=failing)
        assert {o.error_type for o in first} == {BATCH_UNFINISHED}
        assert first[0].error_message is not None and "next run fetches it" in first[0].error_message
        assert server.count() == 0 and server.batch_stats["batches_created"] == 1
        assert len(ledger_of(store.database).pending()) == 1

        second = replay_with_cache(calls, provider, store, settings)  # the real client
        assert [o.text for o in second] == [f"a{i}" for i in range(6)]
        assert server.batch_stats["batches_created"] == 1 and server.count() == 0
        assert server.count_batch() == 6  # each line was answered (and billed) once
    assert ledger_of(store.database).pending() == []
    assert [o.cached for o in replay_with_cache(calls, provider, store, settings)] == [True] * 6


def test_a_resumed_batch_serves_only_the_calls_still_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A rerun that needs fewer calls than the recorded batch carries (some are cached) resumes it for those,
    # and sends the few calls the batch lacks directly (below min_calls: not worth a new batch).
    monkeypatch.setenv(KEY_ENV, SECRET)
    store = DuckDBCacheStore(tmp_path / "warehouse.duckdb")
    with FakeOpenAIServer(api_key=SECRET, batch_polls_to_complete=1) as server:
        model = ModelSpec(id="openai/gpt-4o-mini", api_base=server.base_url, api_key_env=KEY_ENV, max_tokens=20)
        calls = [
            build_call(i, model, [{"role": "user", "content": f"q{i}\nANSWER: a{i}"}], scope="d") for i in range(8)
        ]

        async def submit_only() -> BatchJob:
            async with OpenAIBatchClient(model) as client:
                return await client.submit(calls[:6])

        job = asyncio.run(submit_only())  # a run submitted this batch, then died before waiting
        ledger = ledger_of(store.database)
        ledger.record(
            BatchRecord(job.batch_id, job.input_file_id, time.time(), job.custom_ids, model.id, model.api_base, KEY_ENV)
        )

        from eval_assets.llm.routing import RoutingProvider

        settings = ReplaySettings(batch=BatchMode(enabled=True, min_calls=4, poll_interval_s=0.01))
        outcomes = replay_with_cache(calls, RoutingProvider(), store, settings)
        assert [o.text for o in outcomes] == [f"a{i}" for i in range(8)]
        assert server.batch_stats["batches_created"] == 1
        assert server.count() == 2  # q6 and q7, which the batch never carried
    assert ledger.pending() == []


def test_a_failed_poll_leaves_a_recorded_batch_running() -> None:
    # A recorded batch is worth more running than cancelled: the next run resumes it.
    recorded: list[BatchJob] = []
    client = ScriptedClient([BatchStatus("in_progress")], poll_error=ConnectionError("poll failed"))
    with pytest.raises(ConnectionError):
        asyncio.run(
            run_batch(
                make_calls(SCRIPT_MODEL, ["a"]), client, poll_interval_s=1, max_wait_s=10, on_submit=recorded.append
            )
        )
    assert [job.batch_id for job in recorded] == ["b_1"]
    assert client.cancelled == 0


def test_a_failed_poll_of_an_unrecorded_batch_still_cancels_it() -> None:
    client = ScriptedClient([BatchStatus("in_progress")], poll_error=ConnectionError("poll failed"))
    with pytest.raises(ConnectionError):
        asyncio.run(run_batch(make_calls(SCRIPT_MODEL, ["a"]), client, poll_interval_s=1, max_wait_s=10))
    assert client.cancelled == 1


def test_resume_polls_the_recorded_batch_and_submits_nothing() -> None:
    calls = make_calls(SCRIPT_MODEL, ["a", "b"])
    client = ScriptedClient([BatchStatus("completed", output_file_id="out")], {})
    job = BatchJob("b_old", "file_old", 0.0, (*(c.request_hash for c in calls), "someone-else"))

    outcomes: list[CallOutcome] = asyncio.run(run_batch(calls, client, poll_interval_s=1, max_wait_s=10, resume=job))

    assert client.submitted == []
    assert client.fetched == 1
    assert [o.error_type for o in outcomes] == ["missing_from_batch", "missing_from_batch"]
    with pytest.raises(ValueError, match="does not carry"):
        asyncio.run(run_batch(make_calls(SCRIPT_MODEL, ["c"]), client, poll_interval_s=1, max_wait_s=10, resume=job))


def record_for(batch_id: str, hashes: Sequence[str], *, model: str = "openai/m", at: float = 1000.0) -> BatchRecord:
    return BatchRecord(batch_id, f"file-{batch_id}", at, tuple(hashes), model, "http://x/v1", "K")


def test_the_ledger_keeps_records_across_instances_and_forgets_on_request(tmp_path: Path) -> None:
    ledger = BatchLedger(tmp_path / "batches", clock=lambda: 2000.0)
    ledger.record(record_for("batch/../../etc", ["h1", "h2"], at=1500.0))  # an odd id never escapes the folder
    ledger.record(record_for("b2", ["h3"], model="openai/other", at=1200.0))
    (tmp_path / "batches" / "batch-garbage.json").write_text("{not json")

    again = BatchLedger(tmp_path / "batches", clock=lambda: 2000.0)
    assert [r.batch_id for r in again.pending()] == ["b2", "batch/../../etc"]  # oldest first, garbage skipped
    assert [r.batch_id for r in again.pending(("openai/m", "http://x/v1", "K"))] == ["batch/../../etc"]
    assert again.pending()[1].request_hashes == ("h1", "h2")
    again.forget("b2")
    assert [r.batch_id for r in ledger.pending()] == ["batch/../../etc"]
    assert all(p.parent == tmp_path / "batches" for p in (tmp_path / "batches").iterdir())


def test_the_ledger_drops_records_older_than_the_providers_file_retention(tmp_path: Path) -> None:
    ledger = BatchLedger(tmp_path, clock=lambda: 1000.0 + MAX_RECORD_AGE_S + 1)
    ledger.record(record_for("old", ["h"], at=1000.0))
    assert ledger.pending() == []
    assert list(tmp_path.glob("batch-*.json")) == []


def test_a_record_whose_answers_are_all_cached_is_dropped(tmp_path: Path) -> None:
    # Killed after journaling a batch's answers but before dropping its record: the next run tidies up.
    store = DuckDBCacheStore(tmp_path / "warehouse.duckdb")
    calls = make_calls(SCRIPT_MODEL, ["a", "b"])
    store.store([{**cache_row_for(call), "output_text": "kept"} for call in calls])
    ledger = ledger_of(store.database)
    ledger.record(record_for("b_done", [c.request_hash for c in calls], at=time.time()))
    ledger.record(record_for("b_other", [calls[0].request_hash, "not-cached"], at=time.time()))

    outcomes = replay_with_cache(calls, NoDirectCalls(), store, ReplaySettings())

    assert [o.text for o in outcomes] == ["kept", "kept"]
    assert [r.batch_id for r in ledger.pending()] == ["b_other"]


def cache_row_for(call: ModelCall) -> dict[str, Any]:
    return cache_row(CallOutcome(call=call, text="x", attempts=1))
