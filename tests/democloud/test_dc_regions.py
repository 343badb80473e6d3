"""Many projects in several regions: naming, ports, catalog, region binding, listings.

Expectations are computed here from first principles (names, round-robin, the seeded
member tables, a project's region read from its name prefix as OTC names it), not from
the cloud's own region bookkeeping.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from dc_helpers import Api, password_auth

from tui.democloud import DemoCloud

REGIONS = ("eu-de", "eu-nl")
PROJECTS = 5
#: Round-robin over the regions; project 0 and 1 keep today's names (with their region).
EXPECTED = [
    ("eu-de_demo", "eu-de"),
    ("eu-nl_demo_staging", "eu-nl"),
    ("eu-de_team02", "eu-de"),
    ("eu-nl_team03", "eu-nl"),
    ("eu-de_team04", "eu-de"),
]
KS_401 = {
    "error": {
        "code": 401,
        "title": "Unauthorized",
        "message": "The request you have made requires authentication.",
    }
}


@pytest.fixture(scope="module")
def world() -> Iterator[DemoCloud]:
    """A read-only two-region cloud with five user projects."""
    with DemoCloud(images=300, seed=4, projects=PROJECTS, regions=REGIONS) as cloud:
        yield cloud


def _region_of_name(name: str) -> str:
    """OTC project names start with their region (``eu-nl_finance`` -> ``eu-nl``)."""
    return name.split("_", 1)[0]


def _project_names(cloud: DemoCloud) -> dict[str, str]:
    return {p.id: p.name for p in cloud.data.projects}


def _image_region(cloud: DemoCloud, doc_or_owner: Any) -> str:
    owner = doc_or_owner["owner"] if isinstance(doc_or_owner, dict) else doc_or_owner
    return _region_of_name(_project_names(cloud)[owner])


def _token(cloud: DemoCloud, project_name: str) -> httpx.Response:
    creds = dict(cloud.credentials, OS_PROJECT_NAME=project_name)
    resp = httpx.post(f"{cloud.auth_url}/auth/tokens", json=password_auth(creds), trust_env=False)
    assert resp.status_code == 201, resp.text
    return resp


def _api(cloud: DemoCloud, project_name: str) -> Api:
    creds = dict(cloud.credentials, OS_PROJECT_NAME=project_name)
    creds["OS_REGION_NAME"] = _region_of_name(project_name)
    return Api(cloud, creds)


def _expected_shared(cloud: DemoCloud, project_id: str, status: str) -> set[str]:
    """Upstream ``visibility=shared``: my shared images plus shares with ``status``."""
    out = set()
    for img in cloud.data.images:
        doc = json.loads(img.raw)
        if doc["visibility"] != "shared":
            continue
        member = cloud.data.members.get(img.id, {}).get(project_id)
        if doc["owner"] == project_id or (member is not None and status in ("all", member.status)):
            out.add(img.id)
    return out


# ------------------------------------------------------------------ projects and names


def test_user_projects_are_round_robin_over_regions_with_otc_names(world: DemoCloud) -> None:
    projects = world.user_projects()
    assert [(p.name, p.region) for p in projects] == EXPECTED
    assert len({p.id for p in projects}) == PROJECTS
    assert all(len(p.id) == 32 and int(p.id, 16) >= 0 for p in projects)
    assert projects[0].id == world.project_id
    assert world.credentials["OS_PROJECT_NAME"] == "eu-de_demo"


def test_project_ids_do_not_depend_on_the_world_shape(world: DemoCloud) -> None:
    today = DemoCloud(images=300, seed=4)  # two projects, one region
    ids = [p.id for p in world.user_projects()]
    assert ids[:2] == [p.id for p in today.user_projects()]
    three = DemoCloud(images=10, seed=4, projects=3, regions=REGIONS)
    assert [p.id for p in three.user_projects()] == ids[:3]


def test_every_region_has_its_owners_and_bystanders(world: DemoCloud) -> None:
    names = _project_names(world)
    owners = [names[pid] for pid in world.owner_project_ids]
    assert Counter(_region_of_name(n) for n in owners) == {"eu-de": 5, "eu-nl": 5}
    assert "eu-nl_platform" in owners and "eu-de_platform" in owners
    bystanders = [names[pid] for pid in world.bystander_project_ids]
    assert Counter(_region_of_name(n) for n in bystanders) == {"eu-de": 3, "eu-nl": 3}
    # An owner account owns a project in each region: same user, same domain.
    by_name = {p.name: p for p in world.data.projects}
    assert by_name["eu-nl_platform"].domain.id == by_name["eu-de_platform"].domain.id


def test_auth_projects_lists_all_projects_of_the_user(world: DemoCloud) -> None:
    token = _token(world, "eu-nl_team03")
    body = token.json()["token"]
    resp = httpx.get(
        f"{world.auth_url}/auth/projects",
        headers={"X-Auth-Token": token.headers["X-Subject-Token"]},
        trust_env=False,
    )
    assert resp.status_code == 200
    projects = resp.json()["projects"]
    assert sorted(p["name"] for p in projects) == sorted(n for n, _ in EXPECTED)
    for p in projects:
        assert p["domain_id"] == body["user"]["domain"]["id"]
        assert p["enabled"] is True
        assert p["links"]["self"] == f"{world.auth_url}/projects/{p['id']}"
    assert resp.json()["links"]["self"] == f"{world.auth_url}/auth/projects"


# ------------------------------------------------------------------ ports and catalog


def test_catalog_lists_each_region_on_its_own_port(world: DemoCloud) -> None:
    catalog = _token(world, "eu-de_demo").json()["token"]["catalog"]
    image = next(s for s in catalog if s["type"] == "image")
    by_region: dict[str, dict[str, str]] = {}
    for endpoint in image["endpoints"]:
        assert endpoint["region"] == endpoint["region_id"]
        by_region.setdefault(endpoint["region_id"], {})[endpoint["interface"]] = endpoint["url"]
    assert set(by_region) == set(REGIONS)
    for region, urls in by_region.items():
        assert set(urls) == {"public", "internal"}
        assert urls["public"] == world.image_url_for(region)
        assert not urls["public"].endswith("/") and urls["public"].endswith("/image")
    ports = {urlsplit(by_region[r]["public"]).port for r in REGIONS}
    assert len(ports) == 2
    assert by_region["eu-de"]["public"] == f"{world.base_url}/image"  # first region: main port
    assert world.region_ports() == {r: urlsplit(by_region[r]["public"]).port for r in REGIONS}
    identity = next(s for s in catalog if s["type"] == "identity")
    assert {e["url"] for e in identity["endpoints"]} == {world.auth_url}
    assert {e["region_id"] for e in identity["endpoints"]} == set(REGIONS)
    ids = [e["id"] for s in catalog for e in s["endpoints"]]
    assert len(ids) == len(set(ids))


def test_each_region_port_answers_for_its_region(world: DemoCloud) -> None:
    for name, region in EXPECTED[:2]:
        token = _token(world, name).headers["X-Subject-Token"]
        url = world.image_url_for(region)
        versions = httpx.get(url, trust_env=False)
        assert versions.status_code == 300
        assert versions.json()["versions"][0]["links"][0]["href"] == f"{url}/v2/"
        before = world.stats.region_requests[region]
        resp = httpx.get(f"{url}/v2/images", headers={"X-Auth-Token": token}, trust_env=False)
        assert resp.status_code == 200
        assert world.stats.region_requests[region] == before + 1


def test_region_ports_serve_no_keystone(world: DemoCloud) -> None:
    eu_nl = world.image_url_for("eu-nl").removesuffix("/image")
    assert eu_nl != world.base_url
    resp = httpx.get(f"{eu_nl}/identity/v3", trust_env=False)
    assert resp.status_code == 404


def test_a_token_works_only_in_its_projects_region(world: DemoCloud) -> None:
    for name, region in EXPECTED:
        token = _token(world, name).headers["X-Subject-Token"]
        for other in REGIONS:
            resp = httpx.get(
                f"{world.image_url_for(other)}/v2/images",
                headers={"X-Auth-Token": token, "Accept": "application/json"},
                trust_env=False,
            )
            if other == region:
                assert resp.status_code == 200, (name, other)
            else:
                assert resp.status_code == 401, (name, other)
                assert resp.json() == KS_401
                # keystonemiddleware points at Keystone (main port), not at the region port
                assert (
                    resp.headers["WWW-Authenticate"] == f'Keystone uri="{world.base_url}/identity"'
                )


def test_foreign_region_error_can_be_ims_img0108(make_cloud: Callable[..., DemoCloud]) -> None:
    cloud = make_cloud(projects=2, regions=REGIONS, foreign_region_error="IMG.0108")
    token = _token(cloud, "eu-nl_demo_staging").headers["X-Subject-Token"]
    resp = httpx.get(
        f"{cloud.image_url}/v2/images", headers={"X-Auth-Token": token}, trust_env=False
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "error": {
            "code": "IMG.0108",
            "message": "The tenant ID was not found in the current region.",
        }
    }
    with pytest.raises(ValueError):
        DemoCloud(images=1, foreign_region_error="403")


# ------------------------------------------------------------------ listings per project


@pytest.mark.parametrize("status", ["pending", "accepted", "rejected", "all"])
def test_each_project_lists_its_own_shares_in_its_region(world: DemoCloud, status: str) -> None:
    for name, _ in EXPECTED:
        api = _api(world, name)
        try:
            ids = {i["id"] for i in api.list_all(visibility="shared", member_status=status)}
        finally:
            api.close()
        assert ids == _expected_shared(world, api.project_id, status), name


def test_default_listing_holds_only_the_regions_public_images(world: DemoCloud) -> None:
    api = _api(world, "eu-nl_demo_staging")
    try:
        listed = api.list_all()
        public = [
            json.loads(i.raw)
            for i in world.data.images
            if json.loads(i.raw)["visibility"] == "public"
        ]
        nl_public = {d["id"] for d in public if _image_region(world, d) == "eu-nl"}
        de_public = {d["id"] for d in public if _image_region(world, d) == "eu-de"}
        assert nl_public and de_public
        expected = (
            nl_public
            | {i.id for i in world.data.images if json.loads(i.raw)["owner"] == api.project_id}
            | _expected_shared(world, api.project_id, "accepted")
        )
        assert {i["id"] for i in listed} == expected
        # another region's image does not exist here, not even a public one
        for image_id in de_public:
            assert api.get(f"/v2/images/{image_id}").status_code == 404
    finally:
        api.close()


def test_shares_are_spread_with_a_mix_per_project(world: DemoCloud) -> None:
    pending_share = []
    for p in world.user_projects():
        statuses = Counter(m[p.id].status for m in world.data.members.values() if p.id in m)
        total = sum(statuses.values())
        assert total >= 40, p.name  # 300 images over 5 projects
        assert len(statuses) == 3, (p.name, statuses)
        pending_share.append(statuses["pending"] / total)
    assert max(pending_share) - min(pending_share) > 0.25  # not one mix for all


def test_members_stay_in_their_images_region(world: DemoCloud) -> None:
    names = _project_names(world)
    for img in world.data.images:
        region = _image_region(world, img.owner)
        for member_id in world.data.members.get(img.id, {}):
            assert _region_of_name(names[member_id]) == region, (img.id, names[member_id])


def test_about_ten_percent_of_shares_reach_a_second_user_project(world: DemoCloud) -> None:
    mine = {p.id for p in world.user_projects()}
    docs = {i.id: json.loads(i.raw) for i in world.data.images}
    same_region = [
        i for i, table in world.data.members.items() if len(mine.intersection(table)) >= 2
    ]
    # Replicas share the source's __originalimagename and name but live in another region.
    groups: dict[str, list[dict[str, Any]]] = {}
    for image_id, doc in docs.items():
        if mine.intersection(world.data.members.get(image_id, {})):
            groups.setdefault(doc["__originalimagename"], []).append(doc)
    replicas = [g for g in groups.values() if len(g) == 2]
    assert same_region and replicas
    assert 0.05 * 300 <= len(same_region) + len(replicas) <= 0.16 * 300
    assert sorted(world.multi_project_image_ids()) == sorted(same_region)
    for source, copy in replicas:
        assert source["id"] != copy["id"] and source["name"] == copy["name"]
        assert _image_region(world, source) != _image_region(world, copy)
        domains = {
            p.domain.id for p in world.data.projects if p.id in (source["owner"], copy["owner"])
        }
        assert len(domains) == 1  # the same account replicated its image


def test_same_image_in_two_projects_has_independent_statuses(
    make_cloud: Callable[..., DemoCloud],
) -> None:
    cloud = make_cloud(images=120, seed=4, projects=PROJECTS, regions=REGIONS)
    mine = {p.id: p.name for p in cloud.user_projects()}
    image_id, table = next(
        (i, t) for i, t in cloud.data.members.items() if len(set(mine).intersection(t)) >= 2
    )
    first, second = [pid for pid in table if pid in mine][:2]
    apis = {pid: _api(cloud, mine[pid]) for pid in (first, second)}
    try:
        for pid, api in apis.items():
            listed = {i["id"] for i in api.list_all(visibility="shared", member_status="all")}
            assert image_id in listed
            own = api.get(f"/v2/images/{image_id}/members").json()["members"]
            assert [m["member_id"] for m in own] == [pid]  # a member sees only itself
        new = "rejected" if table[first].status != "rejected" else "accepted"
        before = table[second].status
        resp = apis[first].put_member(image_id, {"status": new}, member_id=first)
        assert resp.status_code == 200 and resp.json()["status"] == new
        other = apis[second].get(f"/v2/images/{image_id}/members/{second}").json()
        assert other["status"] == before
        assert cloud.member_status(image_id, project=mine[first]) == new
        assert cloud.member_status(image_id, project=second) == before
        # deciding for the other project is the usual 403
        resp = apis[first].put_member(image_id, {"status": new}, member_id=second)
        assert resp.status_code == 403
    finally:
        for api in apis.values():
            api.close()
