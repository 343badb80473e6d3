"""Plain records held by the demo cloud's store.

They are deliberately dumb: all rules (who sees what, who may change what) live in
``state.py`` and the API modules, so the records can be generated in bulk quickly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .wire import glance_time

MEMBER_STATUSES: tuple[str, ...] = ("pending", "accepted", "rejected")
#: The region records belong to unless told otherwise (the demo's first region).
DEFAULT_REGION = "eu-de"


@dataclass(slots=True)
class Domain:
    """A Keystone domain (an OTC account, ``OTC000000000010000xxxxx``)."""

    id: str
    name: str


@dataclass(slots=True)
class Project:
    """A Keystone project; its id is the Glance ``owner`` / ``member_id``.

    On OTC a project lives in exactly one region (its name starts with the region), and
    only that region's image service knows it, so the region is part of the record.
    """

    id: str
    name: str
    domain: Domain
    region: str = DEFAULT_REGION


@dataclass(slots=True)
class User:
    """A password user that may scope tokens to ``projects``."""

    id: str
    name: str
    password: str
    domain: Domain
    projects: list[Project]


class Image:
    """One image, held as the JSON bytes Glance would send.

    Listings of 50,000 images must be cheap, so the JSON is produced once (by the
    seeder, straight from a template) and pages are built by joining these bytes.
    The fields the store filters and sorts on most are kept as attributes; the full
    document is parsed lazily for the rare filter or sort on anything else.
    """

    __slots__ = (
        "_doc",
        "created_at",
        "id",
        "name",
        "owner",
        "raw",
        "region",
        "status",
        "visibility",
    )

    def __init__(
        self,
        id: str,
        owner: str,
        visibility: str,
        name: str,
        created_at: str,
        raw: bytes,
        status: str = "active",
        region: str = DEFAULT_REGION,
    ) -> None:
        self.id = id
        self.owner = owner
        self.visibility = visibility
        self.name = name
        self.created_at = created_at
        self.status = status
        self.raw = raw
        # Images are regional resources: only their region's image API lists them.
        self.region = region
        self._doc: dict[str, Any] | None = None

    @classmethod
    def from_doc(cls, doc: dict[str, Any], region: str = DEFAULT_REGION) -> Image:
        """Build from a document (used for images created at run time and for replicas)."""
        raw = json.dumps(doc, ensure_ascii=False).encode()
        img = cls(
            doc["id"],
            doc["owner"],
            doc["visibility"],
            doc["name"],
            doc["created_at"],
            raw,
            doc.get("status", "active"),
            region,
        )
        img._doc = doc
        return img

    @property
    def doc(self) -> dict[str, Any]:
        """The image as a dict (parsed from :attr:`raw` on first use, then cached)."""
        doc = self._doc
        if doc is None:
            doc = self._doc = json.loads(self.raw)
        return doc

    def __repr__(self) -> str:
        return (
            f"Image(id={self.id!r}, name={self.name!r}, owner={self.owner!r}, "
            f"region={self.region!r})"
        )


@dataclass(slots=True)
class Member:
    """An image membership: ``member_id`` is the receiving project.

    Times are epoch seconds, formatted only when a member is serialised (seeding
    creates tens of thousands of members and rarely shows them).
    """

    image_id: str
    member_id: str
    status: str
    created_at: float
    updated_at: float

    def to_json(self) -> dict[str, str]:
        """Glance's member view (``image_members.ResponseSerializer``)."""
        return {
            "status": self.status,
            "created_at": glance_time(self.created_at),
            "updated_at": glance_time(self.updated_at),
            "image_id": self.image_id,
            "member_id": self.member_id,
            "schema": "/v2/schemas/member",
        }
