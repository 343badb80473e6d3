"""``--all-projects`` on a cloud that refuses re-scoping a token to another project (Keystone with
``allow_rescope_scoped_token = false``): every project then logs in with the password held in
memory, and those logins queue behind the small login limit instead of reaching Keystone all
at once. The demo cloud always re-scopes, so a small Keystone answers here through
``httpx.MockTransport`` (an async handler, so it can see how many logins are in flight)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from support import mock_settings

from tui.cli.commands import Context
from tui.cli.everywhere import list_everywhere
from tui.cli.main import build_parser
from tui.cloud.token_cache import TokenCache
from tui.settings.sources import LoadedConfig

PROJECTS = {f"{n:032x}": f"eu-de_team{n:02d}" for n in range(1, 13)}
IMAGE_API = "https://ims.eu-de.example.test"
LOGIN_LIMIT = 4  # tui.cloud.http.RequestLimiter's default


class NoRescoping:
    """Keystone that answers the ``token`` method with 403 and takes a while per password
    login; one pending share per project in its image service."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.password_logins = 0
        self.rescopes = 0
        self.transport = httpx.MockTransport(self.handle)

    def token(self, project_id: str) -> httpx.Response:
        now = datetime.now(UTC)
        body = {
            "token": {
                "methods": ["password"],
                "expires_at": (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "user": {"id": "u1", "name": "alice", "domain": {"id": "d1", "name": "D"}},
                "project": {"id": project_id, "name": PROJECTS.get(project_id, "eu-de_demo"),
                            "domain": {"name": "D"}},
                "catalog": [{"type": "image", "name": "ims", "endpoints": [
                    {"url": IMAGE_API, "interface": "public", "region": "eu-de",
                     "region_id": "eu-de"}]}],
            }
        }  # fmt: skip
        return httpx.Response(201, headers={"X-Subject-Token": f"tok-{project_id}"}, json=body)

    async def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/auth/tokens"):
            identity = json.loads(request.content)["auth"]["identity"]
            if "token" in identity["methods"]:
                self.rescopes += 1
                return httpx.Response(
                    403, json={"error": {"code": 403, "title": "Forbidden",
                               "message": "Rescoping scoped token is not allowed."}}
                )  # fmt: skip
            self.password_logins += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                await asyncio.sleep(0.05)  # long enough for every project to be waiting
            finally:
                self.in_flight -= 1
            scope = json.loads(request.content)["auth"].get("scope", {}).get("project", {})
            return self.token(scope.get("id") or "0" * 32)
        if path.endswith("/auth/projects"):
            listed = [{"id": pid, "name": name} for pid, name in PROJECTS.items()]
            return httpx.Response(200, json={"projects": listed})
        if path == "/v2/images":
            token = request.headers["X-Auth-Token"].removeprefix("tok-")
            status = request.url.params.get("member_status")
            images = []
            if status == "pending" and token in PROJECTS:
                image_id = f"1b2c3d4e-0000-4000-8000-{token[-12:]}"
                images = [{"id": image_id, "name": "golden", "owner": "f" * 32,
                           "status": "active", "visibility": "shared"}]  # fmt: skip
            return httpx.Response(200, json={"images": images, "schema": "/v2/schemas/images"})
        return httpx.Response(404, json={"message": "not found"})


async def test_password_logins_queue_behind_the_login_limit(tmp_path: Path, make_session, capsys):
    cloud = NoRescoping()
    session = make_session(mock_settings(), cache=False, transport=cloud.transport)
    args = build_parser().parse_args(["list", "--all-projects", "-f", "json"])
    loaded = LoadedConfig(mock_settings(), {}, tmp_path / "config.toml", [])
    context = Context(args=args, loaded=loaded, cache=TokenCache(tmp_path / "tokens.json"))
    assert await list_everywhere(session, context) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(row["member_name"] for row in rows) == sorted(PROJECTS.values())
    # Every project tried re-scoping first, then fell back to the password: one login for
    # the current project and one per project, never more than the limit at once.
    assert cloud.rescopes == len(PROJECTS)
    assert cloud.password_logins == 1 + len(PROJECTS)
    assert 1 < cloud.most_in_flight <= LOGIN_LIMIT
