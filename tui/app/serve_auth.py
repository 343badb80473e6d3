"""Who may use ``imshare serve``: the holder of this start's token, from a loopback page.

Every browser session of ``imshare serve`` runs the app with the user's credentials, so the
server must tell the user's own tab from everything else that can reach 127.0.0.1:

* **Other local users and programs** can connect to the port. They do not know the token: a
  fresh random one per start, printed only on the user's terminal (as Jupyter does). The first
  page load carries it in the URL (``?token=…``) and gets it back as a cookie, so reloads and
  the page's own requests (scripts, fonts, the websocket) need no token in their URL.
* **Other web pages in the user's browser** can make the browser send requests to
  127.0.0.1 too, and cookies are not port-specific: a page served on 127.0.0.1:9999 is
  "same-site" with 127.0.0.1:8000, so even a ``SameSite=Strict`` cookie goes along. Browsers
  always send ``Origin`` on a websocket upgrade and a page cannot forge it, so a websocket (the
  only way to drive the app) is accepted only when its ``Origin`` is exactly the page's own
  origin, ``http://`` + the ``Host`` the browser addressed. Comparing with ``Host`` rather
  than with the port we listen on is what lets an SSH tunnel on another local port work
  (``ssh -L 9000:127.0.0.1:8000`` → the browser's origin is ``http://127.0.0.1:9000``); it is
  the check Tornado's and so Jupyter's websockets make. A page on another port has another
  origin and is refused; the framing of our page by such a page is refused by headers.
* **DNS rebinding** (evil.example re-pointed at 127.0.0.1 after the page loaded) would make
  ``Origin`` and ``Host`` agree, so ``Host`` itself must be a loopback name or address: any
  request for another host is refused (Jupyter's ``allow_remote_access=False`` check).

Nothing here imports aiohttp: these are plain functions of header values, tested on their own.
"""

from __future__ import annotations

import hmac
import ipaddress
import re
import secrets

TOKEN_PARAMETER = "token"
"""The query parameter that carries the token on the first page load (Jupyter's name)."""

_LOOPBACK_NAMES = frozenset({"localhost"})
# host[:port] as in a Host header: a bracketed IPv6 literal, or a name / IPv4 address.
_HOST_HEADER = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9.\-]+))(?::\d{1,5})?$"
)


def new_token() -> str:
    """A fresh secret for one start of the server: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_matches(candidate: str | None, token: str) -> bool:
    """Whether ``candidate`` is ``token``, compared in constant time (no timing oracle)."""
    if not candidate:
        return False
    return hmac.compare_digest(candidate.encode("utf-8"), token.encode("utf-8"))


def is_loopback_host(host: str | None) -> bool:
    """Whether a ``Host`` header names this machine's loopback: localhost, 127.x, or [::1].

    A name that merely resolves to 127.0.0.1 is refused on purpose: that is what a DNS
    rebinding attack looks like from here.
    """
    if not host:
        return False
    match = _HOST_HEADER.match(host)
    if match is None:
        return False
    if match["ipv6"] is not None:
        literal = match["ipv6"]
    else:
        literal = match["name"].lower().rstrip(".")
        if literal in _LOOPBACK_NAMES:
            return True
    try:
        return ipaddress.ip_address(literal).is_loopback
    except ValueError:
        return False


def is_same_origin(origin: str | None, host: str | None) -> bool:
    """Whether ``Origin`` is the origin of a page loaded from ``host`` over plain HTTP.

    The server speaks only HTTP, on loopback, so its pages' origin is ``http://`` + the
    ``Host`` the browser sent (which, through a tunnel, names the tunnel's local port, not
    ours). ``Origin: null`` (sandboxed frames, files) and a missing ``Origin`` are refused.
    """
    if not origin or not is_loopback_host(host):
        return False
    assert host is not None  # is_loopback_host said so
    return origin.lower() == "http://" + host.lower()
