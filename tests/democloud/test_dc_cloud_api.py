"""The in-process ``DemoCloud`` API that tests and the app rely on."""

from __future__ import annotations

import socket

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
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


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
