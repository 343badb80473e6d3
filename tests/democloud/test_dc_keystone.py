"""Keystone v3 on the wire: discovery, token issue, validation, errors."""

from __future__ import annotations

import copy
import re
import time

import httpx
from dc_helpers import password_auth

from tui.democloud import DemoCloud

KS_401 = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


def _post(cloud: DemoCloud, body: object, **kw: object) -> httpx.Response:
    return httpx.post(f"{cloud.auth_url}/auth/tokens", json=body, trust_env=False, **kw)  # type: ignore[arg-type]


def test_version_documents(cloud: DemoCloud) -> None:
    resp = httpx.get(f"{cloud.base_url}/identity", trust_env=False)
    assert resp.status_code == 300
    value = resp.json()["versions"]["values"][0]
    assert value["id"] == "v3.14" and value["status"] == "stable"
    assert value["links"] == [{"rel": "self", "href": f"{cloud.base_url}/identity/v3/"}]
    assert value["media-types"][0]["type"] == "application/vnd.openstack.identity-v3+json"
    for path in ("/identity/v3", "/identity/v3/"):
        resp = httpx.get(cloud.base_url + path, trust_env=False)
        assert resp.status_code == 200
        assert resp.json()["version"]["id"] == "v3.14"
        assert resp.headers["content-type"] == "application/json"
        assert re.fullmatch(r"req-[0-9a-f-]{36}", resp.headers["x-openstack-request-id"])


def test_password_token_by_names(cloud: DemoCloud) -> None:
    before = cloud.stats.token_requests
    resp = _post(cloud, password_auth(cloud.credentials))
    assert resp.status_code == 201
    assert len(resp.headers["X-Subject-Token"]) > 100
    token = resp.json()["token"]
    assert token["methods"] == ["password"]
    assert token["project"]["id"] == cloud.project_id
    assert token["project"]["name"] == "eu-de_demo"
    assert token["user"]["name"] == "demo"
    assert token["user"]["domain"]["name"] == "OTC00000000001000000501"
    assert token["user"]["password_expires_at"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", token["expires_at"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", token["issued_at"])
    assert token["roles"] and token["audit_ids"]
    image = next(s for s in token["catalog"] if s["type"] == "image")
    assert image["name"] == "glance"
    public = next(e for e in image["endpoints"] if e["interface"] == "public")
    assert public["url"] == cloud.image_url and not public["url"].endswith("/")
    assert public["region"] == public["region_id"] == "eu-de"
    assert any(e["interface"] == "internal" for e in image["endpoints"])
    assert any(s["type"] == "identity" for s in token["catalog"])
    assert cloud.stats.token_requests == before + 1


def test_password_token_by_ids_and_nocatalog(cloud: DemoCloud) -> None:
    user = cloud.data.demo_user
    body = {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {"user": {"id": user.id, "password": user.password}},
            },
            "scope": {"project": {"id": cloud.project_id}},
        }
    }
    resp = httpx.post(f"{cloud.auth_url}/auth/tokens?nocatalog", json=body, trust_env=False)
    assert resp.status_code == 201
    assert "catalog" not in resp.json()["token"]
    by_domain_id = password_auth(cloud.credentials)
    by_domain_id["auth"]["identity"]["password"]["user"]["domain"] = {"id": user.domain.id}
    by_domain_id["auth"]["scope"]["project"]["domain"] = {"id": user.domain.id}
    assert _post(cloud, by_domain_id).status_code == 201


def test_wrong_password_unknown_user_and_project_are_401(cloud: DemoCloud) -> None:
    creds = dict(cloud.credentials)
    cases = []
    cases.append(password_auth({**creds, "OS_PASSWORD": "nope"}))
    cases.append(password_auth({**creds, "OS_USERNAME": "mallory"}))
    cases.append(password_auth({**creds, "OS_USER_DOMAIN_NAME": "OTC-other"}))
    cases.append(password_auth({**creds, "OS_PROJECT_NAME": "eu-de_nowhere"}))
    # a real project the user has no role on
    cases.append(password_auth(creds, scope={"project": {"id": cloud.owner_project_ids[0]}}))
    for body in cases:
        resp = _post(cloud, body)
        assert resp.status_code == 401, body
        assert resp.json() == KS_401
        assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{cloud.base_url}/identity"'


def test_malformed_bodies_are_400(cloud: DemoCloud) -> None:
    resp = httpx.post(
        f"{cloud.auth_url}/auth/tokens",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        trust_env=False,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == 400
    assert resp.json()["error"]["title"] == "Bad Request"
    no_methods = copy.deepcopy(password_auth(cloud.credentials))
    del no_methods["auth"]["identity"]["methods"]
    for body in ({}, {"auth": {}}, no_methods, []):
        resp = _post(cloud, body)
        assert resp.status_code == 400, body
        assert "Expecting to find" in resp.json()["error"]["message"]


def test_token_method_rescopes(cloud: DemoCloud) -> None:
    issued = _post(cloud, password_auth(cloud.credentials))
    first = issued.headers["X-Subject-Token"]
    body = {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": first}},
            "scope": {"project": {"id": cloud.project_id}},
        }
    }
    resp = _post(cloud, body)
    assert resp.status_code == 201
    assert resp.headers["X-Subject-Token"] != first
    # Upstream keeps the original's methods and adds "token" (keystone/auth/plugins/token.py).
    assert sorted(resp.json()["token"]["methods"]) == ["password", "token"]
    assert resp.json()["token"]["expires_at"] == issued.json()["token"]["expires_at"]
    body["auth"]["identity"]["token"]["id"] = "bogus"
    refused = _post(cloud, body)  # upstream's TokenNotFound: 404, quoting the token
    assert refused.status_code == 404
    assert refused.json()["error"]["message"] == "Could not find token: bogus."


def test_validate_token_get_and_head(cloud: DemoCloud) -> None:
    token = _post(cloud, password_auth(cloud.credentials)).headers["X-Subject-Token"]
    url = f"{cloud.auth_url}/auth/tokens"
    headers = {"X-Auth-Token": token, "X-Subject-Token": token}
    resp = httpx.get(url, headers=headers, trust_env=False)
    assert resp.status_code == 200
    assert resp.json()["token"]["project"]["id"] == cloud.project_id
    assert httpx.head(url, headers=headers, trust_env=False).status_code == 200
    bad = {"X-Auth-Token": token, "X-Subject-Token": "gAAAAAnope"}
    assert httpx.get(url, headers=bad, trust_env=False).status_code == 404
    assert httpx.head(url, headers=bad, trust_env=False).status_code == 404
    assert httpx.get(url, headers={"X-Subject-Token": token}, trust_env=False).status_code == 401


def test_token_ttl_and_revocation() -> None:
    with DemoCloud(images=5, seed=1, token_ttl_seconds=0.3) as cloud:
        token = _post(cloud, password_auth(cloud.credentials)).headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token}
        url = f"{cloud.image_url}/v2/images"
        assert httpx.get(url, headers=headers, trust_env=False).status_code == 200
        time.sleep(0.4)
        resp = httpx.get(url, headers=headers, trust_env=False)
        assert resp.status_code == 401 and resp.json() == KS_401
    with DemoCloud(images=5, seed=1) as cloud:
        token = _post(cloud, password_auth(cloud.credentials)).headers["X-Subject-Token"]
        headers = {"X-Auth-Token": token}
        url = f"{cloud.image_url}/v2/images"
        assert httpx.get(url, headers=headers, trust_env=False).status_code == 200
        assert cloud.revoke_tokens() >= 1
        resp = httpx.get(url, headers=headers, trust_env=False)
        assert resp.status_code == 401
        assert "WWW-Authenticate" in resp.headers


def test_owner_users_can_log_in(cloud: DemoCloud) -> None:
    for i, pid in enumerate(cloud.owner_project_ids):
        resp = _post(cloud, password_auth(cloud.owner_credentials(i)))
        assert resp.status_code == 201
        assert resp.json()["token"]["project"]["id"] == pid


def test_domain_scoped_and_unscoped_tokens_cannot_use_the_image_api(cloud: DemoCloud) -> None:
    creds = cloud.credentials
    domain_scope = {"domain": {"name": creds["OS_USER_DOMAIN_NAME"]}}
    resp = _post(cloud, password_auth(creds, scope=domain_scope))
    assert resp.status_code == 201
    token = resp.json()["token"]
    assert token["domain"]["name"] == creds["OS_USER_DOMAIN_NAME"]
    assert "project" not in token and "catalog" not in token
    other = _post(cloud, password_auth(creds, scope={"domain": {"name": "OTC-else"}}))
    assert other.status_code == 401
    body = password_auth(creds)
    del body["auth"]["scope"]
    unscoped = _post(cloud, body)
    assert unscoped.status_code == 201 and "project" not in unscoped.json()["token"]
    for tok in (resp.headers["X-Subject-Token"], unscoped.headers["X-Subject-Token"]):
        r = httpx.get(
            f"{cloud.image_url}/v2/images", headers={"X-Auth-Token": tok}, trust_env=False
        )
        assert r.status_code == 401
