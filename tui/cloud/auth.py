"""Keystone v3 authentication (OTC IAM) by password or token, and reading the token response.

IMS is a project-level service, so the token is always project-scoped; its ``project.id`` is the
``member_id`` of every member call. The image endpoint comes from the catalog unless configured.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tui.cloud.errors import ApiError
from tui.cloud.models import Token, parse_timestamp
from tui.settings.model import Settings, normalise_url


def tokens_url(auth_url: str) -> str:
    """``{auth_url}/auth/tokens``; ``/v3`` is added when missing, as OTC users often omit it."""
    base = normalise_url(auth_url)
    if not base.rstrip("/").endswith("/v3"):
        base += "/v3"
    return base + "/auth/tokens"


def catalog_url(auth_url: str) -> str:
    """``{auth_url}/auth/catalog``: the service catalog of the ``X-Auth-Token``'s scope."""
    return tokens_url(auth_url).removesuffix("/tokens") + "/catalog"


def projects_url(auth_url: str) -> str:
    """``{auth_url}/auth/projects``: the projects the token's user may scope to."""
    return tokens_url(auth_url).removesuffix("/tokens") + "/projects"


def _domain(name: str, domain_id: str) -> dict[str, str]:
    return {"id": domain_id} if domain_id and not name else {"name": name}


def _project_scope(settings: Settings) -> dict[str, Any]:
    if settings.project_id:
        return {"id": settings.project_id}
    # Keystone needs the project's domain with a project name; on OTC it is the account's.
    if settings.project_domain_name or settings.project_domain_id:
        domain = _domain(settings.project_domain_name, settings.project_domain_id)
    else:
        domain = _domain(settings.user_domain_name, settings.user_domain_id)
    return {"name": settings.project_name, "domain": domain}


def password_body(settings: Settings, password: str) -> dict[str, Any]:
    user: dict[str, Any] = {
        "name": settings.username,
        "password": password,
        "domain": _domain(settings.user_domain_name, settings.user_domain_id),
    }
    return {
        "auth": {
            "identity": {"methods": ["password"], "password": {"user": user}},
            "scope": {"project": _project_scope(settings)},
        }
    }


def token_body(settings: Settings, token: str | None = None) -> dict[str, Any]:
    """Keystone's token method: a token scoped to the settings' project from an existing one
    (``v3token``'s own token, or ``token``: one this user already holds, to re-scope)."""
    return {
        "auth": {
            "identity": {"methods": ["token"], "token": {"id": token or settings.token}},
            "scope": {"project": _project_scope(settings)},
        }
    }


def auth_body(settings: Settings, password: str) -> dict[str, Any]:
    """The body of ``POST /v3/auth/tokens``; ``password`` is the session's, not the settings'."""
    return token_body(settings) if settings.uses_token else password_body(settings, password)


def image_endpoints_from_catalog(catalog: Any) -> dict[str, str]:
    """Every region's public ``image`` endpoint (version stripped), in catalog order."""
    found: dict[str, str] = {}
    if not isinstance(catalog, list):
        return found
    for service in catalog:
        if not isinstance(service, dict) or service.get("type") != "image":
            continue
        for endpoint in service.get("endpoints") or []:
            if not isinstance(endpoint, dict) or endpoint.get("interface") != "public":
                continue
            url = endpoint.get("url")
            region = endpoint.get("region_id") or endpoint.get("region") or ""
            if isinstance(url, str) and url and isinstance(region, str):
                found.setdefault(region, strip_version(url))
    return found


def image_endpoint_from_catalog(catalog: Any, region: str) -> str:
    """The public ``image`` endpoint in ``region`` (the first one if no region is wanted)."""
    endpoints = image_endpoints_from_catalog(catalog)
    if not region:
        return next(iter(endpoints.values()), "")
    return endpoints.get(region, "")


class NoImageEndpoint(ApiError):
    """The token's catalog has no public image endpoint in the wanted region (e.g. OTC's MOS
    project): for one project a configuration problem, for an inbox a project to skip."""


def strip_version(url: str) -> str:
    """Pagination links are relative to the version-less root, so keep the base without /v2."""
    base = normalise_url(url)
    for suffix in ("/v2", "/v2.0", "/v1"):
        if base.endswith(suffix):
            return base[: -len(suffix)]
    return base


def token_from_response(
    headers: Any, body: Any, settings: Settings, *, region_hint: str = ""
) -> Token:
    """Build a ``Token`` from a 201 response, or raise ``ApiError`` saying what was missing."""
    value = headers.get("X-Subject-Token") if headers is not None else None
    if not value:
        raise ApiError(
            "the identity service answered without an X-Subject-Token header",
            hint="Check that the auth URL points at Keystone v3 (it usually ends in /v3).",
        )
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, dict):
        raise ApiError(
            "the identity service answered without a token body",
            hint="Check that the auth URL points at Keystone v3 (it usually ends in /v3).",
        )
    expires = parse_timestamp(token.get("expires_at"))
    # Keystone and OTC IAM send issued_at; without it, the time of the answer is close enough.
    issued = parse_timestamp(token.get("issued_at")) or datetime.now(UTC)
    project = token.get("project")
    if expires is None:
        raise ApiError("the token response has no valid expires_at")
    if not isinstance(project, dict) or not project.get("id"):
        raise ApiError(
            "the token is not scoped to a project",
            hint="Set a project name or id: image sharing works per project.",
        )
    user = token.get("user") if isinstance(token.get("user"), dict) else {}
    domain = user.get("domain") if isinstance(user.get("domain"), dict) else {}
    region = settings.region or region_hint
    endpoints = image_endpoints_from_catalog(token.get("catalog"))
    endpoint = strip_version(settings.ims_endpoint) if settings.ims_endpoint else ""
    if not endpoint:
        endpoint = endpoints.get(region, "") if region else next(iter(endpoints.values()), "")
    if not endpoint:
        where = f" in region {region}" if region else ""
        raise NoImageEndpoint(
            f"the service catalog has no public image endpoint{where}",
            hint="Set the IMS endpoint in the config (e.g. https://ims.eu-de.otc.t-systems.com) "
            "or check the region.",
        )
    return Token(
        value=value,
        expires_at=expires,
        project_id=str(project.get("id")),
        project_name=str(project.get("name") or ""),
        user_id=str(user.get("id") or ""),
        user_name=str(user.get("name") or settings.username),
        domain_name=str(domain.get("name") or settings.user_domain_name),
        image_endpoint=endpoint,
        auth_url=normalise_url(settings.auth_url),
        region=region,
        issued_at=min(issued, expires),
        image_endpoints=tuple(endpoints.items()),
    )


def host_of(url: str) -> str:
    return urlsplit(url).hostname or url
