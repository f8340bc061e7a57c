"""The report's flakiness section, in Markdown and HTML: newly broken examples first, then flaky ones set apart,
then fixed (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from eval_assets.reporting import page
from eval_assets.reporting.markdown_text import md_text, table

if TYPE_CHECKING:  # the report model is imported by light renderers: no polars at import time
    import polars as pl

#: Classes the report lists, most urgent first (stable examples are the quiet majority: not listed).
LISTED = ("newly_broken", "flaky", "fixed")
TITLES = {
    "newly_broken": "Newly broken (passed every earlier night, fails every repeat tonight)",
    "flaky": "Flaky (set apart from the regression gate)",
    "fixed": "Fixed",
}
MAX_LISTED = 20


@dataclass(frozen=True)
class StabilityLine:
    """One example x scorer of the night's flakiness ledger."""

    dataset: str
    example_id: str
    scorer: str
    stability: str
    pass_probability: float
    wilson_low: float
    wilson_high: float
    flip_rate: float
    last_outcomes: str


def stability_lines(ledger: pl.DataFrame) -> list[StabilityLine]:
    """The listed classes of a night's ``flakiness`` rows, most urgent first."""
    if ledger.is_empty():
        return []
    rank = {name: i for i, name in enumerate(LISTED)}
    # Polars picks the few listed rows: a dict per row of the whole ledger took seconds at 100,000 examples.
    rows = list(ledger.filter(ledger.get_column("stability").is_in(LISTED)).iter_rows(named=True))
    rows.sort(key=lambda r: (rank[r["stability"]], r["dataset"], r["example_id"], r["scorer"]))
    return [
        StabilityLine(
            r["dataset"],
            r["example_id"],
            r["scorer"],
            r["stability"],
            r["pass_probability"],
            r["wilson_low"],
            r["wilson_high"],
            r["flip_rate"],
            r["last_outcomes"],
        )
        for r in rows
    ]


def render_stability(lines: list[StabilityLine]) -> str:
    """``## Newly broken and flaky examples`` in Markdown; empty when every example is stable."""
    if not lines:
        return ""
    parts = ["## Newly broken and flaky examples"]
    for stability in LISTED:
        chosen = [line for line in lines if line.stability == stability]
        if not chosen:
            continue
        parts.append(f"### {TITLES[stability]} ({len(chosen):,})")
        rows = [
            [
                md_text(f"{line.dataset}/{line.example_id}"),
                md_text(line.scorer),
                f"{line.pass_probability:.0%} ({line.wilson_low:.0%} to {line.wilson_high:.0%})",
                f"{line.flip_rate:.2f}",
                md_text(line.last_outcomes.replace("|", " · ")),  # a "|" would split the table cell
            ]
            for line in chosen[:MAX_LISTED]
        ]
        header = ["Example", "Scorer", "Pass probability (95% CI)", "Flip rate", "Latest (oldest first)"]
        parts.append(table(header, rows, numeric=[False, False, True, True, False]))
        if len(chosen) > MAX_LISTED:
            parts.append(f"… and {len(chosen) - MAX_LISTED:,} more (query `flaky_examples`).")
    return "\n\n".join(parts)


def stability_html(lines: list[StabilityLine]) -> str:
    """The same section for the HTML report; every ledger string passes through the page's cleaner."""
    if not lines:
        return ""
    parts = ['<section id="stability"><h2>Newly broken and flaky examples</h2>']
    header = [
        ("Example", False),
        ("Scorer", False),
        ("Pass probability (95% CI)", True),
        ("Flip rate", True),
        ("Latest (oldest first)", False),
    ]
    for stability in LISTED:
        chosen = [line for line in lines if line.stability == stability]
        if not chosen:
            continue
        parts.append(f"<h3>{page.esc(TITLES[stability])} ({len(chosen):,})</h3>")
        rows = [
            f"<tr><td>{page.code(f'{line.dataset}/{line.example_id}')}</td><td>{page.text(line.scorer)}</td>"
            f'<td class="num">{line.pass_probability:.0%} ({line.wilson_low:.0%} to {line.wilson_high:.0%})</td>'
            f'<td class="num">{line.flip_rate:.2f}</td>'
            f"<td>{page.code(line.last_outcomes.replace('|', ' · '))}</td></tr>"
            for line in chosen[:MAX_LISTED]
        ]
        parts.append(page.table(header, rows))
        if len(chosen) > MAX_LISTED:
            parts.append(f"<p>… and {len(chosen) - MAX_LISTED:,} more (query <code>flaky_examples</code>).</p>")
    return "\n".join(parts) + "\n</section>"
