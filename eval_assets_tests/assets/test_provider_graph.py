"""The graph against a local OpenAI-compatible server: the real HTTP path, faults, keys and the cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.llm.journal import AnswerJournal
from eval_assets.warehouse import DuckDBCacheStore
from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan

pytestmark = pytest.mark.slow

SECRET = "sk-test-never-store-me"


def write_inputs(data_dir: Path, base_url: str, *, n: int = 40) -> None:
    lines = [
        json.dumps(
            {
                "id": f"q{i:03d}",
                "input": f"Question {i}?\nANSWER: fact number {i}",
                "reference": f"fact number {i}",
                "tags": ["even" if i % 2 == 0 else "odd"],
            }
        )
        for i in range(n)
    ]
    (data_dir / "datasets" / "facts.jsonl").write_text("\n".join(lines) + "\n")
    model = {"api_base": base_url, "api_key_env": "EVAL_TEST_KEY", "max_tokens": 50}
    config = {
        "schedule": "manual",
        "model": {"id": "openai/fake-model", **model},
        "datasets": [{"path": "datasets/facts.jsonl"}],
        "scorers": [
            {"scorer": "contains"},
            # The fake server answers judges with plain text: every verdict is unparseable, never a crash.
            {
                "scorer": "rubric_judge",
                "name": "faithfulness",
                "rubric": "rubric-faithfulness",
                "judges": [{"id": "openai/fake-judge", **model}],
            },
        ],
        "thresholds": [{"metric": "contains.pass_rate", "min": 0.99}],
        # The judge gates would fail this night on purpose (issue 14, tested in test_judge_health.py); these
        # tests are about the transport, so they tolerate the plain-text judge.
        "runtime": {
            "concurrency": 8,
            "timeout_s": 1.0,
            "max_retries": 8,
            "max_error_rate": 0.0,
            "max_judge_error_rate": 1.0,
            "min_scored_share": 0.0,
        },
    }
    (data_dir / "configs" / "local.yaml").write_text(json.dumps(config))


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_faulty_server_run_answers_everything_once_and_reruns_for_free(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    faults = FaultPlan(rate_limit=0.05, retry_after_s=0.05, server_error=0.02, hang=0.01, hang_s=5.0)
    with FakeOpenAIServer(api_key=SECRET, faults=faults, seed=3) as server:
        write_inputs(data_dir, server.base_url)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        warehouse = eval_env / "warehouse.duckdb"

        answered = [r for r in server.requests if r.outcome == "ok" and r.body["model"] == "fake-model"]
        assert len(answered) == 40
        assert len({json.dumps(r.body, sort_keys=True) for r in answered}) == 40
        assert server.count("429") + server.count("500") + server.count("hang") > 0
        assert query(warehouse, "SELECT count(*), count(DISTINCT example_id), count(output_text) FROM responses") == [
            (40, 40, 40)
        ]
        assert query(warehouse, "SELECT min(attempts) >= 1, max(attempts) <= 9 FROM responses") == [(True, True)]
        assert query(
            warehouse, "SELECT avg(CASE WHEN passed THEN 1 ELSE 0 END) FROM scores WHERE scorer='contains'"
        ) == [(1.0,)]
        judge = query(warehouse, "SELECT count(*), count(error), count(score) FROM judge_verdicts")
        assert judge == [(40, 40, 0)]
        assert query(warehouse, "SELECT count(judge_error), count(score) FROM scores WHERE scorer='faithfulness'") == [
            (40, 0)
        ]

        # The key was sent to the server and stored nowhere.
        assert all(r.api_key == SECRET for r in server.requests)
        for table, column in query(
            warehouse, "SELECT table_name, column_name FROM information_schema.columns WHERE data_type = 'VARCHAR'"
        ):
            hits = query(warehouse, f'SELECT count(*) FROM "{table}" WHERE "{column}" LIKE \'%{SECRET}%\'')
            assert hits == [(0,)], (table, column)

        before = len(server.requests)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        assert len(server.requests) == before, "an unchanged rerun must not call the provider"


def test_missing_api_key_fails_before_any_call(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("EVAL_TEST_KEY", raising=False)
    with FakeOpenAIServer(api_key=SECRET) as server:
        write_inputs(data_dir, server.base_url, n=3)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 2
        assert server.requests == []
    assert "local.yaml: $EVAL_TEST_KEY is not set" in capsys.readouterr().err
    assert not (eval_env / "warehouse.duckdb").exists()  # bad input: nothing written


def test_batch_mode_answers_through_the_batch_api(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET, batch_polls_to_complete=2) as server:
        write_inputs(data_dir, server.base_url, n=12)
        config_path = data_dir / "configs" / "local.yaml"
        config = json.loads(config_path.read_text())
        config["runtime"]["batch"] = {"enabled": True, "min_calls": 5, "poll_interval_s": 0.05}
        config_path.write_text(json.dumps(config))
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        # Answers and judge verdicts both came through batches: no direct chat request at all.
        assert server.count() == 0
        assert server.count_batch() == 24
        warehouse = eval_env / "warehouse.duckdb"
        assert query(warehouse, "SELECT count(*), count(output_text) FROM responses") == [(12, 12)]
        assert query(warehouse, "SELECT count(*) FROM response_cache") == [(24,)]
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        assert server.count_batch() == 24 and server.count() == 0


def test_kill_9_mid_run_then_rerun_requests_only_what_was_missing(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET, latency_s=0.15) as server:
        write_inputs(data_dir, server.base_url, n=60)
        config_path = data_dir / "configs" / "local.yaml"
        config = json.loads(config_path.read_text())
        config["runtime"]["concurrency"] = 2
        config["scorers"] = [{"scorer": "contains"}]
        config_path.write_text(json.dumps(config))
        command = [sys.executable, "-m", "eval_assets.cli", "run", "--config", "local", "--date", "2026-11-07"]
        with (eval_env / "child.log").open("w") as log:
            child = subprocess.Popen(command, env=os.environ.copy(), stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while server.count("ok") < 20 and time.monotonic() < deadline and child.poll() is None:
                time.sleep(0.05)
            assert child.poll() is None, (eval_env / "child.log").read_text()[-3000:]
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        finally:
            if child.poll() is None:
                child.kill()
        warehouse = eval_env / "warehouse.duckdb"
        # Answers are journaled beside the warehouse as they arrive; the next run settles them into the cache.
        stored = {row[0] for row in query(warehouse, "SELECT request_hash FROM response_cache")}
        stored |= set(AnswerJournal(DuckDBCacheStore(warehouse).journal_dir).read().rows)
        answered_before = server.count("ok")
        assert 20 - 2 <= len(stored) < 60  # killed once the server had seen 20 requests, 2 in flight
        # Everything the server answered was on disk, except the calls in flight (concurrency 2).
        assert len(stored) >= answered_before - 2

        first_run = len(server.requests)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        rerun_bodies = [r.body for r in server.requests[first_run:]]
        rerun_questions = {b["messages"][-1]["content"] for b in rerun_bodies}
        stored_questions = {
            row[0]
            for row in query(warehouse, "SELECT input_text FROM examples")
            if any(row[0] in q for q in rerun_questions)
        }
        assert len(rerun_bodies) == 60 - len(stored)
        assert query(warehouse, "SELECT count(*) FROM response_cache") == [(60,)]
        assert query(warehouse, "SELECT count(*), sum(CASE WHEN cached THEN 1 ELSE 0 END) FROM responses") == [
            (60, len(stored))
        ]
        assert len(stored_questions) == len(rerun_bodies)


def _configure(data_dir: Path, **runtime: object) -> dict[str, object]:
    path = data_dir / "configs" / "local.yaml"
    config = json.loads(path.read_text())
    config["scorers"] = [{"scorer": "contains"}]
    config["thresholds"] = []
    config["runtime"].update(runtime)
    path.write_text(json.dumps(config))
    return config


def test_issue8_10_provider_outage_opens_the_circuit_reports_the_stopped_night_and_a_rerun_resumes(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    folder = eval_env / "runs" / "2026-11-07" / "local"
    with FakeOpenAIServer(api_key=SECRET, faults=FaultPlan(always_status=503)) as server:
        write_inputs(data_dir, server.base_url, n=200)
        _configure(data_dir, concurrency=4, max_retries=1, max_error_rate=0.05)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 1
        out = capsys.readouterr().out
        assert "provider appears down" in out and "rerun the partition" in out
        # It stopped launching: far fewer than 200 examples x 2 attempts reached the server.
        assert len(server.requests) < 80
        warehouse = eval_env / "warehouse.duckdb"
        skipped = query(warehouse, "SELECT count(*) FROM responses WHERE error_type = 'skipped_circuit_open'")
        assert skipped[0][0] > 100  # type: ignore[operator]

        # Nothing after model_responses ran, yet the night has a report saying what failed and what to do.
        assert str(folder / "report.html") in out  # the summary points at it
        markdown = (folder / "report.md").read_text()
        assert "night stopped" in markdown and "model_responses" in markdown and "error rate" in markdown
        assert "eval-assets run --config local --date 2026-11-07" in markdown
        outputs = json.loads((folder / "outputs.json").read_text())
        assert outputs["status"] == "stopped" and outputs["stopped_at"] == "model_responses"
        assert outputs["stored"] == {"examples": 200, "responses": 200, "scores": 0}
        assert sum(outputs["errors_by_type"].values()) == 200 and len(outputs["outputs"]) == 200
        html = (folder / "report.html").read_text()
        assert "night stopped" in html and "Content-Security-Policy" in html

        server.faults.always_status = None  # the provider is back
        before = len(server.requests)
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 0
        assert len(server.requests) - before == 200
        assert query(warehouse, "SELECT count(output_text) FROM responses") == [(200,)]
        # The full report replaces the stopped one.
        assert "night stopped" not in (folder / "report.md").read_text()
        assert "status" not in json.loads((folder / "outputs.json").read_text())


def test_budget_cap_stops_spending_and_fails_its_gate(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as server:
        write_inputs(data_dir, server.base_url, n=60)
        config = _configure(data_dir, concurrency=4)
        config["model"]["id"] = "openai/gpt-4o-mini"  # a model litellm has a price for
        max_usd = 0.0001
        config["budget"] = {"max_usd": max_usd}
        (data_dir / "configs" / "local.yaml").write_text(json.dumps(config))
        assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 1
        assert "gate failed: model_responses.budget_respected: budget reached" in capsys.readouterr().out
        warehouse = eval_env / "warehouse.duckdb"
        answered, skipped, spent = query(
            warehouse,
            "SELECT count(output_text), count(*) FILTER (WHERE error_type = 'skipped_budget'), sum(cost_usd) "
            "FROM responses",
        )[0]
        assert answered == len(server.requests) and 0 < answered < 60  # type: ignore[operator]
        assert skipped == 60 - answered  # type: ignore[operator]
        assert 0 < spent <= max_usd  # type: ignore[operator]
