"""Issue 10, "done means": the review page as people get it, a real server over the default DuckLake.

A real offline night makes the tasks; ``eval-assets review serve`` runs in a subprocess. People decide in
headless Chromium with the keyboard, and decisions posted through the page while ``eval-assets run`` writes
the same warehouse all land, and so does the run.
"""

from __future__ import annotations

import datetime as dt
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from eval_assets import warehouse as wh
from eval_assets_tests.conftest import REPO_DATA
from eval_assets_tests.helpers import edit_config, limit_datasets
from eval_assets_tests.reporting.test_browser import CHROMIUM, CHROMIUM_ARGS, _missing

pytestmark = pytest.mark.slow

NIGHT, NEXT_NIGHT = "2026-11-05", "2026-11-06"
SCREENSHOT_COPY = Path("/work/shared/notes/review-page.png")
TOKEN = "a-review-token-long-enough"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory whose default DuckLake holds one offline night with review tasks."""
    root = tmp_path_factory.mktemp("review-page")
    data = root / "data"
    for folder in ("configs", "datasets", "prompts"):
        shutil.copytree(REPO_DATA / folder, data / folder)
    limit_datasets(data, "nightly", 6)
    edit_config(data, "nightly", review={"calibration_rate": 1.0})  # every judge verdict is a task
    result = subprocess.run(
        [sys.executable, "-m", "eval_assets.cli", "run", "--config", "nightly", "--date", NIGHT, "--quiet"],
        env=environment(root),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return root


def environment(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EVAL_ASSETS_", "DAGSTER_HOME"))}
    return {**env, "EVAL_ASSETS_DATA_DIR": str(root / "data"), "LITELLM_LOCAL_MODEL_COST_MAP": "True", **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def server(root: Path, *args: str, host: str = "127.0.0.1", token: str | None = None) -> Iterator[str]:
    """``eval-assets review serve`` in a subprocess; yields its base URL once it answers."""
    port = free_port()
    extra = {"EVAL_ASSETS_REVIEW_TOKEN": token} if token else {}
    command = [sys.executable, "-m", "eval_assets.cli", "review", "serve", "--host", host, "--port", str(port), *args]
    with subprocess.Popen(command, env=environment(root, **extra), stderr=subprocess.PIPE, text=True) as process:
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    headers = {"Authorization": f"Bearer {token}"} if token else {}
                    with urllib.request.urlopen(urllib.request.Request(base + "/", headers=headers), timeout=30):
                        break
                except (urllib.error.URLError, ConnectionError):
                    assert time.monotonic() < deadline, "the review server did not start"
                    time.sleep(0.3)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


class Reviewer:
    """A person posting decisions through the page's HTTP endpoints (cookies and CSRF token as a browser)."""

    def __init__(self, base: str, name: str) -> None:
        self.base, self.name = base, name
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=120) as response:
            return str(response.read().decode("utf-8"))

    def decide(self, task: str, decision: str, **fields: str) -> int:
        page = self.get(f"/task/{task}")
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page)
        assert csrf is not None
        body = urllib.parse.urlencode({"decision": decision, "reviewer": self.name, "csrf": csrf.group(1), **fields})
        try:
            with self.opener.open(self.base + f"/task/{task}/decide", body.encode(), timeout=120) as response:
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 303 after a decision is the answer itself


def open_tasks(root: Path) -> list[str]:
    with wh.connect(wh.default_setting(root / "data"), read_only=True) as conn:
        return wh.review_queue(conn, eval_date=dt.date.fromisoformat(NIGHT), status="open")["task_id"].to_list()


def test_decisions_posted_while_a_nightly_run_writes_the_same_lake_all_land(project: Path) -> None:
    tasks = open_tasks(project)[:6]
    assert len(tasks) == 6
    with server(project) as base:
        person = Reviewer(base, "ana")
        run = subprocess.Popen(
            [sys.executable, "-m", "eval_assets.cli", "run", "--config", "nightly", "--date", NEXT_NIGHT, "--quiet"],
            env=environment(project),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        during = 0
        statuses = []
        time.sleep(3)  # into the run's start-up; its stages write throughout the next half minute or more
        for index, task in enumerate(tasks):
            during += run.poll() is None
            statuses.append(person.decide(task, "ambiguous" if index % 2 else "skip", note=f"decision {index}"))
        _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err[-3000:]
    assert statuses == [303] * 6
    assert during >= 3, "the decisions were meant to overlap the run"
    with wh.connect(wh.default_setting(project / "data"), read_only=True) as conn:
        stored = wh.decisions(conn)
        assert wh.count_partition(conn, "review_tasks", dt.date.fromisoformat(NEXT_NIGHT), "nightly") > 0
    mine = stored.filter(stored["note"].str.starts_with("decision "))
    assert sorted(mine["task_id"].to_list()) == sorted(tasks)
    assert set(mine["reviewer"].to_list()) == {"ana"}


def test_a_non_local_bind_with_a_token_refuses_requests_without_it(project: Path) -> None:
    with server(project, host="0.0.0.0", token=TOKEN) as base:
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(base + "/", timeout=60)
        refused.value.close()
        assert refused.value.code == 401
        with pytest.raises(urllib.error.HTTPError) as forged:
            urllib.request.urlopen(base + "/reviewer", data=b"reviewer=x", timeout=60)
        forged.value.close()
        assert forged.value.code == 401


@pytest.mark.browser
def test_a_reviewer_filters_decides_three_tasks_with_the_keyboard_and_sees_them_after_a_reload(
    project: Path, tmp_path: Path
) -> None:
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI", "").lower() in ("true", "1"):
            pytest.fail(f"browser tests cannot run in CI: {missing}")
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with server(project, "--reviewer", "pw") as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.on("request", lambda r: None if r.url.startswith(base) else problems.append(f"request {r.url}"))
            page.goto(base + "/")
            page.select_option("select[name=scorer]", "tone")  # the filter submits itself
            page.wait_for_url(re.compile(r"scorer=tone"))
            rows = page.locator("#queue tbody tr")
            assert rows.count() >= 3
            assert set(rows.locator("td:nth-child(6)").all_inner_texts()) == {"tone"}
            page.keyboard.press("Enter")  # the first open task
            page.wait_for_selector("h1")
            shot = tmp_path / "review-task.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            SCREENSHOT_COPY.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT_COPY)
            decided = []
            decided.append(page.url.split("/task/")[1].split("?")[0])
            page.keyboard.press("a")  # agree
            page.wait_for_url(lambda url: decided[-1] not in url)
            decided.append(page.url.split("/task/")[1].split("?")[0])
            page.keyboard.press("m")  # ambiguous
            page.wait_for_url(lambda url: decided[-1] not in url)
            decided.append(page.url.split("/task/")[1].split("?")[0])
            page.keyboard.press("o")  # override: the score has focus
            page.keyboard.press("1")
            page.keyboard.press("Enter")  # on to the note
            page.keyboard.type("rude to the customer")
            page.keyboard.press("Enter")
            page.wait_for_url(lambda url: decided[-1] not in url)
            page.goto(base + "/?scorer=tone&status=all")
            page.reload()
            for task, label in zip(
                decided, ("agree with the evaluator", "ambiguous", "override the score"), strict=True
            ):
                row = page.locator(f'tr[data-task="{task}"]')
                assert row.locator(".pill").inner_text() == "decided"
                assert label in row.inner_text()
            assert "pw (you)" in page.locator(".progress").inner_text()
            assert problems == []
        finally:
            browser.close()
    with wh.connect(wh.default_setting(project / "data"), read_only=True) as conn:
        stored = wh.decisions(conn).filter(wh.decisions(conn)["reviewer"] == "pw")
    assert stored.select("task_id", "decision").rows() == list(
        zip(decided, ("agree", "ambiguous", "override"), strict=True)
    )
    assert stored["raw_score"].to_list()[2] == 1.0 and stored["note"].to_list()[2] == "rude to the customer"
