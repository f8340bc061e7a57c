"""A local HTTP endpoint that records webhook POSTs, with injectable failures (for notification tests).

Usage::

    with WebhookReceiver() as hook:
        send(alert, targets, environ={"HOOK_URL": hook.url})
        hook.received[0]["body"]        # parsed JSON (None if the body was not JSON)
        hook.received[0]["headers"]     # {"Content-Type": "application/json", ...}
        hook.fail_next(2, status=503)   # the next two requests get 503 and are not recorded
        hook.attempts                   # every request seen, failed ones included

It listens on 127.0.0.1 only, on a free port, and shuts its thread and socket down on exit.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from types import TracebackType
from typing import Any


class WebhookReceiver:
    """Records JSON POSTs to any path; answers 200 unless told to fail.

    Attributes:
        received: Successful requests in arrival order, each ``{"path", "headers", "body", "raw"}``.
        attempts: Number of requests seen, failed ones included.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self._lock = threading.Lock()
        self._failures: list[int] = []
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Base URL of the receiver, e.g. ``http://127.0.0.1:54321/hook``."""
        if self._server is None:
            raise RuntimeError("WebhookReceiver is not running: use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/hook"

    def fail_next(self, n: int, status: int = 500) -> None:
        """Answer the next ``n`` requests with ``status`` (not recorded in ``received``)."""
        with self._lock:
            self._failures.extend([status] * n)

    def wait_for(self, count: int, timeout_s: float = 5.0) -> list[dict[str, Any]]:
        """Wait until at least ``count`` requests were received (for senders running in another thread)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.01)
        raise TimeoutError(f"expected {count} webhook requests, got {len(self.received)} in {timeout_s}s")

    def _handle(self, path: str, headers: dict[str, str], raw: bytes) -> int:
        with self._lock:
            self.attempts += 1
            if self._failures:
                return self._failures.pop(0)
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = None
            self.received.append({"path": path, "headers": headers, "body": body, "raw": raw})
            return 200

    def __enter__(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                # Read the whole body even when failing: closing with unread data would reset the
                # connection, and the client would see a connection error instead of the status.
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver._handle(self.path, dict(self.headers.items()), raw)
                reply = b'{"ok": true}' if status < 300 else b'{"ok": false, "error": "injected failure"}'
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output clean

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="webhook-receiver", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None
