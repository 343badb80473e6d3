"""Keystone v3: version discovery and token issue/validation at ``{base}/identity``.

Only what image-sharing clients touch is implemented, but with Keystone's real shapes:
the 300 version document keystoneauth discovers, ``X-Subject-Token``, microsecond
``Z`` timestamps, the catalog with a version-less image endpoint per region, and
Keystone's JSON errors with ``WWW-Authenticate`` on 401.  Re-scoping with the ``token``
method follows upstream ``keystone/auth/plugins/token.py`` and
``keystone/api/_shared/authentication.py``: the new token keeps the original's
``expires_at``, its methods are the original's plus ``token``, and its ``audit_ids`` are
``[new id, audit chain id]``.
"""

from __future__ import annotations

import json
from typing import Any

from .endpoints import Endpoints
from .records import Domain, Project, User
from .state import CloudState, Token
from .wire import KEYSTONE_401, Request, Response, dumps, keystone_error, keystone_time

VERSION = {
    "id": "v3.14",
    "status": "stable",
    "updated": "2020-04-07T00:00:00Z",
    "media-types": [
        {"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}
    ],
}
ROLES = [
    {"id": "2f3c0c5a0b5e4a6f9d6c3d1e8b7a9f01", "name": "member"},
    {"id": "7a1e4b2c9d8f4e3a8b6c5d4e3f2a1b0c", "name": "reader"},
]
_VALIDATION = (
    "Expecting to find {attr} in {target}. The server could not comply with the request "
    "since it is either malformed or otherwise incorrect. The client is assumed to be in error."
)


_CATALOG_FORBIDDEN = "A project-scoped token is required to produce a service catalog."


class KeystoneApi:
    """Request handlers for the identity service.

    ``endpoints`` says where each region's image API listens (the catalog lists them
    all); without it the image API is assumed at ``{base_url}/image``.
    """

    def __init__(
        self, state: CloudState, base_url: str, endpoints: Endpoints | None = None
    ) -> None:
        self.state = state
        self.base_url = base_url
        self.endpoints = endpoints or Endpoints(base_url, {})
        self.www_authenticate = f'Keystone uri="{base_url}/identity"'

    # ------------------------------------------------------------------ helpers

    def unauthorized(self, message: str = KEYSTONE_401) -> Response:
        """401 as Keystone sends it (the message never says which part was wrong)."""
        return keystone_error(401, message, self.www_authenticate)

    @staticmethod
    def bad_request(attr: str, target: str) -> Response:
        """Keystone's ``ValidationError`` wording."""
        return keystone_error(400, _VALIDATION.format(attr=attr, target=target))

    def version_doc(self) -> dict[str, Any]:
        """The v3 version object with an absolute self link."""
        return {**VERSION, "links": [{"rel": "self", "href": f"{self.base_url}/identity/v3/"}]}

    def catalog(self) -> list[dict[str, Any]]:
        """Identity and image services; the image URL has no version (as on OTC).

        Every region gets its endpoints (public and internal), region by region as real
        Keystone lists a multi-region deployment; each region's image URL is its own port.
        Keystone is one service for all regions, so its URL is the same in each.  Endpoint
        ids are fixed per (service, interface, region index): the first region's are
        today's.
        """
        base = self.base_url
        regions = self.state.regions

        def endpoints(url_of: Any, seed: str) -> list[dict[str, str]]:
            return [
                {
                    "id": f"{seed}{n:02d}" + ("0" * 28 if r == 0 else f"{r:02d}" + "0" * 26),
                    "interface": iface,
                    "region": region,
                    "region_id": region,
                    "url": url_of(region),
                }
                for r, region in enumerate(regions)
                for n, iface in enumerate(("public", "internal"))
            ]

        def image_url(region: str) -> str:
            return self.endpoints.image.get(region) or f"{base}/image"

        return [
            {
                "type": "identity",
                "id": "d5a7c1e0f3b94c2a8e6d4b2a0c9e7f11",
                "name": "keystone",
                "endpoints": endpoints(lambda region: f"{base}/identity/v3", "a1"),
            },
            {
                "type": "image",
                "id": "b8e2d4f6a1c34e5b9d7f0a2c4e6b8d22",
                "name": "glance",
                "endpoints": endpoints(image_url, "b2"),
            },
        ]

    def token_body(self, token: Token, with_catalog: bool) -> dict[str, Any]:
        """The ``{"token": ...}`` document for an issued or validated token."""
        user = token.user
        body: dict[str, Any] = {
            "methods": token.methods,
            "user": {
                "domain": {"id": user.domain.id, "name": user.domain.name},
                "id": user.id,
                "name": user.name,
                "password_expires_at": None,
            },
            "audit_ids": token.audit_ids,
            "expires_at": keystone_time(token.expires_at),
            "issued_at": keystone_time(token.issued_at),
        }
        if token.project is not None:
            proj = token.project
            body["project"] = {
                "domain": {"id": proj.domain.id, "name": proj.domain.name},
                "id": proj.id,
                "name": proj.name,
            }
            body["is_domain"] = False
            body["roles"] = ROLES
            if with_catalog:
                body["catalog"] = self.catalog()
        elif token.domain is not None:
            body["domain"] = {"id": token.domain.id, "name": token.domain.name}
            body["roles"] = ROLES
        return {"token": body}

    # ------------------------------------------------------------------ handlers

    def versions(self, req: Request) -> Response:
        """``GET /identity``: 300 Multiple Choices, Keystone's ``versions.values`` shape."""
        body = {"versions": {"values": [self.version_doc()]}}
        return Response(300, dumps(body))

    def version(self, req: Request) -> Response:
        """``GET /identity/v3``: 200 with the single version object."""
        return Response(200, dumps({"version": self.version_doc()}))

    def issue(self, req: Request) -> Response:
        """``POST /identity/v3/auth/tokens`` with the password or token method.

        Scope as upstream: ``project`` (by id, or name plus domain), ``domain``, or none /
        ``"unscoped"`` for an unscoped token (the demo users have no default project).  The
        ``token`` method re-scopes: same user, the original's ``expires_at``, methods
        ``["token", *original methods]`` (upstream puts them in a set, so real order
        varies) and ``audit_ids`` ``[new, chain id]``, the chain id being the original's
        last audit id.
        """
        try:
            body = json.loads(req.body) if req.body else None
        except (ValueError, UnicodeDecodeError):
            return self.bad_request("valid JSON", "request body")
        if not isinstance(body, dict) or not isinstance(body.get("auth"), dict):
            return self.bad_request("auth", "request body")
        auth = body["auth"]
        identity = auth.get("identity")
        if not isinstance(identity, dict):
            return self.bad_request("identity", "auth")
        methods = identity.get("methods")
        if not isinstance(methods, list) or not methods:
            return self.bad_request("methods", "identity")
        original: Token | None = None
        if "password" in methods:
            user = self._password_user(identity.get("password"))
            if isinstance(user, Response):
                return user
        elif "token" in methods:
            spec = identity.get("token")
            if not isinstance(spec, dict) or not isinstance(spec.get("id"), str):
                return self.bad_request("id", "token")
            original = self.state.validate_token(spec["id"])
            if original is None:
                # Upstream: the token plugin's validate_token raises TokenNotFound, a 404
                # that quotes the token (keystone/token/provider.py, keystone/exception.py).
                return keystone_error(404, f"Could not find token: {spec['id']}.")
            user = original.user
        else:
            return self.unauthorized()
        scope = auth.get("scope")
        project: Project | None = None
        domain: Domain | None = None
        unscoped = scope is None or scope == "unscoped"
        if unscoped or (isinstance(scope, dict) and "unscoped" in scope):
            pass  # unscoped (upstream: the user's default project, which demo users lack)
        elif isinstance(scope, dict) and "project" in scope:
            found = self._scope_project(scope["project"], user)
            if isinstance(found, Response):
                return found
            project = found
        elif isinstance(scope, dict) and "domain" in scope:
            # A domain-scoped token: no project, so no catalog and no image API.
            spec = scope["domain"]
            if not isinstance(spec, dict) or not ({"id", "name"} & spec.keys()):
                return self.bad_request("id or name", "domain")
            if user.domain.id != spec.get("id") and user.domain.name != spec.get("name"):
                return self.unauthorized()
            domain = user.domain
        else:
            return self.bad_request("project or domain", "scope")
        if original is None:
            token = self.state.issue_token(user, project, list(methods), domain)
        else:
            token = self.state.issue_token(
                user,
                project,
                list(dict.fromkeys(["token", *original.methods])),
                domain,
                expires_at=original.expires_at,
                parent_audit_id=original.audit_ids[-1],
            )
        payload = self.token_body(token, with_catalog=not req.has_param("nocatalog"))
        return Response(201, dumps(payload), headers=[("X-Subject-Token", token.id)])

    def _password_user(self, spec: Any) -> User | Response:
        if not isinstance(spec, dict) or not isinstance(spec.get("user"), dict):
            return self.bad_request("user", "password")
        u = spec["user"]
        password = u.get("password")
        if not isinstance(password, str):
            return self.bad_request("password", "user")
        if "id" in u:
            user = self.state.find_user(user_id=str(u["id"]))
        else:
            name = u.get("name")
            domain = u.get("domain")
            if not isinstance(name, str):
                return self.bad_request("name", "user")
            if not isinstance(domain, dict) or not ({"id", "name"} & domain.keys()):
                return self.bad_request("domain", "user")
            user = self.state.find_user(
                name=name, domain_id=domain.get("id"), domain_name=domain.get("name")
            )
        if user is None or user.password != password:
            return self.unauthorized()
        return user

    def _scope_project(self, spec: Any, user: User) -> Project | Response:
        if not isinstance(spec, dict):
            return self.bad_request("project", "scope")
        if "id" in spec:
            project = self.state.find_project(project_id=str(spec["id"]))
        elif "name" in spec:
            domain = spec.get("domain")
            if not isinstance(domain, dict) or not ({"id", "name"} & domain.keys()):
                return self.bad_request("domain", "project")
            project = self.state.find_project(
                name=str(spec["name"]), domain_id=domain.get("id"), domain_name=domain.get("name")
            )
        else:
            return self.bad_request("id or name", "project")
        if project is None or all(p.id != project.id for p in user.projects):
            # Keystone answers 401 for an unknown project too: do not reveal which exist.
            return self.unauthorized()
        return project

    def _subject(self, req: Request) -> tuple[Token | None, Response | None]:
        caller = self.state.validate_token(req.header("X-Auth-Token"))
        if caller is None:
            return None, self.unauthorized()
        subject_id = req.header("X-Subject-Token")
        subject = self.state.validate_token(subject_id)
        if subject is None:
            return None, keystone_error(404, f"Could not find token: {subject_id}.")
        return subject, None

    def validate(self, req: Request) -> Response:
        """``GET``/``HEAD /identity/v3/auth/tokens``: 200 if the subject token is valid."""
        subject, error = self._subject(req)
        if error is not None or subject is None:
            return error or self.unauthorized()
        payload = self.token_body(subject, with_catalog=not req.has_param("nocatalog"))
        return Response(200, dumps(payload), headers=[("X-Subject-Token", subject.id)])

    def auth_projects(self, req: Request) -> Response:
        """``GET /identity/v3/auth/projects``: the projects the token's user may scope to."""
        caller = self.state.validate_token(req.header("X-Auth-Token"))
        if caller is None:
            return self.unauthorized()
        projects = [
            {
                "id": project.id,
                "name": project.name,
                "domain_id": project.domain.id,
                "enabled": True,
                "is_domain": False,
                "parent_id": project.domain.id,
                "description": "",
                "links": {"self": f"{self.base_url}/identity/v3/projects/{project.id}"},
            }
            for project in caller.user.projects
        ]
        links = {
            "self": f"{self.base_url}/identity/v3/auth/projects",
            "previous": None,
            "next": None,
        }
        return Response(200, dumps({"projects": projects, "links": links}))

    def auth_catalog(self, req: Request) -> Response:
        """``GET /identity/v3/auth/catalog``: the catalog for the ``X-Auth-Token``'s scope.

        Upstream ``AuthCatalogResource``: 403 without a project scope, else
        ``{"catalog": [...], "links": {"self": ...}}`` (the token's catalog).
        """
        caller = self.state.validate_token(req.header("X-Auth-Token"))
        if caller is None:
            return self.unauthorized()
        if caller.project is None:
            return keystone_error(403, _CATALOG_FORBIDDEN)
        body = {
            "catalog": self.catalog(),
            "links": {"self": f"{self.base_url}/identity/v3/auth/catalog"},
        }
        return Response(200, dumps(body))

    def revoke(self, req: Request) -> Response:
        """``DELETE /identity/v3/auth/tokens``: revoke the subject token (204)."""
        subject, error = self._subject(req)
        if error is not None or subject is None:
            return error or self.unauthorized()
        with self.state.lock:
            self.state.tokens.pop(subject.id, None)
        return Response(204, b"", None)

    def not_found(self, req: Request) -> Response:
        """Keystone's 404 for unknown paths."""
        return keystone_error(404, "The resource could not be found.")

    def not_allowed(self, req: Request, allowed: list[str]) -> Response:
        """Keystone's 405 (Flask's text) with an ``Allow`` header."""
        resp = keystone_error(405, "The method is not allowed for the requested URL.")
        resp.headers.append(("Allow", ", ".join(allowed)))
        return resp
