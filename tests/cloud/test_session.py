"""CloudSession against a real DemoCloud over HTTP: auth, listing, decisions, errors."""

from __future__ import annotations

import socket

import httpx
import pytest

from tui.cloud import ALL_STATUSES, ApiError, MemberStatus, PasswordRequired
from tui.cloud import session as session_module

# ------------------------------------------------------------------------------- auth


async def test_login_gets_a_project_scoped_token(demo_cloud, make_session):
    session = make_session(demo_cloud)
    token = await session.token()
    assert token.project_id == demo_cloud.project_id
    assert token.project_name == demo_cloud.credentials["OS_PROJECT_NAME"]
    assert token.image_endpoint == demo_cloud.image_url
    assert 23 * 3600 < token.seconds_left() <= 24 * 3600
    assert token.value not in repr(token)
    assert demo_cloud.stats.token_requests == 1
    # Memory first: no second request.
    assert await session.token() is token
    assert demo_cloud.stats.token_requests == 1


async def test_login_by_project_id(demo_cloud, make_session, settings_for):
    settings = settings_for(demo_cloud, project_name="", project_id=demo_cloud.project_id)
    token = await make_session(settings).token()
    assert token.project_id == demo_cloud.project_id


async def test_wrong_password_is_a_401_with_a_useful_hint(demo_cloud, make_session, settings_for):
    session = make_session(settings_for(demo_cloud, password="not-the-password"))
    with pytest.raises(ApiError) as caught:
        await session.token()
    error = caught.value
    assert error.status == 401
    assert error.action == "login failed"
    assert "password" in error.hint and "user domain" in error.hint
    assert "not-the-password" not in error.summary
    assert demo_cloud.stats.token_requests == 1  # a 401 on login is not retried


async def test_unknown_project_is_an_api_error(demo_cloud, make_session, settings_for):
    session = make_session(settings_for(demo_cloud, project_name="eu-de_nope"))
    with pytest.raises(ApiError) as caught:
        await session.token()
    assert caught.value.status in (400, 401, 404)


async def test_no_password_and_no_cache_asks_for_one(demo_cloud, make_session, settings_for):
    session = make_session(settings_for(demo_cloud, password=""))
    with pytest.raises(PasswordRequired) as caught:
        await session.list_shared()
    assert "OS_PASSWORD" in caught.value.hint
    assert demo_cloud.stats.token_requests == 0


async def test_connection_refused_is_a_clear_error(make_session, settings_for, demo_cloud):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = settings_for(demo_cloud, auth_url=f"http://127.0.0.1:{port}/identity/v3")
    with pytest.raises(ApiError) as caught:
        await make_session(settings).token()
    error = caught.value
    assert error.status == 0
    assert f"cannot connect to 127.0.0.1:{port}" in error.message
    assert "network" in error.hint


async def test_refuses_to_send_a_password_over_plain_http_to_a_remote_host(
    make_session, mock_cloud
):
    cloud = mock_cloud(lambda request: httpx.Response(500))
    settings = cloud.settings(auth_url="http://iam.example.test/v3")
    with pytest.raises(ApiError, match=r"unencrypted|plain http"):
        await make_session(settings, transport=cloud.transport).token()
    assert cloud.token_requests == 0


# ---------------------------------------------------------------------------- listing


async def test_lists_match_the_server_for_every_status(demo_cloud, make_session):
    session = make_session(demo_cloud)
    everything = await session.list_shared()
    assert {i.id for i in everything} == set(demo_cloud.shared_image_ids())
    for status in ALL_STATUSES:
        images = await session.list_shared([status])
        assert {i.id for i in images} == set(demo_cloud.shared_image_ids(status.value))
        assert all(i.status is status for i in images)
        assert images, f"the demo cloud should have {status} shares"


async def test_documents_are_the_listing_without_models(demo_cloud, make_session):
    """``list_share_documents`` (for ``imshare list --json``) lists what ``list_shares`` does:
    the same images, our own dropped, each as its model's JSON object."""
    session = make_session(demo_cloud)
    models = await session.list_shares(ALL_STATUSES)
    documents = await session.list_share_documents(ALL_STATUSES)
    assert not models.failed and not documents.failed
    # By id: the three statuses answer in any order.
    by_id = {row["id"]: row for row in documents.images}
    assert by_id == {image.id: image.to_json() for image in models.images}
    assert len(by_id) == len(documents.images)
    assert {row["id"] for row in documents.images} == set(demo_cloud.shared_image_ids())


@pytest.mark.parametrize("documents", [False, True], ids=["models", "documents"])
async def test_a_status_that_fails_after_its_first_page_keeps_none_of_its_rows(
    make_session, mock_cloud, documents
):
    """The accepted listing answers its first page, then its second fails: none of its rows
    may be shown as if they were all of them; the other statuses are complete. (A mock: the
    demo cloud cannot be made to fail one page of one listing.)"""

    def handler(request: httpx.Request) -> httpx.Response:
        status = request.url.params["member_status"]
        if "marker" not in request.url.params:
            images = [
                {"id": f"{status}-{n}", "name": f"{status} {n}", "owner": "other"} for n in (1, 2)
            ]
            link = f"/v2/images?member_status={status}&visibility=shared&marker={status}-2"
            return httpx.Response(200, json={"images": images, "next": link})
        if status == "accepted":
            return httpx.Response(400, json={"error": {"message": "bad marker"}})
        return httpx.Response(200, json={"images": [{"id": f"{status}-3", "owner": "other"}]})

    cloud = mock_cloud(handler)
    session = make_session(cloud.settings(), transport=cloud.transport)
    if documents:
        listing = await session.list_share_documents(ALL_STATUSES)
        ids = {row["id"] for row in listing.images}
    else:
        listing = await session.list_shares(ALL_STATUSES)
        ids = {image.id for image in listing.images}
    assert set(listing.failed) == {MemberStatus.ACCEPTED}
    assert ids == {f"{s}-{n}" for s in ("pending", "rejected") for n in (1, 2, 3)}


async def test_own_images_are_filtered_out(demo_cloud, make_session):
    own = set(demo_cloud.own_image_ids())
    assert own, "the demo cloud seeds images the caller owns"
    session = make_session(demo_cloud)
    token = await session.token()
    # The server does return them for visibility=shared...
    raw = await session.call(
        "GET", "/v2/images", params={"visibility": "shared", "limit": 1000}, action="raw listing"
    )
    assert own & {image["id"] for image in raw["images"]}
    # ...and the session drops them.
    listed = {i.id for i in await session.list_shared()}
    assert not own & listed
    assert all(i.owner != token.project_id for i in await session.list_shared())
    assert not set(demo_cloud.foreign_image_ids()) & listed


async def test_pagination_over_2500_images(make_cloud, make_session):
    cloud = make_cloud(images=2500)
    session = make_session(cloud)
    images = await session.list_shared()
    ids = [i.id for i in images]
    assert len(ids) == len(set(ids))
    assert set(ids) == set(cloud.shared_image_ids())
    assert len(ids) > 2000
    # pending alone is more than one page of 1000: the `next` link was followed.
    assert len(cloud.shared_image_ids("pending")) > session_module.PAGE_LIMIT
    assert cloud.stats.count("GET") >= 4


async def test_small_pages_cross_many_boundaries(demo_cloud, make_session, monkeypatch):
    monkeypatch.setattr(session_module, "PAGE_LIMIT", 7)
    session = make_session(demo_cloud)
    pages = []
    async for status, page in session.iter_shared_pages([MemberStatus.PENDING]):
        assert status is MemberStatus.PENDING
        pages.append(page)
    expected = set(demo_cloud.shared_image_ids("pending"))
    assert len(pages) >= len(expected) // 7
    assert {i.id for page in pages for i in page} == expected


async def test_get_image_and_member(demo_cloud, make_session):
    session = make_session(demo_cloud)
    image_id = demo_cloud.shared_image_ids("rejected")[0]
    image = await session.get_image(image_id)
    assert image.id == image_id and image.status is None
    assert image.name == demo_cloud.image(image_id)["name"]
    member = await session.get_member(image_id)
    assert member.status is MemberStatus.REJECTED
    assert member.member_id == demo_cloud.project_id
    assert member.created_at is not None and member.created_at.tzinfo is not None


# -------------------------------------------------------------------------- decisions


@pytest.mark.parametrize(
    ("start", "target"),
    [("pending", MemberStatus.ACCEPTED), ("pending", MemberStatus.REJECTED),
     ("accepted", MemberStatus.REJECTED), ("rejected", MemberStatus.ACCEPTED),
     ("accepted", MemberStatus.PENDING)],
)  # fmt: skip
async def test_decision_round_trips(demo_cloud, make_session, start, target):
    whole = set(demo_cloud.whole_image_ids())
    image_id = next(i for i in demo_cloud.shared_image_ids(start) if i not in whole)
    session = make_session(demo_cloud)
    member = await session.set_status(image_id, target)
    assert member.status is target
    assert demo_cloud.member_status(image_id) == target.value
    # Idempotent: deciding the same again is fine.
    again = await session.set_status(image_id, target)
    assert again.status is target
    listed = {i.id for i in await session.list_shared([target])}
    assert image_id in listed


async def test_full_ecs_image_needs_a_vault(make_cloud, make_session):
    demo_cloud = make_cloud(images=300)
    whole = demo_cloud.whole_image_ids()
    assert whole, "the demo cloud seeds full-ECS images"
    image_id = whole[0]
    demo_cloud.set_member_status(image_id, "pending")
    session = make_session(demo_cloud)
    image = await session.get_image(image_id)
    assert image.whole_image and image.needs_vault
    with pytest.raises(ApiError) as caught:
        await session.set_status(image_id, MemberStatus.ACCEPTED)
    assert caught.value.status == 400 and caught.value.code == "IMG.0184"
    assert "vault" in caught.value.hint.lower()
    with pytest.raises(ApiError, match="Vault not found"):
        await session.set_status(image_id, MemberStatus.ACCEPTED, vault_id="no-such-vault")
    assert demo_cloud.member_status(image_id) != "accepted"
    member = await session.set_status(
        image_id, MemberStatus.ACCEPTED, vault_id=demo_cloud.vault_ids[0]
    )
    assert member.status is MemberStatus.ACCEPTED
    assert demo_cloud.member_status(image_id) == "accepted"


async def test_unknown_image_is_404(demo_cloud, make_session):
    session = make_session(demo_cloud)
    missing = "00000000-0000-0000-0000-000000000000"
    for call in (
        session.get_image(missing),
        session.get_member(missing),
        session.set_status(missing, MemberStatus.ACCEPTED),
    ):
        with pytest.raises(ApiError) as caught:
            await call
        assert caught.value.status == 404
        assert "refresh" in caught.value.hint


async def test_not_a_member_is_404(demo_cloud, make_session):
    image_id = demo_cloud.foreign_image_ids()[0]
    session = make_session(demo_cloud)
    with pytest.raises(ApiError) as caught:
        await session.set_status(image_id, MemberStatus.ACCEPTED)
    assert caught.value.status == 404
    with pytest.raises(ApiError) as caught:
        await session.get_member(image_id)
    assert caught.value.status == 404


async def test_owner_cannot_accept_for_the_recipient(demo_cloud, make_session, settings_for):
    from tui.settings.model import Settings
    from tui.settings.sources import apply_environment

    owner_index = 0
    owner_project = demo_cloud.owner_project_ids[owner_index]
    image_id = next(
        i
        for i in demo_cloud.shared_image_ids("pending")
        if demo_cloud.image(i)["owner"] == owner_project
    )
    owner = make_session(apply_environment(Settings(), demo_cloud.owner_credentials(owner_index)))
    path = f"/v2/images/{image_id}/members/{demo_cloud.project_id}"
    with pytest.raises(ApiError) as caught:
        await owner.call("PUT", path, json_body={"status": "accepted"}, action="owner accepting")
    assert caught.value.status == 403
    assert caught.value.code == "403 Forbidden"
    assert "Not allowed to update members" in caught.value.message
    # Through the normal call the owner's own project is not a member either.
    with pytest.raises(ApiError) as caught:
        await owner.set_status(image_id, MemberStatus.ACCEPTED)
    assert caught.value.status in (403, 404)
    assert demo_cloud.member_status(image_id) == "pending"


async def test_invalid_status_is_a_400_from_the_server(demo_cloud, make_session):
    image_id = demo_cloud.shared_image_ids("pending")[0]
    session = make_session(demo_cloud)
    token = await session.token()
    path = f"/v2/images/{image_id}/members/{token.project_id}"
    with pytest.raises(ApiError) as caught:
        await session.call("PUT", path, json_body={"status": "maybe"}, action="deciding")
    error = caught.value
    assert error.status == 400
    assert error.code == "400 Bad Request"
    assert 'Status must be "pending", "accepted" or "rejected"' in error.message
    assert "<br" not in error.message
    assert not error.retryable
    # And our model refuses to send one at all.
    with pytest.raises(ValueError):
        MemberStatus.parse("maybe")
    assert demo_cloud.member_status(image_id) == "pending"


async def test_image_deleted_between_listing_and_deciding(demo_cloud, make_session):
    session = make_session(demo_cloud)
    pending = [i.id for i in await session.list_shared([MemberStatus.PENDING])]
    demo_cloud.delete_image(pending[0])
    demo_cloud.unshare(pending[1])
    decisions = await session.set_status_many(pending[:3], MemberStatus.ACCEPTED)
    assert [d.ok for d in decisions] == [False, False, True]
    assert all(d.error.status == 404 for d in decisions[:2])
    assert demo_cloud.member_status(pending[2]) == "accepted"
    assert demo_cloud.member_status(pending[1]) is None
