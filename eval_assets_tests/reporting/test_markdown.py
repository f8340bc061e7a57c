"""Markdown report: layout, number formatting, and hostile content that must stay inert text."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.reporting.html import render_html
from eval_assets.reporting.markdown import (
    escape_inline,
    fenced,
    format_delta,
    format_value,
    md_text,
    render_markdown,
)
from eval_assets.reporting.model import ExampleLine, GateLine, ReportData
from eval_assets.reporting.sanitize import anchor_id
from eval_assets_tests.reporting import factories as f
from eval_assets_tests.reporting.html_checks import Page, assert_safe, parse

# markdown-it-py comes with rich (a Dagster dependency); it renders CommonMark + GFM tables like GitHub.
markdown_it = pytest.importorskip("markdown_it", reason="needs markdown-it-py")

# What CommonMark + GFM tables produce from our Markdown; raw HTML is *enabled* in the renderer, so a
# tag from content that slipped through unescaped would show up here.
MARKDOWN_TAGS = {
    "h1",
    "h2",
    "p",
    "ul",
    "ol",
    "li",
    "strong",
    "code",
    "pre",
    "a",
    "blockquote",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}


def _renderer() -> Any:  # markdown_it.MarkdownIt, imported only if present
    return markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _to_html(markdown: str) -> Page:
    return parse(_renderer().render(markdown))


def _cells(row: str) -> int:
    """Cells of a GFM table row: pipes not escaped by a backslash, minus the outer two."""
    pipes, escaped = 0, False
    for char in row:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "|":
            pipes += 1
    return pipes - 1


def _tables(markdown: str) -> list[list[str]]:
    tables: list[list[str]] = []
    previous_was_row = False
    for line in markdown.splitlines():
        is_row = line.startswith("|")
        if is_row and not previous_was_row:
            tables.append([])
        if is_row:
            tables[-1].append(line)
        previous_was_row = is_row
    return tables


def _assert_tables_keep_their_columns(markdown: str) -> None:
    tables = _tables(markdown)
    assert tables
    for rows in tables:
        assert {_cells(row) for row in rows} == {_cells(rows[0])}, rows
    for rendered in _to_html(markdown).tables:
        assert len(set(rendered)) == 1, rendered


def test_title_and_sections() -> None:
    text = render_markdown(f.report())
    assert text.startswith("# Eval report — nightly-qa — 2025-03-14\n")
    for heading in ("## Run summary", "## Quality gates", "## Metrics", "## By tag", "## Worst examples"):
        assert f"\n{heading}\n" in text
    assert "SIMULATOR" not in text


def test_metrics_table_header_is_exact() -> None:
    lines = render_markdown(f.report()).splitlines()
    assert any(line.startswith("| Metric | Prev | Current | Delta |") for line in lines)
    assert "| Tag | Metric | Prev | Current | Delta | n |" in lines


def test_metrics_header_has_no_gate_column_without_gates() -> None:
    report = f.report(metrics=[f.metric("contains.mean")], tag_metrics=[])
    assert "| Metric | Prev | Current | Delta |" in render_markdown(report).splitlines()


def test_failing_gate_is_marked_fail_and_passing_pass() -> None:
    lines = render_markdown(f.report()).splitlines()
    assert (
        "| contains\\_pass\\_rate\\_min | contains.pass\\_rate &gt;= 0.7 | error | ❌ FAIL | 0.62 &lt; min 0.7 |"
    ) in lines
    assert any(line.startswith("| error\\_rate\\_max |") and "✅ pass" in line for line in lines)
    assert any(line.startswith("| ❌ contains.pass\\_rate | 70.0% | 62.0% | -8.0 pp |") for line in lines)


def test_failing_warn_gate_is_a_warning() -> None:
    gate = GateLine("latency_max", "latency_p95_ms <= 900", "warn", False, "1234 > max 900")
    line = f.metric(
        "latency_p95_ms",
        current=1234.0,
        previous=800.0,
        higher_is_better=False,
        threshold="<= 900",
        gate_failed=True,
        gate_severity="warn",
    )
    report = f.report(gates=[gate], metrics=[line])
    text = render_markdown(report)
    assert "| warn | ⚠️ WARN |" in text
    assert "| ⚠️ latency\\_p95\\_ms | 800 ms | 1,234 ms | +434 ms | &lt;= 900 ⚠️ WARN |" in text
    assert "FAIL" not in text


def test_simulator_notice_is_bold_and_up_front() -> None:
    text = render_markdown(f.report(summary=f.summary(simulated=True)))
    notice = text.splitlines()[2]
    assert "**⚠️ SIMULATOR" in notice


def test_summary_lines() -> None:
    text = render_markdown(f.report(summary=f.summary(baseline_date=None, cost_usd=None)))
    assert "- **Model:** `openai/gpt-4o-mini` (reported version: `gpt-4o-mini-2024-07-18`)" in text
    assert "- **Baseline:** none (first run)" in text
    assert "- **Errors:** 3 (1.5%)" in text
    assert "- **Cost:** unknown" in text
    assert "- **Dataset hashes:** qa `d4t4h4sh`" in text
    assert "- **Rubric hashes:** helpfulness `rubr1c`" in text


@pytest.mark.parametrize(
    ("metric", "value", "expected"),
    [
        ("contains.pass_rate", 0.625, "62.5%"),
        ("judge_error_rate", 0.0, "0.0%"),  # ends with error_rate: a rate, not a plain number
        ("rubric_judge.mean", 0.81234, "0.812"),
        ("latency_p95_ms", 1234.4, "1,234 ms"),
        ("cost_usd", 0.012345, "$0.0123"),
        ("tokens_out", 1234567.0, "1,234,567"),
        ("custom", 12.3456, "12.35"),
        ("contains.pass_rate", None, "—"),
    ],
)
def test_format_value(metric: str, value: float | None, expected: str) -> None:
    assert format_value(metric, value) == expected


@pytest.mark.parametrize(
    ("metric", "delta", "expected"),
    [
        ("contains.pass_rate", 0.012, "+1.2 pp"),  # percentage points, not percent
        ("contains.pass_rate", -0.08, "-8.0 pp"),
        ("contains.pass_rate", -0.0004, "+0.0 pp"),  # rounds to zero: no "-0.0"
        ("error_rate", 0.0, "+0.0 pp"),
        ("contains.mean", 0.0123, "+0.012"),
        ("latency_p50_ms", -66.4, "-66 ms"),
        ("cost_usd", -0.001, "-$0.0010"),
        ("cost_usd", 0.00004, "+$0.0000"),
        ("tokens_in", 3456.0, "+3,456"),
        ("contains.pass_rate", None, "—"),
    ],
)
def test_format_delta(metric: str, delta: float | None, expected: str) -> None:
    assert format_delta(metric, delta) == expected


def test_missing_previous_shows_dashes() -> None:
    report = f.report(metrics=[f.metric("cost_usd", current=0.5, previous=None, higher_is_better=False)])
    assert "| cost\\_usd | — | \\$0.5000 | — |" in render_markdown(report)


def test_worst_example_links_to_raw_output_and_names_the_key() -> None:
    text = render_markdown(f.report())
    assert "1. **qa/q17** — scorer `exact_match`, score 0.000 (fail)" in text
    # Issue 8 item 5: the link lands on the example's entry in the HTML report (outputs.json has no anchors).
    assert "[full entry](report.html#ex-qa_2f_q17) (key `qa/q17` in outputs.json)" in text
    assert "   ```text\n   Lyon\n   ```" in text


def test_worst_example_without_output() -> None:
    ex = f.example(output_text=None, score=None, passed=None, error_type="timeout")
    text = render_markdown(f.report(worst=[ex]))
    assert "score — (not scored), error `timeout`" in text
    assert "(no output)" in text


def test_key_with_spaces_and_parentheses_cannot_end_the_link() -> None:
    text = render_markdown(f.report(worst=[f.example("a) [x](javascript:alert(1)")]))
    page = _to_html(text)
    assert page.attribute_values("href") == ["report.html#" + anchor_id("qa/a) [x](javascript:alert(1)")]


@pytest.mark.parametrize("hostile", f.HOSTILE)
def test_hostile_text_everywhere_stays_text(hostile: str) -> None:
    text = render_markdown(f.hostile_report(hostile))
    _assert_tables_keep_their_columns(text)
    page = _to_html(text)
    assert_safe(page, MARKDOWN_TAGS)
    assert not [h for h in page.attribute_values("href") if not h.startswith("report.html#ex-")]
    assert "\u202e" not in text
    assert "\x00" not in text
    assert "\x1b" not in text


def test_script_is_shown_not_run() -> None:
    text = render_markdown(f.hostile_report("<script>alert(1)</script>"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text  # inline: entity-escaped
    assert "<script>alert(1)</script>" in _to_html(text).all_text  # ...and it reads as the original


def test_fence_outgrows_backticks_in_content() -> None:
    block = fenced("a\n````\n# not a heading\n````\nb", indent="   ")
    lines = block.splitlines()
    assert lines[0] == "   `````text"
    assert lines[-1] == "   `````"
    assert _to_html(f"1. x\n\n{block}\n").tag_names == {"ol", "li", "p", "pre", "code"}


@pytest.mark.parametrize(
    ("note", "escaped"),
    [
        ("- nested", "\\- nested"),  # would nest a bullet list inside our "- " item
        ("1. nested", "1\\. nested"),  # ...or an ordered list
        ("2) nested", "2\\) nested"),
        ("    code", "code"),  # five spaces after "-" would open an indented code block
        ("---", "\\---"),  # a thematic break
        ("-8.0 pp", "-8.0 pp"),  # a negative number is not a list
        ("0.62 < 0.7", "0.62 &lt; 0.7"),
        ("a - b", "a - b"),  # only a line start is a block start
    ],
)
def test_note_cannot_open_a_block(note: str, escaped: str) -> None:
    text = render_markdown(f.report(notes=[note]))
    assert f"## Notes\n\n- {escaped}\n" in text
    rendered = _renderer().render(text)
    shown = note.lstrip().replace("<", "&lt;")
    assert f"<h2>Notes</h2>\n<ul>\n<li>{shown}</li>\n</ul>" in rendered


def test_newlines_and_pipes_in_cells() -> None:
    assert md_text("a | b\nc") == "a \\| b ⏎ c"
    assert escape_inline("\\|") == "\\\\\\|"  # a backslash in content cannot un-escape our pipe escape


def test_markdown_stays_small_with_megabyte_outputs() -> None:
    huge = "x" * 2_000_000
    ex = f.example(huge, input_text=huge, output_text=huge, reference=[huge, huge], detail=huge, error_type=huge)
    text = render_markdown(f.report(worst=[ex] * 10, notes=[huge], summary=f.summary(description=huge)))
    assert len(text.encode()) < 100_000
    assert "more chars)" in text


@settings(deadline=None, max_examples=60)
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(list("|`*_[]<>&#\n\r\\!()~$-+=:"))), max_size=80))
def test_any_text_keeps_tables_and_html_intact(text: str) -> None:
    report: ReportData = f.hostile_report(text, worst=1)
    rendered = render_markdown(report)
    _assert_tables_keep_their_columns(rendered)
    assert_safe(_to_html(rendered), MARKDOWN_TAGS)


def test_example_line_anchor_is_dataset_slash_id() -> None:
    # Pinned because the Markdown link, the HTML ids and outputs.json keys all rely on it.
    assert ExampleLine("qa", "7", "s", None, None, "", None, [], "").anchor == "qa/7"


@pytest.mark.parametrize(
    ("n_errors", "n_calls", "rate", "shown"),
    [
        (300, 600, 0.5, "300 (50.0%)"),  # 200 examples, 3 repeats each: half the calls failed, not 150%
        (6, None, 0.03, "6 (3.0%)"),  # calls not known (a pruned night): one per example
    ],
)
def test_the_error_rate_is_of_calls_when_repeats_make_more_calls_than_examples(
    n_errors: int, n_calls: int | None, rate: float, shown: str
) -> None:
    summary = f.summary(n_examples=200, n_errors=n_errors, n_calls=n_calls)
    assert summary.error_rate == pytest.approx(rate)
    assert f"- **Errors:** {shown}" in render_markdown(f.report(summary=summary))
    assert format_value("error_rate", rate) in render_html(f.report(summary=summary))
