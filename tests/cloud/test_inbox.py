"""The inbox: every project and region of the user, listed and decided on as one.

Against a demo cloud with several projects in two regions, each expected value comes from the
demo cloud's own member tables (what each project would list by itself), not from the inbox.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tui.cloud import MemberStatus
from tui.cloud.inbox import Inbox

REGIONS = ("eu-de", "eu-nl")


@pytest.fixture
def multi(make_cloud: Any) -> Any:
    return make_cloud(images=120, seed=4, projects=6, regions=REGIONS)


def _expected(cloud: Any) -> set[tuple[str, str, str]]:
    """(project id, image id, status) of every share of every project of the user."""
    found = set()
    for project in cloud.user_projects():
        for image_id in cloud.shared_image_ids(project=project.id):
            found.add((project.id, image_id, cloud.member_status(image_id, project=project.id)))
    return found


async def test_the_inbox_lists_exactly_what_each_project_holds(multi, make_session):
    base = make_session(multi)
    inbox = Inbox(base)
    listing = await inbox.list_all()
    got = {(i.member_id, i.id, i.status.value) for i in listing.images}
    assert got == _expected(multi)
    assert not listing.unreached
    projects = {p.id: p for p in multi.user_projects()}
    for image in listing.images:
        assert image.region == projects[image.member_id].region
        assert image.member_name == projects[image.member_id].name
    # An image shared with two of the user's projects is two rows, one per project.
    twice = set(multi.multi_project_image_ids())
    assert twice and all(Counter(i.id for i in listing.images)[t] >= 2 for t in twice)
    # One password login at most: every other project by re-scoping that token.
    assert multi.stats.token_requests == 1 + len(projects)


async def test_a_failing_project_is_named_and_the_others_still_list(multi, make_session):
    victim = multi.user_projects()[2]
    multi.fail_project(victim.id, status=403)
    listing = await Inbox(make_session(multi)).list_all()
    assert [u.project.id for u in listing.failed] == [victim.id]
    assert "403" in listing.failed[0].reason
    got = {(i.member_id, i.id, i.status.value) for i in listing.images}
    assert got == {row for row in _expected(multi) if row[0] != victim.id}


async def test_the_region_filter_and_projects_without_an_image_endpoint(multi, make_session):
    listing = await Inbox(make_session(multi), regions=["eu-nl"]).list_all()
    nl = {p.id for p in multi.user_projects() if p.region == "eu-nl"}
    assert {i.member_id for i in listing.images} == nl
    skipped = {u.project.id for u in listing.skipped}
    assert skipped == {p.id for p in multi.user_projects()} - nl
    assert all("eu-nl" in u.reason for u in listing.skipped)


async def test_a_decision_lands_in_the_row_project_and_not_in_the_other(multi, make_session):
    inbox = Inbox(make_session(multi))
    listing = await inbox.list_all()
    twice = set(multi.multi_project_image_ids())
    rows = [i for i in listing.images if i.id in twice]
    row, other = next(
        (a, b) for a in rows for b in rows if a.id == b.id and a.member_id != b.member_id
    )
    before = multi.member_status(other.id, project=other.member_id)
    target = (
        MemberStatus.REJECTED if row.status is not MemberStatus.REJECTED else MemberStatus.ACCEPTED
    )
    scope = inbox.scope_of(row)
    assert scope is not None and scope.project.id == row.member_id
    member = await scope.session.set_status(row.id, target)
    assert member.member_id == row.member_id
    assert multi.member_status(row.id, project=row.member_id) == target.value
    assert multi.member_status(other.id, project=other.member_id) == before
