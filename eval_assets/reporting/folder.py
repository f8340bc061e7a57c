"""Where a run's files live, and the links that reach them (pure: paths and URLs, no rendering).

Layout of the runs folder (``EVAL_ASSETS_RUNS_DIR``, default ``data/runs``)::

    <runs>/dashboard.html                       cross-config dashboard
    <runs>/_assets/plotly-<version>.min.js      the chart library, one copy shared by every page
    <runs>/<date>/<config>/report.md            the report, for GitHub and the Dagster UI
    <runs>/<date>/<config>/report.html          the report for people (links to the pages below)
    <runs>/<date>/<config>/outputs.json         raw outputs and metadata of the latest execution
    <runs>/<date>/<config>/outputs/<run id>.json  raw outputs and metadata of every execution, kept
    <runs>/<date>/<config>/examples/<n>.html    "All outputs", paged, when a run is too large to inline
    <runs>/.leases/<date>/<config>.lock         held by the run replaying the cell (eval_assets.leases)

:class:`RunFolder` is the only code that spells this layout; :class:`Links` turns its files into what a
person can open: absolute URLs under ``EVAL_ASSETS_REPORT_BASE_URL`` when the runs folder is published,
otherwise the file's path on the machine that ran.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

REPORT_MD = "report.md"
REPORT_HTML = "report.html"
OUTPUTS_JSON = "outputs.json"
OUTPUTS_DIR = "outputs"
EXAMPLES_DIR = "examples"
ASSETS_DIR = "_assets"
LEASES_DIR = ".leases"
DASHBOARD_HTML = "dashboard.html"
#: From a run folder back to the runs folder (``<date>/<config>/``).
TO_RUNS_ROOT = "../.."

_SAFE_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


@dataclass(frozen=True)
class RunsFolder:
    """The folder holding every run folder, the dashboard and the shared assets."""

    root: Path

    def run(self, eval_date: object, config_name: str) -> RunFolder:
        """The folder of one (date, config) partition."""
        return RunFolder(self.root, str(eval_date), config_name)

    @property
    def dashboard(self) -> Path:
        """The cross-config dashboard page, beside the date folders it links to."""
        return self.root / DASHBOARD_HTML

    @property
    def assets(self) -> Path:
        """Files shared by every page (the chart library)."""
        return self.root / ASSETS_DIR


@dataclass(frozen=True)
class RunFolder:
    """The folder of one (date, config) partition: ``<runs>/<date>/<config>/``."""

    runs_dir: Path
    eval_date: str
    config_name: str

    @property
    def path(self) -> Path:
        """The folder itself."""
        return self.runs_dir / self.eval_date / self.config_name

    @property
    def relative(self) -> str:
        """``<date>/<config>`` below the runs folder, percent-encoded for a URL path."""
        # Each segment is quoted whole: "/" or ":" in a name cannot add a directory or a scheme.
        parts = (self.eval_date, self.config_name)
        return "/".join(urllib.parse.quote(part, safe="", errors="replace") for part in parts)

    @property
    def report_href(self) -> str:
        """The HTML report, relative to the runs folder (how the dashboard links it)."""
        return f"{self.relative}/{REPORT_HTML}"

    @property
    def report_md(self) -> Path:
        """The Markdown report."""
        return self.path / REPORT_MD

    @property
    def report_html(self) -> Path:
        """The HTML report."""
        return self.path / REPORT_HTML

    @property
    def outputs_json(self) -> Path:
        """Raw outputs of the latest execution (what report links point at)."""
        return self.path / OUTPUTS_JSON

    def run_outputs(self, run_id: str) -> Path:
        """Raw outputs of one execution, kept when the partition is run again."""
        return self.path / OUTPUTS_DIR / f"{run_file_stem(run_id)}.json"

    @property
    def lease(self) -> Path:
        """The cell's lock file: outside the run folder, which the stages clear and rewrite."""
        safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in self.config_name).lstrip(".") or "_"
        return self.runs_dir / LEASES_DIR / self.eval_date / f"{safe}.lock"

    def examples_page(self, number: int) -> Path:
        """Page ``number`` (from 1) of "All outputs"."""
        return self.path / examples_page_name(number)

    @property
    def runs(self) -> RunsFolder:
        """The runs folder this folder is in."""
        return RunsFolder(self.runs_dir)

    def clear_reports(self) -> None:
        """Remove the reports of the previous execution (they describe answers that are being replaced).

        The per-execution raw outputs (``outputs/``) are kept: they are the history of the partition.
        """
        for stale in (self.report_md, self.report_html, self.outputs_json):
            stale.unlink(missing_ok=True)
        pages = self.path / EXAMPLES_DIR
        if pages.is_dir():
            for page in pages.glob("*.html"):
                page.unlink(missing_ok=True)
            with contextlib.suppress(OSError):  # not empty: someone else's file, leave it
                pages.rmdir()


def examples_page_name(number: int) -> str:
    """``examples/0001.html``: page ``number`` of "All outputs", relative to the run folder."""
    return f"{EXAMPLES_DIR}/{number:04d}.html"


def run_file_stem(run_id: str) -> str:
    """A file name for a run id: Dagster's ids as they are; anything else made safe and kept distinct."""
    if _SAFE_RUN_ID.match(run_id):
        return run_id
    digest = hashlib.sha256(run_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"run-{digest}"


def is_http_url(text: str) -> bool:
    """Whether ``text`` is an absolute http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def base_url(value: str | None, *, variable: str) -> str | None:
    """A configured base URL without its trailing slash; None when unset.

    Raises:
        ValueError: the value is not an http(s) URL (naming the variable).
    """
    if value is None or not value.strip():
        return None
    url = value.strip().rstrip("/")
    if not is_http_url(url) or any(c.isspace() for c in url):
        raise ValueError(f"{variable} must be an http(s) URL such as https://evals.example.com/runs, got {value!r}")
    return url


@dataclass(frozen=True)
class Links:
    """What people can open: absolute URLs when configured, else paths on the machine that ran.

    Attributes:
        report_base_url: URL at which the runs folder is published (``EVAL_ASSETS_REPORT_BASE_URL``), e.g.
            ``https://evals.example.com/runs``; None: files are only on this machine.
        dagster_url: The Dagster UI (``EVAL_ASSETS_DAGSTER_URL``), e.g. ``http://dagster.internal:3000``.
    """

    report_base_url: str | None = None
    dagster_url: str | None = None

    def folder_url(self, folder: RunFolder) -> str | None:
        """Absolute URL of the run folder, without a trailing slash; None without a base URL."""
        return f"{self.report_base_url}/{folder.relative}" if self.report_base_url else None

    def file(self, folder: RunFolder, relative: str) -> str:
        """A file of the run folder (``report.html``, ``report.html#ex-...``) as a URL, or its local path."""
        url = self.folder_url(folder)
        if url is not None:
            return f"{url}/{relative}"
        path, _, fragment = relative.partition("#")
        local = str((folder.path / path).resolve())
        return f"{local}#{fragment}" if fragment else local

    def report(self, folder: RunFolder) -> str:
        """The HTML report of a run."""
        return self.file(folder, REPORT_HTML)

    def dagster_run(self, run_id: str | None) -> str | None:
        """``<dagster_url>/runs/<run_id>``: the run in the Dagster UI; None when either is unknown."""
        if not self.dagster_url or not run_id:
            return None
        return f"{self.dagster_url}/runs/{urllib.parse.quote(run_id, safe='')}"

    def dashboard(self, runs: RunsFolder) -> str:
        """The cross-config dashboard."""
        if self.report_base_url:
            return f"{self.report_base_url}/{DASHBOARD_HTML}"
        return str(runs.dashboard.resolve())
