"""One error type for everything that can go wrong talking to the cloud.

The UI and the CLI show ``ApiError`` and nothing else: an httpx exception or a raw body never
reaches the user. The body parser knows every shape clouds send (Keystone, Glance/WebOb,
OTC ``IMG.*``, gateway ``error_code/error_msg``, plain text, HTML).
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import urlsplit

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_TITLE = re.compile(r"<title>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_H1 = re.compile(r"<h1>(.*?)</h1>", re.IGNORECASE | re.DOTALL)

# A cloud message longer than this is cut: it is shown in one toast line or one stderr line.
MAX_MESSAGE = 300

# OTC IMS / IAM codes with a hint that names what to do (the error-code appendices of the OTC
# IMS and IAM API references, api-ref/source/error_codes.rst and appendix/error_codes.rst).
_CODE_HINTS: dict[str, str] = {
    "IMG.0026": "Your user lacks the ims:images:get/ims:images:share permissions; ask an admin.",
    "IMG.0027": "The image no longer exists or is no longer shared with you; refresh the list.",
    "IMG.0066": "The image no longer exists or is no longer shared with you; refresh the list.",
    "IMG.0086": "The image no longer exists or is no longer shared with you; refresh the list.",
    "IMG.0144": "The image no longer exists or is no longer shared with you; refresh the list.",
    "IMG.0030": "The token was not accepted; log in again (imshare logout, then retry).",
    "IMG.0087": "The token was not accepted; log in again (imshare logout, then retry).",
    "IMG.0047": "Only the image owner can do this.",
    "IMG.0060": "The cloud is throttling requests; wait a moment and retry.",
    "IMG.0061": "The cloud reported an internal error; retry later.",
    "IMG.0067": "Check the project and region in your configuration.",
    "IMG.0108": "Check the project and region in your configuration.",
    "IMG.0104": "Several projects exist in this region: configure the project name explicitly.",
    "IMG.0106": "The image belongs to another project.",
    "IMG.0182": "The vault lacks capacity: pick a CBR server-backup vault with enough space.",
    "IMG.0184": "The vault was not found: give the id of an existing CBR server-backup vault.",
    "IMG.0188": "The vault is unavailable: pick another CBR server-backup vault.",
    "IMG.0193": "That vault is not a CBR server-backup vault: pick one that is.",
    "IAM.0061": "The account is locked; wait or ask your administrator.",
    "IAM.0062": "Check the user name, password and user domain.",
    "IAM.0066": "The token expired; log in again.",
    "IAM.0067": "The token is invalid; log in again.",
    "IAM.0081": "This user has no programmatic access; enable it in IAM.",
    "IAM.0082": "This user is disabled; ask your administrator.",
    "IAM.1109": "The project was not found; check the project name or id and its domain.",
    "IAM.0012": "IAM is throttling requests; wait a moment and retry.",
    "APIG.0307": "The token must be renewed; log in again.",
    "APIG.0308": "The cloud is throttling requests; wait a moment and retry.",
}

_STATUS_HINTS: dict[int, str] = {
    400: "The cloud rejected the request as invalid.",
    401: "Authentication failed: check user name, password, user domain and project.",
    403: "Not allowed: only the receiving project may decide (ims:images:share permission).",
    404: "Not found: the image may have been deleted or unshared; refresh the list.",
    409: "The image changed meanwhile; refresh and try again.",
    413: "The request was too large for the cloud.",
    429: "The cloud is throttling requests; wait a moment and retry.",
    500: "The cloud failed internally; retry later.",
    502: "A gateway in front of the cloud failed; retry later.",
    503: "The cloud is unavailable; retry later.",
    504: "A gateway timed out; retry later.",
}


class ApiError(Exception):
    """A failed cloud call, carrying what the user needs to understand and act on it.

    ``status`` is the HTTP status (0 when no response arrived), ``code`` the cloud's own code
    (``IMG.0027``, ``IAM.0062``, ``403 Forbidden``...), ``message`` the cloud's text (or ours
    when no answer came), ``hint`` one line saying what to do, and ``action`` what imshare was
    doing ("listing pending images", "accepting 1bc…"). The error travels up unchanged: the
    action is a field of its own, never glued into the message, so a caller that already names
    the image shows ``reason`` and one that does not shows ``summary``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "",
        hint: str = "",
        retryable: bool = False,
        action: str = "",
    ) -> None:
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint or _hint_for(code, status, action)
        self.retryable = retryable
        self.action = action
        #: The error is about logging in (a refused login, or no password to log in with),
        #: not about the image a call was for: callers say "log in again", whatever they did.
        self.login = False
        #: A decision that may have been applied all the same: the request got no answer (or
        #: a failure) and reading the image back could not tell. Never "failed" for sure.
        self.unconfirmed = False
        super().__init__(message)

    def __str__(self) -> str:
        return self.summary

    @property
    def reason(self) -> str:
        """One line without the action: status/code, message and hint."""
        head = ""
        if self.status:
            head = str(self.status)
            if self.code and self.code != str(self.status) and not self.code.startswith(head):
                head += f" {self.code}"
            elif self.code:
                head = self.code
        elif self.code:
            head = self.code
        text = f"{head}: {self.message}" if head else self.message
        if self.hint and self.hint not in text:
            text += f" — {self.hint}"
        return text

    @property
    def summary(self) -> str:
        """One line for stderr and toasts: what was being done, then ``reason``."""
        return f"{self.action}: {self.reason}" if self.action else self.reason

    def __repr__(self) -> str:
        return (
            f"ApiError(status={self.status}, code={self.code!r}, message={self.message!r}, "
            f"action={self.action!r})"
        )

    @property
    def is_throttled(self) -> bool:
        return self.status in (429, 503) or self.code in ("IMG.0060", "IAM.0012", "APIG.0308")

    @classmethod
    def from_response(
        cls, status: int, body: bytes, content_type: str = "", *, action: str = ""
    ) -> ApiError:
        """Parse whatever error body the cloud, a gateway or a proxy sent."""
        code, message = parse_error_body(body, content_type)
        if not message:
            message = _default_message(status)
        error = cls(message, status=status, code=code, action=action)
        error.retryable = status in (429, 500, 502, 503, 504) or error.is_throttled
        return error


#: 403 while reading, not deciding: the decision hint would send the user the wrong way.
_READ_FORBIDDEN = (
    "Not allowed: this user may not read here; ask the project's admin for a role with "
    "read access to the image service."
)


def _hint_for(code: str, status: int, action: str = "") -> str:
    if status == 403 and not code.startswith("IMG") and action.startswith(("listing", "reading")):
        return _READ_FORBIDDEN
    return _CODE_HINTS.get(code) or _STATUS_HINTS.get(status, "")


def _default_message(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def clean_text(text: str) -> str:
    """Strip WebOb's ``<br />`` and other tags, collapse whitespace, cut to one line."""
    text = _TAG.sub(" ", text)
    text = html.unescape(text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > MAX_MESSAGE:
        text = text[: MAX_MESSAGE - 1].rstrip() + "…"
    return text


def parse_error_body(body: bytes, content_type: str = "") -> tuple[str, str]:
    """Return ``(code, message)`` from any known error body shape; empty strings if none."""
    text = body.decode("utf-8", errors="replace").strip() if body else ""
    if not text:
        return "", ""
    data: Any = None
    if text[:1] in "{[":
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            data = None
    if isinstance(data, dict):
        return _from_json(data)
    lowered = text[:200].lower()
    if "html" in content_type.lower() or lowered.startswith(("<!doctype", "<html")):
        return "", _from_html(text)
    return "", clean_text(text)


def _from_json(data: dict[str, Any]) -> tuple[str, str]:
    inner = data.get("error")
    if isinstance(inner, dict):
        # OTC IMG.* ({"error": {"code": "IMG.0024", "message": ...}}) and Keystone
        # ({"error": {"code": 401, "title": ..., "message": ...}}).
        code = inner.get("code")
        message = inner.get("message") or inner.get("title") or ""
        return _code_text(code), clean_text(str(message))
    if "error_code" in data or "error_msg" in data:
        return _code_text(data.get("error_code")), clean_text(str(data.get("error_msg") or ""))
    if "message" in data or "title" in data:
        # WebOb JSON: {"message": "...<br /><br />...", "code": "404 Not Found", "title": ...}
        message = data.get("message") or data.get("title") or ""
        return _code_text(data.get("code")), clean_text(str(message))
    if isinstance(inner, str):
        return "", clean_text(inner)
    for key in ("badRequest", "itemNotFound", "forbidden", "unauthorized", "conflict"):
        value = data.get(key)
        if isinstance(value, dict):
            return _code_text(value.get("code")), clean_text(str(value.get("message") or ""))
    return "", ""


def _code_text(code: Any) -> str:
    if code is None or isinstance(code, bool):
        return ""
    return str(code).strip()


def _from_html(text: str) -> str:
    for pattern in (_H1, _TITLE):
        found = pattern.search(text)
        if found and clean_text(found.group(1)):
            title = clean_text(found.group(1))
            break
    else:
        title = ""
    body = re.sub(r"(?is)<(script|style|head|title).*?</\1>", " ", text)
    body_text = clean_text(body)
    if title and body_text.startswith(title):
        body_text = body_text[len(title) :].strip()
    joined = f"{title}: {body_text}" if title and body_text else title or body_text
    return clean_text(f"(HTML error page) {joined}")


def describe_host(url: str) -> str:
    """``host:port`` of ``url``, as messages name a server."""
    parts = urlsplit(url)
    return f"{parts.hostname}{':' + str(parts.port) if parts.port else ''}"


def transport_error(exc: Exception, url: str, *, action: str = "") -> ApiError:
    """What a request that got no response (or a TLS alert after the handshake) means."""
    # Here, not at the top: ``ApiError`` is raised by the models too, and `imshare --version`,
    # `--help` and `locate` must not pay for importing httpx (an httpx error means it is loaded).
    import ssl

    import httpx

    where = describe_host(url)
    if isinstance(exc, ssl.SSLError):
        return ApiError(
            f"the TLS connection to {where} failed: {exc.reason or exc}",
            hint="Check the client certificate and key (OS_CERT / OS_KEY) and the CA bundle.",
            action=action,
        )
    if isinstance(exc, httpx.ConnectTimeout):
        return ApiError(
            f"connecting to {where} timed out",
            hint="Check the URL, your network, VPN or HTTPS_PROXY.",
            retryable=True,
            action=action,
        )
    if isinstance(exc, httpx.TimeoutException):
        return ApiError(
            f"{where} did not answer in time",
            hint="The cloud is slow or unreachable; retry later.",
            retryable=True,
            action=action,
        )
    if isinstance(exc, httpx.ConnectError):
        if "CERTIFICATE_VERIFY_FAILED" in str(exc):
            return ApiError(
                f"TLS certificate of {where} could not be verified",
                hint="Set the CA bundle (OS_CACERT / cacert) for this cloud.",
                action=action,
            )
        # Refused connections and unknown hosts do not heal in seconds: say so at once.
        return ApiError(
            f"cannot connect to {where}",
            hint="Check the URL, your network, VPN or HTTPS_PROXY.",
            action=action,
        )
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return ApiError(
            f"the connection to {where} was dropped mid-response",
            hint="The network or the cloud is flaky; retry.",
            retryable=True,
            action=action,
        )
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return ApiError(
            f"invalid URL {url!r}", hint="Check the auth URL and IMS endpoint.", action=action
        )
    return ApiError(
        f"network error talking to {where}: {type(exc).__name__}",
        hint="Check your network and retry.",
        retryable=True,
        action=action,
    )
