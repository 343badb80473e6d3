"""Wire-format helpers shared by the Keystone and Glance emulations.

Real clouds speak three different error dialects and three different time formats
(Keystone's JSON errors, Glance's WebOb pages, OTC's ``IMG.*`` bodies; Glance's,
Keystone's and OTC jobs' timestamps).  Clients have to cope
with all of them, so the demo cloud reproduces each one byte for byte instead of
inventing a single tidy format.
"""

from __future__ import annotations

import html
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

JSON = "application/json"

#: Reason phrases as WebOb / http.server spell them.
REASONS: dict[int, str] = {
    200: "OK",
    201: "Created",
    204: "No Content",
    300: "Multiple Choices",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    409: "Conflict",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass(slots=True)
class Response:
    """A complete HTTP response; the server adds Content-Length and the request id."""

    status: int
    body: bytes = b""
    content_type: str | None = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)


def dumps(obj: Any) -> bytes:
    """Serialise like ``oslo_serialization.jsonutils.dumps`` (default separators)."""
    return json.dumps(obj, ensure_ascii=False).encode()


def json_response(status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> Response:
    """A JSON response with the given status."""
    return Response(status, dumps(obj), JSON, headers or [])


# --------------------------------------------------------------------------- time


_DAY_CACHE: dict[int, str] = {}
_TIME_OF_DAY: list[str] = []


def glance_time(ts: float) -> str:
    """Glance's ``timeutils.isotime`` format: seconds precision and ``Z``.

    Seeding formats hundreds of thousands of stamps, so both halves come from tables
    (dates cached per day, a lazily built table of the 86,400 ``HH:MM:SS`` strings);
    ``strftime`` dominated the profile before.
    """
    if not _TIME_OF_DAY:
        _TIME_OF_DAY.extend(
            f"T{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
        )
    day, rest = divmod(int(ts), 86400)
    date = _DAY_CACHE.get(day)
    if date is None:
        date = _DAY_CACHE[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d")
    return date + _TIME_OF_DAY[rest]


def keystone_time(ts: float) -> str:
    """Keystone's token time format: microseconds and ``Z``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def job_time(ts: float) -> str:
    """IMS job time format: milliseconds and ``Z``."""
    dt = datetime.fromtimestamp(ts, UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def request_id() -> str:
    """An OpenStack request id (``req-<uuid4>``)."""
    return f"req-{uuid.uuid4()}"


# --------------------------------------------------------------------------- errors

_BR_RE = re.compile(r"<br.*?>", re.I | re.S)
_TAG_RE = re.compile(r"<.*?>", re.S)


def negotiate(accept: str | None) -> str:
    """WebOb's choice between ``text/html``, ``application/json`` and ``text/plain``.

    WebOb asks the Accept header for its acceptable offers among
    ``["text/html", "application/json"]``: each offer gets the q of the most specific
    range matching it, offers with q=0 drop out, the rest sort by q with ties keeping
    the offer order.  A missing or empty header accepts anything, so HTML wins.
    """
    offers = ("text/html", "application/json")
    if accept is None or not accept.strip():
        return offers[0]
    ranges: list[tuple[str, float]] = []
    for raw in accept.split(","):
        parts = [p.strip() for p in raw.split(";")]
        if not parts[0]:
            continue
        q = 1.0
        for p in parts[1:]:
            if p.lower().startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        ranges.append((parts[0].lower(), q))
    scored: list[tuple[float, int, str]] = []
    for rank, offer in enumerate(offers):
        main = offer.split("/")[0]
        best: tuple[int, float] | None = None
        for media, q in ranges:
            spec = (
                3 if media == offer else 2 if media == f"{main}/*" else 1 if media == "*/*" else 0
            )
            if spec and (best is None or spec > best[0]):
                best = (spec, q)
        if best is not None and best[1] > 0:
            scored.append((-best[1], rank, offer))
    return min(scored)[2] if scored else "text/plain"


def webob_error(status: int, explanation: str, accept: str | None) -> Response:
    """A Glance error exactly as ``webob.exc.HTTPException(explanation=...)`` renders it.

    The body template is ``${explanation}<br /><br />\\n${detail}\\n${html_comment}\\n``
    with empty detail and comment; the wrapper depends on the negotiated type.
    """
    status_line = f"{status} {REASONS.get(status, 'Error')}"
    kind = negotiate(accept)
    if kind == "application/json":
        body = f"{explanation}<br /><br />\n\n\n"
        obj = {"message": body, "code": status_line, "title": REASONS.get(status, "Error")}
        return Response(status, json.dumps(obj).encode(), JSON)
    if kind == "text/html":
        body = f"{html.escape(explanation)}<br /><br />\n\n\n"
        page = (
            f"<html>\n <head>\n  <title>{status_line}</title>\n </head>\n <body>\n"
            f"  <h1>{status_line}</h1>\n  {body}\n </body>\n</html>"
        )
        return Response(status, page.encode(), "text/html; charset=UTF-8")
    body = f"{explanation}<br /><br />\n\n\n".replace("\n", " ").replace("\r", "")
    body = _TAG_RE.sub("", _BR_RE.sub("\n", body))
    return Response(status, f"{status_line}\n\n{body}".encode(), "text/plain; charset=UTF-8")


KEYSTONE_401 = "The request you have made requires authentication."


def keystone_error(status: int, message: str, www_authenticate: str | None = None) -> Response:
    """Keystone's (and keystonemiddleware's) JSON error: ``error.code`` is an int."""
    obj = {"error": {"code": status, "title": REASONS.get(status, "Error"), "message": message}}
    headers = [("WWW-Authenticate", www_authenticate)] if www_authenticate else []
    return json_response(status, obj, headers)


def otc_error(status: int, code: str, message: str) -> Response:
    """OTC IMS extension error: ``{"error": {"code": "IMG.xxxx", "message": ...}}``."""
    return json_response(status, {"error": {"code": code, "message": message}})


@dataclass(slots=True)
class Request:
    """An incoming request, already read off the socket."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Any  # email.message.Message: case-insensitive ``get``
    body: bytes
    base_url: str

    def header(self, name: str) -> str | None:
        """A request header (case-insensitive), or None."""
        value = self.headers.get(name)
        return None if value is None else str(value)

    def has_param(self, name: str) -> bool:
        """Whether a query parameter is present at all (``?nocatalog`` has no value)."""
        return any(k == name for k, _ in self.query)
