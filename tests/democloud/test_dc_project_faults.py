"""Faults limited to some projects, and one project failing outright."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from dc_helpers import Api, password_auth

from tui.democloud import DemoCloud, Faults

REGIONS = ("eu-de", "eu-nl")
SHARED_ALL = {"visibility": "shared", "member_status": "all"}


def _api(cloud: DemoCloud, name: str) -> Api:
    return Api(cloud, cloud.credentials_for(name))


def test_faults_hit_only_the_named_projects(make_cloud: Callable[..., DemoCloud]) -> None:
    cloud = make_cloud(projects=4, regions=REGIONS)
    staging = cloud.user_projects()[1]
    cloud.set_faults(Faults(error_rate=1.0, projects=frozenset({staging.name})))
    healthy, flaky = _api(cloud, "eu-de_demo"), _api(cloud, staging.name)
    try:
        assert all(healthy.get("/v2/images", params=SHARED_ALL).status_code == 200
                   for _ in range(10))  # fmt: skip
        assert all(flaky.get("/v2/images", params=SHARED_ALL).status_code >= 500
                   for _ in range(10))  # fmt: skip
        assert cloud.stats.faults["error"] == 10
        # by id works the same, and other projects in the same region are spared
        cloud.set_faults(Faults(throttle_rate=1.0, projects=[cloud.project_id]))
        assert healthy.get("/v2/images").status_code == 429
        assert flaky.get("/v2/images").status_code == 200
        team02 = _api(cloud, "eu-de_team02")
        assert team02.get("/v2/images").status_code == 200
        team02.close()
    finally:
        healthy.close()
        flaky.close()


def test_without_a_project_filter_every_project_is_hit(
    make_cloud: Callable[..., DemoCloud],
) -> None:
    cloud = make_cloud(projects=2, regions=REGIONS, faults=Faults(throttle_rate=1.0))
    for name in ("eu-de_demo", "eu-nl_demo_staging"):
        api = _api(cloud, name)
        assert api.get("/v2/images").status_code == 429, name
        api.close()


def test_revoke_after_counts_and_revokes_only_the_named_projects(
    make_cloud: Callable[..., DemoCloud],
) -> None:
    cloud = make_cloud(projects=3, regions=REGIONS)
    cloud.set_faults(Faults(revoke_after=2, projects={"eu-de_team02"}))
    other, target = _api(cloud, "eu-de_demo"), _api(cloud, "eu-de_team02")
    try:
        assert [other.get("/v2/images").status_code for _ in range(5)] == [200] * 5
        assert [target.get("/v2/images").status_code for _ in range(3)] == [200, 200, 401]
        assert other.get("/v2/images").status_code == 200  # its token survived
        target.token = target.login()
        assert target.get("/v2/images").status_code == 200  # only once
        assert cloud.stats.faults["revoke"] == 1
    finally:
        other.close()
        target.close()


def test_auth_faults_follow_the_scope_asked_for(make_cloud: Callable[..., DemoCloud]) -> None:
    cloud = make_cloud(projects=2, regions=REGIONS)
    cloud.set_faults(Faults(error_rate=1.0, auth_faults=True, projects={"eu-nl_demo_staging"}))
    url = f"{cloud.auth_url}/auth/tokens"
    ok = httpx.post(url, json=password_auth(cloud.credentials), trust_env=False)
    assert ok.status_code == 201
    bad = httpx.post(
        url, json=password_auth(cloud.credentials_for("eu-nl_demo_staging")), trust_env=False
    )
    assert bad.status_code >= 500


def test_faults_validate_the_project_filter() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=0.1, projects="eu-de_demo")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        Faults(error_rate=0.1, projects={""})
    faults = Faults(error_rate=0.1, projects=["a", "b"])  # type: ignore[arg-type]
    assert faults.projects == frozenset({"a", "b"})
    assert faults.targets(None, "a") and faults.targets("b", None) and not faults.targets("c", "d")
    assert Faults(error_rate=0.1).targets(None, None)


def test_fail_project_answers_a_glance_error_until_healed(
    make_cloud: Callable[..., DemoCloud],
) -> None:
    cloud = make_cloud(projects=3, regions=REGIONS)
    failing, healthy = _api(cloud, "eu-nl_demo_staging"), _api(cloud, "eu-de_demo")
    try:
        pending = cloud.shared_image_ids("pending", project="eu-nl_demo_staging")[0]
        cloud.fail_project("eu-nl_demo_staging")
        resp = failing.get("/v2/images", params=SHARED_ALL)
        assert resp.status_code == 403
        assert resp.json() == {
            "message": "Access was denied to this resource.<br /><br />\n\n\n",
            "code": "403 Forbidden",
            "title": "Forbidden",
        }
        html = failing.get("/v2/images", headers={"Accept": "text/html"})
        assert html.status_code == 403 and html.headers["content-type"].startswith("text/html")
        # writes fail too, and change nothing
        put = failing.put_member(pending, {"status": "accepted"}, member_id=failing.project_id)
        assert put.status_code == 403
        assert cloud.member_status(pending, project="eu-nl_demo_staging") == "pending"
        batch = failing.request(
            "PUT",
            "/v1/cloudimages/members",
            json={"images": [pending], "project_id": failing.project_id, "status": "accepted"},
        )
        assert batch.status_code == 403
        # other projects and Keystone are unaffected; a new token fails the same way
        assert healthy.get("/v2/images").status_code == 200
        failing.token = failing.login()
        assert failing.get("/v2/images").status_code == 403
        assert cloud.stats.faults["project_failure"] >= 4
        assert cloud.heal_project(failing.project_id)
        assert not cloud.heal_project("eu-nl_demo_staging")
        assert failing.get("/v2/images").status_code == 200
    finally:
        failing.close()
        healthy.close()


def test_fail_project_statuses_and_messages(make_cloud: Callable[..., DemoCloud]) -> None:
    cloud = make_cloud()
    api = Api(cloud)
    try:
        cloud.fail_project("eu-de_demo", status=503)
        resp = api.get("/v2/images")
        assert resp.status_code == 503 and resp.headers["Retry-After"] == "1"
        assert resp.json()["code"] == "503 Service Unavailable"
        cloud.fail_project(cloud.project_id, status=401)
        resp = api.get("/v2/images")
        assert resp.status_code == 401
        assert resp.json()["error"]["code"] == 401
        assert resp.headers["WWW-Authenticate"] == f'Keystone uri="{cloud.base_url}/identity"'
        cloud.fail_project("eu-de_demo", status=404, message="Project is gone.")
        resp = api.get("/v2/images")
        assert resp.status_code == 404
        assert resp.json()["message"] == "Project is gone.<br /><br />\n\n\n"
        # the unauthenticated version document is not an image request of the project
        assert httpx.get(cloud.image_url, trust_env=False).status_code == 300
        # faults do not replace the failure
        cloud.set_faults(Faults(throttle_rate=1.0))
        assert api.get("/v2/images").status_code == 404
    finally:
        api.close()
    with pytest.raises(ValueError):
        cloud.fail_project("eu-de_demo", status=200)
    with pytest.raises(ValueError):
        cloud.fail_project("eu-xx_nowhere")
