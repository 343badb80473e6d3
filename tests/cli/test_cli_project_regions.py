"""``--project`` on a plain OpenStack cloud where one project is reached in two regions and the
image id exists in both regions' image services: the demo cloud (OTC's model: a project lives
in one region) cannot be made to answer that, so a small Keystone + two Glances answer it here
through ``httpx.MockTransport``; everything of imshare's runs as it would."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import mock_settings

from tui.cli.commands import CliExit, Context
from tui.cli.everywhere import decide_in_projects
from tui.cloud.models import MemberStatus
from tui.cloud.token_cache import TokenCache
from tui.settings.sources import LoadedConfig

PROJECT = "5a1e0000000000000000000000000001"
IMAGE = "1b2c3d4e-0000-4000-8000-000000000001"
REGIONS = {
    "RegionOne": "https://glance-one.example.test",
    "RegionTwo": "https://glance-two.example.test",
}


class TwoRegions:
    """Keystone with one project ("shared", no region in its name) whose catalog has an image
    endpoint in two regions; both Glances hold IMAGE, pending, for that project."""

    def __init__(self) -> None:
        self.puts: list[str] = []
        self.transport = httpx.MockTransport(self.handle)

    def token(self) -> httpx.Response:
        now = datetime.now(UTC)
        body = {
            "token": {
                "methods": ["password"],
                "expires_at": (now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "issued_at": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "user": {"id": "u1", "name": "alice", "domain": {"id": "d1", "name": "Default"}},
                "project": {"id": PROJECT, "name": "shared", "domain": {"name": "Default"}},
                "catalog": [
                    {
                        "type": "image",
                        "name": "glance",
                        "endpoints": [
                            {"url": url, "interface": "public", "region": region,
                             "region_id": region}
                            for region, url in REGIONS.items()
                        ],
                    }
                ],
            }
        }  # fmt: skip
        return httpx.Response(201, headers={"X-Subject-Token": "tok"}, json=body)

    def member(self, status: str) -> dict[str, Any]:
        return {
            "image_id": IMAGE,
            "member_id": PROJECT,
            "status": status,
            "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-02T00:00:00Z",
            "schema": "/v2/schemas/member",
        }

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/auth/tokens"):
            return self.token()
        if path.endswith("/auth/projects"):
            return httpx.Response(200, json={"projects": [{"id": PROJECT, "name": "shared"}]})
        if path == f"/v2/images/{IMAGE}/members/{PROJECT}":
            if request.method == "PUT":
                self.puts.append(request.url.host)
                return httpx.Response(200, json=self.member(json.loads(request.content)["status"]))
            return httpx.Response(200, json=self.member("pending"))
        return httpx.Response(404, json={"message": "not found"})


def context(tmp_path: Path, **args: Any) -> Context:
    settings = mock_settings(region="")
    namespace = argparse.Namespace(
        image_ids=[IMAGE], vault_id="", concurrency=2, batch=False, region=None, **args
    )
    loaded = LoadedConfig(settings, {}, tmp_path / "config.toml", [])
    return Context(args=namespace, loaded=loaded, cache=TokenCache(tmp_path / "tokens.json"))


async def test_the_image_in_both_regions_needs_a_region(tmp_path, make_session, capsys):
    cloud = TwoRegions()
    session = make_session(mock_settings(region=""), cache=False, transport=cloud.transport)
    accept = decide_in_projects(MemberStatus.ACCEPTED)
    with pytest.raises(CliExit) as stop:
        await accept(session, context(tmp_path, project="shared"))
    assert stop.value.code == 2
    assert "shared (RegionOne)" in stop.value.message and "shared (RegionTwo)" in stop.value.message
    assert "--region" in stop.value.message
    assert cloud.puts == []  # nothing decided anywhere

    session = make_session(mock_settings(region=""), cache=False, transport=cloud.transport)
    narrowed = context(tmp_path, project="shared")
    narrowed.args.region = ("RegionTwo",)
    assert await accept(session, narrowed) == 0
    assert cloud.puts == ["glance-two.example.test"]
    assert capsys.readouterr().out == f"accepted {IMAGE} in shared (RegionTwo)\n"
