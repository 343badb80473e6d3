"""The in-process ``DemoCloud`` API that tests and the app rely on."""

from __future__ import annotations

import socket

import pytest
from dc_helpers import Api

from tui.democloud import DemoCloud, Faults


def test_urls_credentials_and_ids() -> None:
    with DemoCloud(images=30, seed=2) as cloud:
        assert cloud.base_url.startswith("http://127.0.0.1:")
        assert cloud.auth_url == cloud.base_url + "/identity/v3"
        assert cloud.image_url == cloud.base_url + "/image"
        creds = cloud.credentials
        assert creds["OS_AUTH_URL"] == cloud.auth_url
        assert creds["OS_REGION_NAME"] == "eu-de"
        assert creds["OS_PROJECT_NAME"] == "eu-de_demo"
        assert len(cloud.owner_project_ids) == 5
        assert cloud.owner_credentials(2)["OS_USERNAME"] != creds["OS_USERNAME"]
        assert len(cloud.vault_ids) == 3
        assert len(cloud.shared_image_ids()) == 30
        assert not set(cloud.own_image_ids()) & set(cloud.shared_image_ids())


def test_stop_frees_the_port_quickly() -> None:
    cloud = DemoCloud(images=5).start()
    api = Api(cloud)  # leaves a keep-alive connection open
    port = int(cloud.base_url.rsplit(":", 1)[1])
    cloud.stop()
    api.close()
    # Nobody answers there any more, and the port can be bound again at once.
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        assert sock.getsockname() == ("127.0.0.1", port)


def test_stats_count_by_template(fresh_api: Api, fresh: DemoCloud) -> None:
    image_id = fresh.shared_image_ids("pending")[0]
    fresh_api.put_member(image_id, {"status": "rejected"})
    key = ("PUT", "/image/v2/images/{image_id}/members/{member_id}", 200)
    assert fresh.stats.requests[key] == 1
    assert fresh.stats.count("POST", "/identity/v3/auth/tokens") == 1
    assert fresh.stats.token_requests == 1
    fresh.stats.reset()
    assert fresh.stats.image_requests == 0


def test_owner_side_levers(fresh_api: Api, fresh: DemoCloud) -> None:
    image_id = fresh.shared_image_ids("accepted")[0]
    assert fresh.unshare(image_id)
    assert fresh_api.get(f"/v2/images/{image_id}").status_code == 404
    assert fresh.share(image_id)
    assert fresh.member_status(image_id) == "pending"
    assert fresh.set_member_status(image_id, "rejected")
    doc = dict(fresh.image(image_id) or {})
    doc["id"] = "0" * 8 + "-0000-4000-8000-" + "0" * 12
    doc["name"] = "Added_at_runtime"
    new_id = fresh.add_image(doc, {fresh.project_id: "pending"})
    pending = fresh_api.list_all(visibility="shared", member_status="pending")
    assert new_id in {i["id"] for i in pending}
    fresh.set_faults(Faults(throttle_rate=1.0))
    assert fresh_api.get("/v2/images").status_code == 429
    fresh.set_faults(None)
    assert fresh_api.get("/v2/images").status_code == 200


def test_credentials_for_each_project_log_in_to_that_project_and_region() -> None:
    with DemoCloud(images=20, seed=5, projects=3, regions=("eu-de", "eu-nl")) as cloud:
        assert cloud.credentials == cloud.credentials_for(None)
        assert cloud.credentials == cloud.credentials_for("eu-de_demo")
        for project in cloud.user_projects():
            creds = cloud.credentials_for(project.name)
            assert creds == cloud.credentials_for(project.id)
            assert creds["OS_PROJECT_NAME"] == project.name
            assert creds["OS_REGION_NAME"] == project.name.split("_")[0] == project.region
            api = Api(cloud, creds)  # logs in, scoped by name
            assert api.project_id == project.id
            assert api.image_url == cloud.image_url_for(project.region)
            assert api.get("/v2/images").status_code == 200
            api.close()
        with pytest.raises(ValueError):
            cloud.credentials_for(cloud.owner_project_ids[0])  # not the demo user's
        with pytest.raises(ValueError):
            cloud.credentials_for("eu-de_nowhere")
        with pytest.raises(ValueError):
            cloud.image_url_for("eu-fr")
        owner = cloud.owner_credentials(len(cloud.owner_project_ids) - 1)
        assert owner["OS_REGION_NAME"] == "eu-nl" and owner["OS_PROJECT_NAME"].startswith("eu-nl_")


def test_inspection_helpers_take_a_project() -> None:
    with DemoCloud(images=60, seed=5, projects=3, regions=("eu-de", "eu-nl")) as cloud:
        name = "eu-nl_demo_staging"
        pid = cloud.user_projects()[1].id
        expected = {
            image_id
            for image_id, table in cloud.data.members.items()
            if pid in table and table[pid].status == "pending"
        }
        assert set(cloud.shared_image_ids("pending", project=name)) == expected
        assert set(cloud.shared_image_ids(status="pending", project=pid)) == expected
        image_id = sorted(expected)[0]
        assert cloud.member_status(image_id, project=name) == "pending"
        assert cloud.member_status(image_id) is None  # project 0 is in another region
        assert cloud.set_member_status(image_id, "rejected", project=name)
        api = Api(cloud, cloud.credentials_for(name))
        got = api.get(f"/v2/images/{image_id}/members/{pid}").json()
        assert got["status"] == "rejected"
        api.close()
        assert cloud.image_region(image_id) == "eu-nl"
        assert not cloud.share(image_id)  # project 0 lives in eu-de: no cross-region share
        assert cloud.unshare(image_id, name) and cloud.share(image_id, name)
        assert cloud.member_status(image_id, project=name) == "pending"
        assert set(cloud.public_image_ids()) == set(cloud.public_image_ids("eu-de")) | set(
            cloud.public_image_ids("eu-nl")
        )
        assert cloud.own_image_ids(name) and not set(cloud.own_image_ids(name)) & set(
            cloud.own_image_ids()
        )
        assert all(cloud.image_region(i) == "eu-nl" for i in cloud.foreign_image_ids(name))
        # one token was issued above, for the staging project only
        assert cloud.revoke_tokens("eu-de_demo") == 0
        assert cloud.revoke_tokens(name) == 1


def test_bad_world_shapes_are_refused() -> None:
    for kwargs in (
        {"projects": 0},
        {"regions": ()},
        {"regions": "eu-de"},
        {"regions": ("eu-de", "eu-de")},
        {"regions": ("eu de",)},
    ):
        with pytest.raises(ValueError):
            DemoCloud(images=1, **kwargs)  # type: ignore[arg-type]
