"""The stopped-night report renders hostile text inert and writes every file the summary links to."""

from __future__ import annotations

import json
from pathlib import Path

from eval_assets.reporting.folder import RunsFolder
from eval_assets.reporting.stopped import (
    StoppedNight,
    publish_stopped_report,
    render_stopped_html,
    render_stopped_markdown,
)

HOSTILE = "<script>alert(1)</script>\n```\n# forged heading\n[click](javascript:alert(1))"


def night(**changes: object) -> StoppedNight:
    values: dict[str, object] = {
        "config_name": "nightly",
        "eval_date": "2026-11-07",
        "run_id": "abc-123",
        "stage": "model_responses",
        "reasons": [f"error rate 100.0% > 5.0%: provider said {HOSTILE}"],
        "next_step": "Fix the cause above, then rerun the cell.",
        "stored": {"examples": 3, "responses": 3, "scores": 0},
        "errors_by_type": {"server_error": 3},
        "outputs": [{"dataset": "d", "example_id": "e1", "output_text": None, "error_type": "server_error"}],
    }
    values.update(changes)
    return StoppedNight(**values)  # type: ignore[arg-type]


def test_html_escapes_every_untrusted_string() -> None:
    page = render_stopped_html(night(config_name="<b>x</b>"))
    assert "<script>" not in page and "<b>x</b>" not in page
    assert "&lt;script&gt;" in page and "night stopped" in page


def test_markdown_keeps_the_reason_inside_a_fence_no_line_can_close() -> None:
    text = render_stopped_markdown(night())
    assert "\n# forged heading" in text  # inside the fence, shown literally
    fence_line = next(line for line in text.splitlines() if line.startswith("```") and line.endswith("text"))
    assert len(fence_line) - len("text") > 3  # longer than the ``` inside the reason
    assert "| server\\_error | 3 |" in text


def test_publish_writes_outputs_and_both_reports(tmp_path: Path) -> None:
    folder = RunsFolder(tmp_path).run("2026-11-07", "nightly")
    files = publish_stopped_report(folder, night())
    assert set(files) == {"report_html", "report_md", "outputs_json"}
    document = json.loads(folder.outputs_json.read_text())
    assert document["status"] == "stopped" and document["stored"]["responses"] == 3
    assert json.loads(folder.run_outputs("abc-123").read_text()) == document
    assert folder.report_md.read_text().startswith("# nightly · 2026-11-07: night stopped")
