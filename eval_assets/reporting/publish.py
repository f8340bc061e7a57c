"""Write a run's report folder: raw outputs, example pages, report.md and report.html (no Dagster).

The report stage owns these files; :meth:`RunFolder.clear_reports` is how an earlier stage asks for the
previous execution's reports to go. Every file is published atomically (:func:`write_atomically`); the
files a report links to are written before the report itself, so a reader never follows a link into a
file that is not there yet.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import polars as pl

from eval_assets.files import file_pieces, write_atomically
from eval_assets.reporting.chart_style import Figure
from eval_assets.reporting.charts import figures_html, plotly_bundle_name, trend_figures, write_plotly_bundle
from eval_assets.reporting.folder import ASSETS_DIR, EXAMPLES_DIR, TO_RUNS_ROOT, Links, RunFolder, examples_page_name
from eval_assets.reporting.html import render_html
from eval_assets.reporting.html_examples import INLINE_EXAMPLES, PAGE_SIZE, paginate, render_examples_page
from eval_assets.reporting.markdown import render_markdown
from eval_assets.reporting.model import ExampleLine, ExamplesPageLink, ReportData
from eval_assets.reporting.outputs import OutputsDocument
from eval_assets.reporting.sanitize import anchor_id


@dataclass(frozen=True)
class Published:
    """What was written, for the asset's metadata."""

    markdown: str
    files: Mapping[str, Path]  # "report_html", "report_md", "outputs_json", "run_outputs"
    pages: int  # pages of "All outputs" (0: listed inside report.html)


def plotly_src() -> str:
    """Where a report finds the shared plotly.js, relative to its run folder."""
    return f"{TO_RUNS_ROOT}/{ASSETS_DIR}/{plotly_bundle_name()}"


def publish_report(
    folder: RunFolder,
    report: ReportData,
    *,
    all_examples: Sequence[ExampleLine],
    history: pl.DataFrame,
    outputs: OutputsDocument,
    links: Links,
    inline_limit: int = INLINE_EXAMPLES,
    page_size: int = PAGE_SIZE,
    extra_figures: Sequence[Figure] = (),
) -> Published:
    """Write everything a run's report consists of.

    Args:
        folder: The partition's folder.
        report: What the report shows (links and pages are filled in here).
        all_examples: One line per example of the run, in the order "All outputs" lists them.
        history: Metric rows to chart (see :func:`~eval_assets.reporting.charts.trend_figures`).
        outputs: The raw outputs, written as ``outputs.json`` and the execution's own copy.
        links: Where people open the files (absolute URLs or local paths).
        inline_limit: Runs with at most this many examples list them inside report.html.
        page_size: Examples per page otherwise.
        extra_figures: Charts placed after the metric trends (e.g. judges against people).
    """
    run_id = report.summary.run_id
    # One encoding, two files: this execution's raw outputs are kept, the latest also under a fixed name.
    write_atomically(folder.run_outputs(run_id), outputs.encoded())
    write_atomically(folder.outputs_json, file_pieces(folder.run_outputs(run_id)))

    inline = len(all_examples) <= inline_limit
    pages = [] if inline else paginate(all_examples, page_size=page_size)
    entry_links: dict[str, str] = {}
    page_links: list[ExamplesPageLink] = []
    for number, page in enumerate(pages, start=1):
        href = examples_page_name(number)
        entry_links.update((ex.anchor, f"{href}#{anchor_id(ex.anchor)}") for ex in page)
        page_links.append(ExamplesPageLink(href, page[0].anchor, page[-1].anchor, len(page)))
    folder_url = links.folder_url(folder)
    report = replace(
        report,
        entry_links=entry_links,
        example_pages=tuple(page_links),
        folder_url=folder_url,
        folder_path=None if folder_url else str(folder.path.resolve()),
        dagster_run_url=links.dagster_run(run_id),
    )
    for number, page in enumerate(pages, start=1):
        write_atomically(
            folder.examples_page(number), render_examples_page(report, page, number=number, pages=len(pages))
        )
    _remove_pages_after(folder, len(pages))

    figures = [*trend_figures(history, config_name=report.summary.config_name), *extra_figures]
    if figures:
        write_plotly_bundle(folder.runs.assets)
    charts = figures_html(figures, plotly_src=plotly_src())
    markdown = render_markdown(report)
    report_html = render_html(report, charts_html=charts, all_examples=list(all_examples) if inline else None)
    write_atomically(folder.report_md, markdown)
    write_atomically(folder.report_html, report_html)
    files = {
        "report_html": folder.report_html,
        "report_md": folder.report_md,
        "outputs_json": folder.outputs_json,
        "run_outputs": folder.run_outputs(run_id),
    }
    return Published(markdown=markdown, files=files, pages=len(pages))


def publish_pruned_report(folder: RunFolder, report: ReportData, *, history: pl.DataFrame, links: Links) -> Published:
    """Rewrite report.md and report.html of a night whose per-example detail retention removed.

    Only the two reports are written: the raw outputs and example pages the night's run wrote stay as they are
    (they are all that is left of its examples).
    """
    folder_url = links.folder_url(folder)
    report = replace(
        report,
        folder_url=folder_url,
        folder_path=None if folder_url else str(folder.path.resolve()),
        dagster_run_url=links.dagster_run(report.summary.run_id),
    )
    figures = trend_figures(history, config_name=report.summary.config_name)
    if figures:
        write_plotly_bundle(folder.runs.assets)
    markdown = render_markdown(report)
    write_atomically(folder.report_md, markdown)
    write_atomically(
        folder.report_html, render_html(report, charts_html=figures_html(figures, plotly_src=plotly_src()))
    )
    return Published(
        markdown=markdown, files={"report_html": folder.report_html, "report_md": folder.report_md}, pages=0
    )


def _remove_pages_after(folder: RunFolder, count: int) -> None:
    """Pages an earlier, larger report of this partition left behind (the report asset alone was rerun)."""
    directory = folder.path / EXAMPLES_DIR
    if not directory.is_dir():
        return
    for page in directory.glob("*.html"):
        if page.stem.isdigit() and int(page.stem) > count:
            page.unlink(missing_ok=True)
