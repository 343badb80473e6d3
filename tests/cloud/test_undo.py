"""Undo at the API layer: a cloud that refuses ``pending`` as a new status is named as such."""

from __future__ import annotations

from typing import Any

from tui import journaled, undo
from tui.cloud.models import MemberStatus
from tui.journal import Journal, entries


async def test_a_cloud_refusing_pending_is_said_plainly(demo_cloud: Any, make_session: Any) -> None:
    """Open Telekom Cloud may refuse going back to pending (unconfirmed); the demo cloud does
    not, so it is made to answer 400 to the undo's request after the plan was read."""
    session = make_session(demo_cloud)
    image_id = demo_cloud.shared_image_ids("pending")[0]
    subjects = await journaled.subjects_from_listing(session, [image_id], print)
    await journaled.decide(
        [(session, subjects)], MemberStatus.ACCEPTED, how="cli accept", warn=print
    )
    who = journaled.who_for(session, "cli undo")
    operations = undo.last_operations(entries(Journal().records()), who)
    session_for = undo.sessions_from(session)
    (plan,) = await undo.plan(operations, session_for)
    assert [item.target for item in plan.todo] == [MemberStatus.PENDING]
    demo_cloud.fail_project(demo_cloud.project_id, 400, "Invalid status transition: pending")
    recorded = await undo.run(plan, session_for, who=who, warn=print)
    demo_cloud.heal_project(demo_cloud.project_id)
    (decision,) = recorded.decisions
    assert not decision.ok
    said = undo.explain(decision)
    assert said.startswith("this cloud refuses pending as a new status")
    assert "Invalid status transition" in said  # the cloud's own words follow
    assert demo_cloud.member_status(image_id) == "accepted"
    last = [e for e in entries(Journal().records()) if e.op == recorded.operation]
    assert [(e.how, e.outcome) for e in last] == [(f"undo {plan.operation}", "failed")]
