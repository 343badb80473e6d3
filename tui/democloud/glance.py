"""Glance v2 image sharing at ``{base}/image`` (plus OTC's whole-image vault rule).

Error bodies go through :func:`wire.webob_error`, so they depend on ``Accept`` exactly
as upstream's do; texts and status codes follow ``glance/api/v2/image_members.py`` and
``images.py``.  The check order in :meth:`GlanceApi.update_member`
is upstream's, because clients show whichever error comes first.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from . import schemas
from .endpoints import Endpoints
from .records import MEMBER_STATUSES, Image
from .state import CloudState, ListError, ProjectFailure, Token
from .wire import (
    JSON,
    KEYSTONE_401,
    REASONS,
    Request,
    Response,
    dumps,
    keystone_error,
    otc_error,
    webob_error,
)

#: Image API versions, newest first, as upstream Glance lists them.
VERSIONS: tuple[tuple[str, str], ...] = (
    ("v2.16", "CURRENT"),
    *((f"v2.{n}", "SUPPORTED") for n in range(15, -1, -1)),
)
_NO_BODY = object()

#: How a region's image API answers a token scoped to a project of another region:
#: ``unauthorized`` = keystonemiddleware's 401 (the default, see the README for why),
#: ``IMG.0108`` = IMS's documented 400 "The tenant ID was not found in the current region."
FOREIGN_REGION_ERRORS: tuple[str, ...] = ("unauthorized", "IMG.0108")

#: WebOb's default explanation per status, for :meth:`GlanceApi.failure`.
_EXPLANATIONS: dict[int, str] = {
    400: "The server could not comply with the request since it is either malformed or "
    "otherwise incorrect.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    409: "There was a conflict when trying to complete your request.",
    429: "The client has sent too many requests in a given amount of time.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    502: "Bad gateway.",
    503: "The server is currently unavailable. Please try again at a later time.",
    504: "The gateway has timed out.",
}


class GlanceApi:
    """Request handlers for one region's image service; every handler gets a validated token.

    ``base_url`` is this port's base (``{base_url}/image`` is the endpoint); ``region``
    the region served here.  Keystone's address comes from ``endpoints`` (it may be on
    another port).
    """

    def __init__(
        self,
        state: CloudState,
        base_url: str,
        endpoints: Endpoints | None = None,
        region: str | None = None,
        foreign_region_error: str = "unauthorized",
    ) -> None:
        self.state = state
        self.base_url = base_url
        self.endpoints = endpoints or Endpoints(base_url, {})
        self.region = region or state.regions[0]
        self.foreign_region_error = foreign_region_error

    @property
    def www_authenticate(self) -> str:
        """keystonemiddleware's ``WWW-Authenticate``: where to get a token (Keystone)."""
        return f'Keystone uri="{self.endpoints.identity or self.base_url}/identity"'

    # ------------------------------------------------------------------ plumbing

    def authenticate(self, req: Request) -> Token | Response:
        """keystonemiddleware: a valid project-scoped ``X-Auth-Token`` or a JSON 401.

        A token scoped to a project of another region fails too: an OTC project lives in
        one region and only that region's IMS knows it (see :data:`FOREIGN_REGION_ERRORS`).
        """
        token = self.state.validate_token(req.header("X-Auth-Token"))
        if token is None or token.project is None:
            return keystone_error(401, KEYSTONE_401, self.www_authenticate)
        if self.state.multi_region and token.project.region != self.region:
            if self.foreign_region_error == "IMG.0108":
                return otc_error(
                    400, "IMG.0108", "The tenant ID was not found in the current region."
                )
            return keystone_error(401, KEYSTONE_401, self.www_authenticate)
        return token

    def failure(self, req: Request, failure: ProjectFailure) -> Response:
        """The answer of a failed project (``DemoCloud.fail_project``), shaped as Glance's.

        A 401 is keystonemiddleware's (that is who sends 401s); anything else is a WebOb
        error rendered for ``Accept``, with WebOb's default explanation unless given one.
        """
        if failure.status == 401:
            return keystone_error(401, failure.message or KEYSTONE_401, self.www_authenticate)
        explanation = failure.message or _EXPLANATIONS.get(
            failure.status, REASONS.get(failure.status, "Error")
        )
        resp = self.error(req, failure.status, explanation)
        if failure.status in (429, 503):
            resp.headers.append(("Retry-After", "1"))
        return resp

    @staticmethod
    def error(req: Request, status: int, explanation: str) -> Response:
        """A WebOb error rendered for the request's ``Accept`` header."""
        return webob_error(status, explanation, req.header("Accept"))

    @staticmethod
    def _body(req: Request) -> Any:
        """Glance's ``JSONRequestDeserializer.default``: ``_NO_BODY`` if empty.

        Raises ``ValueError`` (with upstream's text) for malformed JSON.
        """
        if not req.body:
            return _NO_BODY
        try:
            return json.loads(req.body)
        except (ValueError, UnicodeDecodeError):
            raise ValueError("Malformed JSON in request body.") from None

    # ------------------------------------------------------------------ versions & schemas

    def versions(self, req: Request) -> Response:
        """``GET /image``: 300 with absolute ``self`` hrefs (openstacksdk discovery)."""
        href = f"{self.base_url}/image/v2/"
        body = {
            "versions": [
                {"id": vid, "status": status, "links": [{"rel": "self", "href": href}]}
                for vid, status in VERSIONS
            ]
        }
        return Response(300, dumps(body))

    def schema(self, req: Request, token: Token, name: str) -> Response:
        """``GET /v2/schemas/{name}``."""
        factory = schemas.SCHEMAS.get(name)
        if factory is None:
            return self.error(req, 404, "The resource could not be found.")
        return Response(200, dumps(factory()))

    # ------------------------------------------------------------------ images

    def list_images(self, req: Request, token: Token) -> Response:
        """``GET /v2/images`` with upstream filters, sorting and ``first``/``next`` links."""
        assert token.project is not None
        try:
            query, limit, marker = self.state.parse_list_query(token.project.id, req.query)
            page = self.state.list_page(query, limit, marker)
        except ListError as exc:
            return self.error(req, 400, str(exc))
        # Upstream: dict(request.params) minus marker, urlencoded, relative to the root.
        params = {k: v for k, v in req.query}
        params.pop("marker", None)
        qs = urlencode(params)
        first = f"/v2/images?{qs}" if qs else "/v2/images"
        tail = [b'], "first": ', dumps(first), b', "schema": "/v2/schemas/images"']
        if page.next_marker is not None:
            params["marker"] = page.next_marker
            tail += [b', "next": ', dumps(f"/v2/images?{urlencode(params)}")]
        body = b"".join([b'{"images": [', b", ".join(i.raw for i in page.images), *tail, b"}"])
        return Response(200, body)

    def _image(self, req: Request, token: Token, image_id: str) -> Image | Response:
        assert token.project is not None
        img = self.state.get_image(image_id, token.project.id)
        if img is None:
            return self.error(req, 404, f"Image {image_id} not found.")
        return img

    def show_image(self, req: Request, token: Token, image_id: str) -> Response:
        """``GET /v2/images/{id}``: members see it whatever their status."""
        assert token.project is not None
        img = self.state.get_image(image_id, token.project.id)
        if img is None:
            return self.error(req, 404, f"No image found with ID {image_id}")
        return Response(200, img.raw)

    # ------------------------------------------------------------------ members

    def _member_repo_error(self, req: Request, img: Image) -> Response | None:
        if img.visibility != "shared":
            return self.error(
                req,
                403,
                f"Error fetching members of image {img.id}: Only shared images have members.",
            )
        return None

    def list_members(self, req: Request, token: Token, image_id: str) -> Response:
        """``GET /v2/images/{id}/members``: the owner sees all, a member only itself."""
        assert token.project is not None
        img = self._image(req, token, image_id)
        if isinstance(img, Response):
            return img
        if (err := self._member_repo_error(req, img)) is not None:
            return err
        members = self.state.members_of(image_id)
        if img.owner != token.project.id:
            members = [m for m in members if m.member_id == token.project.id]
        body = {"members": [m.to_json() for m in members], "schema": "/v2/schemas/members"}
        return Response(200, dumps(body))

    def show_member(self, req: Request, token: Token, image_id: str, member_id: str) -> Response:
        """``GET /v2/images/{id}/members/{member_id}``; upstream turns 403 into 404."""
        assert token.project is not None
        img = self._image(req, token, image_id)
        if isinstance(img, Response):
            return img
        if (err := self._member_repo_error(req, img)) is not None:
            return self.error(req, 404, json.loads(err.body)["message"].split("<br")[0])
        member = self.state.get_member(image_id, member_id)
        if member is None or (img.owner != token.project.id and member_id != token.project.id):
            return self.error(
                req, 404, f"{member_id} not found in the member list of the image {image_id}."
            )
        return Response(200, dumps(member.to_json()))

    def add_member(self, req: Request, token: Token, image_id: str) -> Response:
        """``POST /v2/images/{id}/members`` (owner only): 200 with status pending."""
        assert token.project is not None
        try:
            body = self._body(req)
        except ValueError as exc:
            return self.error(req, 400, str(exc))
        if body is _NO_BODY:
            return self.error(req, 400, "Body expected in request.")
        if not isinstance(body, dict) or "member" not in body:
            return self.error(req, 400, "Member to be added not specified")
        member_id = body["member"]
        if not member_id or not isinstance(member_id, str):
            return self.error(req, 400, "Member can't be empty")
        img = self._image(req, token, image_id)
        if isinstance(img, Response):
            return img
        if img.owner != token.project.id:
            return self.error(req, 403, f"Not allowed to create members for image {image_id}.")
        if (err := self._member_repo_error(req, img)) is not None:
            return err
        member = self.state.add_member(image_id, member_id)
        if member is None:
            return self.error(req, 409, f"Member {member_id} is duplicated for image {image_id}")
        return Response(200, dumps(member.to_json()))

    def delete_member(self, req: Request, token: Token, image_id: str, member_id: str) -> Response:
        """``DELETE /v2/images/{id}/members/{member_id}`` (owner only): 204."""
        assert token.project is not None
        img = self._image(req, token, image_id)
        if isinstance(img, Response):
            return img
        if img.owner != token.project.id:
            return self.error(req, 403, f"Not allowed to delete members for image {image_id}.")
        if not self.state.remove_member(image_id, member_id):
            return self.error(
                req, 404, f"{member_id} not found in the member list of the image {image_id}."
            )
        return Response(204, b"", None)

    def update_member(self, req: Request, token: Token, image_id: str, member_id: str) -> Response:
        """``PUT /v2/images/{id}/members/{member_id}``: the recipient decides.

        Order of checks (first failure wins): body shape (400) → image visible (404) →
        image is shared (403) → caller is not the owner (403) → ``member_id`` is a member
        (404) → caller's project is ``member_id`` (403) → status
        value (400) → OTC full-ECS vault rule (400 ``IMG.0184``).  A repeated decision
        is saved again and returns 200.
        """
        assert token.project is not None
        pid = token.project.id
        try:
            body = self._body(req)
        except ValueError as exc:
            return self.error(req, 400, str(exc))
        if body is _NO_BODY:
            return self.error(req, 400, "Body expected in request.")
        if not isinstance(body, dict):
            return self.error(req, 400, 'Expected a status in the form: {"status": "status"}')
        if "status" not in body:
            return self.error(req, 400, "Status not specified")
        status = body["status"]
        img = self._image(req, token, image_id)
        if isinstance(img, Response):
            return img
        forbidden = f"Not allowed to update members for image {image_id}."
        if img.visibility != "shared" or img.owner == pid:
            return self.error(req, 403, forbidden)
        member = self.state.get_member(image_id, member_id)
        if member is None:
            return self.error(
                req, 404, f"{member_id} not found in the member list of the image {image_id}."
            )
        if member_id != pid:
            # Policy ``modify_member``: ``project_id:%(member_id)s``.
            return self.error(req, 403, "You are not authorized to complete modify_member action.")
        if status not in MEMBER_STATUSES:
            return self.error(
                req,
                400,
                'Incorrect request: Status must be "pending", "accepted" or "rejected".',
            )
        if status == "accepted" and str(img.doc.get("__whole_image", "")).lower() == "true":
            vault_id = body.get("vault_id")
            if not vault_id:
                return otc_error(
                    400,
                    "IMG.0184",
                    "The vault_id parameter is required to accept a full-ECS image: "
                    "specify a CBR server backup vault to store its backups.",
                )
            if vault_id not in self.state.vault_ids:
                return otc_error(400, "IMG.0184", f"Vault not found: {vault_id}.")
        updated = self.state.set_member_status(image_id, member_id, status)
        if updated is None:  # removed concurrently
            return self.error(
                req, 404, f"{member_id} not found in the member list of the image {image_id}."
            )
        return Response(200, dumps(updated.to_json()), JSON)
