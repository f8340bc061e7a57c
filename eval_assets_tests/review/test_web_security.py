"""Issue 10, item 3: who may use the review page (loopback, the token) and CSRF tokens, as pure rules."""

from __future__ import annotations

import pytest

from eval_assets.review.web.security import (
    TOKEN_COOKIE,
    AccessPolicy,
    BindRefusedError,
    check_bind,
    host_name,
    is_loopback,
    new_session,
    token_cookie_value,
)

TOKEN = "s3cret-token-of-24-chars"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("127.1.2.3", True),  # the whole 127/8 is loopback
        ("0.0.0.0", False),  # every interface: reachable from the network
        ("192.168.1.5", False),
        ("::", False),
        ("reviews.example.com", False),
        ("localhost.evil.example", False),  # a name that merely starts like localhost
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_a_non_local_bind_needs_a_token_and_a_local_one_does_not() -> None:
    with pytest.raises(BindRefusedError, match="EVAL_ASSETS_REVIEW_TOKEN"):
        check_bind("0.0.0.0", None)
    with pytest.raises(BindRefusedError, match=r"refusing to serve on 10\.0\.0\.2"):
        check_bind("10.0.0.2", "   ")  # blank is no token
    with pytest.raises(BindRefusedError, match="at least 16"):
        check_bind("0.0.0.0", "short")
    assert check_bind("0.0.0.0", TOKEN) == TOKEN
    assert check_bind("127.0.0.1", None) is None
    assert check_bind("127.0.0.1", TOKEN) == TOKEN  # a token set is required even on a local bind


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("127.0.0.1:8765", "127.0.0.1"),
        ("localhost", "localhost"),
        ("[::1]:8765", "::1"),
        ("EVIL.example:80", "evil.example"),
    ],
)
def test_host_header_names(header: str, host: str) -> None:
    assert host_name(header) == host


def test_every_request_on_a_token_policy_needs_the_bearer_token_or_the_login_cookie() -> None:
    policy = AccessPolicy(token=TOKEN, local_only=False)
    host = "reviews.example.com:8765"
    assert policy.admit(host_header=host, headers={}, cookies={}).status == 401
    assert policy.admit(host_header=host, headers={"authorization": "Bearer wrong"}, cookies={}).status == 401
    assert policy.admit(host_header=host, headers={"authorization": f"Bearer {TOKEN}"}, cookies={}).allowed
    # The cookie holds a value derived from the token, not the token itself.
    assert token_cookie_value(TOKEN) != TOKEN
    assert not policy.admit(host_header=host, headers={}, cookies={TOKEN_COOKIE: TOKEN}).allowed
    assert policy.admit(host_header=host, headers={}, cookies={TOKEN_COOKIE: token_cookie_value(TOKEN)}).allowed
    assert policy.login(TOKEN) and not policy.login(TOKEN + "x") and not policy.login("")


def test_a_local_policy_refuses_requests_for_another_host_name() -> None:
    policy = AccessPolicy(token=None, local_only=True)
    assert policy.admit(host_header="127.0.0.1:8765", headers={}, cookies={}).allowed
    assert policy.admit(host_header="localhost:8765", headers={}, cookies={}).allowed
    # DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends Host: evil.example.
    assert policy.admit(host_header="evil.example:8765", headers={}, cookies={}).status == 403
    assert not AccessPolicy(token=None, local_only=True).login(TOKEN)  # no token: no login


def test_csrf_tokens_are_bound_to_the_session_and_the_process() -> None:
    policy = AccessPolicy(token=None, local_only=True)
    session, other = new_session(), new_session()
    token = policy.csrf_token(session)
    assert policy.check_csrf(session, token)
    assert not policy.check_csrf(other, token)  # another browser's token
    assert not policy.check_csrf(session, None) and not policy.check_csrf(None, token)
    assert not policy.check_csrf(session, "")
    assert not AccessPolicy(token=None, local_only=True).check_csrf(session, token)  # a restarted server
