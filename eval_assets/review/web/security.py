"""Who may use the review page, and CSRF tokens (pure: no web framework, unit-tested directly).

- Bound to a loopback address (the default), the page is for the person at this machine; requests must name
  a loopback host (``Host: evil.example`` pointing at 127.0.0.1 is a DNS-rebinding attack and is refused).
- Bound to any other address, it refuses to start without a token from ``EVAL_ASSETS_REVIEW_TOKEN``, and every
  request must carry it: an ``Authorization: Bearer`` header, or the cookie set after a ``?token=`` login.
- Every POST carries a CSRF token bound to the browser's session cookie with a per-process secret
  (HMAC), so another site cannot forge a decision even where it can send the browser's cookies.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

TOKEN_VARIABLE = "EVAL_ASSETS_REVIEW_TOKEN"
#: A token shorter than this is refused: it must not be guessable by trying.
MIN_TOKEN_LENGTH = 16
SESSION_COOKIE = "review_session"
TOKEN_COOKIE = "review_token"
CSRF_FIELD = "csrf"
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


class BindRefusedError(ValueError):
    """The page may not listen on this address with this token (the message says what to do)."""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (an address or ``localhost``) only accepts connections from this machine."""
    name = host.strip().strip("[]").lower()
    if name in LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def check_bind(host: str, token: str | None) -> str | None:
    """The token the page requires on ``host`` (None: none, a loopback bind without one).

    Raises:
        BindRefusedError: a non-loopback bind without a token, or with one too short to be safe.
    """
    token = (token or "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_LENGTH:
        raise BindRefusedError(
            f"${TOKEN_VARIABLE} is {len(token)} characters; use at least {MIN_TOKEN_LENGTH} "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(24))")'
        )
    if token is None and not is_loopback(host):
        raise BindRefusedError(
            f"refusing to serve on {host}: anyone who can reach it could decide review tasks. Set "
            f"${TOKEN_VARIABLE} to a secret of at least {MIN_TOKEN_LENGTH} characters (every request must then "
            "carry it), or bind to 127.0.0.1"
        )
    return token


def host_name(host_header: str) -> str:
    """The host of a ``Host`` header without its port (``[::1]:8765`` -> ``::1``)."""
    text = host_header.strip().lower()
    if text.startswith("["):
        return text[1 : text.find("]")] if "]" in text else text
    return text.rsplit(":", 1)[0] if text.count(":") == 1 else text


def token_cookie_value(token: str) -> str:
    """What the login cookie holds: derived from the token, so the cookie is not the token itself."""
    return hmac.new(token.encode("utf-8"), b"eval-assets review cookie", hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Verdict:
    """Whether a request may go on; when not, the status and a one-line reason."""

    allowed: bool
    status: int = 200
    reason: str = ""


ALLOWED = Verdict(True)


@dataclass(frozen=True)
class AccessPolicy:
    """The page's rules for one server process.

    Attributes:
        token: The token every request must carry (None: a loopback bind without one).
        local_only: The page listens on a loopback address: requests must name a loopback host.
        secret: This process's key for CSRF tokens (a restart makes old forms stale, nothing worse).
    """

    token: str | None
    local_only: bool
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32), repr=False)

    def admit(self, *, host_header: str, headers: Mapping[str, str], cookies: Mapping[str, str]) -> Verdict:
        """Whether a request may reach the page at all (checked on every request, static files too).

        Args:
            host_header: The request's ``Host``.
            headers: Its headers, lower-case names.
            cookies: Its cookies.
        """
        if self.local_only and not is_loopback(host_name(host_header)):
            return Verdict(False, 403, "this page answers only requests for localhost / 127.0.0.1")
        if self.token is None:
            return ALLOWED
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer ") and _same(authorization[7:].strip(), self.token):
            return ALLOWED
        if _same(cookies.get(TOKEN_COOKIE, ""), token_cookie_value(self.token)):
            return ALLOWED
        return Verdict(False, 401, f"open the page once as /?token=<${TOKEN_VARIABLE}>, or send it as a Bearer token")

    def login(self, offered: str) -> bool:
        """Whether a ``?token=`` login offers the right token."""
        return self.token is not None and _same(offered, self.token)

    def csrf_token(self, session: str) -> str:
        """The CSRF token of a browser session (what every form of that session carries)."""
        return hmac.new(self.secret, session.encode("utf-8"), hashlib.sha256).hexdigest()

    def check_csrf(self, session: str | None, offered: str | None) -> bool:
        """Whether a POST's CSRF token belongs to its session cookie."""
        if not session or not offered:
            return False
        return _same(offered, self.csrf_token(session))


def new_session() -> str:
    """A fresh, unguessable session id for the session cookie."""
    return secrets.token_urlsafe(24)


def _same(offered: str, expected: str) -> bool:
    # Constant time, so the token cannot be found a character at a time from response times.
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))
