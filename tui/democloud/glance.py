"""Glance v2 image sharing at ``{base}/image`` (plus OTC's whole-image vault rule).

Error bodies go through :func:`wire.webob_error`, so they depend on ``Accept`` exactly
as upstream's do; texts and status codes follow ``glance/api/v2/image_members.py`` and
``images.py`` (see ims-api.md §2.4).  The check order in :meth:`GlanceApi.update_member`
is upstream's, because clients show whichever error comes first.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from . import schemas
from .records import MEMBER_STATUSES, Image
from .state import CloudState, ListError, Token
from .wire import (
    JSON,
    KEYSTONE_401,
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


class GlanceApi:
    """Request handlers for the image service; every handler gets a validated token."""

    def __init__(self, state: CloudState, base_url: str) -> None:
        self.state = state
        self.base_url = base_url
        self.www_authenticate = f'Keystone uri="{base_url}/identity"'

    # ------------------------------------------------------------------ plumbing

    def authenticate(self, req: Request) -> Token | Response:
        """keystonemiddleware: a valid project-scoped ``X-Auth-Token`` or a JSON 401."""
        token = self.state.validate_token(req.header("X-Auth-Token"))
        if token is None or token.project is None:
            return keystone_error(401, KEYSTONE_401, self.www_authenticate)
        return token

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
