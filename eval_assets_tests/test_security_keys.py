"""Keys go only where the config says (issue 13 part 2), and a wrong key is not an outage (issue 8 item 8).

Against local servers that log every credential header they receive, quote credentials back in their
error bodies and redirect to a second origin: the second origin never receives a credential, the ambient
provider key never reaches a custom ``api_base``, and after real runs the keys are nowhere on disk (every
VARCHAR column of the warehouse, the runs folder, ``DAGSTER_HOME``), in the captured output or in webhooks.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.config import ModelSpec
from eval_assets.definitions import build_definitions
from eval_assets.llm.calls import CallOutcome, build_call
from eval_assets.llm.engine import replay
from eval_assets.llm.litellm_provider import NO_KEY_PLACEHOLDER, LiteLLMProvider
from eval_assets.llm.retry import RetryPolicy
from eval_assets.llm.routing import RoutingProvider
from eval_assets.settings import Settings
from eval_assets_tests.fake_openai import FakeOpenAIServer, FaultPlan
from eval_assets_tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

KEY_ENV = "EVAL_SEC_MATERIAL"  # a name that does not say "key": only the config names it as one
RIGHT = "right-" + secrets.token_hex(12)  # shapeless: no pattern would find these, only their exact values
WRONG = "wrong-" + secrets.token_hex(12)
AMBIENT = {
    "ANTHROPIC_API_KEY": "ambient-anthropic-" + secrets.token_hex(8),
    "GROQ_API_KEY": "ambient-groq-" + secrets.token_hex(8),
    "DEEPSEEK_API_KEY": "ambient-deepseek-" + secrets.token_hex(8),
    "OPENAI_API_KEY": "ambient-openai-" + secrets.token_hex(8),
}
MESSAGES = [{"role": "user", "content": "hi\nANSWER: hello"}]


@pytest.fixture(autouse=True)
def ambient_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every well-known provider variable holds a value that must never reach a custom endpoint."""
    for name, value in AMBIENT.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def elsewhere() -> Iterator[FakeOpenAIServer]:
    """The other origin a redirect points to: it must never see a credential."""
    with FakeOpenAIServer() as server:
        yield server


def origin_of(server: FakeOpenAIServer) -> str:
    return server.base_url.removesuffix("/v1")


def replay_one(provider: Any, model: ModelSpec) -> CallOutcome:
    async def go() -> CallOutcome:
        call = build_call(0, model, MESSAGES, scope="2026-11-07")
        try:
            [outcome] = await replay([call], provider, concurrency=1, timeout_s=10, policy=RetryPolicy(max_retries=0))
            return outcome
        finally:
            if hasattr(provider, "aclose"):
                await provider.aclose()

    return asyncio.run(go())


def sent_values(server: FakeOpenAIServer) -> set[str]:
    """Credential values received, with an ``Authorization`` scheme ("Bearer ") taken off."""
    return {value.removeprefix("Bearer ") for _, _, _, value in server.credentials_seen}


# --------------------------------------------------------------------------------------------------
# Redirects never carry credentials to another origin
# --------------------------------------------------------------------------------------------------


def test_the_lean_transport_never_follows_a_redirect(
    elsewhere: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, RIGHT)
    with FakeOpenAIServer(api_key=RIGHT, echo_credentials=True, redirect_to=origin_of(elsewhere)) as server:
        model = ModelSpec(id="openai/fake-model", api_base=server.base_url, api_key_env=KEY_ENV)
        outcome = replay_one(RoutingProvider(), model)
    assert (outcome.error_type, outcome.attempts) == ("redirect", 1)
    assert origin_of(elsewhere) in (outcome.error_message or "")
    assert elsewhere.http_log == [] and elsewhere.credentials_seen == []
    assert RIGHT not in repr(outcome)


@pytest.mark.parametrize(
    ("model_id", "path"),
    [("anthropic/claude-3-5-haiku-20241022", "/v1/messages"), ("groq/llama-3.1-8b-instant", "/v1/chat/completions")],
)
def test_litellm_never_follows_a_redirect_to_another_origin(
    elsewhere: FakeOpenAIServer, monkeypatch: pytest.MonkeyPatch, model_id: str, path: str
) -> None:
    # Seen on today's code: anthropic followed a 307 to another origin with x-api-key attached.
    monkeypatch.setenv(KEY_ENV, RIGHT)
    with FakeOpenAIServer(echo_credentials=True, redirect_to=origin_of(elsewhere)) as server:
        base = origin_of(server) if model_id.startswith("anthropic/") else server.base_url
        outcome = replay_one(LiteLLMProvider(), ModelSpec(id=model_id, api_base=base, api_key_env=KEY_ENV))
        assert RIGHT in sent_values(server)  # the configured key went where the config said, and only there
    assert outcome.error_type == "redirect"
    assert f"{origin_of(elsewhere)}{path}" in (outcome.error_message or "")
    assert elsewhere.http_log == [] and elsewhere.credentials_seen == []


# --------------------------------------------------------------------------------------------------
# A custom api_base gets only the key its config names
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "model_id",
    [
        "anthropic/claude-3-5-haiku-20241022",  # litellm, Anthropic Messages (x-api-key)
        "groq/llama-3.1-8b-instant",  # litellm, OpenAI-style (Authorization: Bearer)
        "deepseek/deepseek-chat",
        "openai/fake-model",  # the lean transport
    ],
)
def test_the_ambient_provider_key_never_reaches_a_custom_api_base(model_id: str) -> None:
    with FakeOpenAIServer() as server:
        base = origin_of(server) if model_id.startswith("anthropic/") else server.base_url
        replay_one(RoutingProvider(), ModelSpec(id=model_id, api_base=base))
        seen = sent_values(server)
        assert server.http_log, "the call reached the server"
    assert not seen & set(AMBIENT.values())
    # litellm is given a non-secret placeholder (an empty key would make it fall back to the ambient one);
    # the lean transport sends no Authorization header at all.
    assert seen == (set() if model_id.startswith("openai/") else {NO_KEY_PLACEHOLDER})


# --------------------------------------------------------------------------------------------------
# Issue 8 item 8: before any call, and at the first refused call
# --------------------------------------------------------------------------------------------------


def write_config(data_dir: Path, model: dict[str, Any], *, judge: dict[str, Any] | None = None, **extra: Any) -> None:
    lines = [
        json.dumps({"id": f"q{i:03d}", "input": f"Question {i}?\nANSWER: fact {i}", "reference": f"fact {i}"})
        for i in range(12)
    ]
    (data_dir / "datasets" / "facts.jsonl").write_text("\n".join(lines) + "\n")
    scorers: list[dict[str, Any]] = [{"scorer": "contains"}]
    if judge is not None:
        scorers.append(
            {"scorer": "rubric_judge", "name": "faithfulness", "rubric": "rubric-faithfulness", "judges": [judge]}
        )
    config = {
        "schedule": "manual",
        "model": {"max_tokens": 50, **model},
        "datasets": [{"path": "datasets/facts.jsonl"}],
        "scorers": scorers,
        "thresholds": [{"metric": "contains.pass_rate", "min": 1.01, "severity": "warn"}],
        # These tests are about where keys go: the gates on failed calls and on the echoing judges (issue 14)
        # would stop the night on purpose, so they are opened wide.
        "runtime": {
            "concurrency": 4,
            "timeout_s": 5.0,
            "max_retries": 0,
            "max_error_rate": 1.0,
            "max_judge_error_rate": 1.0,
            "min_scored_share": 0.0,
        },
        "notifications": [{"type": "webhook", "url_env": "EVAL_SEC_WEBHOOK"}, {"type": "log"}],
        **extra,
    }
    (data_dir / "configs" / "local.yaml").write_text(json.dumps(config))


def test_item8_missing_provider_key_is_caught_before_any_call(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    write_config(data_dir, {"id": "anthropic/claude-3-5-haiku-20241022"})  # no api_key_env, no api_base
    assert main(["run", "--config", "local", "--date", "2026-11-07", "--quiet"]) == 2
    assert "local.yaml: $ANTHROPIC_API_KEY is not set" in capsys.readouterr().err
    assert not (eval_env / "warehouse.duckdb").exists()


def test_validate_and_run_say_which_key_goes_to_which_host(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(KEY_ENV, RIGHT)
    with FakeOpenAIServer(api_key=RIGHT) as server:
        judge = {"id": "anthropic/claude-3-5-haiku-20241022", "api_base": origin_of(server)}
        write_config(
            data_dir, {"id": "openai/fake-model", "api_base": server.base_url, "api_key_env": KEY_ENV}, judge=judge
        )
        assert main(["validate", "--config", "local"]) == 0
        out = capsys.readouterr().out
        assert f"key ${KEY_ENV} -> {origin_of(server)} (openai/fake-model)" in out
        assert f"no key -> {origin_of(server)} (anthropic/claude-3-5-haiku-20241022)" in out


def assert_nowhere(values: Iterable[str], *, warehouse: Path, folders: Iterable[Path], texts: Iterable[str]) -> None:
    """None of ``values`` in any VARCHAR column of ``warehouse``, any file under ``folders``, or ``texts``."""
    values = list(values)
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        columns = conn.execute(
            "SELECT table_name, column_name FROM information_schema.columns WHERE data_type LIKE '%VARCHAR%'"
        ).fetchall()
        assert len(columns) > 20  # the whole schema, not an empty file
        for table, column in columns:
            for value in values:
                hits = conn.execute(
                    f'SELECT count(*) FROM "{table}" WHERE CAST("{column}" AS VARCHAR) LIKE ?', [f"%{value}%"]
                ).fetchone()
                assert hits == (0,), (table, column)
    files = [path for folder in folders for path in folder.rglob("*") if path.is_file()]
    assert files
    for path in files:
        data = path.read_bytes()
        for value in values:
            assert value.encode() not in data, path
    for text in texts:
        for value in values:
            assert value not in text


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None) -> str | None:
    with dg.build_sensor_context(  # a context manager: a stage's resource (the cell leases) is scoped
        instance=instance,
        cursor=cursor,
        definitions=defs,
        resources=defs.resources,  # type: ignore[arg-type]
    ) as context:
        defs.resolve_sensor_def(name).evaluate_tick(context)
        return context.cursor


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A real DAGSTER_HOME (SQLite storage), as the README sets it up."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        monkeypatch.setenv("EVAL_SEC_WEBHOOK", receiver.url)
        yield receiver


def test_item8_wrong_api_key_stops_the_run_at_once_and_the_key_is_nowhere(
    data_dir: Path,
    eval_env: Path,
    dagster_home: Path,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The config's variable holds a wrong key; the server answers every request (batch files included)
    # with a 401 that quotes it back: the batch fallback line, the stored errors, the run's failure, the
    # Dagster event log and the alert all carry that text, redacted.
    monkeypatch.setenv(KEY_ENV, WRONG)
    with FakeOpenAIServer(api_key=RIGHT, echo_credentials=True) as server:
        model = {"id": "openai/fake-model", "api_base": server.base_url, "api_key_env": KEY_ENV}
        batch = {"enabled": True, "min_calls": 5, "poll_interval_s": 0.05}
        write_config(data_dir, model, runtime={"concurrency": 4, "max_retries": 3, "batch": batch})
        defs = build_definitions(Settings.from_env())
        with dg.DagsterInstance.get() as instance:
            cursor = tick(defs, instance, "run_failure_alert_sensor", None)
            assert main(["run", "--config", "local", "--date", "2026-11-07"]) == 1
            tick(defs, instance, "run_failure_alert_sensor", cursor)
        chat = [r for r in server.requests if r.path == "/v1/chat/completions"]
        assert WRONG in sent_values(server)
        route = f"key ${KEY_ENV} -> {origin_of(server)} (openai/fake-model)"
    out, err = capfd.readouterr()

    # Stopped at the first refused call (at most the 4 in flight), not after an "outage" of 10+.
    assert 1 <= len(chat) <= 4 and {r.outcome for r in chat} == {"401"}
    assert "Incorrect API key provided" in out and "Fix:" in out and f"${KEY_ENV}" in out
    assert "provider appears down" not in out + err
    assert "batch API unavailable" in out + err  # the fallback line was logged (redacted)
    # The pre-run warning: printed by the CLI, and logged by the stage that calls the model.
    assert f"local.yaml: {route}" in err and route in caplog.text
    [alert] = webhook.received
    assert "Incorrect API key provided" in alert["body"]["run_error"]

    assert_nowhere(
        [WRONG, RIGHT, *AMBIENT.values()],
        warehouse=eval_env / "warehouse.duckdb",
        folders=[eval_env],  # data, runs folder, warehouse files, DAGSTER_HOME (event log, compute logs)
        texts=[out, err, caplog.text, *(r["raw"].decode() for r in webhook.received)],
    )


def test_a_hostile_server_run_leaves_no_key_anywhere(
    data_dir: Path,
    eval_env: Path,
    dagster_home: Path,
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The right key, but the server quotes it in every error body; judges on litellm's anthropic/ path at
    # a custom api_base with no api_key_env, while $ANTHROPIC_API_KEY is set. The run goes to its report.
    monkeypatch.setenv(KEY_ENV, RIGHT)
    faults = FaultPlan(server_error=0.3, rate_limit=0.2, retry_after_s=0.01)
    with (
        FakeOpenAIServer(api_key=RIGHT, echo_credentials=True, faults=faults, seed=5) as server,
        FakeOpenAIServer(echo_credentials=True) as judges,
    ):
        model = {"id": "openai/fake-model", "api_base": server.base_url, "api_key_env": KEY_ENV}
        judge = {"id": "anthropic/claude-3-5-haiku-20241022", "api_base": origin_of(judges), "max_tokens": 50}
        write_config(data_dir, model, judge=judge)
        defs = build_definitions(Settings.from_env())
        with dg.DagsterInstance.get() as instance:
            assert main(["run", "--config", "local", "--date", "2026-11-07"]) == 0
            tick(defs, instance, "check_alert_sensor", None)
        assert server.count("500") + server.count("429") > 0  # errors were echoed ...
        judged = sent_values(judges)
        judge_route = f"no key -> {origin_of(judges)} (anthropic/claude-3-5-haiku-20241022)"
    out, err = capfd.readouterr()
    warehouse = eval_env / "warehouse.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        stored = conn.execute("SELECT error_message FROM responses WHERE error_message IS NOT NULL").fetchall()
    assert stored and all("[redacted]" in message for (message,) in stored)  # ... and stored redacted
    assert judged == {NO_KEY_PLACEHOLDER}  # never $ANTHROPIC_API_KEY
    assert judge_route in caplog.text
    assert webhook.received  # the warn threshold's alert went out
    assert (eval_env / "runs" / "2026-11-07" / "local" / "report.md").exists()

    assert_nowhere(
        [RIGHT, *AMBIENT.values()],
        warehouse=warehouse,
        folders=[eval_env],
        texts=[out, err, caplog.text, *(r["raw"].decode() for r in webhook.received)],
    )
