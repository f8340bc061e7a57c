"""The review page's Starlette app: routes, templates, and the access rules applied to every request.

Thin on purpose: each route opens the warehouse for the request (a plain DuckDB file is never held between
requests, so a nightly run can write), calls the queries of ``eval_assets.warehouse.review``, builds a view
model with ``eval_assets.review.page`` / ``task_page`` and renders a template. Nothing here writes SQL.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import jinja2
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from eval_assets import warehouse as wh
from eval_assets.errors import InvalidInputError
from eval_assets.review.decisions import DecisionError
from eval_assets.review.page import SHORTCUTS, Filters, matching, next_task, proposed_decision, queue_view
from eval_assets.review.scales import ScorerScale, scale_in
from eval_assets.review.task_page import task_view
from eval_assets.review.web.security import (
    CSRF_FIELD,
    SESSION_COOKIE,
    TOKEN_COOKIE,
    AccessPolicy,
    new_session,
    token_cookie_value as _cookie_of,
)

HERE = Path(__file__).parent
REVIEWER_COOKIE = "review_reviewer"
#: Most tasks the queue lists at once (the counts cover all of them).
QUEUE_PAGE = 200
#: A form bigger than this is refused: a decision is a few fields.
MAX_BODY_BYTES = 256 * 1024
SECURITY_HEADERS = {
    # Only the page's own stylesheet and script; no inline script, no frames, forms post only here.
    "content-security-policy": "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}
T = TypeVar("T")
#: Where a form may send the browser back to: a path of this page ("//host" or "/\\host" would leave it).
_LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9_\-./?=&%]*")


@dataclass(frozen=True)
class ReviewSettings:
    """What one review server needs.

    Attributes:
        data_dir: The data directory (configs and rubrics: the scale of an override, the system prompt).
        warehouse: Where the warehouse lives.
        policy: Who may use the page.
        reviewer: The default reviewer name (a name entered on the page, kept in a cookie, wins).
        secure_cookies: Mark cookies ``Secure`` (served behind HTTPS).
        wait_s: How long a request waits for a run holding a plain DuckDB warehouse.
    """

    data_dir: Path
    warehouse: wh.WarehouseLocation
    policy: AccessPolicy
    reviewer: str = ""
    secure_cookies: bool = False
    wait_s: float = 30.0


def create_app(settings: ReviewSettings) -> Starlette:
    """The review page over ``settings.warehouse``."""
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        autoescape=True,  # every value is escaped: model output cannot become markup
        undefined=jinja2.StrictUndefined,
    )
    lock = threading.Lock()  # one request at a time talks to the warehouse: a reviewer's page, not a service

    @contextmanager
    def warehouse() -> Iterator[duckdb.DuckDBPyConnection]:
        with lock, wh.open_for_decisions(settings.warehouse, wait_s=settings.wait_s) as conn:
            yield conn

    async def in_thread(work: Callable[[], T]) -> T:
        return await run_in_threadpool(work)

    def page(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(name).render(
            csrf=settings.policy.csrf_token(request.state.session),
            csrf_field=CSRF_FIELD,
            reviewer=reviewer_of(request),
            shortcuts=SHORTCUTS,
            **values,
        )
        return HTMLResponse(html, status_code=status)

    def reviewer_of(request: Request) -> str:
        return request.cookies.get(REVIEWER_COOKIE, "").strip() or settings.reviewer

    async def queue(request: Request) -> Response:
        filters = Filters.from_query(request.query_params)

        def read() -> Any:
            with warehouse() as conn:
                rows = wh.review_queue(conn, **filters.queue_arguments(), limit=QUEUE_PAGE)
                counts = wh.queue_counts(conn)
                progress = wh.reviewer_progress(conn, today=dt.datetime.now(dt.UTC).date())
            return rows, counts, progress

        rows, counts, progress = await in_thread(read)
        total = matching(counts, filters)
        view = queue_view(rows, counts, progress, filters, reviewer=reviewer_of(request), total=total)
        return page(request, "queue.html", view=view, done=request.query_params.get("done") == "1")

    async def task(request: Request) -> Response:
        return await show_task(request, request.path_params["task_id"])

    async def show_task(request: Request, task_id: str, *, error: str = "", status: int = 200) -> Response:
        filters = Filters.from_query(request.query_params)

        def read() -> Any:
            with warehouse() as conn:
                found = wh.task_by_id(conn, task_id)
                if found is None:
                    return None
                order = wh.review_queue(conn, **filters.queue_arguments()).get_column("task_id").to_list()
                return found, wh.task_context(conn, found), order

        loaded = await in_thread(read)
        if loaded is None:
            return PlainTextResponse(f"no review task {task_id!r}", status_code=404)
        found, context, order = loaded
        scale, system_prompt, config_error = _config_facts(settings.data_dir, found)
        view = task_view(found, context, scale=scale, system_prompt=system_prompt, order=order)
        return page(
            request, "task.html", status, view=view, filters=filters, error=error or config_error, query=filters.query()
        )

    async def decide(request: Request) -> Response:
        task_id = request.path_params["task_id"]
        form = request.state.form
        filters = Filters.from_query(request.query_params)
        reviewer = reviewer_of(request) or form.get("reviewer", "").strip()
        found = await in_thread(lambda: _read(warehouse, lambda conn: wh.task_by_id(conn, task_id)))
        if found is None:
            return PlainTextResponse(f"no review task {task_id!r}", status_code=404)
        scale, _, _ = _config_facts(settings.data_dir, found)
        try:
            if not reviewer:
                raise DecisionError("say who you are first: enter your name at the top of the page")
            proposed = proposed_decision(form, reviewer=reviewer, task=found, scale=scale)
        except DecisionError as exc:
            return await show_task(request, task_id, error=str(exc), status=400)
        new = wh.NewDecision(
            proposed.decision,
            proposed.reviewer,
            proposed.score,
            proposed.raw_score,
            proposed.proposed_reference,
            proposed.note,
        )

        def write() -> str | None:
            with warehouse() as conn:
                wh.record_decision(conn, found, new)
                listed = wh.review_queue(conn, **{**filters.queue_arguments(), "status": None})
            return next_task(list(listed.select("task_id", "status").iter_rows()), task_id)

        following = await in_thread(write)
        response = _redirect(f"/task/{following}" if following else "/", filters, done=following is None)
        if form.get("reviewer", "").strip() and not request.cookies.get(REVIEWER_COOKIE):
            _set_cookie(response, REVIEWER_COOKIE, form["reviewer"].strip(), settings, http_only=True)
        return response

    async def set_reviewer(request: Request) -> Response:
        name = request.state.form.get("reviewer", "").strip()[:100]
        back = request.state.form.get("back", "/")
        response = RedirectResponse(back if _LOCAL_PATH.fullmatch(back) else "/", 303)
        if name:
            _set_cookie(response, REVIEWER_COOKIE, name, settings, http_only=True)
        else:
            response.delete_cookie(REVIEWER_COOKIE)
        return response

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # browsers ask for one; a 404 would be noise in the console

    routes = [
        Route("/", queue, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        Route("/task/{task_id:str}", task, methods=["GET"]),
        Route("/task/{task_id:str}/decide", decide, methods=["POST"]),
        Route("/reviewer", set_reviewer, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=HERE / "static"), name="static"),
    ]

    async def busy(request: Request, exc: Exception) -> Response:
        # The message names no path: the page shows nothing of the machine's file system.
        text = "the warehouse is locked by another process (a nightly run?): try again in a moment"
        return _headers(PlainTextResponse(text, status_code=503, headers={"retry-after": "5"}))

    return Starlette(
        routes=routes,
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=_guard(settings))],
        exception_handlers={wh.WarehouseBusyError: busy},
    )


def _read(
    warehouse: Callable[[], Any], query: Callable[[duckdb.DuckDBPyConnection], T]
) -> T:  # a query on a connection of its own
    with warehouse() as conn:
        result: T = query(conn)
    return result


def _guard(
    settings: ReviewSettings,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    """The checks every request passes: the token, the session cookie, CSRF on POST; security headers out."""
    policy = settings.policy

    async def dispatch(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        offered = request.query_params.get("token")
        if offered is not None and policy.token is not None:
            if not policy.login(offered):
                return _headers(PlainTextResponse("wrong token", status_code=401))
            # Log in, then drop the token from the address bar (and from the history).
            rest = urllib.parse.urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "token"])
            login = RedirectResponse(request.url.path + (f"?{rest}" if rest else ""), 303)
            _set_cookie(login, TOKEN_COOKIE, _cookie_of(policy.token), settings, http_only=True)
            return _headers(login)
        verdict = policy.admit(
            host_header=request.headers.get("host", ""),
            headers={k.lower(): v for k, v in request.headers.items()},
            cookies=request.cookies,
        )
        if not verdict.allowed:
            return _headers(PlainTextResponse(verdict.reason, status_code=verdict.status))
        session = request.cookies.get(SESSION_COOKIE)
        request.state.session = session or new_session()
        if request.method == "POST":
            body = await request.body()
            if len(body) > MAX_BODY_BYTES:
                return _headers(PlainTextResponse("form too large", status_code=413))
            form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if not policy.check_csrf(session, form.get(CSRF_FIELD)):
                return _headers(PlainTextResponse("missing or stale CSRF token: reload the page", status_code=403))
            request.state.form = form
        response = await call_next(request)
        if session is None:
            _set_cookie(response, SESSION_COOKIE, request.state.session, settings, http_only=True)
        return _headers(response)

    return dispatch


def _headers(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


def _set_cookie(response: Response, name: str, value: str, settings: ReviewSettings, *, http_only: bool) -> None:
    response.set_cookie(
        name, value, httponly=http_only, samesite="strict", secure=settings.secure_cookies, max_age=30 * 86400
    )


def _redirect(path: str, filters: Filters, *, done: bool) -> RedirectResponse:
    query = filters.query() + ("&done=1" if done else "")
    return RedirectResponse(f"{path}?{query}", status_code=303)


def _config_facts(data_dir: Path, task: dict[str, Any]) -> tuple[ScorerScale | None, str | None, str]:
    """The scorer's scale and the config's system prompt, or why they cannot be read (no path shown)."""
    from eval_assets.project import load_named_config

    try:
        config = load_named_config(data_dir, task["config_name"]).config
        return scale_in(config, data_dir, task["scorer"]), config.model.system_prompt, ""
    except InvalidInputError:
        return None, None, f"the config {task['config_name']} cannot be read now: run `eval-assets validate`"
