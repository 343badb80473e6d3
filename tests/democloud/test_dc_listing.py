"""Glance v2 listings: discovery, auth, pagination, visibility semantics, filters."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from dc_helpers import Api

from tui.democloud import DemoCloud


def test_image_version_document_is_300_with_absolute_links(cloud: DemoCloud) -> None:
    for path in ("/image", "/image/"):
        resp = httpx.get(cloud.base_url + path, trust_env=False)
        assert resp.status_code == 300
        versions = resp.json()["versions"]
        assert versions[0]["id"] == "v2.16" and versions[0]["status"] == "CURRENT"
        assert all(v["status"] == "SUPPORTED" for v in versions[1:])
        assert versions[0]["links"] == [{"rel": "self", "href": f"{cloud.image_url}/v2/"}]


def test_missing_or_bad_token_is_keystonemiddleware_401(cloud: DemoCloud) -> None:
    for headers in ({}, {"X-Auth-Token": "gAAAAAbogus"}):
        resp = httpx.get(f"{cloud.image_url}/v2/images", headers=headers, trust_env=False)
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == 401
        assert resp.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_headers_on_every_response(api: Api) -> None:
    resp = api.get("/v2/images")
    assert resp.headers["content-type"] == "application/json"
    assert int(resp.headers["content-length"]) == len(resp.content)
    assert resp.headers["x-openstack-request-id"].startswith("req-")


def test_default_listing_is_public_own_and_accepted(api: Api, cloud: DemoCloud) -> None:
    ids = {i["id"] for i in api.list_all()}
    expected = (
        set(cloud.shared_image_ids("accepted"))
        | set(cloud.own_image_ids())
        | set(cloud.public_image_ids())
    )
    assert ids == expected


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected"])
def test_shared_listing_by_member_status(api: Api, cloud: DemoCloud, status: str) -> None:
    images = api.list_all(visibility="shared", member_status=status)
    ids = {i["id"] for i in images}
    own = set(cloud.own_image_ids())
    # upstream: my own shared images come back too, the client must drop them
    assert own <= ids
    assert ids - own == set(cloud.shared_image_ids(status))
    assert all(i["visibility"] == "shared" for i in images)


def test_member_status_all_and_foreign_images(api: Api, cloud: DemoCloud) -> None:
    ids = {i["id"] for i in api.list_all(visibility="shared", member_status="all")}
    assert ids == set(cloud.shared_image_ids()) | set(cloud.own_image_ids())
    assert not ids & set(cloud.foreign_image_ids())
    public = {i["id"] for i in api.list_all(visibility="public")}
    assert public == set(cloud.public_image_ids())


def test_distribution_of_statuses(cloud: DemoCloud) -> None:
    total = len(cloud.shared_image_ids())
    assert total == 120
    pending = len(cloud.shared_image_ids("pending"))
    assert 0.35 * total < pending < 0.65 * total
    assert len(cloud.own_image_ids()) == 5
    assert cloud.foreign_image_ids() and cloud.public_image_ids()


def test_default_sort_is_created_at_desc_with_id_tiebreak(api: Api) -> None:
    images = api.list_all(visibility="shared", member_status="all")
    keys = [(i["created_at"], i["id"]) for i in images]
    assert keys == sorted(keys, reverse=True)
    names = [i["name"] for i in api.list_all(visibility="shared", sort_key="name", sort_dir="asc")]
    assert names == sorted(names)


def test_first_and_next_links_are_relative_to_the_root(api: Api) -> None:
    body = api.get(
        "/v2/images", params={"visibility": "shared", "member_status": "pending", "limit": 5}
    ).json()
    assert body["schema"] == "/v2/schemas/images"
    assert body["first"] == "/v2/images?visibility=shared&member_status=pending&limit=5"
    nxt = urlsplit(body["next"])
    assert nxt.path == "/v2/images"
    assert parse_qs(nxt.query)["marker"] == [body["images"][-1]["id"]]
    assert len(body["images"]) == 5
    assert "next" not in api.get("/v2/images", params={"limit": 1000}).json()


def test_default_limit_is_25(api: Api) -> None:
    body = api.get("/v2/images", params={"visibility": "shared", "member_status": "all"}).json()
    assert len(body["images"]) == 25
    assert "next" in body


@pytest.mark.parametrize(
    ("params", "text"),
    [
        ({"member_status": "maybe"}, "Invalid status: maybe"),
        ({"visibility": "secret"}, "Invalid visibility value: secret"),
        ({"limit": "ten"}, "limit param must be an integer"),
        ({"limit": "-1"}, "limit param must be positive"),
        ({"sort_dir": "up"}, "Invalid sort direction: up"),
        ({"sort_key": "colour"}, "Invalid sort key: colour."),
        ({"marker": "00000000-0000-4000-8000-000000000000"}, "No image found with ID"),
    ],
)
def test_bad_list_parameters_are_400(api: Api, params: dict[str, str], text: str) -> None:
    resp = api.get("/v2/images", params=params)
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "400 Bad Request" and body["title"] == "Bad Request"
    assert body["message"].startswith(text)
    assert body["message"].endswith("<br /><br />\n\n\n")


def test_foreign_marker_is_400(api: Api, cloud: DemoCloud) -> None:
    resp = api.get("/v2/images", params={"marker": cloud.foreign_image_ids()[0]})
    assert resp.status_code == 400


def test_filters(api: Api, cloud: DemoCloud) -> None:
    owner = cloud.owner_project_ids[1]
    images = api.list_all(visibility="shared", member_status="all", owner=owner)
    assert images and all(i["owner"] == owner for i in images)
    name = images[0]["name"]
    named = api.list_all(visibility="shared", member_status="all", name=name)
    assert named and all(i["name"] == name for i in named)
    linux = api.list_all(visibility="shared", member_status="all", __os_type="Windows")
    assert all(i["__os_type"] == "Windows" for i in linux)
    assert api.list_all(status="killed") == []


def test_image_fields_look_like_otc(api: Api) -> None:
    image = api.list_all(visibility="shared", member_status="pending")[0]
    for key in ("__image_size", "__os_bit", "__isregistered", "__lazyloading", "__support_kvm"):
        assert isinstance(image[key], str)
    assert int(image["__image_size"]) > 0
    assert image["size"] == 0 and image["virtual_size"] is None
    assert image["checksum"] == "d41d8cd98f00b204e9800998ecf8427e"
    assert image["self"] == f"/v2/images/{image['id']}"
    assert image["file"] == f"/v2/images/{image['id']}/file"
    assert image["schema"] == "/v2/schemas/image"
    assert isinstance(image["min_disk"], int) and isinstance(image["min_ram"], int)
    assert image["__imagetype"] == "shared" and image["container_format"] == "bare"


def test_get_image_by_id(api: Api, cloud: DemoCloud) -> None:
    for status in ("pending", "accepted", "rejected"):
        image_id = cloud.shared_image_ids(status)[0]
        resp = api.get(f"/v2/images/{image_id}")
        assert resp.status_code == 200 and resp.json()["id"] == image_id
    resp = api.get(f"/v2/images/{cloud.foreign_image_ids()[0]}")
    assert resp.status_code == 404
    assert resp.json()["code"] == "404 Not Found"


def test_schemas(api: Api) -> None:
    for name in ("image", "images", "member", "members"):
        resp = api.get(f"/v2/schemas/{name}")
        assert resp.status_code == 200
        assert resp.json()["name"] == name
    member = api.get("/v2/schemas/member").json()
    assert member["properties"]["status"]["enum"] == ["pending", "accepted", "rejected"]
    assert api.get("/v2/schemas/nothing").status_code == 404


@pytest.fixture(scope="module")
def big() -> Iterator[DemoCloud]:
    with DemoCloud(images=2100, seed=11) as c:
        yield c


def test_pagination_over_1000_images_clamps_limit(big: DemoCloud) -> None:
    api = Api(big)
    try:
        body = api.get("/v2/images", params={"visibility": "shared", "member_status": "all",
                                             "limit": 5000}).json()  # fmt: skip
        assert len(body["images"]) == 1000
        assert "limit=5000" in body["next"]
        every = api.list_all(visibility="shared", member_status="all", limit=5000)
        ids = [i["id"] for i in every]
        assert len(ids) == len(set(ids)) == 2100 + 5
        small = api.list_all(visibility="shared", member_status="pending", limit=333)
        assert {i["id"] for i in small} - set(big.own_image_ids()) == set(
            big.shared_image_ids("pending")
        )
    finally:
        api.close()


def test_marker_survives_a_status_change_between_pages(fresh: DemoCloud) -> None:
    api = Api(fresh)
    try:
        params = {"visibility": "shared", "member_status": "pending", "limit": 3}
        page = api.get("/v2/images", params=params).json()
        last = page["images"][-1]["id"]
        assert api.put_member(last, {"status": "accepted"}).status_code == 200
        rest = api.get(page["next"]).json()
        seen = [i["id"] for i in page["images"] + rest["images"]]
        assert len(seen) == len(set(seen))
        assert last not in [i["id"] for i in rest["images"]]
    finally:
        api.close()
