"""The shell of every HTML page we write, and its building blocks for untrusted text (pure).

Every string that reaches a page is untrusted unless a renderer says otherwise: it is cleaned
(:mod:`eval_assets.reporting.sanitize`) then passed through ``html.escape(..., quote=True)``, and shown
in ``dir="ltr"`` elements whose CSS isolates their bidi direction. Pages load nothing from the network
and carry a Content-Security-Policy. The stylesheet is one package file (``report.css``), inlined so a
page opens from a file on its own.
"""

from __future__ import annotations

import functools
import html
import importlib.resources
import urllib.parse
from collections.abc import Iterable, Sequence

from eval_assets.reporting.sanitize import CELL_LIMIT, cell_text, clean_text

#: No network, no plugins, no forms. Scripts: the trusted chart code inline, and the one shared copy of the
#: chart library (``'self'``: a file beside the page, e.g. ``../../_assets/plotly-<version>.min.js``; for
#: a page opened from disk, a file on disk). Content is escaped, so no script of a model's can get in.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'unsafe-inline' 'self'; "
    "base-uri 'none'; form-action 'none'"
)


@functools.cache
def stylesheet() -> str:
    """The package's stylesheet (``eval_assets/reporting/report.css``), read once."""
    return importlib.resources.files("eval_assets.reporting").joinpath("report.css").read_text(encoding="utf-8")


def html_page(*, title: str, body: Sequence[str], css: str | None = None) -> str:
    """A self-contained page under our Content-Security-Policy: the one shell every HTML output uses.

    Args:
        title: Untrusted title text (escaped here).
        body: Trusted HTML fragments; empty ones are skipped.
        css: The stylesheet; default :func:`stylesheet`.
    """
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en" dir="ltr">',
            "<head>",
            '<meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">',
            '<meta name="referrer" content="no-referrer">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{esc(title)}</title>",
            f"<style>{stylesheet() if css is None else css}</style>",
            "</head>",
            "<body>",
            *(part for part in body if part),
            "</body>",
            "</html>",
            "",
        ]
    )


def esc(text: str) -> str:
    """HTML-escape, quotes included (safe in attributes)."""
    return html.escape(text, quote=True)


def text(value: str | None, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text, cleaned to one line, escaped and direction-isolated."""
    return f'<span class="u" dir="ltr">{esc(cell_text(value, limit=limit))}</span>'


def code(value: str | None, *, limit: int = CELL_LIMIT) -> str:
    """Untrusted text as inline code."""
    return f'<code class="u" dir="ltr">{esc(cell_text(value, limit=limit))}</code>'


def pre(value: str, *, limit: int) -> str:
    """Untrusted multi-line text as a preformatted block."""
    return f'<pre class="u" dir="ltr">{esc(clean_text(value, limit=limit))}</pre>'


def table(header: Iterable[tuple[str, bool]], rows: Iterable[str]) -> str:
    """A table from trusted header cells ``(html, numeric)`` and trusted ``<tr>`` rows."""
    head = "".join(f'<th class="num">{h}</th>' if num else f"<th>{h}</th>" for h, num in header)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>"


def status_class(severity: str | None, failed: bool) -> str:
    """``pass``, ``warn`` or ``fail``: the row colour of a verdict."""
    if not failed:
        return "pass"
    return "warn" if severity == "warn" else "fail"


def relative_href(path: str) -> str:
    """A relative link to ``path``: percent-encoding ":" means no scheme (javascript:, http:) can survive."""
    return esc(urllib.parse.quote(cell_text(path), safe="/"))


def page_href(path: str) -> str:
    """A relative link to one of our own pages, fragment kept (``examples/0002.html#ex-...``)."""
    return esc(urllib.parse.quote(path, safe="/#"))
