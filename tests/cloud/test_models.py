"""Parsing of what the clouds send: timestamps (Glance, Keystone and job formats), OTC string
fields, reprs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hostile import HOSTILE, hostile_doc

from tui.cloud import Member, MemberStatus, SharedImage, Token
from tui.cloud.models import parse_bool, parse_int, parse_timestamp
from tui.settings.model import Settings


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2016-09-01T02:05:14Z", datetime(2016, 9, 1, 2, 5, 14, tzinfo=UTC)),  # Glance
        ("2015-11-09T01:42:57.527363Z", datetime(2015, 11, 9, 1, 42, 57, 527363, tzinfo=UTC)),
        ("2024-11-06T06:19:43.195Z", datetime(2024, 11, 6, 6, 19, 43, 195000, tzinfo=UTC)),
        ("2016-11-06T15:32:17.000000", datetime(2016, 11, 6, 15, 32, 17, tzinfo=UTC)),  # no zone
        ("2018-10-28 10:00:00", datetime(2018, 10, 28, 10, 0, tzinfo=UTC)),  # list filter style
        ("2018-10-28T12:00:00+02:00", datetime(2018, 10, 28, 10, 0, tzinfo=UTC)),
        ("2019-02-13T06:52:13.855000z", datetime(2019, 2, 13, 6, 52, 13, 855000, tzinfo=UTC)),
    ],
)
def test_timestamps_become_aware_utc(text, expected):
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None and parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("junk", [None, "", "   ", "yesterday", 12, "2016-13-45T00:00:00Z", []])
def test_bad_timestamps_are_none(junk):
    assert parse_timestamp(junk) is None


def test_timestamp_at_the_edge_of_the_calendar_is_not_an_exception():
    # Converting year 1 with a positive offset to UTC overflows; that must not escape.
    assert parse_timestamp("0001-01-01T00:00:00+01:00") is None
    assert parse_timestamp("9999-12-31T23:59:59-01:00") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True), ("True", True), ("TRUE", True), (" yes ", True), (True, True), (1, True),
        ("false", False), ("False", False), ("0", False), (False, False),
        ("maybe", None), (None, None), ([], None),
    ],
)  # fmt: skip
def test_booleans_in_any_case(value, expected):
    assert parse_bool(value) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("42949672960", 42949672960), (" 64 ", 64), (7, 7), (3.0, 3), ("x", None), (True, None)],
)
def test_integers_from_strings(value, expected):
    assert parse_int(value) == expected


OTC_IMAGE = {
    "id": "6ac6ebc1-0e6f-4b8a-8cb5-31a5e18b5d3d",
    "name": "Standard_Ubuntu_22.04_latest",
    "owner": "f7e0b7c5a1d24a7c9b3b4f4f8d6e2a11",
    "status": "active",
    "visibility": "shared",
    "disk_format": "zvhd2",
    "container_format": "bare",
    "size": 0,
    "virtual_size": None,
    "checksum": "d41d8cd98f00b204e9800998ecf8427e",
    "min_disk": 40,
    "min_ram": "1024",
    "protected": False,
    "tags": ["golden", 3],
    "created_at": "2024-03-01T10:00:00Z",
    "updated_at": "2024-03-02T11:30:00Z",
    "__os_version": "Ubuntu 22.04 server 64bit",
    "__os_type": "Linux",
    "__os_bit": "64",
    "__platform": "Ubuntu",
    "__image_size": "42949672960",
    "__imagetype": "shared",
    "__whole_image": "True",
    "__support_kvm": "true",
    "__support_xen": "False",
    "__support_kvm_gpu_type": "V100",
    "__lazyloading": "True",
}


def test_shared_image_from_otc_strings():
    image = SharedImage.from_api(OTC_IMAGE, MemberStatus.PENDING)
    assert image.size_bytes == 40 * 1024**3
    assert image.min_ram_mb == 1024 and image.min_disk_gb == 40
    assert image.whole_image and image.needs_vault
    assert "KVM" in image.features and "Xen" not in image.features
    assert "KVM GPU: V100" in image.features
    assert image.tags == ("golden",)
    assert image.created_at == datetime(2024, 3, 1, 10, tzinfo=UTC)
    data = image.to_json()
    assert data["status"] == "pending"
    assert data["size_bytes"] == 42949672960
    assert data["created_at"] == "2024-03-01T10:00:00Z"
    assert {"id", "name", "status", "owner", "os_version", "disk_format", "size_bytes"} <= set(data)


def test_size_falls_back_to_size_field_and_unknown_is_none():
    assert SharedImage.from_api({"id": "a", "size": 1234}, None).size_bytes == 1234
    assert SharedImage.from_api({"id": "a", "size": 0}, None).size_bytes is None


def test_member_parses_and_rejects_unknown_status():
    member = Member.from_api(
        {
            "image_id": "i",
            "member_id": "p",
            "status": "Accepted",
            "created_at": "2016-09-01T02:05:14Z",
            "updated_at": None,
            "schema": "/v2/schemas/member",
        }
    )
    assert member.status is MemberStatus.ACCEPTED
    assert member.updated_at is None
    with pytest.raises(ValueError, match="unknown member status"):
        Member.from_api({"status": "weird"})


def test_token_repr_never_shows_the_token():
    secret = "gAAAAABsecret-token-value-1234567890"
    token = Token(
        value=secret,
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        project_id="p",
        project_name="eu-de",
        user_id="u",
        user_name="alice",
        domain_name="OTC1",
        image_endpoint="https://ims.example.test",
        auth_url="https://iam.example.test/v3",
    )
    assert secret not in repr(token)
    assert secret not in str(token)
    assert token.is_fresh()
    assert not token.is_fresh(now=datetime.now(UTC) + timedelta(minutes=56))  # 4 min left


def test_the_renewal_margin_scales_with_a_short_lifetime():
    """Five minutes before expiry for day-long tokens; a tenth of the lifetime for short ones."""
    issued = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)

    def token(lifetime: timedelta) -> Token:
        return Token(
            value="v", expires_at=issued + lifetime, project_id="p", project_name="",
            user_id="", user_name="", domain_name="", image_endpoint="x", auth_url="",
            issued_at=issued,
        )  # fmt: skip

    day, minute = token(timedelta(hours=24)), token(timedelta(seconds=60))
    assert day.is_fresh(now=issued + timedelta(hours=23, minutes=54))
    assert not day.is_fresh(now=issued + timedelta(hours=23, minutes=56))
    assert minute.is_fresh(now=issued + timedelta(seconds=50))  # 10 s left, margin 6 s
    assert not minute.is_fresh(now=issued + timedelta(seconds=55))
    assert day.worth_caching and not minute.worth_caching
    restored = Token.from_cache(minute.to_cache())
    assert restored is not None and restored.issued_at == issued


def test_token_from_cache_rejects_malformed_entries():
    assert Token.from_cache({}) is None
    assert Token.from_cache({"token": "t", "expires_at": "nope", "image_endpoint": "x"}) is None
    assert Token.from_cache({"token": 1, "expires_at": "2030-01-01T00:00:00Z"}) is None


def test_settings_repr_never_shows_the_password():
    settings = Settings(username="alice", password="hunter2-very-secret")
    assert "hunter2-very-secret" not in repr(settings)
    assert "hunter2-very-secret" not in str(settings)
    assert "password='***'" in repr(settings)
    assert "hunter2" not in repr([settings])


# What real and odd clouds send, for ``json_from_api`` against ``from_api(...).to_json()``:
# OTC's strings, numbers as floats and strings, a size only in ``size``, a zero
# ``__image_size``, times in every format (and none, and junk), tags that are not a list or
# hold non-strings, ids and names of the wrong type, flags in every spelling.
_ODD_DOCUMENTS: list[dict] = [
    {"id": "a", "name": "plain", "owner": "o1", "status": "active", "visibility": "shared"},
    {"id": "b", "__image_size": "42949672960", "size": 0, "min_disk": "40", "min_ram": 1024.0},
    {"id": "c", "__image_size": "0", "size": 123, "min_disk": True, "min_ram": "lots"},
    {"id": "j", "__image_size": "2048", "size": 1024},  # both: IMS's own size wins
    {"id": "d", "size": "77", "__whole_image": "True", "tags": "not-a-list"},
    {"id": "e", "__whole_image": 1, "tags": ["ok", 3, None, "fine"], "name": None},
    {"id": 17, "name": 42, "owner": None, "__os_version": 7, "disk_format": ["x"]},
    {"id": "f", "created_at": "2018-10-28T12:00:00+02:00", "updated_at": "2018-10-28 10:00:00"},
    {"id": "g", "created_at": "2015-11-09T01:42:57.527363Z", "updated_at": "yesterday"},
    {"id": "h", "created_at": 1700000000, "updated_at": "2019-02-13T06:52:13.855000z"},
    {
        "id": "i",
        "__whole_image": "no",
        "__os_type": "Linux",
        "__platform": "Ubuntu",
        "container_format": "bare",
        "__support_kvm": "true",
        "__description": "d",
    },
]


@pytest.mark.parametrize("status", [MemberStatus.PENDING, MemberStatus.REJECTED, None])
def test_json_from_api_is_the_models_json(demo_cloud, status):
    """``imshare list --json`` writes ``json_from_api``'s objects, the rest of imshare reads
    models: for every document the two must say the same (the demo's images, hostile ones and
    the odd ones above)."""
    documents = [demo_cloud.image(i) for i in demo_cloud.shared_image_ids()]
    documents.append(hostile_doc(documents[0], "hostile", f"!a {HOSTILE}", status=HOSTILE))
    documents += _ODD_DOCUMENTS
    for document in documents:
        assert (
            SharedImage.json_from_api(document, status)
            == SharedImage.from_api(document, status).to_json()
        ), document
