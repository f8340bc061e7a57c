"""HTML report: structure a PM reads, gate colours, and hostile content that must stay inert text."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from hypothesis import given, settings, strategies as st

from eval_assets.reporting.html import CONTENT_SECURITY_POLICY, render_html
from eval_assets.reporting.model import GateLine
from eval_assets_tests.reporting import factories as f
from eval_assets_tests.reporting.html_checks import Page, assert_safe, parse

# Every tag the renderer emits; anything else in a page came from content.
OUR_TAGS = {
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "footer",
    "section",
    "article",
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "span",
    "div",
    "br",
    "code",
    "pre",
    "a",
    "ul",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "details",
    "summary",
}


def _rows_with_class(page_html: str, css_class: str) -> list[str]:
    return re.findall(rf'<tr class="{css_class}">.*?</tr>', page_html)


def _check(page_html: str) -> Page:
    page = parse(page_html)
    assert_safe(page, OUR_TAGS)
    return page


def test_page_skeleton_and_csp() -> None:
    page_html = render_html(f.report())
    assert page_html.startswith('<!DOCTYPE html>\n<html lang="en" dir="ltr">\n<head>\n<meta charset="utf-8">')
    page = _check(page_html)
    [csp] = [
        v
        for tag, attrs in page.tags
        if tag == "meta"
        for k, v in attrs
        if ("http-equiv", "Content-Security-Policy") in attrs and k == "content"
    ]
    assert csp == CONTENT_SECURITY_POLICY
    assert csp.startswith("default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline'")
    assert "<title>Eval report — nightly-qa — 2025-03-14</title>" in page_html
    assert "SIMULATOR" not in page_html
    assert "://" not in page_html  # nothing to fetch


def test_header_cards_and_simulator_badge() -> None:
    page_html = render_html(f.report(summary=f.summary(simulated=True, baseline_date=None)))
    assert '<span class="badge sim">SIMULATOR</span>' in page_html
    assert (
        '<div class="label">Error rate</div><div class="value">1.5%</div><div class="sub">3 errors</div>'
    ) in page_html
    assert '<div class="label">Cost</div><div class="value">$0.0123</div>' in page_html
    assert (
        '<div class="label">Baseline</div><div class="value">none</div><div class="sub">first run</div>'
    ) in page_html
    assert '<p class="verdict fail">1 of 2 quality gates failed.</p>' in page_html


def test_failing_error_gate_is_red_and_warn_gate_amber() -> None:
    gates = [
        GateLine("pass_rate_min", "contains.pass_rate >= 0.7", "error", False, "0.62 < min 0.7"),
        GateLine("latency_max", "latency_p95_ms <= 900", "warn", False, "1234 > max 900"),
        GateLine("error_rate_max", "error_rate <= 0.05", "error", True, "ok"),
    ]
    page_html = render_html(f.report(gates=gates))
    [fail] = [r for r in _rows_with_class(page_html, "fail") if "pass_rate_min" in r]
    assert "❌ FAIL" in fail
    [warn] = [r for r in _rows_with_class(page_html, "warn") if "latency_max" in r]
    assert "⚠️ WARN" in warn
    assert any("error_rate_max" in r and "✅ pass" in r for r in _rows_with_class(page_html, "pass"))
    assert re.search(r"tr\.fail td \{[^}]*background: var\(--fail-bg\); color: var\(--fail\)", page_html)


def test_metrics_table_rows_and_delta_colours() -> None:
    page_html = render_html(f.report())
    assert (
        '<thead><tr><th>Metric</th><th class="num">Prev</th><th class="num">Current</th>'
        '<th class="num">Delta</th><th>Gate</th></tr></thead>'
    ) in page_html
    [failing] = [r for r in _rows_with_class(page_html, "fail") if "delta" in r]
    assert '<td class="num delta worse">-8.0 pp</td>' in failing
    # Latency went down and lower is better: green even though the number is negative.
    assert '<td class="num delta better">-66 ms</td>' in page_html
    assert '<td class="num delta unknown">—</td>' in page_html  # cost has no previous value
    assert "<th>Tag</th>" in page_html


def test_trends_only_with_charts() -> None:
    assert "Trends" not in render_html(f.report())
    chart = '<div id="chart"></div><script>Plotly.newPlot("chart", [])</script>'
    page_html = render_html(f.report(), charts_html=chart)
    assert f'<section id="trends"><h2>Trends</h2>\n{chart}\n</section>' in page_html


def test_worst_examples_link_into_all_outputs() -> None:
    worst = [f.example("q1"), f.example("q1", scorer="contains"), f.example("q2")]
    everything = [f.example(f"q{i}") for i in range(1, 5)]
    page = _check(render_html(f.report(worst=worst), all_examples=everything))
    ids = page.attribute_values("id")
    assert len(ids) == len(set(ids))
    assert {"ex-qa_2f_q1", "ex-qa_2f_q4", "worst-ex-qa_2f_q1", "worst-ex-qa_2f_q1.2"} <= set(ids)
    targets = [h[1:] for h in page.attribute_values("href") if h.startswith("#")]
    assert targets == ["ex-qa_2f_q1", "ex-qa_2f_q1", "ex-qa_2f_q2"]
    assert set(targets) <= set(ids)


def test_outputs_link_stays_relative() -> None:
    page = _check(render_html(f.report(outputs_file="javascript:alert(1)")))
    assert page.attribute_values("href") == ["javascript%3Aalert%281%29"]
    assert 'href="outputs.json"' in render_html(f.report())


def test_worst_examples_own_the_anchor_without_all_outputs() -> None:
    page_html = render_html(f.report())
    assert '<article class="example fail" id="ex-qa_2f_q17">' in page_html
    assert "All outputs" not in page_html
    assert "<details><summary>Input, output and reference</summary>" in page_html
    assert '<pre class="u" dir="ltr">Lyon</pre>' in page_html


def test_untrusted_text_is_direction_isolated() -> None:
    page_html = render_html(f.report())
    assert ".u { unicode-bidi: isolate;" in page_html
    assert all('dir="ltr"' in tag for tag in re.findall(r"<pre[^>]*>", page_html))


@pytest.mark.parametrize("hostile", f.HOSTILE)
def test_hostile_text_everywhere_stays_text(hostile: str) -> None:
    report = f.hostile_report(hostile)
    page_html = render_html(report, all_examples=f.hostile_examples())
    page = _check(page_html)
    assert "<script" not in page_html.lower()
    assert "\u202e" not in page_html
    assert "\x00" not in page_html
    assert "\x1b" not in page_html
    assert "49" not in page.all_text  # no template engine evaluated {{ 7*7 }}


def test_script_and_breakout_read_as_the_original_text() -> None:
    breakout = "</pre></details><script>alert(2)</script>"
    page_html = render_html(f.report(worst=[f.example(output_text=breakout)]))
    assert breakout in _check(page_html).all_text
    assert "&lt;/pre&gt;&lt;/details&gt;&lt;script&gt;" in page_html


def test_entities_in_content_are_not_decoded() -> None:
    # "&#x202e;" must stay those eight characters, not become the override cleaning removed.
    page = _check(render_html(f.report(worst=[f.example(output_text="&#x202e;abc")])))
    assert "&#x202e;abc" in page.all_text
    assert "\u202e" not in page.all_text


def test_zalgo_is_collapsed() -> None:
    zalgo = "Z̵̡̢̛̗̘̙̜̝̞̟̠̣̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼ͅ"
    page_html = render_html(f.report(worst=[f.example(output_text=zalgo)]))
    assert zalgo[:3] in page_html
    assert zalgo[:4] not in page_html


def test_page_stays_small_with_megabyte_outputs() -> None:
    huge = "<b>" + "x" * 2_000_000
    ex = f.example(huge, input_text=huge, output_text=huge, reference=[huge], detail=huge, error_type=huge)
    page_html = render_html(f.report(worst=[ex] * 10, notes=[huge]), all_examples=[ex] * 10)
    assert len(page_html.encode()) < 2_000_000
    assert len(page_html.encode()) < 300_000  # the real bound: ~4 blocks of 1-2k chars per example
    assert "more chars)" in page_html
    _check(page_html)


@settings(deadline=None, max_examples=60)
@given(st.text(alphabet=st.one_of(st.characters(), st.sampled_from(list("<>&\"'`/=\n\r\u202e"))), max_size=80))
def test_any_text_yields_only_our_tags(text: str) -> None:
    _check(render_html(f.hostile_report(text, worst=1), all_examples=[f.example(text, output_text=text)]))


def test_rendering_modules_do_not_import_dagster() -> None:
    # Rendering is pure: it must load (and be testable) without Dagster, Polars or plotly.
    code = (
        "import sys, eval_assets.reporting.html, eval_assets.reporting.markdown\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'dagster', 'polars', 'plotly'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
