"""Bulk decisions through OTC's batch API (PUT /v1/cloudimages/members + job polling) against
a real DemoCloud, the fallback to one PUT per image, and truthful per-image results."""

from __future__ import annotations

import asyncio

import pytest

from tui.cloud import MemberStatus, RetryPolicy
from tui.cloud.batch import parse_job
from tui.democloud import Faults

BATCH_PUT = ("PUT", "/image/v1/cloudimages/members")
JOB_GET = ("GET", "/image/v1/{project_id}/jobs/{job_id}")
MEMBER_PUT = ("PUT", "/image/v2/images/{image_id}/members/{member_id}")
MEMBER_GET = ("GET", "/image/v2/images/{image_id}/members/{member_id}")


def count(cloud, request: tuple[str, str]) -> int:
    return cloud.stats.count(*request)


def pending(cloud, n: int) -> list[str]:
    whole = set(cloud.whole_image_ids())
    ids = [i for i in cloud.shared_image_ids("pending") if i not in whole][:n]
    assert len(ids) == n
    return ids


async def test_bulk_accept_goes_through_one_batch_job(demo_cloud, make_session):
    ids = pending(demo_cloud, 5)
    session = make_session(demo_cloud)
    seen = []
    decisions = await session.set_status_many(ids, MemberStatus.ACCEPTED, on_progress=seen.append)
    assert [d.image_id for d in decisions] == ids
    assert all(d.ok and d.member.status is MemberStatus.ACCEPTED for d in decisions)
    assert all(d.member.member_id == demo_cloud.project_id for d in decisions)
    assert sorted(d.image_id for d in seen) == sorted(ids)
    assert all(demo_cloud.member_status(i) == "accepted" for i in ids)
    assert count(demo_cloud, BATCH_PUT) == 1
    assert count(demo_cloud, JOB_GET) >= 1
    assert count(demo_cloud, MEMBER_PUT) == 0
    assert session.batch_offered is True


async def test_bulk_reject_and_duplicates(demo_cloud, make_session):
    ids = demo_cloud.shared_image_ids("accepted")[:3]
    session = make_session(demo_cloud)
    decisions = await session.set_status_many([*ids, ids[0]], MemberStatus.REJECTED)
    assert [d.image_id for d in decisions] == [*ids, ids[0]]
    assert all(d.ok for d in decisions)
    assert all(demo_cloud.member_status(i) == "rejected" for i in ids)
    assert count(demo_cloud, BATCH_PUT) == 1


async def test_single_image_and_pending_use_the_member_api(demo_cloud, make_session):
    session = make_session(demo_cloud)
    one = pending(demo_cloud, 1)
    assert (await session.set_status_many(one, MemberStatus.ACCEPTED))[0].ok
    back = await session.set_status_many(
        [one[0], demo_cloud.shared_image_ids("rejected")[0]], MemberStatus.PENDING
    )
    assert all(d.ok for d in back)
    assert count(demo_cloud, BATCH_PUT) == 0
    assert count(demo_cloud, MEMBER_PUT) == 3
    # use_batch=True forces it even for one image; False never uses it.
    forced = await session.set_status_many(one, MemberStatus.REJECTED, use_batch=True)
    assert forced[0].ok and demo_cloud.member_status(one[0]) == "rejected"
    assert count(demo_cloud, BATCH_PUT) == 1
    never = await session.set_status_many(pending(demo_cloud, 2), MemberStatus.ACCEPTED,
                                           use_batch=False)  # fmt: skip
    assert all(d.ok for d in never)
    assert count(demo_cloud, BATCH_PUT) == 1


async def test_fallback_when_the_cloud_has_no_batch_api(make_cloud, make_session):
    cloud = make_cloud(batch_api=False)
    ids = pending(cloud, 4)
    session = make_session(cloud)
    seen = []
    decisions = await session.set_status_many(ids, MemberStatus.ACCEPTED, on_progress=seen.append)
    assert all(d.ok and d.member.status is MemberStatus.ACCEPTED for d in decisions)
    assert sorted(d.image_id for d in seen) == sorted(ids)
    assert all(cloud.member_status(i) == "accepted" for i in ids)
    # Without the API the path is unknown to the cloud: counted under the catch-all route.
    assert cloud.stats.requests[("PUT", "/image/*", 404)] == 1
    assert count(cloud, MEMBER_PUT) == 4
    assert session.batch_offered is False
    # Remembered for the session: the next bulk decision does not ask again.
    more = await session.set_status_many(ids, MemberStatus.REJECTED)
    assert all(d.ok for d in more)
    assert cloud.stats.count("PUT", "/image/*") == 1 and count(cloud, MEMBER_PUT) == 8


async def test_failing_images_in_a_batch_are_reported_each(make_cloud, make_session):
    cloud = make_cloud(images=300)
    good = pending(cloud, 2)
    whole = cloud.whole_image_ids()[0]
    cloud.set_member_status(whole, "pending")
    missing = "00000000-0000-0000-0000-000000000000"
    foreign = cloud.foreign_image_ids()[0]
    session = make_session(cloud)
    targets = [good[0], whole, missing, good[1], foreign]
    seen = []
    decisions = await session.set_status_many(
        targets, MemberStatus.ACCEPTED, on_progress=seen.append
    )
    assert len(seen) == 5 and [d.image_id for d in decisions] == targets
    by_id = {d.image_id: d for d in decisions}
    assert by_id[good[0]].ok and by_id[good[1]].ok
    assert all(cloud.member_status(i) == "accepted" for i in good)
    vault = by_id[whole].error
    assert not by_id[whole].ok and vault.code == "IMG.0184" and "vault" in vault.summary.lower()
    assert cloud.member_status(whole) == "pending"
    for image_id in (missing, foreign):
        error = by_id[image_id].error
        assert error.status == 404 and error.code == "IMG.0027", error
        assert error.action.endswith(image_id)
    assert count(cloud, BATCH_PUT) == 1
    # Failed images were read back (never reported failed without asking); good ones not.
    assert count(cloud, MEMBER_GET) == 3
    # With a vault the full-ECS image goes through.
    again = await session.set_status_many(
        [whole, good[0]], MemberStatus.ACCEPTED, vault_id=cloud.vault_ids[0]
    )
    assert all(d.ok for d in again) and cloud.member_status(whole) == "accepted"


async def test_job_that_cannot_be_read_is_checked_image_by_image(demo_cloud, make_session):
    """The job vanishes (404) while it runs: the images it did change are reported done."""
    ids = pending(demo_cloud, 3)

    async def sleep_then_lose_the_job(seconds: float) -> None:
        await asyncio.sleep(0.6)  # the demo's jobs take 0.4 s
        demo_cloud.state.jobs.clear()

    session = make_session(demo_cloud, sleep=sleep_then_lose_the_job)
    decisions = await session.set_status_many(ids, MemberStatus.ACCEPTED)
    assert all(d.ok for d in decisions), decisions
    assert all(d.member.created_at is not None for d in decisions)  # read back, real records
    assert count(demo_cloud, MEMBER_GET) == 3


async def test_job_timeout_reports_the_truth(demo_cloud, make_session):
    ids = pending(demo_cloud, 2)
    session = make_session(demo_cloud)
    session.batch_poll_interval = 0.01
    session.batch_timeout = 0.05
    decisions = await session.set_status_many(ids, MemberStatus.ACCEPTED)
    for decision in decisions:
        # Read back right after the timeout: the job had not applied it yet.
        assert not decision.ok
        assert "did not finish" in decision.error.message
        assert "still pending" in decision.error.message
        assert "refresh" in decision.error.hint.lower()
    await asyncio.sleep(0.6)
    assert all(demo_cloud.member_status(i) == "accepted" for i in ids)
    # The next attempt sees the truth: already accepted, reported as done.
    again = await session.set_status_many(ids, MemberStatus.ACCEPTED)
    assert all(d.ok for d in again)


async def test_batch_under_faults_never_misreports(make_cloud, make_session):
    cloud = make_cloud(images=300)
    ids = pending(cloud, 40)
    cloud.set_faults(Faults(error_rate=0.15, drop_rate=0.1, apply_to_writes=True, fault_seed=5))
    session = make_session(cloud, retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.002))
    decisions = await session.set_status_many(ids, MemberStatus.ACCEPTED)
    assert [d.image_id for d in decisions] == ids
    for decision in decisions:
        if decision.ok:
            assert cloud.member_status(decision.image_id) == "accepted", decision
        else:
            assert decision.error.summary
    cloud.set_faults(None)
    await asyncio.sleep(0.5)  # a job submitted under faults may still be running
    retry = await session.set_status_many(ids, MemberStatus.ACCEPTED)
    assert all(d.ok for d in retry)


@pytest.mark.parametrize(
    ("document", "status", "results"),
    [
        (
            {"job_id": "j", "status": "success", "begin_time": "2024-11-06T07:24:22.925Z",
             "end_time": "2024-11-06T07:24:23.773Z",
             "entities": {"results": [{"image_id": "a", "status": "SUCCESS"}]}},
            "SUCCESS",
            {"a": "success"},
        ),
        ({"status": "RUNNING", "entities": {}}, "RUNNING", {}),
        ({"status": None, "entities": {"results": "nonsense"}}, "", {}),
        ({"status": "FAIL", "entities": {"results": [{"status": "fail"}, 3]}}, "FAIL", {}),
    ],
)  # fmt: skip
def test_job_documents_parse_case_insensitively(document, status, results):
    job = parse_job(document, "fallback-id")
    assert job.status == status
    assert {k: v.status for k, v in job.results.items()} == results
    assert job.job_id in ("j", "fallback-id")
    if "end_time" in document:
        assert job.end_time.microsecond == 773000
