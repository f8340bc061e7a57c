"""Examples in the HTML report: worst examples, flips, "All outputs" inline or on pages of their own (pure).

A report must stay small whatever the size of the run: the worst examples and the flips are shown in
full in report.html; every example's full entry is listed under "All outputs", inline for small runs
and otherwise on static pages of :data:`PAGE_SIZE` examples (``examples/0001.html``, ...), which open
from disk with no script and no fetch (browsers refuse ``fetch`` from ``file://`` pages).
"""

from __future__ import annotations

from collections.abc import Sequence

from eval_assets.reporting.format import MISSING
from eval_assets.reporting.model import (
    MAX_FLIPS_SHOWN,
    ExampleLine,
    ExamplesPageLink,
    FlipLine,
    ReportData,
    flips_by_direction,
)
from eval_assets.reporting.page import code, esc, html_page, page_href, pre, text
from eval_assets.reporting.sanitize import anchor_id, cell_text

#: Length of each untrusted block of a worst example or a flip (collapsed by default, so it can be longer).
WORST_BLOCK_LIMIT = 2_000
#: Length of each untrusted block in "All outputs", which lists every example of the run.
ALL_BLOCK_LIMIT = 1_000
#: Length of the one-line output preview shown above a collapsed example.
PREVIEW_LIMIT = 160
#: Pass -> fail flips shown expanded; the rest start collapsed.
OPEN_FLIPS = 5
#: Runs with at most this many examples list "All outputs" inside report.html; larger ones get pages.
INLINE_EXAMPLES = 100
#: Examples per page of "All outputs".
PAGE_SIZE = 500


class Ids:
    """Hands out each HTML id once: the same example can appear under several scorers."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def take(self, wanted: str) -> str:
        """``wanted``, or ``wanted.2``, ``wanted.3``... when it is taken."""
        candidate, n = wanted, 1
        while candidate in self._used:
            n += 1
            # anchor_id never emits ".", so a suffixed id cannot collide with another example's id.
            candidate = f"{wanted}.{n}"
        self._used.add(candidate)
        return candidate


def paginate(examples: Sequence[ExampleLine], *, page_size: int = PAGE_SIZE) -> list[Sequence[ExampleLine]]:
    """``examples`` cut into pages of at most ``page_size``, in order."""
    return [examples[i : i + page_size] for i in range(0, len(examples), page_size)]


class EntryLinks:
    """Where each example's full entry is, from report.html: ``#ex-...`` when it is listed there, else its
    page (``examples/0002.html#ex-...``, relative to the run folder)."""

    def __init__(self, report: ReportData, listed_here: Sequence[ExampleLine] | None) -> None:
        self._here = {ex.anchor for ex in listed_here} if listed_here is not None else set()
        self._elsewhere = report.entry_links

    def href(self, anchor: str) -> str | None:
        """The link to the example's full entry; None when there is none to link to."""
        if anchor in self._here:
            return f"#{anchor_id(anchor)}"
        return self._elsewhere.get(anchor)


def _verdict_word(ex: ExampleLine) -> str:
    if ex.error_type:
        return "error"
    return {True: "pass", False: "fail", None: "unscored"}[ex.passed]


def example_article(ex: ExampleLine, *, element_id: str, limit: int, link: str | None, label: str = "") -> str:
    """One example: heading, verdict, one-line preview, then input, output, reference and detail collapsed."""
    verdict = _verdict_word(ex)
    score = MISSING if ex.score is None else f"{ex.score:.3f}"
    meta = [f"scorer {code(ex.scorer)}", f"score {score}"]
    if ex.error_type:
        meta.append(f"error {code(ex.error_type)}")
    if link:
        meta.append(f'<a href="{page_href(link)}">{label or "full entry in All outputs"}</a>')
    reference = "\n".join(f"- {r}" for r in ex.reference) if ex.reference else "(none)"
    output = "(no output)" if ex.output_text is None else ex.output_text
    blocks = [("Input", ex.input_text), ("Output", output), ("Reference", reference)]
    if ex.detail.strip():
        blocks.append(("Detail", ex.detail))
    return "\n".join(
        [
            f'<article class="example {verdict}" id="{element_id}">',
            f'<h3>{text(ex.anchor)} <span class="pill {verdict}">{verdict}</span></h3>',
            f'<p class="meta">{" · ".join(meta)}</p>',
            f'<p class="preview u" dir="ltr">{esc(cell_text(output, limit=PREVIEW_LIMIT))}</p>',
            "<details><summary>Input, output and reference</summary>",
            *(f"<h4>{label}</h4>\n{pre(body, limit=limit)}" for label, body in blocks),
            "</details>",
            "</article>",
        ]
    )


def worst_section(report: ReportData, all_examples: Sequence[ExampleLine] | None, ids: Ids) -> str:
    """The worst examples in full, each linking to its entry in "All outputs" when there is one."""
    worst = report.worst
    if report.details_pruned:
        return f'<section id="worst"><h2>Worst examples</h2><p>{text(report.details_pruned)}</p></section>'
    if not worst:
        return '<section id="worst"><h2>Worst examples</h2><p>No failed examples.</p></section>'
    links = EntryLinks(report, all_examples)
    # With "All outputs" anywhere, the canonical #ex-… id belongs to the full entry there.
    elsewhere = all_examples is not None or bool(report.entry_links)
    items = []
    for ex in worst:
        element_id = ids.take(anchor_id(ex.anchor, prefix="worst-ex-" if elsewhere else "ex-"))
        items.append(_worst_item(ex, element_id, links.href(ex.anchor)))
    return '<section id="worst"><h2>Worst examples</h2>\n' + "\n".join(items) + "\n</section>"


def _worst_item(ex: ExampleLine, element_id: str, link: str | None) -> str:
    return example_article(ex, element_id=element_id, limit=WORST_BLOCK_LIMIT, link=link)


def all_outputs_section(examples: Sequence[ExampleLine], ids: Ids) -> str:
    """Every example of the run in full, in report.html (small runs)."""
    items = [
        example_article(ex, element_id=ids.take(anchor_id(ex.anchor)), limit=ALL_BLOCK_LIMIT, link=None)
        for ex in examples
    ]
    body = "\n".join(items) if items else "<p>No examples.</p>"
    return f'<section id="all-outputs"><h2>All outputs ({len(items):,})</h2>\n{body}\n</section>'


def pages_section(pages: Sequence[ExamplesPageLink]) -> str:
    """ "All outputs" of a large run: one link per page of examples."""
    total = sum(page.count for page in pages)
    items = [
        f'<li><a href="{page_href(page.href)}">Page {number:,}</a>: {page.count:,} examples, '
        f"{text(page.first)} … {text(page.last)}</li>"
        for number, page in enumerate(pages, start=1)
    ]
    return (
        f'<section id="all-outputs"><h2>All outputs ({total:,})</h2>\n'
        f"<p>Every example in full, {PAGE_SIZE:,} to a page (the raw data is in <code>outputs.json</code>).</p>\n"
        f"<ul>\n{chr(10).join(items)}\n</ul></section>"
    )


def _flip_side(label: str, output: str | None, detail: str | None, *, with_detail: bool) -> str:
    blocks = [f"<h4>{label}</h4>", pre("(no output)" if output is None else output, limit=WORST_BLOCK_LIMIT)]
    if with_detail:
        shown = detail if detail and detail.strip() else "(none)"
        blocks += ["<h4>Detail</h4>", pre(shown, limit=WORST_BLOCK_LIMIT)]
    return "<div>" + "\n".join(blocks) + "</div>"


def _flip(flip: FlipLine, *, element_id: str, link: str | None, is_open: bool) -> str:
    verdict = "fail" if flip.direction == "pass_to_fail" else "pass"
    with_detail = any(d and d.strip() for d in (flip.baseline_detail, flip.current_detail))
    parts = [
        f'<article class="example flip" id="{element_id}">',
        f"<details{' open' if is_open else ''}><summary>{text(flip.anchor)} "
        f'<span class="pill {verdict}">now {verdict}</span> · scorer {code(flip.scorer)}</summary>',
    ]
    if link:
        parts.append(f'<p class="meta"><a href="{page_href(link)}">current run in All outputs</a></p>')
    parts += [
        f"<h4>Input</h4>\n{pre(flip.input_text, limit=WORST_BLOCK_LIMIT)}",
        '<div class="sxs">',
        _flip_side("Before (baseline)", flip.baseline_output, flip.baseline_detail, with_detail=with_detail),
        _flip_side("Now", flip.current_output, flip.current_detail, with_detail=with_detail),
        "</div>",
        "</details>",
        "</article>",
    ]
    return "\n".join(parts)


def flips_section(report: ReportData, all_examples: Sequence[ExampleLine] | None, ids: Ids) -> str:
    """Examples whose verdict changed, both answers side by side, at most :data:`MAX_FLIPS_SHOWN` a direction."""
    groups = flips_by_direction(report.flips)
    if not groups:
        return ""
    links = EntryLinks(report, all_examples)
    counts = ", ".join(f"{len(items):,} {esc(title.lower())}" for title, items in groups)
    parts = [
        '<section id="flips"><h2>Flipped examples</h2>',
        f"<p>Examples whose verdict changed against the baseline: {counts}. At most {MAX_FLIPS_SHOWN} are "
        "listed per direction; the full list is in the warehouse <code>flips</code> table.</p>",
    ]
    for title, items in groups:
        parts.append(f"<h3>{esc(title)} ({len(items):,})</h3>")
        for index, flip in enumerate(items[:MAX_FLIPS_SHOWN]):
            element_id = ids.take(anchor_id(flip.anchor, prefix="flip-"))
            is_open = flip.direction == "pass_to_fail" and index < OPEN_FLIPS
            parts.append(_flip(flip, element_id=element_id, link=links.href(flip.anchor), is_open=is_open))
        if len(items) > MAX_FLIPS_SHOWN:
            parts.append(
                f'<p class="meta">… and {len(items) - MAX_FLIPS_SHOWN:,} more (see the warehouse '
                "<code>flips</code> table).</p>"
            )
    parts.append("</section>")
    return "\n".join(parts)


def render_examples_page(report: ReportData, examples: Sequence[ExampleLine], *, number: int, pages: int) -> str:
    """Page ``number`` of ``pages`` of "All outputs", to be written as ``examples/<number>.html``.

    Args:
        report: The run's report (for the title and the way back).
        examples: The examples of this page.
        number: Page number, from 1.
        pages: How many pages there are.

    Returns:
        A standalone page with no script, linking back to ``../report.html`` and to its neighbours.
    """
    summary = report.summary
    title = f"All outputs {number:,}/{pages:,} — {cell_text(summary.config_name)} — {cell_text(summary.eval_date)}"
    ids = Ids()
    nav = ['<a href="../report.html">← report</a>']
    if number > 1:
        nav.append(f'<a href="{number - 1:04d}.html">← page {number - 1:,}</a>')
    if number < pages:
        nav.append(f'<a href="{number + 1:04d}.html">page {number + 1:,} →</a>')
    pager = f'<nav class="pager">{" ".join(nav)}</nav>'
    items = [
        example_article(ex, element_id=ids.take(anchor_id(ex.anchor)), limit=ALL_BLOCK_LIMIT, link=None)
        for ex in examples
    ]
    body = [
        "<header>",
        f"<h1>All outputs — {text(summary.config_name)} — {text(summary.eval_date)}</h1>",
        f'<p class="sub">Page {number:,} of {pages:,} · {len(items):,} examples</p>',
        pager,
        "</header>",
        f'<section id="all-outputs">\n{chr(10).join(items)}\n</section>',
        pager,
    ]
    return html_page(title=title, body=body)
