"""Keystone token re-scoping and ``/v3/auth/catalog`` as upstream Keystone does them.

Upstream facts (openstack/keystone): ``keystone/auth/plugins/token.py`` keeps the
original token's ``expires_at`` and its methods, and passes the audit chain id;
``keystone/api/_shared/authentication.py`` issues ``audit_ids = [new, chain id]`` and
an unscoped token when no scope is asked for (no default project);
``keystone/api/auth.py`` ``AuthCatalogResource`` answers 403 without a project scope.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from dc_helpers import password_auth

from tui.democloud import DemoCloud

REGIONS = ("eu-de", "eu-nl")


@pytest.fixture(scope="module")
def multi() -> Iterator[DemoCloud]:
    with DemoCloud(images=40, seed=9, projects=4, regions=REGIONS) as cloud:
        yield cloud


def _password_token(cloud: DemoCloud, project: str | None = None) -> httpx.Response:
    creds = cloud.credentials if project is None else cloud.credentials_for(project)
    resp = httpx.post(f"{cloud.auth_url}/auth/tokens", json=password_auth(creds), trust_env=False)
    assert resp.status_code == 201, resp.text
    return resp


def _rescope(cloud: DemoCloud, token: str, scope: Any = None, **query: str) -> httpx.Response:
    auth: dict[str, Any] = {"identity": {"methods": ["token"], "token": {"id": token}}}
    if scope is not None:
        auth["scope"] = scope
    return httpx.post(
        f"{cloud.auth_url}/auth/tokens", json={"auth": auth}, params=query, trust_env=False
    )


def test_rescope_to_a_project_in_another_region(multi: DemoCloud) -> None:
    first = _password_token(multi)
    original = first.json()["token"]
    target = next(p for p in multi.user_projects() if p.region == "eu-nl")
    resp = _rescope(multi, first.headers["X-Subject-Token"], {"project": {"id": target.id}})
    assert resp.status_code == 201
    token = resp.json()["token"]
    new_id = resp.headers["X-Subject-Token"]
    assert new_id != first.headers["X-Subject-Token"]
    assert token["project"]["id"] == target.id and token["project"]["name"] == target.name
    assert token["user"] == original["user"]
    # re-scoping must not extend the token's life
    assert token["expires_at"] == original["expires_at"]
    assert token["issued_at"] >= original["issued_at"]
    assert sorted(token["methods"]) == ["password", "token"]
    assert len(token["audit_ids"]) == 2
    assert token["audit_ids"][1] == original["audit_ids"][0]
    assert token["audit_ids"][0] != original["audit_ids"][0]
    # the new token lists the new project's shares on that project's region endpoint
    listed = httpx.get(
        f"{multi.image_url_for('eu-nl')}/v2/images",
        params={"visibility": "shared", "member_status": "all", "limit": 1000},
        headers={"X-Auth-Token": new_id},
        trust_env=False,
    )
    assert listed.status_code == 200
    ids = {i["id"] for i in listed.json()["images"]}
    assert set(multi.shared_image_ids(project=target.id)) <= ids
    # ... and, scoped to an eu-nl project, is refused by eu-de's image API
    other = httpx.get(
        f"{multi.image_url}/v2/images", headers={"X-Auth-Token": new_id}, trust_env=False
    )
    assert other.status_code == 401


def test_rescoping_a_rescoped_token_keeps_the_chain(multi: DemoCloud) -> None:
    first = _password_token(multi)
    root_audit = first.json()["token"]["audit_ids"][0]
    projects = multi.user_projects()
    token = first.headers["X-Subject-Token"]
    for project in (projects[1], projects[2], projects[0]):
        scope = {"project": {"name": project.name, "domain": {"name": "OTC00000000001000000501"}}}
        resp = _rescope(multi, token, scope)
        assert resp.status_code == 201, resp.text
        body = resp.json()["token"]
        assert body["audit_ids"][1] == root_audit
        assert sorted(body["methods"]) == ["password", "token"]
        assert body["expires_at"] == first.json()["token"]["expires_at"]
        token = resp.headers["X-Subject-Token"]


def test_rescoped_token_expires_with_the_original() -> None:
    with DemoCloud(images=5, seed=1, token_ttl_seconds=1.0) as cloud:
        first = _password_token(cloud)
        time.sleep(0.5)
        second = _rescope(
            cloud, first.headers["X-Subject-Token"], {"project": {"id": cloud.project_id}}
        )
        assert second.status_code == 201
        token = second.headers["X-Subject-Token"]
        url = f"{cloud.image_url}/v2/images"
        assert httpx.get(url, headers={"X-Auth-Token": token}, trust_env=False).status_code == 200
        time.sleep(0.7)  # 1.2 s after the original was issued, 0.7 s after the re-scope
        resp = httpx.get(url, headers={"X-Auth-Token": token}, trust_env=False)
        assert resp.status_code == 401


def test_token_method_without_scope_gives_an_unscoped_token(multi: DemoCloud) -> None:
    token = _password_token(multi).headers["X-Subject-Token"]
    for scope in (None, "unscoped", {"unscoped": {}}):
        resp = _rescope(multi, token, scope)
        assert resp.status_code == 201, scope
        body = resp.json()["token"]
        assert "project" not in body and "catalog" not in body
        image = httpx.get(
            f"{multi.image_url}/v2/images",
            headers={"X-Auth-Token": resp.headers["X-Subject-Token"]},
            trust_env=False,
        )
        assert image.status_code == 401


def test_rescope_to_a_project_of_someone_else_is_401(multi: DemoCloud) -> None:
    token = _password_token(multi).headers["X-Subject-Token"]
    owner = multi.owner_project_ids[-1]
    resp = _rescope(multi, token, {"project": {"id": owner}})
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == 401


def test_auth_catalog_for_the_tokens_scope(multi: DemoCloud) -> None:
    issued = _password_token(multi, "eu-nl_demo_staging")
    token = issued.headers["X-Subject-Token"]
    url = f"{multi.auth_url}/auth/catalog"
    resp = httpx.get(url, headers={"X-Auth-Token": token}, trust_env=False)
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"catalog", "links"}
    assert body["links"] == {"self": url}
    assert body["catalog"] == issued.json()["token"]["catalog"]
    image = next(s for s in body["catalog"] if s["type"] == "image")
    assert {e["region_id"] for e in image["endpoints"]} == set(REGIONS)
    head = httpx.head(url, headers={"X-Auth-Token": token}, trust_env=False)
    assert head.status_code == 200 and head.content == b""


def test_auth_catalog_needs_a_project_scoped_token(multi: DemoCloud) -> None:
    url = f"{multi.auth_url}/auth/catalog"
    assert httpx.get(url, trust_env=False).status_code == 401
    bogus = httpx.get(url, headers={"X-Auth-Token": "gAAAAAnope"}, trust_env=False)
    assert bogus.status_code == 401
    body = password_auth(multi.credentials)
    del body["auth"]["scope"]
    unscoped = httpx.post(f"{multi.auth_url}/auth/tokens", json=body, trust_env=False)
    resp = httpx.get(
        url, headers={"X-Auth-Token": unscoped.headers["X-Subject-Token"]}, trust_env=False
    )
    assert resp.status_code == 403
    assert resp.json() == {
        "error": {
            "code": 403,
            "title": "Forbidden",
            "message": "A project-scoped token is required to produce a service catalog.",
        }
    }


def test_default_catalog_is_todays(cloud: DemoCloud) -> None:
    """One region: exactly today's four endpoints with today's ids."""
    catalog = _password_token(cloud).json()["token"]["catalog"]
    seen = [
        (s["type"], e["id"], e["interface"], e["region"], e["region_id"], e["url"])
        for s in catalog
        for e in s["endpoints"]
    ]
    zeros = "0" * 28
    assert seen == [
        ("identity", f"a100{zeros}", "public", "eu-de", "eu-de", cloud.auth_url),
        ("identity", f"a101{zeros}", "internal", "eu-de", "eu-de", cloud.auth_url),
        ("image", f"b200{zeros}", "public", "eu-de", "eu-de", f"{cloud.base_url}/image"),
        ("image", f"b201{zeros}", "internal", "eu-de", "eu-de", f"{cloud.base_url}/image"),
    ]
