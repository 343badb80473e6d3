"""Every error body shape the clouds send, parsed directly and through a session."""

from __future__ import annotations

import json

import httpx
import pytest

from tui.cloud import ApiError, MemberStatus
from tui.cloud.errors import MAX_MESSAGE, parse_error_body

KEYSTONE_401 = json.dumps(
    {
        "error": {
            "code": 401,
            "title": "Unauthorized",
            "message": "The request you have made requires authentication.",
        }
    }
)
WEBOB_403 = json.dumps(
    {
        "message": "Not allowed to update members for image d08a.<br /><br />\n\n\n",
        "code": "403 Forbidden",
        "title": "Forbidden",
    }
)
WEBOB_404 = json.dumps(
    {
        "message": "The resource could not be found.<br /><br />\nImage abc not found.\n",
        "code": "404 Not Found",
        "title": "Not Found",
    }
)
OTC_IMG = json.dumps({"error": {"message": "The image does not exist.", "code": "IMG.0027"}})
GATEWAY = json.dumps(
    {"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached."}
)
HTML_PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title><style>body{}</style></head>"
    "<body><h1>502 Bad Gateway</h1><p>The proxy server received an invalid response.</p>"
    "</body></html>"
)
PLAIN = "404 Not Found\n\nThe resource could not be found.\n\n   "

# (status, body, content type, expected code, text in message, text in hint)
SHAPES = [
    (401, KEYSTONE_401, "application/json", "401", "requires authentication", "Authentication"),
    (403, WEBOB_403, "application/json", "403 Forbidden", "Not allowed to update", "receiving"),
    (404, WEBOB_404, "application/json", "404 Not Found", "Image abc not found.", "refresh"),
    (400, OTC_IMG, "application/json", "IMG.0027", "The image does not exist.", "refresh the list"),
    (429, GATEWAY, "application/json", "APIG.0308", "throttling threshold", "throttling"),
    (502, HTML_PAGE, "text/html", "", "502 Bad Gateway", "gateway"),
    (404, PLAIN, "text/plain", "", "The resource could not be found.", "refresh"),
]  # fmt: skip


@pytest.mark.parametrize(("status", "body", "ctype", "code", "text", "hint"), SHAPES)
def test_from_response_parses_every_shape(status, body, ctype, code, text, hint):
    error = ApiError.from_response(status, body.encode(), ctype, action="doing it")
    assert error.status == status
    assert error.code == code
    assert text in error.message
    assert error.action == "doing it" and "doing it" not in error.message
    assert error.summary.startswith("doing it: ")
    assert "<br" not in error.message and "\n" not in error.message
    assert "<" not in error.message  # no markup reaches the user
    assert hint.lower() in error.hint.lower()
    summary = error.summary
    assert str(status) in summary and "\n" not in summary
    assert str(error) == summary


def test_html_page_drops_style_and_says_it_was_html():
    _code, message = parse_error_body(HTML_PAGE.encode(), "text/html")
    assert message.startswith("(HTML error page) 502 Bad Gateway")
    assert "body{}" not in message
    assert "invalid response" in message


def test_empty_body_uses_the_reason_phrase():
    error = ApiError.from_response(503, b"", "")
    assert error.message == "Service Unavailable"
    assert error.retryable and error.is_throttled


def test_unknown_status_without_body():
    error = ApiError.from_response(599, b"", "")
    assert error.message == "HTTP 599"


def test_long_messages_are_cut_to_one_line():
    error = ApiError.from_response(500, ("x " * 2000).encode(), "text/plain")
    assert len(error.message) <= MAX_MESSAGE
    assert error.message.endswith("…")


def test_invalid_utf8_and_broken_json_are_still_text():
    code, message = parse_error_body(b'{"error": \xff\xfe broken', "application/json")
    assert code == ""
    assert "broken" in message


def test_img_0060_is_throttling_and_retryable():
    error = ApiError.from_response(
        400, json.dumps({"error": {"code": "IMG.0060", "message": "flow control"}}).encode()
    )
    assert error.is_throttled and error.retryable
    assert "throttling" in error.hint


def test_summary_does_not_repeat_status_in_code():
    error = ApiError.from_response(404, WEBOB_404.encode(), "application/json")
    assert error.summary.startswith("404 Not Found: ")
    error = ApiError.from_response(400, OTC_IMG.encode(), "application/json")
    assert error.summary.startswith("400 IMG.0027: ")


# ------------------------------------------------------------------- through a session


@pytest.mark.parametrize(("status", "body", "ctype", "code", "text", "hint"), SHAPES)
async def test_session_maps_every_shape_to_api_error(
    mock_cloud, make_session, status, body, ctype, code, text, hint
):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body.encode(), headers={"Content-Type": ctype})

    cloud = mock_cloud(handler)
    session = make_session(cloud.settings(), transport=cloud.transport)
    with pytest.raises(ApiError) as caught:
        await session.set_status("img-1", MemberStatus.ACCEPTED)
    error = caught.value
    assert error.status == status
    assert error.code == code
    assert text in error.message
    assert error.action == "accepting img-1"
    assert error.summary.startswith("accepting img-1: ") and "img-1" not in error.reason
    # Every call asks for JSON errors (WebOb answers HTML otherwise).
    assert all(r.headers["Accept"] == "application/json" for r in cloud.requests)
    if status == 401:
        # A 401 re-authenticates exactly once, then reports.
        assert cloud.token_requests == 2
