"""Issue 10, items 2 and 3: the review page's routes over a real DuckDB warehouse (Starlette's test client).

The security rules (token on every request, CSRF on every POST, loopback host names) and the decision flow
(a POST records the decision with its history, then serves the next open task).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    # Starlette 1.10 asks for httpx2 behind its test client; httpx (installed with litellm) still works the same.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from eval_assets import warehouse as wh
from eval_assets.review.web.app import ReviewSettings, create_app
from eval_assets.review.web.security import AccessPolicy
from eval_assets_tests.warehouse.test_review import NIGHT, task, write_night

TOKEN = "a-review-token-long-enough"
LOCAL = "http://127.0.0.1:8765"


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "w.duckdb"
    with wh.connect(path) as conn:
        wh.ensure_schema(conn)
        hostile = {**task("c"), "detail": "<script>window.__pwned=1</script>", "rank": 3}
        write_night(conn, [task("a"), {**task("b"), "rank": 2}, hostile])
    return path


def client(data_dir: Path, warehouse: Path, *, token: str | None = None, local: bool = True, **kw: str) -> TestClient:
    settings = ReviewSettings(
        data_dir=data_dir,
        warehouse=wh.parse_location(warehouse),
        policy=AccessPolicy(token=token, local_only=local),
        reviewer=kw.get("reviewer", ""),
    )
    return TestClient(create_app(settings), base_url=kw.get("base_url", LOCAL), follow_redirects=False)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "every page carries the CSRF token"
    return found.group(1)


@pytest.fixture
def local(data_dir: Path, warehouse: Path) -> Iterator[TestClient]:
    with client(data_dir, warehouse, reviewer="ana") as c:
        yield c


def test_the_queue_lists_filters_and_counts_with_model_text_inert(local: TestClient) -> None:
    page = local.get("/")
    assert page.status_code == 200
    assert page.text.count('class="status-open"') == 3
    assert "<script>window.__pwned" not in page.text and "&lt;script&gt;window.__pwned" in page.text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'value="faithfulness" selected' not in page.text
    filtered = local.get("/", params={"scorer": "faithfulness", "reason": "judge_conflict", "date": NIGHT.isoformat()})
    assert filtered.status_code == 200 and "3 tasks match" in filtered.text


def test_a_post_without_the_csrf_token_is_refused(local: TestClient, warehouse: Path) -> None:
    tid = task("a")["task_id"]
    local.get("/")  # the session cookie
    assert local.post(f"/task/{tid}/decide", data={"decision": "agree"}).status_code == 403
    assert local.post(f"/task/{tid}/decide", data={"decision": "agree", "csrf": "0" * 64}).status_code == 403
    assert local.post("/reviewer", data={"reviewer": "mallory"}).status_code == 403
    # A token from another session (another browser) does not do either.
    other = TestClient(local.app, base_url=LOCAL)
    stolen = csrf_of(other.get("/").text)
    assert local.post(f"/task/{tid}/decide", data={"decision": "agree", "csrf": stolen}).status_code == 403
    with wh.connect(warehouse, read_only=True) as conn:
        assert wh.decisions(conn).is_empty()


def test_deciding_records_who_when_and_the_history_then_serves_the_next_open_task(
    local: TestClient, warehouse: Path
) -> None:
    first, second = task("a")["task_id"], task("b")["task_id"]
    view = local.get(f"/task/{first}?status=open")
    assert view.status_code == 200 and "Agree with the evaluator (2)" in view.text  # 0.25 on the rubric's 1-5
    token = csrf_of(view.text)
    agreed = local.post(f"/task/{first}/decide?status=open", data={"decision": "agree", "csrf": token})
    assert agreed.status_code == 303 and agreed.headers["location"] == f"/task/{second}?status=open"
    bad = local.post(f"/task/{first}/decide", data={"decision": "override", "score": "9", "note": "n", "csrf": token})
    assert bad.status_code == 400 and "off the scale [1, 5]" in bad.text
    changed = local.post(
        f"/task/{first}/decide", data={"decision": "override", "score": "5", "note": "it is right", "csrf": token}
    )
    assert changed.status_code == 303
    with wh.connect(warehouse, read_only=True) as conn:
        history = wh.decisions(conn)
    assert history.select("decision", "reviewer", "score", "raw_score").rows() == [
        ("agree", "ana", 0.25, None),
        ("override", "ana", 1.0, 5.0),
    ]
    assert history.get_column("previous_decision").to_list() == [None, "agree"]
    assert history.get_column("previous_score").to_list() == [0.25, 0.25]
    page = local.get(f"/task/{first}").text
    assert "override the score" in page and "it is right" in page  # the task's own decision history
    assert "1 decided" in local.get("/").text.replace("</span>", "").replace('<span class="pill decided">', "")


def test_the_last_open_task_leads_back_to_the_queue(local: TestClient) -> None:
    token = csrf_of(local.get("/").text)
    for name in ("a", "b", "c"):
        done = local.post(f"/task/{task(name)['task_id']}/decide", data={"decision": "ambiguous", "csrf": token})
    assert done.headers["location"].startswith("/?") and "done=1" in done.headers["location"]


def test_a_reviewer_name_is_remembered_in_a_cookie_and_required_to_decide(data_dir: Path, warehouse: Path) -> None:
    with client(data_dir, warehouse) as nobody:
        token = csrf_of(nobody.get("/").text)
        tid = task("a")["task_id"]
        refused = nobody.post(f"/task/{tid}/decide", data={"decision": "agree", "csrf": token})
        assert refused.status_code == 400 and "say who you are" in refused.text
        saved = nobody.post("/reviewer", data={"reviewer": "bo", "back": "//evil.example/", "csrf": token})
        assert saved.status_code == 303 and saved.headers["location"] == "/"  # no open redirect
        assert nobody.post(f"/task/{tid}/decide", data={"decision": "agree", "csrf": token}).status_code == 303
        assert "bo (you)" in nobody.get("/").text


def test_a_token_bind_refuses_every_request_without_the_token(data_dir: Path, warehouse: Path) -> None:
    with client(data_dir, warehouse, token=TOKEN, local=False, base_url="http://reviews.example:8765") as remote:
        for path in ("/", f"/task/{task('a')['task_id']}", "/static/review.css", "/favicon.ico", "/nope"):
            assert remote.get(path).status_code == 401, path
        assert remote.post("/reviewer", data={"reviewer": "x"}).status_code == 401
        assert remote.get("/", params={"token": "wrong"}).status_code == 401
        assert remote.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        login = remote.get("/", params={"token": TOKEN, "status": "all"})
        assert login.status_code == 303 and login.headers["location"] == "/?status=all"  # the token leaves the URL
        assert TOKEN not in login.headers["set-cookie"]
        assert remote.get("/").status_code == 200  # the login cookie now


def test_a_local_page_refuses_requests_naming_another_host(data_dir: Path, warehouse: Path) -> None:
    with client(data_dir, warehouse, base_url="http://rebound.example:8765") as rebound:
        assert rebound.get("/").status_code == 403


def test_no_page_shows_the_warehouse_or_data_directory_path(local: TestClient, data_dir: Path, warehouse: Path) -> None:
    pages = [local.get("/").text, local.get(f"/task/{task('a')['task_id']}").text, local.get("/task/nope").text]
    for text in pages:
        assert str(warehouse.parent) not in text and str(data_dir) not in text


def test_an_unknown_task_is_a_404(local: TestClient) -> None:
    assert local.get("/task/nope").status_code == 404


def test_the_templates_and_static_files_ship_as_package_data() -> None:
    import fnmatch
    import tomllib

    import eval_assets

    root = Path(eval_assets.__file__).parent
    globs = tomllib.loads((root.parent / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    files = [
        p.relative_to(root).as_posix()
        for p in (root / "review" / "web").rglob("*")
        if p.suffix in {".html", ".css", ".js"}
    ]
    assert len(files) >= 5
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in globs["eval_assets"]), name


def test_a_locked_plain_warehouse_is_a_503_that_names_no_path(data_dir: Path, warehouse: Path) -> None:
    import subprocess
    import sys

    settings = ReviewSettings(
        data_dir=data_dir, warehouse=wh.parse_location(warehouse), policy=AccessPolicy(None, True), wait_s=0.3
    )
    script = f"import duckdb, time; c = duckdb.connect({str(warehouse)!r}); print('held', flush=True); time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with TestClient(create_app(settings), base_url=LOCAL) as busy:
                answer = busy.get("/")
            assert answer.status_code == 503 and "locked by another process" in answer.text
            assert str(warehouse) not in answer.text
        finally:
            holder.kill()


def test_the_reviewer_form_only_sends_the_browser_back_to_this_page(local: TestClient) -> None:
    token = csrf_of(local.get("/").text)
    for back, where in (("/task/x?status=open", "/task/x?status=open"), ("/\\evil.example", "/"), ("https://e.x", "/")):
        answer = local.post("/reviewer", data={"reviewer": "ana", "back": back, "csrf": token})
        assert answer.headers["location"] == where, back
