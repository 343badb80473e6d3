"""Journalled decisions at the API layer: outcomes as the cloud answered, one operation across
projects, and the entry point rules use (issue 13)."""

from __future__ import annotations

from typing import Any

from tui import journaled
from tui.cloud.models import MemberStatus
from tui.democloud.faults import Faults
from tui.journal import Journal, entries


async def _subjects(session: Any, image_ids: list[str]) -> list[Any]:
    problems: list[str] = []
    subjects = await journaled.subjects_from_listing(session, image_ids, problems.append)
    assert not problems
    return subjects


async def test_no_answer_and_no_read_back_is_unknown_not_failed(
    demo_cloud: Any, make_session: Any
) -> None:
    """Every request is dropped: the PUT may or may not have been applied, and reading the
    image back cannot tell — the journal must say unknown, never failed."""
    session = make_session(demo_cloud)
    image_id = demo_cloud.shared_image_ids("pending")[0]
    subjects = await _subjects(session, [image_id])
    demo_cloud.set_faults(Faults(drop_rate=1.0, apply_to_writes=True))
    warnings: list[str] = []
    recorded = await journaled.decide(
        [(session, subjects)],
        MemberStatus.ACCEPTED,
        how="cli accept",
        warn=warnings.append,
        use_batch=False,
    )
    demo_cloud.set_faults(None)
    (decision,) = recorded.decisions
    assert not decision.ok and not warnings
    (entry,) = entries(Journal().records())
    assert entry.outcome == "unknown" and entry.op == recorded.operation
    assert demo_cloud.member_status(image_id) in ("pending", "accepted")


async def test_an_error_whose_read_back_shows_no_change_is_failed(
    demo_cloud: Any, make_session: Any
) -> None:
    """A refusal the cloud answered (403: a project that may not decide) is a failure: the
    image reads back unchanged, so nobody need wonder whether it was applied."""
    session = make_session(demo_cloud)
    image_id = demo_cloud.shared_image_ids("pending")[0]
    subjects = await _subjects(session, [image_id])
    demo_cloud.fail_project(demo_cloud.project_id, status=403)
    recorded = await journaled.decide(
        [(session, subjects)], MemberStatus.ACCEPTED, how="key accept", warn=print
    )
    demo_cloud.heal_project(demo_cloud.project_id)
    (entry,) = entries(Journal().records())
    assert not recorded.decisions[0].ok
    assert entry.outcome == "failed" and entry.code.startswith("403")
    assert demo_cloud.member_status(image_id) == "pending"


async def test_one_operation_spans_projects_each_decided_in_its_own(
    make_cloud: Any, make_session: Any
) -> None:
    cloud = make_cloud(images=80, seed=5, projects=3)
    projects = cloud.user_projects()
    home = make_session(cloud)
    await home.token()
    groups = []
    picked: dict[str, str] = {}
    for project in projects[:2]:
        session = home.for_project(project.id)
        await session.token()
        image_id = cloud.shared_image_ids("pending", project=project.id)[0]
        picked[project.id] = image_id
        groups.append((session, await _subjects(session, [image_id])))
    recorded = await journaled.decide(
        groups, MemberStatus.REJECTED, how="key reject", warn=print, use_batch=False
    )
    assert all(d.ok for d in recorded.decisions)
    found = entries(Journal().records())
    assert {e.op for e in found} == {recorded.operation}
    assert {(e.member_id, e.image_id) for e in found} == set(picked.items())
    names = {p.id: p.name for p in projects}
    for entry in found:
        assert entry.member_name == names[entry.member_id]
        assert cloud.member_status(entry.image_id, project=entry.member_id) == "rejected"


async def test_a_rule_run_is_journalled_under_the_rules_name(
    demo_cloud: Any, make_session: Any
) -> None:
    session = make_session(demo_cloud)
    ids = demo_cloud.shared_image_ids("pending")[:2]
    subjects = await _subjects(session, ids)
    recorded = await journaled.decide_by_rule(
        "ubuntu-from-platform", [(session, subjects)], MemberStatus.ACCEPTED, warn=print
    )
    assert all(d.ok for d in recorded.decisions)
    found = entries(Journal().records())
    assert {e.how for e in found} == {"rule ubuntu-from-platform"}
    assert {e.image_id for e in found} == set(ids)
