"""Settings and frozen UI for tests and for ``screenshots/make.py``: one place, one shape.

Every test (and the screenshot script) builds its ``Settings`` here: for a demo cloud from its
own ``OS_*`` credentials, for a mock transport, for a cloud that is never reached, or a fixed
OTC example for screens that must not depend on a live server. ``freeze_ui`` stops everything
that moves on screen (cursor blink, spinner, token countdown), so pictures are byte-stable.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tui.settings.model import Settings
from tui.settings.sources import apply_environment

#: What the context bar's countdown shows in every picture: 23h59m.
FROZEN_SECONDS_LEFT = 86_340.0
#: Passwords the settings below carry; no picture or snapshot may contain them.
EXAMPLE_PASSWORD = "not-shown"
MOCK_PASSWORD = "pw-secret"

MOCK_AUTH_URL = "https://iam.example.test/v3"
MOCK_IMS = "https://ims.example.test"
MOCK_PROJECT = "0123456789abcdef0123456789abcdef"


def cloud_settings(cloud: Any, **overrides: Any) -> Settings:
    """Settings for a ``DemoCloud``, from the ``OS_*`` lines it prints (as a user would)."""
    return replace(apply_environment(Settings(), cloud.credentials), **overrides)


def example_settings(**overrides: Any) -> Settings:
    """A fixed OTC configuration that no test ever reaches (config screens, snapshots)."""
    settings = Settings(
        auth_url="https://iam.eu-de.otc.t-systems.com/v3",
        region="eu-de",
        username="alice",
        password=EXAMPLE_PASSWORD,
        user_domain_name="OTC00000000001000000501",
        project_name="eu-de_demo",
        preset="eu-de",
    )
    return replace(settings, **overrides)


def mock_settings(**overrides: Any) -> Settings:
    """Settings for the ``MockCloud`` transport (responses a real server cannot send)."""
    settings = Settings(
        auth_url=MOCK_AUTH_URL,
        username="alice",
        password=MOCK_PASSWORD,
        user_domain_name="OTC00000000001000000001",
        project_name="eu-de_demo",
        region="eu-de",
    )
    return replace(settings, **overrides)


def unreachable_settings(**overrides: Any) -> Settings:
    """Settings whose auth URL nothing listens on (port 9, discard): for offline behaviour."""
    return mock_settings(auth_url="http://127.0.0.1:9/v3", **overrides)


class OfflineTransport(httpx.AsyncBaseTransport):
    """No network at all: for screens that must not reach a server (config pictures)."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("offline (test)", request=request)


def freeze_ui(setattr_: Any) -> None:
    """No cursor blink, no spinner frames, a fixed token countdown.

    ``setattr_`` is ``monkeypatch.setattr`` in tests (undone afterwards) or ``setattr``.
    """
    from textual.widgets import Input

    from tui.app.widgets.context_bar import ContextBar

    assert hasattr(Input, "_toggle_cursor"), "Textual renamed Input._toggle_cursor"
    setattr_(Input, "_toggle_cursor", lambda self: None)
    setattr_(ContextBar, "animate_spinner", False)
    setattr_(ContextBar, "seconds_left", lambda self, token: FROZEN_SECONDS_LEFT)


def keystone_token_response(
    *,
    token: str = "mock-token-1",
    expires_in: float = 86400,
    project_id: str = MOCK_PROJECT,
    image_url: str = MOCK_IMS,
) -> httpx.Response:
    expires = datetime.now(UTC) + timedelta(seconds=expires_in)
    body = {
        "token": {
            "methods": ["password"],
            "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "issued_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "user": {"id": "u1", "name": "alice", "domain": {"id": "d1", "name": "OTC1"}},
            "project": {"id": project_id, "name": "eu-de_demo", "domain": {"name": "OTC1"}},
            "catalog": [
                {
                    "type": "image",
                    "name": "glance",
                    "endpoints": [
                        {"url": image_url, "interface": "public", "region": "eu-de",
                         "region_id": "eu-de"}
                    ],
                }
            ],
        }
    }  # fmt: skip
    return httpx.Response(
        201,
        headers={"X-Subject-Token": token, "Content-Type": "application/json"},
        content=json.dumps(body).encode(),
    )
