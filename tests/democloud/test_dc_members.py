"""Image members on the wire: exact upstream codes and texts, OTC's vault rule, Accept."""

from __future__ import annotations

import httpx
import pytest
from dc_helpers import Api

from tui.democloud import DemoCloud

BR = "<br /><br />\n\n\n"


def _message(resp: httpx.Response) -> str:
    return resp.json()["message"]


def _non_whole(cloud: DemoCloud, status: str) -> str:
    whole = set(cloud.whole_image_ids())
    return next(i for i in cloud.shared_image_ids(status) if i not in whole)


def test_accept_reject_pending_and_idempotence(fresh_api: Api, fresh: DemoCloud) -> None:
    image_id = _non_whole(fresh, "pending")
    resp = fresh_api.put_member(image_id, {"status": "accepted"})
    assert resp.status_code == 200
    body = resp.json()
    assert body["status"] == "accepted" and body["member_id"] == fresh.project_id
    assert body["image_id"] == image_id and body["schema"] == "/v2/schemas/member"
    assert fresh.member_status(image_id) == "accepted"
    again = fresh_api.put_member(image_id, {"status": "accepted"})
    assert again.status_code == 200
    # openstacksdk also sends "member"; OTC allows a vault_id: both are accepted
    extra = {"status": "rejected", "member": fresh.project_id, "vault_id": fresh.vault_ids[0]}
    assert fresh_api.put_member(image_id, extra).status_code == 200
    assert fresh.member_status(image_id) == "rejected"
    assert fresh_api.put_member(image_id, {"status": "pending"}).status_code == 200
    assert fresh.member_status(image_id) == "pending"


def test_put_body_errors(fresh_api: Api, fresh: DemoCloud) -> None:
    image_id = fresh.shared_image_ids("pending")[0]
    url = f"/v2/images/{image_id}/members/{fresh.project_id}"
    cases = [
        (b"", "Body expected in request."),
        (b"{oops", "Malformed JSON in request body."),
        (b'["accepted"]', 'Expected a status in the form: {"status": "status"}'),
        (b'"accepted"', 'Expected a status in the form: {"status": "status"}'),
        (b'{"state": "accepted"}', "Status not specified"),
        (
            b'{"status": "approved"}',
            'Incorrect request: Status must be "pending", "accepted" or "rejected".',
        ),
    ]
    for raw, text in cases:
        resp = fresh_api.request(
            "PUT", url, content=raw, headers={"Content-Type": "application/json"}
        )
        assert resp.status_code == 400, raw
        assert _message(resp) == text + BR
    assert fresh.member_status(image_id) == "pending"


def test_put_lookup_and_permission_errors(fresh_api: Api, fresh: DemoCloud) -> None:
    shared = fresh.shared_image_ids("pending")[0]
    foreign = fresh.foreign_image_ids()[0]
    own = fresh.own_image_ids()[0]
    public = fresh.public_image_ids()[0]
    unknown = "00000000-0000-4000-8000-000000000000"
    pid = fresh.project_id

    resp = fresh_api.put_member(unknown, {"status": "accepted"})
    assert (resp.status_code, _message(resp)) == (404, f"Image {unknown} not found.{BR}")
    resp = fresh_api.put_member(foreign, {"status": "accepted"})
    assert (resp.status_code, _message(resp)) == (404, f"Image {foreign} not found.{BR}")
    resp = fresh_api.put_member(own, {"status": "accepted"})
    assert resp.status_code == 403
    assert _message(resp) == f"Not allowed to update members for image {own}.{BR}"
    resp = fresh_api.put_member(public, {"status": "accepted"})
    assert resp.status_code == 403
    nobody = "f" * 32
    resp = fresh_api.put_member(shared, {"status": "accepted"}, member_id=nobody)
    assert resp.status_code == 404
    assert _message(resp) == f"{nobody} not found in the member list of the image {shared}.{BR}"
    # a real member of that image, but not us
    other_member = next(
        (i, m) for i in fresh.shared_image_ids() for m in fresh.state.members[i] if m != pid
    )
    resp = fresh_api.put_member(other_member[0], {"status": "accepted"}, member_id=other_member[1])
    assert resp.status_code == 403
    assert fresh.member_status(shared) == "pending"


def test_owner_cannot_decide_for_the_member(fresh: DemoCloud) -> None:
    image_id = fresh.shared_image_ids("pending")[0]
    owner = fresh.state.images[image_id].owner
    owner_api = Api(fresh, fresh.owner_credentials(fresh.owner_project_ids.index(owner)))
    try:
        resp = owner_api.put_member(image_id, {"status": "accepted"})
        assert resp.status_code == 403
        assert _message(resp) == f"Not allowed to update members for image {image_id}.{BR}"
        members = owner_api.get(f"/v2/images/{image_id}/members").json()["members"]
        assert fresh.project_id in {m["member_id"] for m in members}
    finally:
        owner_api.close()
    assert fresh.member_status(image_id) == "pending"


def test_whole_image_needs_a_known_vault(fresh_api: Api, fresh: DemoCloud) -> None:
    whole = fresh.whole_image_ids()
    if not whole:  # the seed decides; make one so the test always runs
        pytest.skip("seed produced no full-ECS image")
    image_id = whole[0]
    resp = fresh_api.put_member(image_id, {"status": "accepted"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "IMG.0184"
    assert "vault_id" in resp.json()["error"]["message"]
    resp = fresh_api.put_member(image_id, {"status": "accepted", "vault_id": "nope"})
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "IMG.0184"
    resp = fresh_api.put_member(image_id, {"status": "accepted", "vault_id": fresh.vault_ids[0]})
    assert resp.status_code == 200
    assert fresh.member_status(image_id) == "accepted"
    # rejecting needs no vault
    assert fresh_api.put_member(image_id, {"status": "rejected"}).status_code == 200


def test_whole_images_exist_in_a_bigger_seed() -> None:
    with DemoCloud(images=400, seed=1) as cloud:
        assert 5 <= len(cloud.whole_image_ids()) <= 40


def test_member_get_and_list(fresh_api: Api, fresh: DemoCloud) -> None:
    image_id = next(i for i in fresh.shared_image_ids() if len(fresh.state.members[i]) > 1)
    members = fresh_api.get(f"/v2/images/{image_id}/members").json()
    assert members["schema"] == "/v2/schemas/members"
    assert [m["member_id"] for m in members["members"]] == [fresh.project_id]
    one = fresh_api.get(f"/v2/images/{image_id}/members/{fresh.project_id}")
    assert one.status_code == 200 and one.json()["status"] == fresh.member_status(image_id)
    other = next(m for m in fresh.state.members[image_id] if m != fresh.project_id)
    assert fresh_api.get(f"/v2/images/{image_id}/members/{other}").status_code == 404
    foreign = fresh.foreign_image_ids()[0]
    assert fresh_api.get(f"/v2/images/{foreign}/members").status_code == 404


def test_owner_adds_and_removes_members(fresh: DemoCloud) -> None:
    image_id = fresh.own_image_ids()[0]
    api = Api(fresh)
    owner = Api(fresh, fresh.owner_credentials(0))
    try:
        target = fresh.owner_project_ids[0]
        resp = api.request("POST", f"/v2/images/{image_id}/members", json={"member": target})
        assert resp.status_code == 200 and resp.json()["status"] == "pending"
        again = api.request("POST", f"/v2/images/{image_id}/members", json={"member": target})
        assert again.status_code == 409
        # the new member sees it now and can decide
        assert owner.get(f"/v2/images/{image_id}").status_code == 200
        assert (
            owner.put_member(image_id, {"status": "accepted"}, member_id=target).status_code == 200
        )
        resp = api.request("DELETE", f"/v2/images/{image_id}/members/{target}")
        assert resp.status_code == 204 and resp.content == b""
        assert owner.get(f"/v2/images/{image_id}").status_code == 404
        # members cannot add or remove
        shared = fresh.shared_image_ids()[0]
        resp = api.request("POST", f"/v2/images/{shared}/members", json={"member": target})
        assert resp.status_code == 403
        resp = api.request("DELETE", f"/v2/images/{shared}/members/{fresh.project_id}")
        assert resp.status_code == 403
    finally:
        api.close()
        owner.close()


def test_owner_side_changes_between_listing_and_deciding(fresh_api: Api, fresh: DemoCloud) -> None:
    gone, unshared = fresh.shared_image_ids("pending")[:2]
    assert fresh.delete_image(gone)
    assert fresh.unshare(unshared)
    for image_id in (gone, unshared):
        resp = fresh_api.put_member(image_id, {"status": "accepted"})
        assert resp.status_code == 404
        assert _message(resp) == f"Image {image_id} not found.{BR}"
    assert fresh.member_status(unshared) is None


@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        ("application/json", "application/json"),
        ("text/html", "text/html"),
        ("*/*", "text/html"),
        (None, "text/html"),
        ("text/plain", "text/plain"),
    ],
)
def test_error_format_follows_accept(
    api: Api, cloud: DemoCloud, accept: str | None, content_type: str
) -> None:
    image_id = cloud.foreign_image_ids()[0]
    headers = {"X-Auth-Token": api.token}
    if accept is not None:
        headers["Accept"] = accept
    url = f"{cloud.image_url}/v2/images/{image_id}/members/{cloud.project_id}"
    client = httpx.Client(trust_env=False)
    try:
        req = client.build_request("PUT", url, json={"status": "accepted"}, headers=headers)
        if accept is None:
            del req.headers["Accept"]
        resp = client.send(req)
    finally:
        client.close()
    assert resp.status_code == 404
    assert resp.headers["content-type"].startswith(content_type)
    explanation = f"Image {image_id} not found."
    if content_type == "application/json":
        assert resp.json() == {
            "message": explanation + BR,
            "code": "404 Not Found",
            "title": "Not Found",
        }
    elif content_type == "text/html":
        assert resp.text == (
            "<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
            f"  <h1>404 Not Found</h1>\n  {explanation}<br /><br />\n\n\n\n </body>\n</html>"
        )
    else:
        assert resp.text.startswith(f"404 Not Found\n\n{explanation}")
