"""The report folder as written: raw outputs per execution, pages for large runs, one shared plotly.js."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from plotly.offline import get_plotlyjs

from eval_assets.reporting.charts import plotly_bundle_name
from eval_assets.reporting.folder import Links, RunFolder, RunsFolder
from eval_assets.reporting.model import ExampleLine
from eval_assets.reporting.outputs import OutputsDocument
from eval_assets.reporting.publish import publish_report
from eval_assets.reporting.sanitize import anchor_id
from eval_assets_tests.reporting import factories as f
from eval_assets_tests.reporting.html_checks import parse
from eval_assets_tests.reporting.test_charts import trend_history

CHAT = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hi!"}, {"role": "user", "content": "ok?"}]


def frames(n: int) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """examples, responses and scores rows of ``n`` examples: every other input is a chat."""
    keys = {"dataset": ["qa"] * n, "example_id": [f"q{i:05d}" for i in range(n)]}
    inputs = [json.dumps(CHAT if i % 2 else f'How much does "Plus" cost? ({i})') for i in range(n)]
    examples = pl.DataFrame(
        {**keys, "line": list(range(1, n + 1)), "input_json": inputs, "reference": [["$9.99"]] * n, "tags": [["b"]] * n}
    )
    responses = pl.DataFrame(
        {
            **keys,
            "output_text": [f"It costs $9.99 ({i})" for i in range(n)],
            "model_version": ["v1"] * n,
            "finish_reason": ["stop"] * n,
            "input_tokens": [10] * n,
            "output_tokens": [5] * n,
            "cost_usd": [None] * n,
            "latency_ms": [12.5] * n,
            "cached": [False] * n,
            "error_type": [None] * n,
            "error_message": [None] * n,
            "request_hash": [f"h{i}" for i in range(n)],
        },
        schema_overrides={"cost_usd": pl.Float64, "error_type": pl.String, "error_message": pl.String},
    )
    scores = pl.DataFrame(
        {**keys, "scorer": ["contains"] * n, "score": [1.0] * n, "passed": [True] * n, "detail": [""] * n}
    )
    return examples, responses, scores


def lines(n: int) -> list[ExampleLine]:
    return [f.example(f"q{i:05d}", passed=True, score=1.0) for i in range(n)]


def publish(folder: RunFolder, n: int, *, run_id: str = "run-1", links: Links | None = None, inline: int = 100) -> str:
    summary = f.summary(run_id=run_id, config_name=folder.config_name, eval_date=folder.eval_date)
    # The worst example is one of the run's examples, as the report stage builds them from one view.
    report = f.report(summary=summary, worst=[f.example("q00017")])
    published = publish_report(
        folder,
        report,
        all_examples=lines(n),
        history=trend_history(days=3).filter(pl.col("config_name") == folder.config_name),
        outputs=OutputsDocument(summary, *frames(n)),
        links=links or Links(),
        inline_limit=inline,
        page_size=100,
    )
    return published.markdown


@pytest.fixture
def folder(tmp_path: Path) -> RunFolder:
    return RunsFolder(tmp_path / "runs").run("2025-03-14", "nightly-qa")


def test_issue8_13_outputs_json_keeps_the_input_as_json_not_a_json_string(folder: RunFolder) -> None:
    publish(folder, 4)
    outputs = json.loads(folder.outputs_json.read_text())
    assert outputs["schema_version"] == 2
    examples = outputs["examples"]
    assert examples["qa/q00000"]["input"] == 'How much does "Plus" cost? (0)'  # not "\"How much ...\""
    assert examples["qa/q00001"]["input"] == CHAT
    assert outputs["run"]["cost"]["state"] == "known"


def test_issue8_13_a_rerun_keeps_the_earlier_executions_raw_outputs(folder: RunFolder) -> None:
    publish(folder, 3, run_id="first-run")
    first = folder.run_outputs("first-run").read_bytes()
    folder.clear_reports()  # what the examples stage does when the night is run again
    publish(folder, 5, run_id="second-run")
    assert folder.run_outputs("first-run").read_bytes() == first
    latest = json.loads(folder.outputs_json.read_text())
    assert latest == json.loads(folder.run_outputs("second-run").read_text())
    assert latest["run"]["run_id"] == "second-run" and len(latest["examples"]) == 5
    assert sorted(p.name for p in (folder.path / "outputs").iterdir()) == ["first-run.json", "second-run.json"]


def test_issue8_20_one_shared_plotly_per_runs_folder(folder: RunFolder) -> None:
    publish(folder, 3)
    other = folder.runs.run("2025-03-15", "nightly-qa")
    publish(other, 3)
    bundles = list(folder.runs.assets.iterdir())
    assert [b.name for b in bundles] == [plotly_bundle_name()]
    assert bundles[0].read_text(encoding="utf-8") == get_plotlyjs()
    for page in (folder.report_html, other.report_html):
        text = page.read_text(encoding="utf-8")
        assert f'<script src="../../_assets/{plotly_bundle_name()}"></script>' in text
        assert get_plotlyjs()[:2000] not in text  # not inlined
        assert len(text.encode()) < 200_000
        assert not re.search(r"<script[^>]*src=[\"'](?:https?:|//)", text)


def test_issue8_5_markdown_links_land_on_the_html_entries(folder: RunFolder) -> None:
    markdown = publish(folder, 40)
    assert f"[full entry](report.html#{anchor_id('qa/q00017')})" in markdown
    assert f"in `{folder.path.resolve()}` (on the machine that ran)" in markdown
    page = parse(folder.report_html.read_text())
    assert anchor_id("qa/q00017") in page.attribute_values("id")


def test_issue8_5_with_a_base_url_every_markdown_link_is_absolute(folder: RunFolder) -> None:
    links = Links(report_base_url="https://evals.example/runs", dagster_url="http://dagster:3000")
    markdown = publish(folder, 250, links=links)
    base = "https://evals.example/runs/2025-03-14/nightly-qa"
    hrefs = re.findall(r"\]\(([^)]+)\)", markdown)
    assert hrefs and all(h.startswith(("https://evals.example/runs/", "http://dagster:3000/")) for h in hrefs), hrefs
    assert f"[report.html]({base}/report.html)" in markdown
    assert "([Dagster run](http://dagster:3000/runs/run-1))" in markdown
    # 250 examples are more than report.html lists: the entry is on its page.
    assert f"[full entry]({base}/examples/0001.html#{anchor_id('qa/q00017')})" in markdown


def test_issue7_9_large_runs_list_their_examples_on_pages_of_their_own(folder: RunFolder) -> None:
    publish(folder, 250)
    report_html = folder.report_html.read_text()
    page = parse(report_html)
    assert page.attribute_values("href").count("examples/0001.html") == 1
    assert {"examples/0001.html", "examples/0002.html", "examples/0003.html"} <= set(page.attribute_values("href"))
    assert 'id="ex-qa_2f_q00007"' not in report_html  # the entries are on the pages, not inlined
    pages = sorted((folder.path / "examples").iterdir())
    assert [p.name for p in pages] == ["0001.html", "0002.html", "0003.html"]
    second = parse(pages[1].read_text())
    assert anchor_id("qa/q00150") in second.attribute_values("id")
    assert "../report.html" in second.attribute_values("href")
    assert {"0001.html", "0003.html"} <= set(second.attribute_values("href"))
    assert "script" not in second.tag_names

    # The report alone rerun with fewer examples leaves no page of the old one behind.
    publish(folder, 150)
    assert sorted(p.name for p in (folder.path / "examples").iterdir()) == ["0001.html", "0002.html"]
    publish(folder, 20)
    assert not list((folder.path / "examples").iterdir())
    assert 'id="ex-qa_2f_q00007"' in folder.report_html.read_text()  # small runs: inline, as before


def test_issue8_7_the_report_says_the_cost_is_unknown(folder: RunFolder) -> None:
    summary = f.summary(cost_usd=None, priced_calls=0, cost_calls=80, unpriced_models=("openai/fake-model",))
    report = replace(f.report(summary=summary), metrics=[])
    publish_report(
        folder,
        report,
        all_examples=lines(2),
        history=pl.DataFrame(),
        outputs=OutputsDocument(summary, *frames(2)),
        links=Links(),
    )
    markdown, html = folder.report_md.read_text(), folder.report_html.read_text()
    assert "- **Cost:** unknown: no price for openai/fake-model" in markdown
    assert '<div class="label">Cost</div><div class="value">unknown</div>' in html
    assert "no price for openai/fake-model" in html
    assert "$0.0000" not in markdown + html
    assert json.loads(folder.outputs_json.read_text())["run"]["cost"]["state"] == "unknown"
    assert not folder.runs.assets.exists()  # nothing charted: no chart library needed
