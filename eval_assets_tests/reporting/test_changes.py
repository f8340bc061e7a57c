"""Issue 11, item 7: every report opens with what differs from the baseline."""

from __future__ import annotations

from dataclasses import replace

from eval_assets.reporting.changes import FactorChange, changed_factors, run_factors
from eval_assets.reporting.html import render_html
from eval_assets.reporting.markdown import render_markdown
from eval_assets_tests.reporting import factories as f


def factors(**changes: object) -> dict[str, str]:
    arguments: dict[str, object] = {
        "model_id": "offline/assistant-v1",
        "model_version": "assistant-v1-sim",
        "system_prompt": "You are helpful.",
        "sampling": {"temperature": 0.0, "max_tokens": 400, "seed": 7},
        "dataset_hashes": {"faq": "aaa", "jailbreaks": "bbb"},
        "rubric_hashes": {"rubric-tone": "ccc"},
        "judges": {"offline/judge": "judge-sim"},
        "scorer_versions": {"contains": "1", "tone": "2"},
        "code_sha": "c0de",
        "git_sha": "da7a",
    }
    arguments.update(changes)
    return run_factors(**arguments)  # type: ignore[arg-type]


def test_same_factors_change_nothing() -> None:
    assert changed_factors(factors(), factors()) == []


def test_each_kind_of_change_is_named() -> None:
    now = factors(
        model_id="offline/assistant-mini",
        model_version=None,
        system_prompt="You are terse.",
        sampling={"temperature": 0.7, "max_tokens": 400, "seed": 7},
        dataset_hashes={"faq": "aaa", "jailbreaks": "b2b"},
        judges={"offline/judge": "judge-sim-2"},
        scorer_versions={"contains": "1"},  # tone dropped from the config
        code_sha="c0de2",
    )
    changes = {c.factor: c for c in changed_factors(now, factors())}
    assert changes["model"] == FactorChange("model", "offline/assistant-v1", "offline/assistant-mini")
    assert changes["model version"].after == "not reported"
    assert changes["system prompt"].before != changes["system prompt"].after  # hashes, not the prompt's text
    assert "You are" not in str(changes["system prompt"])
    assert changes["sampling temperature"] == FactorChange("sampling temperature", "0.0", "0.7")
    assert changes["dataset jailbreaks"] == FactorChange("dataset jailbreaks", "bbb", "b2b")
    assert changes["judge offline/judge"].after == "judge-sim-2"
    assert changes["scorer tone"] == FactorChange("scorer tone", "2", None)
    assert changes["code commit"].after == "c0de2"
    assert "dataset faq" not in changes and "data commit" not in changes and "rubric rubric-tone" not in changes
    # The current run's order first (model before prompt before sampling ...), gone factors last.
    assert list(changes)[:3] == ["model", "model version", "system prompt"]
    assert list(changes)[-1] == "scorer tone"


def test_reports_open_with_the_changes() -> None:
    changes = (
        FactorChange("model", "offline/assistant-v1", "offline/assistant-mini"),
        FactorChange("dataset <b>x</b>", None, "abc"),
    )
    report = replace(f.regression_report(), changes=changes)
    markdown = render_markdown(report)
    headings = [line for line in markdown.splitlines() if line.startswith("## ")]
    assert headings[0] == "## What changed since the baseline"
    assert "| model | `offline/assistant-v1` | `offline/assistant-mini` |" in markdown
    assert "(none)" in markdown and "<b>" not in markdown
    html = render_html(report)
    assert html.index('id="changes"') < html.index('id="summary"')
    assert "offline/assistant-mini" in html and "<b>x</b>" not in html


def test_no_changes_say_so_and_no_baseline_shows_nothing() -> None:
    same = render_markdown(replace(f.regression_report(), changes=()))
    assert "## What changed since the baseline\n\nNothing: same model" in same
    assert "What changed" not in render_markdown(f.regression_report())  # no recorded factors: no section
