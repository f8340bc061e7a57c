"""Slack mrkdwn: escaping, links and Block Kit limits (pure).

Slack's mrkdwn is not GitHub Markdown. Slack escapes only ``&``, ``<`` and ``>``
(https://api.slack.com/reference/surfaces/formatting#escaping); a backslash is shown as typed, so text
escaped for GitHub (``\\_``, ``&gt;=``) reads wrong in Slack. Every Slack message is therefore rendered
from data with these helpers, never from ``report.md``.

Control characters are escaped as visible text (:func:`~eval_assets.reporting.sanitize.terminal_text`):
Slack shows what it receives, so a model's ``\\x1b[2J`` or ``\\u202e`` must arrive as text.
"""

from __future__ import annotations

import re
import urllib.parse
from typing import Any

from eval_assets.reporting.folder import is_http_url
from eval_assets.reporting.sanitize import terminal_text

#: Slack Block Kit limits we build within (characters of one text object, per Slack's reference).
SLACK_HEADER_MAX = 150
SLACK_SECTION_TEXT_MAX = 3000
SLACK_FIELD_TEXT_MAX = 2000
SLACK_MAX_FIELDS = 10
SLACK_MAX_CONTEXT_ELEMENTS = 10
SLACK_MAX_BLOCKS = 50
#: Longest URL we turn into a Slack link; a longer "URL" is more likely junk than a report address.
MAX_LINK_URL = 1000

_TRAILING_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def escape(text: str) -> str:
    """Text as mrkdwn that shows it literally: ``&``, ``<``, ``>`` become entities, controls visible escapes.

    Nothing else is touched: ``_``, ``*`` and ``>=`` read in Slack as typed here.
    """
    text = unify_line_breaks(text)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(label: str, target: str | None) -> str:
    """``<url|label>`` for an http(s) URL (``label`` is ours, not escaped); ``label: <text>`` for anything else."""
    if not target:
        return ""
    if is_http_url(target) and len(target) <= MAX_LINK_URL:
        # Inside <url|label>, `|` and `>` would end the URL and whitespace breaks it: percent-encode them.
        safe_url = urllib.parse.quote(target, safe="/:?#[]@!$'()*+,;=%~-._&")
        return f"<{escape(safe_url)}|{label}>"
    return f"{label}: {escape(one_line(target))}"


def mrkdwn(escaped_text: str, limit: int) -> dict[str, str]:
    """A Block Kit mrkdwn text object from already-escaped text, clipped to ``limit``."""
    return {"type": "mrkdwn", "text": clip_escaped(escaped_text, limit)}


def plain(raw: str, limit: int) -> str:
    """Raw text escaped and clipped (for ``text`` fallbacks and plain_text objects)."""
    return clip_escaped(escape(raw), limit)


def clip_escaped(text: str, limit: int) -> str:
    """Clip already-escaped text to ``limit`` characters without cutting an entity in half."""
    if len(text) <= limit:
        return text
    cut = _TRAILING_PARTIAL_ENTITY.sub("", text[: limit - 1])
    # A cut inside a <url|label> link we built would leave a raw '<': drop the unfinished link.
    opening = cut.rfind("<")
    if opening > cut.rfind(">"):
        cut = cut[:opening]
    return cut + "…"


def clip(text: str, limit: int) -> str:
    """Raw text cut to ``limit`` characters, with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str) -> str:
    """Collapse line breaks so one alert stays one log line (lines joined by ' | '), controls escaped."""
    lines = [" ".join(line.split()) for line in unify_line_breaks(text).split("\n")]
    return " | ".join(line for line in lines if line)


def unify_line_breaks(text: str) -> str:
    """CRLF and CR become LF; every control character but LF and tab is escaped as visible text."""
    return terminal_text(text.replace("\r\n", "\n").replace("\r", "\n"), keep="\n\t")


def section(text: str, *, fields: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """A section block from already-escaped mrkdwn (with up to :data:`SLACK_MAX_FIELDS` fields)."""
    block: dict[str, Any] = {"type": "section", "text": mrkdwn(text, SLACK_SECTION_TEXT_MAX)}
    if fields:
        block["fields"] = fields[:SLACK_MAX_FIELDS]
    return block
