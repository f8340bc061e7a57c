"""What the report stage leaves for people, end to end: honest costs, links that go somewhere, raw outputs kept."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import duckdb
import pytest

from eval_assets.cli import main
from eval_assets.definitions import build_definitions
from eval_assets.reporting.charts import plotly_bundle_name
from eval_assets.settings import Settings
from eval_assets_tests.assets.test_provider_graph import SECRET, write_inputs
from eval_assets_tests.fake_openai import FakeOpenAIServer
from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.slow

DAY = "2026-11-07"
BASE = "https://evals.example/runs"
DAGSTER = "http://dagster.internal:3000"


def query(warehouse: Path, sql: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        return conn.execute(sql).fetchall()


def test_issue8_7_a_model_without_a_price_costs_unknown_not_zero(
    data_dir: Path, eval_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EVAL_TEST_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as server:
        write_inputs(data_dir, server.base_url, n=6)
        assert main(["run", "--config", "local", "--date", DAY]) == 0
    out = capsys.readouterr().out
    warehouse = eval_env / "warehouse.duckdb"
    # No price for openai/fake-model: every answer's cost is NULL, and so are the totals.
    assert query(warehouse, "SELECT count(*), count(cost_usd) FROM responses") == [(6, 0)]
    assert query(warehouse, "SELECT value FROM metrics WHERE metric = 'cost_usd' AND tag IS NULL") == [(None,)]
    assert query(warehouse, "SELECT value, n FROM metrics WHERE metric = 'priced_calls' AND tag IS NULL") == [(0.0, 12)]
    assert query(warehouse, "SELECT cost_usd FROM runs") == [(None,)]

    [line] = [line for line in out.splitlines() if f"{DAY} local" in line]
    assert "cost unknown: no price for openai/fake-model" in line
    folder = eval_env / "runs" / DAY / "local"
    report_md = (folder / "report.md").read_text()
    assert "- **Cost:** unknown: no price for openai/fake-judge, openai/fake-model" in report_md
    everything = report_md + (folder / "report.html").read_text() + out
    assert "$0.0000" not in everything and "$0.00" not in everything

    capsys.readouterr()
    assert main(["gate", "--config", "local", "--date", DAY, "--format", "json"]) == 0
    gate = json.loads(capsys.readouterr().out)
    assert gate["cost"]["state"] == "unknown" and gate["cost"]["usd"] is None


def test_issue8_13_outputs_keep_inputs_as_json_and_every_executions_raw_outputs(data_dir: Path, eval_env: Path) -> None:
    limit_datasets(data_dir, "nightly", 3)
    edit_config(data_dir, "nightly", thresholds=[])  # so few examples may fail a gate: not what this is about
    assert main(["run", "--config", "nightly", "--date", DAY, "--quiet"]) == 0
    folder = eval_env / "runs" / DAY / "nightly"
    first = json.loads((folder / "outputs.json").read_text())
    dataset = [json.loads(line) for line in (data_dir / "datasets" / "faq.jsonl").read_text().splitlines()[:3]]
    for example in dataset:
        # The input exactly as in the dataset (a string or chat messages), not a JSON string of it.
        assert first["examples"][f"faq/{example['id']}"]["input"] == example["input"]
    assert main(["run", "--config", "nightly", "--date", DAY, "--quiet"]) == 0
    kept = sorted((folder / "outputs").glob("*.json"))
    assert len(kept) == 2, "a rerun of the night must not overwrite the earlier execution's raw outputs"
    by_run = {json.loads(p.read_text())["run"]["run_id"]: p for p in kept}
    assert first["run"]["run_id"] in by_run
    assert json.loads(by_run[first["run"]["run_id"]].read_text()) == first
    latest = json.loads((folder / "outputs.json").read_text())
    assert latest["run"]["run_id"] != first["run"]["run_id"] and latest["run"]["run_id"] in by_run


def test_issue8_20_reports_share_one_plotly_and_stay_small(data_dir: Path, eval_env: Path) -> None:
    limit_datasets(data_dir, "nightly", 3)
    # A gate may fail on so few examples; the reports are written either way.
    assert main(["run", "--config", "nightly", "--from", "2026-11-05", "--to", DAY, "--quiet"]) in (0, 1)
    runs = eval_env / "runs"
    assert [p.name for p in (runs / "_assets").iterdir()] == [plotly_bundle_name()]
    for day in ("2026-11-05", "2026-11-06", DAY):
        html = (runs / day / "nightly" / "report.html").read_text()
        assert f'<script src="../../_assets/{plotly_bundle_name()}"></script>' in html
        assert len(html.encode()) < 500_000  # ~5 MB each while plotly.js was inlined
    dashboard = (runs / "dashboard.html").read_text()
    assert f'<script src="_assets/{plotly_bundle_name()}"></script>' in dashboard
    assert len(dashboard.encode()) < 500_000


@pytest.fixture
def receiver(monkeypatch: pytest.MonkeyPatch) -> WebhookReceiver:
    with WebhookReceiver() as server:
        monkeypatch.setenv("EVAL_TEST_WEBHOOK", server.url)
        yield server  # type: ignore[misc]


def test_issue8_5_with_base_urls_every_link_is_absolute(
    data_dir: Path,
    eval_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    receiver: WebhookReceiver,
) -> None:
    monkeypatch.setenv("EVAL_ASSETS_REPORT_BASE_URL", BASE + "/")
    monkeypatch.setenv("EVAL_ASSETS_DAGSTER_URL", DAGSTER)
    limit_datasets(data_dir, "nightly", 3)
    edit_config(
        data_dir,
        "nightly",
        thresholds=[{"metric": "contains.pass_rate", "min": 1.01, "severity": "error"}],
        notifications=[{"type": "webhook", "url_env": "EVAL_TEST_WEBHOOK"}],
    )
    assert main(["run", "--config", "nightly", "--date", DAY, "--quiet", "--notify"]) == 1
    out = capsys.readouterr().out
    assert f"{BASE}/{DAY}/nightly/report.html" in out

    folder = eval_env / "runs" / DAY / "nightly"
    run_id = json.loads((folder / "outputs.json").read_text())["run"]["run_id"]
    markdown = (folder / "report.md").read_text()
    hrefs = re.findall(r"\]\(([^)]+)\)", markdown)
    # The review page's link is its own absolute address (review.page_url), beside the report's and Dagster's.
    review_page = f"http://127.0.0.1:8765/?config=nightly&date={DAY}"
    assert hrefs and all(h.startswith((f"{BASE}/{DAY}/nightly/", f"{DAGSTER}/runs/", review_page)) for h in hrefs), (
        hrefs
    )
    assert f"[Dagster run]({DAGSTER}/runs/{run_id})" in markdown

    [alert] = [r["body"] for r in receiver.received]
    assert alert["report"] == f"{BASE}/{DAY}/nightly/report.html"
    assert alert["dagster_url"] == f"{DAGSTER}/runs/{run_id}"  # was always null

    capsys.readouterr()
    assert main(["gate", "--config", "nightly", "--date", DAY, "--format", "pr-comment"]) == 1
    comment = capsys.readouterr().out
    assert f"Report: [report.html]({BASE}/{DAY}/nightly/report.html)" in comment
    assert f"Dagster run: [run]({DAGSTER}/runs/{run_id})" in comment
    assert main(["gate", "--config", "nightly", "--date", DAY, "--format", "slack"]) == 1
    assert f"<{BASE}/{DAY}/nightly/report.html|report>" in capsys.readouterr().out


def test_issue8_5_without_base_urls_links_say_where_the_files_are(data_dir: Path, eval_env: Path) -> None:
    limit_datasets(data_dir, "nightly", 2)
    assert main(["run", "--config", "nightly", "--date", DAY, "--quiet"]) in (0, 1)
    folder = (eval_env / "runs" / DAY / "nightly").resolve()
    markdown = (folder / "report.md").read_text()
    assert f"in `{folder}` (on the machine that ran)" in markdown
    review_page = f"http://127.0.0.1:8765/?config=nightly&date={DAY}"  # the review page: always absolute
    hrefs = re.findall(r"\]\(([^)]+)\)", markdown)
    assert all(h.startswith("report.html#ex-") or h == review_page for h in hrefs), hrefs


def test_the_sensors_get_the_urls_from_the_settings(data_dir: Path, tmp_path: Path) -> None:
    settings = Settings(data_dir, tmp_path / "w.duckdb", tmp_path / "runs", report_base_url=BASE, dagster_url=DAGSTER)
    project = build_definitions(settings).resources["project"]
    assert project.links().report_base_url == BASE  # type: ignore[union-attr]
    assert project.links().dagster_run("r") == f"{DAGSTER}/runs/r"  # type: ignore[union-attr]
    assert project.run_folder(dt.date(2026, 11, 7), "c").path == tmp_path / "runs" / "2026-11-07" / "c"  # type: ignore[union-attr]
