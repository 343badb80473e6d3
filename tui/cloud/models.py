"""Plain data the API layer hands to the CLI and the UI.

Everything here is immutable and free of HTTP details, so the UI can keep thousands of rows in
memory cheaply and tests can compare values directly. Parsing is lenient where real clouds are
inconsistent (OTC sends numbers and booleans as strings, timestamps come in several formats).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tui.cloud.errors import ApiError
from tui.settings.model import parse_bool


class MemberStatus(StrEnum):
    """The recipient project's decision on one shared image (Glance member status).

    Each status also carries the words every surface uses for it, so the CLI, the table, the
    toasts and the session's messages say the same thing: ``label`` (a view's title),
    ``verb`` (what the user asks for: "accept"), ``doing`` ("accepting", while it runs) and
    ``done`` ("accepted", once the cloud confirmed it).
    """

    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    @classmethod
    def parse(cls, value: str) -> MemberStatus:
        try:
            return cls(value.strip().lower())
        except ValueError:
            raise ValueError(
                f"unknown member status {value!r}: use pending, accepted or rejected"
            ) from None

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def verb(self) -> str:
        return _WORDS[self][0]

    @property
    def doing(self) -> str:
        return _WORDS[self][1]

    @property
    def done(self) -> str:
        return _WORDS[self][2]


# (verb, doing, done) of each status; "pending" is a reset, not a decision of its own.
_WORDS: dict[str, tuple[str, str, str]] = {
    "pending": ("reset to pending", "resetting", "reset to pending"),
    "accepted": ("accept", "accepting", "accepted"),
    "rejected": ("reject", "rejecting", "rejected"),
}


ALL_STATUSES: tuple[MemberStatus, ...] = (
    MemberStatus.PENDING,
    MemberStatus.ACCEPTED,
    MemberStatus.REJECTED,
)


def parse_timestamp(value: Any) -> datetime | None:
    """Turn any timestamp format the clouds send into an aware UTC datetime.

    Glance sends ``2016-09-01T02:05:14Z``, Keystone ``...T01:42:57.527363Z``, OTC jobs
    milliseconds with ``Z``, and ``password_expires_at`` has no zone at all; OTC list filters
    also use ``2018-10-28 10:00:00``. All of them are UTC.
    """
    if value is None or not isinstance(value, str):
        return None
    text = value.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)  # Python 3.11 reads "Z" itself
    except ValueError:
        if not text.endswith("z"):
            return None
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00")
        except ValueError:
            return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    if parsed.tzinfo is UTC:
        return parsed
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. year 1 with a positive offset: not a real timestamp
        return None


def parse_int(value: Any) -> int | None:
    """Integers may be real numbers or strings (``"__image_size": "42949672960"``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _common(value: Any) -> str:
    """A value most rows repeat (owner, OS, formats, statuses): one string object shared by
    every row that has it. Each decoded page holds its own copies, which the rows would
    otherwise keep: about 0.5 KB per row, 25 MB at 50,000 shares."""
    text = _str(value)
    return sys.intern(text if type(text) is str else str(text))


# Boolean ``__support_*`` flags shown as "supported features"; the GPU type fields hold a
# type name rather than a flag and are shown as such.
_FEATURE_FLAGS: dict[str, str] = {
    "__support_kvm": "KVM",
    "__support_xen": "Xen",
    "__support_amd": "AMD",
    "__support_largememory": "large memory",
    "__support_diskintensive": "disk-intensive",
    "__support_highperformance": "high performance",
    "__support_xen_hana": "Xen HANA",
    "__support_kvm_infiniband": "KVM InfiniBand",
    "__support_kvm_hi1822_hisriov": "Hi1822 SR-IOV",
    "__support_kvm_hi1822_hivirtionet": "Hi1822 virtio-net",
}
_FEATURE_VALUES: dict[str, str] = {
    "__support_xen_gpu_type": "Xen GPU",
    "__support_kvm_gpu_type": "KVM GPU",
}


_FEATURE_KEYS = frozenset(_FEATURE_FLAGS) | frozenset(_FEATURE_VALUES)


@dataclass(frozen=True, slots=True)
class SharedImage:
    """One image another project shares with us, tagged with our member status.

    The image object itself carries no member status: it is known from which status listing
    returned it (``status``), or is ``None`` when the image was fetched by id.
    """

    id: str
    name: str
    owner: str
    status: MemberStatus | None
    os_version: str = ""
    os_type: str = ""
    os_bit: str = ""
    platform: str = ""
    size_bytes: int | None = None
    disk_format: str = ""
    container_format: str = ""
    image_status: str = ""
    visibility: str = ""
    min_disk_gb: int | None = None
    min_ram_mb: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    image_type: str = ""
    whole_image: bool = False
    virtual_env_type: str = ""
    hw_firmware_type: str = ""
    protected: bool = False
    encrypted: bool = False
    features: tuple[str, ...] = ()
    #: The receiving project (Glance's ``member_id``) and its region: whose share this row is.
    #: The same image shared with two of the user's projects is two rows.
    member_id: str = ""
    member_name: str = ""
    region: str = ""

    @property
    def key(self) -> str:
        """Identifies the row: the image in one receiving project."""
        return f"{self.member_id}/{self.id}" if self.member_id else self.id

    @property
    def needs_vault(self) -> bool:
        """Accepting a full-ECS image requires a CBR server-backup vault (its ``vault_id``)."""
        return self.whole_image

    def with_status(self, status: MemberStatus | None) -> SharedImage:
        return replace(self, status=status)

    @classmethod
    def from_api(
        cls,
        data: dict[str, Any],
        status: MemberStatus | None,
        *,
        member_id: str = "",
        member_name: str = "",
        region: str = "",
    ) -> SharedImage:
        """Build from a Glance v2 / IMS image object, tolerating OTC's string-typed fields;
        ``member_*`` and ``region`` say which of the user's projects received it."""
        size = _image_size(data)
        features: list[str] = []
        present = data.keys() & _FEATURE_KEYS  # one C-level pass; most images have few flags
        if present:
            for key, label in _FEATURE_FLAGS.items():
                if key in present and parse_bool(data[key]):
                    features.append(label)
            for key, label in _FEATURE_VALUES.items():
                value = data.get(key)
                if isinstance(value, str) and value.strip() and value.strip().lower() != "false":
                    features.append(f"{label}: {value.strip()}")
        description = _str(data.get("__description")) or _str(data.get("description"))
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            owner=_common(data.get("owner")),
            status=status,
            os_version=_common(data.get("__os_version")),
            os_type=_common(data.get("__os_type")),
            os_bit=_common(data.get("__os_bit")),
            platform=_common(data.get("__platform")),
            size_bytes=size,
            disk_format=_common(data.get("disk_format")),
            container_format=_common(data.get("container_format")),
            image_status=_common(data.get("status")),
            visibility=_common(data.get("visibility")),
            min_disk_gb=parse_int(data.get("min_disk")),
            min_ram_mb=parse_int(data.get("min_ram")),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
            tags=tuple(_tags(data.get("tags"))),
            description=description,
            image_type=_common(data.get("__imagetype")),
            whole_image=bool(parse_bool(data.get("__whole_image"))),
            virtual_env_type=_common(data.get("virtual_env_type")),
            hw_firmware_type=_common(data.get("hw_firmware_type")),
            protected=bool(parse_bool(data.get("protected"))),
            encrypted=bool(_str(data.get("__system__cmkid"))),
            features=tuple(features),
            member_id=member_id,
            member_name=member_name,
            region=region,
        )

    def to_json(self) -> dict[str, Any]:
        """The stable JSON shape of ``imshare list --json`` (documented in the README);
        ``json_from_api`` makes the same object from the wire: keep the two in step."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value if self.status else None,
            "owner": self.owner,
            "os_version": self.os_version,
            "os_type": self.os_type,
            "platform": self.platform,
            "disk_format": self.disk_format,
            "container_format": self.container_format,
            "size_bytes": self.size_bytes,
            "min_disk_gb": self.min_disk_gb,
            "min_ram_mb": self.min_ram_mb,
            "image_status": self.image_status,
            "visibility": self.visibility,
            "whole_image": self.whole_image,
            "tags": list(self.tags),
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }

    @staticmethod
    def json_from_api(data: dict[str, Any], status: MemberStatus | None) -> dict[str, Any]:
        """``from_api(data, status).to_json()``, without building the model.

        ``imshare list --json`` needs nothing but this object, and skipping the model (its
        thirty fields, a third of them not in the JSON) halves the work per image: ~0.2 s at
        10,000 images. The same helpers read each field, so both give equal values; the tests
        compare the two over every kind of image they have (tests/cloud/test_models.py).
        """
        get = data.get
        return {
            "id": _str(get("id")),
            "name": _str(get("name")),
            "status": status.value if status else None,
            "owner": _str(get("owner")),
            "os_version": _str(get("__os_version")),
            "os_type": _str(get("__os_type")),
            "platform": _str(get("__platform")),
            "disk_format": _str(get("disk_format")),
            "container_format": _str(get("container_format")),
            "size_bytes": _image_size(data),
            "min_disk_gb": parse_int(get("min_disk")),
            "min_ram_mb": parse_int(get("min_ram")),
            "image_status": _str(get("status")),
            "visibility": _str(get("visibility")),
            "whole_image": bool(parse_bool(get("__whole_image"))),
            "tags": _tags(get("tags")),
            "created_at": iso_utc(parse_timestamp(get("created_at"))),
            "updated_at": iso_utc(parse_timestamp(get("updated_at"))),
        }


def _image_size(data: dict[str, Any]) -> int | None:
    """OTC's ``__image_size`` (a string), else Glance's ``size``; 0 is unknown, as IMS sends
    ``"size": 0`` for images whose size it keeps in ``__image_size``."""
    size = parse_int(data.get("__image_size"))
    if not size:
        size = parse_int(data.get("size")) or None
    return size


def _tags(value: Any) -> list[str]:
    return [tag for tag in value if isinstance(tag, str)] if isinstance(value, list) else []


@dataclass(frozen=True, slots=True)
class Member:
    """Our member record for one image: when it was shared and when we last decided."""

    image_id: str
    member_id: str
    status: MemberStatus
    created_at: datetime | None
    updated_at: datetime | None

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> Member:
        return cls(
            image_id=_str(data.get("image_id")),
            member_id=_str(data.get("member_id") or data.get("member")),
            status=MemberStatus.parse(_str(data.get("status"))),
            created_at=parse_timestamp(data.get("created_at")),
            updated_at=parse_timestamp(data.get("updated_at")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "image_id": self.image_id,
            "member_id": self.member_id,
            "status": self.status.value,
            "created_at": iso_utc(self.created_at),
            "updated_at": iso_utc(self.updated_at),
        }


@dataclass(frozen=True, slots=True)
class Decision:
    """The outcome of one accept/reject/pending: confirmed by the cloud, or failed with why."""

    image_id: str
    status: MemberStatus
    member: Member | None = None
    error: ApiError | None = None
    #: The cloud's ``x-openstack-request-id`` of the request that decided it, if it sent one.
    request_id: str = ""
    #: The receiving project it was decided for (``SharedImage.member_id`` of the row).
    member_id: str = ""

    @property
    def ok(self) -> bool:
        return self.member is not None and self.error is None


#: A cached token is renewed this long before it expires at most...
MAX_RENEWAL_MARGIN = 300.0
#: ...and at most this share of its whole lifetime before (clouds with short-lived tokens).
RENEWAL_SHARE = 0.1
#: A token that leaves less than this between login and renewal is not worth caching.
MIN_USEFUL_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class Token:
    """A project-scoped Keystone token and the context it was issued for.

    ``repr`` never shows the token itself, so it can be logged or printed safely.
    """

    value: str = field(repr=False)
    expires_at: datetime
    project_id: str
    project_name: str
    user_id: str
    user_name: str
    domain_name: str
    image_endpoint: str
    auth_url: str
    region: str = ""
    #: When Keystone issued it (``issued_at``); None for tokens cached by older versions.
    issued_at: datetime | None = None
    #: ``(region, url)`` of every public image endpoint of its catalog.
    image_endpoints: tuple[tuple[str, str], ...] = ()

    def seconds_left(self, now: datetime | None = None) -> float:
        current = now or datetime.now(UTC)
        return (self.expires_at - current).total_seconds()

    @property
    def lifetime(self) -> float | None:
        """Seconds between issue and expiry, when known."""
        if self.issued_at is None:
            return None
        return (self.expires_at - self.issued_at).total_seconds()

    @property
    def renewal_margin(self) -> float:
        """How long before expiry a cached token is renewed: five minutes, or a tenth of its
        lifetime when that is shorter (a cloud issuing one-minute tokens must not make every
        request log in anew)."""
        lifetime = self.lifetime
        if lifetime is None or lifetime <= 0:
            return MAX_RENEWAL_MARGIN
        return min(MAX_RENEWAL_MARGIN, RENEWAL_SHARE * lifetime)

    def is_fresh(self, now: datetime | None = None) -> bool:
        """Reusable from the cache: a call must not outlive its token."""
        return self.seconds_left(now) > self.renewal_margin

    @property
    def worth_caching(self) -> bool:
        """Whether a later command will still find it fresh for a useful while."""
        lifetime = self.lifetime
        return lifetime is None or lifetime - self.renewal_margin >= MIN_USEFUL_SECONDS

    def to_cache(self) -> dict[str, Any]:
        return {
            "token": self.value,
            "expires_at": iso_utc(self.expires_at),
            "project_id": self.project_id,
            "project_name": self.project_name,
            "user_id": self.user_id,
            "user_name": self.user_name,
            "domain_name": self.domain_name,
            "image_endpoint": self.image_endpoint,
            "auth_url": self.auth_url,
            "region": self.region,
            "issued_at": iso_utc(self.issued_at),
            "image_endpoints": [list(pair) for pair in self.image_endpoints],
        }

    @classmethod
    def from_cache(cls, data: dict[str, Any]) -> Token | None:
        """Rebuild a cached token; anything malformed yields ``None`` (the cache is advisory)."""
        try:
            expires = parse_timestamp(data["expires_at"])
            value = data["token"]
            if expires is None or not isinstance(value, str) or not value:
                return None
            fields = ("project_id", "project_name", "user_id", "user_name", "domain_name")
            texts = {name: _str(data.get(name)) for name in fields}
            endpoint = data["image_endpoint"]
            if not isinstance(endpoint, str) or not endpoint or not texts["project_id"]:
                return None
            return cls(
                value=value,
                expires_at=expires,
                image_endpoint=endpoint,
                auth_url=_str(data.get("auth_url")),
                region=_str(data.get("region")),
                issued_at=parse_timestamp(data.get("issued_at")),
                image_endpoints=_endpoint_pairs(data.get("image_endpoints")),
                **texts,
            )
        except (KeyError, TypeError, AttributeError):
            return None


def _endpoint_pairs(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, list):
        return ()
    return tuple(
        (item[0], item[1])
        for item in value
        if isinstance(item, list | tuple)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], str)
    )


def iso_utc(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    # isoformat is several times faster than strftime; with UTC it ends in "+00:00".
    return value.isoformat(timespec="seconds")[:-6] + "Z"
