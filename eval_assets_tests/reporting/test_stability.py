"""The report's flakiness section: newly broken first, stable examples not listed, cells that cannot break tables."""

from __future__ import annotations

import polars as pl

from eval_assets.reporting.changes import FactorChange
from eval_assets.reporting.html import render_html
from eval_assets.reporting.stability import render_stability, stability_html, stability_lines
from eval_assets_tests.reporting.factories import report


def _ledger(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "dataset": "faq",
                "example_id": example,
                "scorer": "contains",
                "stability": stability,
                "pass_probability": 0.5,
                "wilson_low": 0.2,
                "wilson_high": 0.8,
                "flip_rate": 0.4,
                "last_outcomes": "PF|FP",
                "nights": 2,
            }
            for example, stability in rows
        ]
    )


def test_newly_broken_examples_come_first_and_stable_ones_are_not_listed() -> None:
    lines = stability_lines(_ledger(("a", "flaky"), ("b", "stable_pass"), ("c", "newly_broken"), ("d", "fixed")))
    assert [(line.example_id, line.stability) for line in lines] == [
        ("c", "newly_broken"),
        ("a", "flaky"),
        ("d", "fixed"),
    ]
    text = render_stability(lines)
    assert text.index("Newly broken") < text.index("Flaky") < text.index("### Fixed")
    # The nights' separator is not a table pipe: every row keeps its five cells.
    rows = [row for row in text.splitlines() if row.startswith("| faq/")]
    assert len(rows) == 3 and all(row.count(" | ") == 4 for row in rows)


def test_a_night_of_stable_examples_has_no_section() -> None:
    assert render_stability(stability_lines(_ledger(("a", "stable_pass"), ("b", "stable_fail")))) == ""
    assert stability_lines(pl.DataFrame()) == []


def test_the_html_report_lists_newly_broken_examples_first_with_inert_model_text() -> None:
    hostile = "<script>alert(1)</script>\u202e"
    ledger = _ledger(("a", "flaky"), (hostile, "newly_broken"), ("d", "fixed"), ("e", "stable_pass"))
    lines = stability_lines(ledger)
    section = stability_html(lines)
    assert section.index("Newly broken") < section.index("Flaky") < section.index("<h3>Fixed")
    assert "<script>" not in section and "&lt;script&gt;" in section and "\u202e" not in section
    assert section.count("<tr><td>") == 3 and "faq/e" not in section  # stable examples are not listed
    assert "PF · FP" in section and "50% (20% to 80%)" in section
    changed = (FactorChange("model version", "v1", "v2"),)
    page = render_html(report(stability=lines, changes=changed))
    # As in Markdown: first after the header, before what changed and the run summary.
    assert page.index("</header>") < page.index('id="stability"') < page.index('id="changes"')
    assert page.index('id="changes"') < page.index('id="summary"')
    assert "<script>alert" not in page
    assert stability_html([]) == "" and 'id="stability"' not in render_html(report(changes=changed))
