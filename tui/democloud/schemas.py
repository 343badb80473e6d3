"""JSON schemas served at ``/v2/schemas/*``, modelled on upstream Glance's.

Clients such as python-glanceclient download these to validate and to learn which
properties exist; keeping them close to upstream (plus the OTC ``__`` properties that
the demo images carry) keeps such clients happy.
"""

from __future__ import annotations

from typing import Any

_UUID_PATTERN = (
    "^([0-9a-fA-F]){8}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){4}-([0-9a-fA-F]){12}$"
)

MEMBER_PROPERTIES: dict[str, Any] = {
    "member_id": {"type": "string", "description": "An identifier for the image member (tenantId)"},
    "image_id": {
        "type": "string",
        "description": "An identifier for the image",
        "pattern": _UUID_PATTERN,
    },
    "created_at": {"type": "string", "description": "Date and time of image member creation"},
    "updated_at": {
        "type": "string",
        "description": "Date and time of last modification of image member",
    },
    "status": {
        "type": "string",
        "description": "The status of this image member",
        "enum": ["pending", "accepted", "rejected"],
    },
    "schema": {"readOnly": True, "type": "string"},
}


def _image_properties() -> dict[str, Any]:
    ro = {"readOnly": True}
    props: dict[str, Any] = {
        "id": {
            "type": "string",
            "description": "An identifier for the image",
            "pattern": _UUID_PATTERN,
        },
        "name": {
            "type": ["null", "string"],
            "description": "Descriptive name for the image",
            "maxLength": 255,
        },
        "status": {
            **ro,
            "type": "string",
            "description": "Status of the image",
            "enum": [
                "queued",
                "saving",
                "active",
                "killed",
                "deleted",
                "uploading",
                "importing",
                "pending_delete",
                "deactivated",
            ],
        },
        "visibility": {
            "type": "string",
            "description": "Scope of image accessibility",
            "enum": ["community", "public", "private", "shared"],
        },
        "protected": {"type": "boolean", "description": "If true, image will not be deletable."},
        "checksum": {
            **ro,
            "type": ["null", "string"],
            "maxLength": 32,
            "description": "md5 hash of image contents.",
        },
        "owner": {
            "type": ["null", "string"],
            "maxLength": 255,
            "description": "Owner of the image",
        },
        "size": {**ro, "type": ["null", "integer"], "description": "Size of image file in bytes"},
        "virtual_size": {
            **ro,
            "type": ["null", "integer"],
            "description": "Virtual size of image in bytes",
        },
        "container_format": {
            "type": ["null", "string"],
            "description": "Format of the container",
            "enum": [None, "ami", "ari", "aki", "bare", "ovf", "ova", "docker", "compressed"],
        },
        "disk_format": {
            "type": ["null", "string"],
            "description": "Format of the disk",
            "enum": [
                None,
                "ami",
                "ari",
                "aki",
                "vhd",
                "vhdx",
                "vmdk",
                "raw",
                "qcow2",
                "vdi",
                "iso",
                "ploop",
                "zvhd",
                "zvhd2",
            ],
        },
        "created_at": {
            **ro,
            "type": "string",
            "description": "Date and time of image registration",
        },
        "updated_at": {
            **ro,
            "type": "string",
            "description": "Date and time of the last image modification",
        },
        "tags": {
            "type": "array",
            "description": "List of strings related to the image",
            "items": {"type": "string", "maxLength": 255},
        },
        "min_ram": {
            "type": "integer",
            "description": "Amount of ram (in MB) required to boot image.",
        },
        "min_disk": {
            "type": "integer",
            "description": "Amount of disk space (in GB) required to boot image.",
        },
        "self": {**ro, "type": "string", "description": "An image self url"},
        "file": {**ro, "type": "string", "description": "An image file url"},
        "schema": {**ro, "type": "string", "description": "An image schema url"},
    }
    for key, desc in (
        ("__imagetype", "Image type: gold, private or shared"),
        ("__os_version", "Operating system version"),
        ("__os_type", "Operating system type: Linux, Windows or Other"),
        ("__os_bit", "Operating system bit width"),
        ("__platform", "Image platform type"),
        ("__image_size", "Image size in bytes"),
        ("__isregistered", "Whether the image is registered"),
        ("__lazyloading", "Whether the image supports lazy loading"),
        ("__description", "Image description"),
        ("__support_kvm", "Whether the image supports KVM"),
        ("__whole_image", "Whether the image is a full-ECS image"),
        ("__backup_id", "Backup ID of a full-ECS image"),
        ("hw_firmware_type", "Boot mode: bios or uefi"),
        ("virtual_env_type", "Environment where the image is used"),
    ):
        props[key] = {"type": "string", "description": desc}
    return props


def image_schema() -> dict[str, Any]:
    """``GET /v2/schemas/image``."""
    return {
        "name": "image",
        "properties": _image_properties(),
        "additionalProperties": {"type": "string"},
        "links": [
            {"rel": "self", "href": "{self}"},
            {"rel": "enclosure", "href": "{file}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def images_schema() -> dict[str, Any]:
    """``GET /v2/schemas/images``."""
    return {
        "name": "images",
        "properties": {
            "images": {"type": "array", "items": image_schema()},
            "schema": {"type": "string"},
            "first": {"type": "string"},
            "next": {"type": "string"},
        },
        "links": [
            {"rel": "first", "href": "{first}"},
            {"rel": "next", "href": "{next}"},
            {"rel": "describedby", "href": "{schema}"},
        ],
    }


def member_schema() -> dict[str, Any]:
    """``GET /v2/schemas/member``."""
    return {"name": "member", "properties": dict(MEMBER_PROPERTIES)}


def members_schema() -> dict[str, Any]:
    """``GET /v2/schemas/members``."""
    return {
        "name": "members",
        "properties": {
            "members": {"type": "array", "items": member_schema()},
            "schema": {"type": "string"},
        },
        "links": [{"rel": "describedby", "href": "{schema}"}],
    }


SCHEMAS = {
    "image": image_schema,
    "images": images_schema,
    "member": member_schema,
    "members": members_schema,
}
