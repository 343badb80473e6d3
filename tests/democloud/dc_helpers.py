"""Helpers for the demo cloud's wire-level tests (a uniquely named module, so the
``tests/*`` directories without ``__init__.py`` never clash)."""

from __future__ import annotations

from typing import Any

import httpx

from tui.democloud import DemoCloud


def password_auth(creds: dict[str, str], *, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """A Keystone v3 password-auth body for ``OS_*`` credentials, project-scoped by name."""
    if scope is None:
        scope = {
            "project": {
                "name": creds["OS_PROJECT_NAME"],
                "domain": {"name": creds["OS_PROJECT_DOMAIN_NAME"]},
            }
        }
    return {
        "auth": {
            "identity": {
                "methods": ["password"],
                "password": {
                    "user": {
                        "name": creds["OS_USERNAME"],
                        "password": creds["OS_PASSWORD"],
                        "domain": {"name": creds["OS_USER_DOMAIN_NAME"]},
                    }
                },
            },
            "scope": scope,
        }
    }


class Api:
    """A tiny httpx wrapper: one authenticated client per cloud user, JSON errors.

    Image calls go to the region of the credentials (``OS_REGION_NAME``) unless
    ``image_url`` says otherwise, as a client picks its region's catalog endpoint.
    """

    def __init__(
        self, cloud: DemoCloud, creds: dict[str, str] | None = None, image_url: str | None = None
    ) -> None:
        self.cloud = cloud
        self.http = httpx.Client(trust_env=False, timeout=10)
        self.creds = creds or cloud.credentials
        self.image_url = image_url or cloud.image_url_for(self.creds["OS_REGION_NAME"])
        self.token = self.login()

    def login(self) -> str:
        """Password auth; remembers the token's project id (the member id of its calls)."""
        resp = self.http.post(f"{self.cloud.auth_url}/auth/tokens", json=password_auth(self.creds))
        assert resp.status_code == 201, resp.text
        self.project_id: str = resp.json()["token"]["project"]["id"]
        return resp.headers["X-Subject-Token"]

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"X-Auth-Token": self.token, "Accept": "application/json"}
        headers.update(kwargs.pop("headers", {}))
        return self.http.request(method, f"{self.image_url}{path}", headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def put_member(self, image_id: str, body: Any, member_id: str | None = None) -> httpx.Response:
        member = member_id or self.cloud.project_id  # project 0, as the owner tests need
        return self.request("PUT", f"/v2/images/{image_id}/members/{member}", json=body)

    def list_all(self, **params: Any) -> list[dict[str, Any]]:
        """Follow ``next`` links from the version-less root, as a client must."""
        url = "/v2/images"
        images: list[dict[str, Any]] = []
        first = True
        while url:
            resp = self.get(url, params=params if first else None)
            first = False
            assert resp.status_code == 200, resp.text
            body = resp.json()
            images.extend(body["images"])
            url = body.get("next")
        return images

    def close(self) -> None:
        self.http.close()
