"""The report's flakiness section: newly broken first, stable examples not listed, cells that cannot break tables."""

from __future__ import annotations

import polars as pl

from eval_assets.reporting.stability import render_stability, stability_lines


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
