"""The report and the dashboard in a real Chromium: hostile outputs stay inert, the charts draw, nothing loads.

Needs the Debian ``chromium`` package and the ``playwright`` Python package (Playwright's own browser
download is not used). Without them the tests skip, except under ``CI=true`` where they fail: CI must
not go green by skipping the only test that runs the pages' scripts.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl
import pytest

from eval_assets.reporting.charts import figures_html, plotly_bundle_name, trend_figures, write_plotly_bundle
from eval_assets.reporting.dashboard import render_dashboard
from eval_assets.reporting.folder import Links, RunsFolder
from eval_assets.reporting.html import render_html
from eval_assets.reporting.model import ExampleLine, GateLine
from eval_assets.reporting.outputs import OutputsDocument
from eval_assets.reporting.publish import publish_report
from eval_assets_tests.reporting import factories as f
from eval_assets_tests.reporting.test_charts import latest_runs, trend_history

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Dialog, Page, Request, Route

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
# No sandbox: CI runs as root in a container. The rest stops Chromium's own background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]
#: Where a person can look at the last rendering.
REPORT_SCREENSHOT = Path("/tmp/eval_assets_report.png")
DASHBOARD_SCREENSHOT = Path("/tmp/eval_assets_dashboard.png")

#: Model outputs that would run script, fire a dialog or load something if they reached the DOM as markup.
HOSTILE_OUTPUTS = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    '<svg onload="window.__pwned=3">',
    '[click me](javascript:window.__pwned=5) <a href="javascript:window.__pwned=6">or me</a>',
    "{{ 7*7 }} {% raw %} ${7*7}",
    "</pre></details><script>window.__pwned=4</script>",
    "\x00\x1b[31mred\x1b[0m",
    "abc\u202egnp.exe",
    "Z̵̡̢̛̗̘̙̜̝̞̟̠̣̤̥̦̩̪̫̬̭̮̯̰̱̲̳̹̺̻̼ͅ",
    "a | b | c\n| --- | --- |\nnew line\r\nand <iframe src=https://example.invalid>",
    "<script>alert(document.domain)</script>",
    "x" * 2_000_000,
]
# Records CSP violations before any of the page's own script runs.
_CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""
_ON_ATTRIBUTES = """
() => [...document.querySelectorAll("*")].flatMap(
  (el) => [...el.attributes].filter((a) => a.name.startsWith("on")).map((a) => `${el.tagName} ${a.name}`))
"""


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium, closed after the module whatever happens."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Visit:
    """A page opened from a file with the network cut off, and what happened while it loaded."""

    page: Page
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def assert_inert(self) -> None:
        """No injected script ran, nothing was fetched, the page's own script worked and broke no rule."""
        assert self.page.evaluate("typeof window.__pwned") == "undefined"
        assert self.dialogs == []
        assert self.blocked == []
        assert self.page_errors == []
        assert self.console_errors == []
        assert self.page.evaluate("window.__cspViolations") == []
        assert self.page.evaluate(_ON_ATTRIBUTES) == []
        assert self.page.locator("body img, body iframe, a[href^='javascript' i]").count() == 0

    def assert_charts(self, count: int) -> None:
        """Each plotly chart drew its SVG."""
        charts = self.page.locator(".js-plotly-plot")
        assert charts.count() == count
        for index in range(count):
            assert charts.nth(index).locator("svg.main-svg").count() >= 1
            assert charts.nth(index).locator("g.trace, g.bars").count() >= 1


@contextmanager
def _visit(browser: Browser, path: Path, *, charts: bool = True) -> Iterator[Visit]:
    """Open ``path`` in a fresh context that aborts (and records) every request not for a local file."""
    context = browser.new_context(viewport={"width": 1200, "height": 900}, java_script_enabled=True)
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        visit = Visit(page)

        def route(route: Route) -> None:
            if route.request.url.startswith("file://"):
                route.continue_()
            else:
                visit.blocked.append(route.request.url)
                route.abort()

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                visit.console_errors.append(message.text)

        def on_dialog(dialog: Dialog) -> None:
            visit.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_request(request: Request) -> None:
            # Requests the router never sees (none expected) still show up here.
            if not request.url.startswith("file://") and request.url not in visit.blocked:
                visit.blocked.append(request.url)

        context.route("**/*", route)
        page.add_init_script(_CSP_LISTENER)
        page.on("console", on_console)
        page.on("pageerror", lambda error: visit.page_errors.append(str(error)))
        page.on("dialog", on_dialog)
        page.on("request", on_request)
        page.goto(path.as_uri(), wait_until="load")
        if charts:
            page.wait_for_selector(".js-plotly-plot svg.main-svg", state="attached")
        yield visit
    finally:
        context.close()


def _screenshot(visit: Visit, path: Path, copy: Path) -> None:
    visit.page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    shutil.copyfile(path, copy)


def _hostile_examples() -> list[ExampleLine]:
    return [
        f.example(f"hostile-{index}", input_text=text, output_text=text, reference=[text], detail=text)
        for index, text in enumerate(HOSTILE_OUTPUTS)
    ]


@pytest.fixture(scope="module")
def report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    examples = _hostile_examples()
    report = f.report(
        summary=f.summary(description=HOSTILE_OUTPUTS[0], model_version=HOSTILE_OUTPUTS[1]),
        tag_metrics=[
            f.metric("contains.pass_rate", tag="geography", current=0.5, previous=0.6, n=20),
            f.metric("contains.pass_rate", tag=HOSTILE_OUTPUTS[2], current=0.9, previous=0.9, n=10),
        ],
        gates=[
            *f.report().gates,
            GateLine("latency_p95_max", "latency_p95_ms <= 2000", "warn", True, HOSTILE_OUTPUTS[5]),
        ],
        worst=examples[:6],
        notes=[HOSTILE_OUTPUTS[3]],
    )
    history = trend_history().filter(pl.col("config_name") == "nightly-qa")
    page_html = render_html(report, charts_html=figures_html(trend_figures(history)), all_examples=examples)
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(page_html, encoding="utf-8")
    return path


def test_report_renders_with_hostile_outputs_inert(browser: Browser, report_path: Path, tmp_path: Path) -> None:
    with _visit(browser, report_path) as visit:
        visit.assert_inert()
        page = visit.page
        assert page.locator("#metrics table").is_visible()
        assert page.locator("#metrics tbody tr").count() == len(f.report().metrics)
        assert page.locator("#gates table").is_visible()
        assert page.locator("#gates tbody tr").count() == 3
        assert page.locator("#gates tbody tr.fail").count() == 1
        visit.assert_charts(4)
        # The hostile outputs are on the page as text, not dropped.
        worst = page.locator("#worst").inner_text()
        everything = page.locator("#all-outputs").inner_text()
        assert "<script>window.__pwned=1</script>" in worst
        assert '<img src=x onerror="window.__pwned=2">' in worst
        assert "\\u202e" in everything  # the bidi override is shown, not obeyed
        _screenshot(visit, tmp_path / "report.png", REPORT_SCREENSHOT)


def test_dashboard_renders_across_configs(browser: Browser, tmp_path: Path) -> None:
    hostile = '<img src=x onerror="window.__pwned=7">'
    history = pl.concat(
        [
            trend_history(),
            trend_history(days=3, configs={hostile: (["contains"], [], [hostile, "$x^2$ & <b>bold</b>"])}),
        ]
    )
    runs = pl.concat(
        [
            latest_runs(gates_failed=[2, 0]),
            latest_runs(gates_failed=[0, 0]).head(1).with_columns(config_name=pl.lit(hostile)),
        ]
    )
    path = tmp_path / "dashboard.html"
    path.write_text(render_dashboard(history, latest_runs=runs, generated_at="2025-03-14 06:00 UTC"), encoding="utf-8")

    with _visit(browser, path) as visit:
        visit.assert_inert()
        page = visit.page
        rows = page.locator("#latest tbody tr")
        assert rows.count() == 3
        assert rows.locator("a").evaluate_all("links => links.map((a) => a.getAttribute('href'))") == [
            "2025-03-14/%3Cimg%20src%3Dx%20onerror%3D%22window.__pwned%3D7%22%3E/report.html",
            "2025-03-12/nightly-math/report.html",
            "2025-03-14/nightly-qa/report.html",
        ]
        visit.assert_charts(4)
        # plotly shows the escaped name as typed.
        trends = page.locator("#trends").inner_text()
        assert hostile in trends, [line for line in trends.splitlines() if "img" in line]
        _screenshot(visit, tmp_path / "dashboard.png", DASHBOARD_SCREENSHOT)


#: Where a page found its scripts: only the shared chart library may come from a file.
_SCRIPT_FILES = "() => [...document.scripts].filter((s) => s.src).map((s) => s.src)"


def test_issue8_20_charts_render_from_the_one_shared_plotly_with_the_network_blocked(
    browser: Browser, tmp_path: Path
) -> None:
    from eval_assets_tests.reporting.test_publish import frames

    # A hostile output that names the shared file: it is text, and 'self' in the CSP gives it nothing.
    hostile = [f'<script src="../../_assets/{plotly_bundle_name()}"></script>', *HOSTILE_OUTPUTS[:-1]]
    examples = [
        f.example(f"hostile-{index}", input_text=text, output_text=text, reference=[text], detail=text)
        for index, text in enumerate(hostile)
    ]
    examples += [f.example(f"q{i:04d}", passed=True, score=1.0) for i in range(130)]  # pages, not inline
    summary = f.summary(run_id="run-7")
    runs = RunsFolder(tmp_path / "runs")
    folder = runs.run(summary.eval_date, summary.config_name)
    publish_report(
        folder,
        f.report(summary=summary, worst=examples[:6]),
        all_examples=examples,
        history=trend_history().filter(pl.col("config_name") == "nightly-qa"),
        outputs=OutputsDocument(summary, *frames(3)),
        links=Links(),
    )
    bundle = (runs.assets / plotly_bundle_name()).resolve()
    assert folder.report_html.stat().st_size < 300_000  # 4.8 MB when plotly.js was inlined

    with _visit(browser, folder.report_html) as visit:
        visit.assert_inert()  # nothing but local files was requested; no CSP violation
        visit.assert_charts(4)
        assert visit.page.evaluate(_SCRIPT_FILES) == [bundle.as_uri()]
        assert "<script src=" in visit.page.locator("#worst").inner_text()  # shown as text
        links = visit.page.locator("#all-outputs a").evaluate_all("as => as.map((a) => a.getAttribute('href'))")
        assert links == ["examples/0001.html"]  # up to 500 examples a page

    with _visit(browser, folder.examples_page(1), charts=False) as visit:
        visit.assert_inert()
        assert visit.page.evaluate(_SCRIPT_FILES) == []
        assert visit.page.locator("article.example").count() == len(examples)
        assert "<script>window.__pwned=1</script>" in visit.page.locator("#all-outputs").inner_text()

    write_plotly_bundle(runs.assets)
    runs.dashboard.write_text(
        render_dashboard(
            trend_history(),
            latest_runs=latest_runs(gates_failed=[1, 0]),
            generated_at="now",
            plotly_src=f"_assets/{plotly_bundle_name()}",
        ),
        encoding="utf-8",
    )
    with _visit(browser, runs.dashboard) as visit:
        visit.assert_inert()
        visit.assert_charts(4)
        assert visit.page.evaluate(_SCRIPT_FILES) == [bundle.as_uri()]
