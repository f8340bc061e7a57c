"""``eval-assets review serve``: the review page, on 127.0.0.1 unless a token protects another address."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from eval_assets.outcome import EXIT_OK, UsageError
from eval_assets.settings import Settings

REVIEWER_VARIABLE = "EVAL_ASSETS_REVIEWER"


def add_parser(actions: Any) -> None:
    """Register ``review serve`` under ``review``'s actions."""
    from eval_assets.review.web.security import TOKEN_VARIABLE

    serve = actions.add_parser(
        "serve",
        help="the review page in a browser (127.0.0.1:8765; any other host needs a token)",
        description="Serve the review page: the queue with filters and counts, each task with everything a "
        f"reviewer needs, keyboard shortcuts. Any host but 127.0.0.1 / localhost needs ${TOKEN_VARIABLE}.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    serve.add_argument(
        "--reviewer", help=f"default reviewer name (default: ${REVIEWER_VARIABLE}; the page remembers one)"
    )
    serve.add_argument("--secure-cookies", action="store_true", help="mark cookies Secure (when served behind HTTPS)")
    serve.set_defaults(needs="warehouse", handler=cmd_serve)


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Check the bind and the token, then serve until interrupted."""
    from eval_assets.review.web.security import TOKEN_VARIABLE, AccessPolicy, BindRefusedError, check_bind, is_loopback

    try:
        token = check_bind(args.host, os.environ.get(TOKEN_VARIABLE))
    except BindRefusedError as exc:
        raise UsageError(str(exc)) from None
    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a TCP port (1-65535)")
    if not settings.warehouse_path.exists():
        raise UsageError(f"no warehouse at {settings.warehouse_path}: run `eval-assets run` first")
    import uvicorn

    from eval_assets.review.web.app import ReviewSettings, create_app

    app = create_app(
        ReviewSettings(
            data_dir=settings.data_dir,
            warehouse=settings.warehouse_path,
            policy=AccessPolicy(token=token, local_only=is_loopback(args.host)),
            reviewer=(args.reviewer or os.environ.get(REVIEWER_VARIABLE, "")).strip(),
            secure_cookies=args.secure_cookies,
        )
    )
    shown = f"[{args.host}]" if ":" in args.host else args.host
    login = "?token=<the token>" if token else ""
    print(f"review page: http://{shown}:{args.port}/{login}  (Ctrl+C stops)", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", server_header=False, proxy_headers=False)
    return EXIT_OK
