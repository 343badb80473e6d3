"""Who may use ``imshare serve``: the token, the Host and the Origin checks on their own."""

from __future__ import annotations

import pytest

from tui.app.serve_auth import is_loopback_host, is_same_origin, new_token, token_matches


def test_each_start_has_its_own_long_random_token() -> None:
    tokens = {new_token() for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 43 for token in tokens)  # 32 random bytes, URL-safe base64


def test_the_token_must_match_exactly() -> None:
    token = new_token()
    assert token_matches(token, token)
    assert not token_matches(None, token)
    assert not token_matches("", token)
    assert not token_matches(token[:-1], token)
    assert not token_matches(token + "x", token)
    assert not token_matches(token.upper() if token != token.upper() else token.lower(), token)
    assert not token_matches("é" * 43, token)  # no TypeError on non-ASCII input


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.0.0.1:8000", "127.5.6.7:9", "localhost", "LOCALHOST:9000", "[::1]:8000"],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "evil.example",
        "evil.example:8000",
        "localhost.evil.example",
        "127.0.0.1.nip.io:8000",
        "10.0.0.1:8000",
        "0.0.0.0:8000",
        "[::2]:8000",
        "[::1",
        "127.0.0.1:8000:1",
        "user@127.0.0.1",
    ],
)
def test_other_hosts_are_not_loopback(host: str | None) -> None:
    assert not is_loopback_host(host)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://127.0.0.1:9000", "127.0.0.1:9000"),  # a tunnel: the browser's own port
        ("http://localhost:9000", "localhost:9000"),
        ("http://[::1]:9000", "[::1]:9000"),
    ],
)
def test_the_page_s_own_origin_is_accepted(origin: str, host: str) -> None:
    assert is_same_origin(origin, host)


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://evil.example", "127.0.0.1:8000"),
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),  # another local port
        ("http://localhost:8000", "127.0.0.1:8000"),  # another origin, same machine
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),
        ("http://evil.example:8000", "evil.example:8000"),  # DNS rebinding: Host is not ours
        ("null", "127.0.0.1:8000"),
        (None, "127.0.0.1:8000"),
        ("http://127.0.0.1:8000", None),
    ],
)
def test_every_other_origin_is_refused(origin: str | None, host: str | None) -> None:
    assert not is_same_origin(origin, host)
