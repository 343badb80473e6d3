"""OTC's batch decision API: one PUT for many images, then poll the job.

IMS API reference: ims_apis/image_sharing/updating_the_sharing_status_for_images.rst and
ims_apis/image_jobs/querying_the_status_of_an_asynchronous_job.rst.

``PUT {ims}/v1/cloudimages/members`` ``{"images", "project_id", "status", "vault_id"?}``
answers 200 ``{"job_id"}``, which only means "the task was delivered"; the outcome comes from
``GET {ims}/v1/{project_id}/jobs/{job_id}``: top-level ``status`` ``INIT``/``RUNNING``/
``SUCCESS``/``FAIL`` (upper case) and per-image ``entities.results[].status`` (lower case
``success``/``fail``). Case is ignored everywhere here.

Only ``accepted`` and ``rejected`` exist in the batch API. A cloud without it (plain Glance:
404/405, or a 400 that is not an IMS ``IMG.*`` error) raises ``BatchNotOffered``; the session
remembers that and decides how to fall back. When the job fails, cannot be read or does not
finish in time,
each image not confirmed by the job has its member record read back before a failure is
reported: a decision is never claimed that the cloud did not make, and never reported failed
when the cloud made it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

from tui.cloud.errors import ApiError
from tui.cloud.models import Decision, Member, MemberStatus, parse_timestamp

BATCH_PATH = "/v1/cloudimages/members"
JOB_PATH = "/v1/{project_id}/jobs/{job_id}"
BATCH_STATUSES = (MemberStatus.ACCEPTED, MemberStatus.REJECTED)
#: Images per job. IMS documents no limit; a cloud that refuses a large body makes that chunk
#: fall back to one PUT per image, so this only needs to be reasonable.
MAX_IMAGES_PER_JOB = 100
#: Polling: IMS documents no interval, so start at half a second, back off to
#: one second, and give up waiting after ``JOB_TIMEOUT`` seconds (then read the images back).
POLL_INTERVAL = 0.5
MAX_POLL_INTERVAL = 1.0
JOB_TIMEOUT = 120.0


class BatchNotOffered(Exception):
    """The cloud has no batch member API (plain Glance, or an IMS without it)."""


class BatchClient(Protocol):
    """What a batch run needs from the session: authenticated calls, a member read, a pause."""

    async def call(
        self,
        method: str,
        path: str,
        *,
        json_body: dict[str, Any] | None = None,
        action: str,
        trace: list[str] | None = None,
    ) -> dict[str, Any]: ...

    async def get_member(self, image_id: str) -> Member: ...

    async def pause(self, seconds: float) -> None: ...


@dataclass(slots=True)
class ImageResult:
    status: str  # lower case: "success", "fail", ...
    code: str = ""
    message: str = ""


@dataclass(slots=True)
class JobState:
    job_id: str
    status: str  # upper case: INIT, RUNNING, SUCCESS, FAIL
    results: dict[str, ImageResult] = field(default_factory=dict)
    error_code: str = ""
    fail_reason: str = ""
    end_time: datetime | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("SUCCESS", "FAIL")


def _text(value: Any) -> str:
    return str(value).strip() if value is not None and not isinstance(value, bool) else ""


def parse_job(data: dict[str, Any], job_id: str) -> JobState:
    """Read a job document; unknown or missing parts are left empty, never an exception."""
    entities = data.get("entities")
    raw_results = entities.get("results") if isinstance(entities, dict) else None
    results: dict[str, ImageResult] = {}
    if isinstance(raw_results, list):
        for item in raw_results:
            if not isinstance(item, dict) or not _text(item.get("image_id")):
                continue
            results[_text(item["image_id"])] = ImageResult(
                status=_text(item.get("status")).lower(),
                code=_text(item.get("error_code")),
                message=_text(item.get("error_msg") or item.get("fail_reason")),
            )
    return JobState(
        job_id=_text(data.get("job_id")) or job_id,
        status=_text(data.get("status")).upper(),
        results=results,
        error_code=_text(data.get("error_code")),
        fail_reason=_text(data.get("fail_reason")),
        end_time=parse_timestamp(data.get("end_time")),
    )


def not_offered(error: ApiError) -> bool:
    """Whether a refused batch PUT means "this cloud has no batch API"."""
    if error.status in (404, 405):
        return True
    return error.status == 400 and not error.code.upper().startswith("IMG.")


async def decide_chunk(
    client: BatchClient,
    project_id: str,
    image_ids: list[str],
    status: MemberStatus,
    *,
    vault_id: str,
    concurrency: int,
    on_progress: Callable[[Decision], None] | None,
    on_send: Callable[[list[str], bool], None] | None = None,
    poll_interval: float = POLL_INTERVAL,
    timeout: float = JOB_TIMEOUT,
) -> list[Decision]:
    """Decide ``image_ids`` (at most ``MAX_IMAGES_PER_JOB``) in one job of ``project_id``.

    Raises ``BatchNotOffered`` when the cloud has no batch API, ``ApiError`` when it refused
    the request; otherwise every image gets a ``Decision``, also passed to ``on_progress``.
    """
    verb = status.doing
    body: dict[str, Any] = {"images": image_ids, "project_id": project_id, "status": status.value}
    if vault_id:
        body["vault_id"] = vault_id
    action = f"{verb} {len(image_ids)} images"
    trace: list[str] = []
    if on_send is not None:
        on_send(list(image_ids), True)
    try:
        data = await client.call("PUT", BATCH_PATH, json_body=body, action=action, trace=trace)
    except ApiError as error:
        if not_offered(error):
            raise BatchNotOffered() from error
        raise
    job_id = _text(data.get("job_id"))
    if not job_id:
        raise ApiError("the batch answer has no job_id", action=action)
    request_id = trace[-1] if trace else ""
    job, trouble = await _wait_for_job(client, project_id, job_id, poll_interval, timeout)

    decided_at = (job.end_time if job else None) or datetime.now(UTC)
    decisions: dict[str, Decision] = {}
    unconfirmed: list[str] = []

    def report(decision: Decision) -> None:
        decisions[decision.image_id] = decision
        if on_progress is not None:
            on_progress(decision)

    for image_id in image_ids:
        result = job.results.get(image_id) if job else None
        confirmed = (
            result.status == "success" if result else job is not None and (job.status == "SUCCESS")
        )
        if confirmed:
            member = Member(image_id, project_id, status, None, decided_at)
            report(
                Decision(
                    image_id, status, member=member, request_id=request_id, member_id=project_id
                )
            )
        else:
            unconfirmed.append(image_id)

    gate = asyncio.Semaphore(max(1, concurrency))

    async def read_back(image_id: str) -> None:
        result = job.results.get(image_id) if job else None
        async with gate:
            try:
                member = await client.get_member(image_id)
                read_error: ApiError | None = None
            except ApiError as error:
                member, read_error = None, error
        if member is not None and member.status is status:
            report(Decision(image_id, status, member=member, member_id=project_id))
            return
        report(
            Decision(
                image_id,
                status,
                error=_failure(verb, image_id, job, result, trouble, member, read_error),
                member_id=project_id,
            )
        )

    await asyncio.gather(*(read_back(image_id) for image_id in unconfirmed))
    return [decisions[image_id] for image_id in image_ids]


async def _wait_for_job(
    client: BatchClient, project_id: str, job_id: str, poll_interval: float, timeout: float
) -> tuple[JobState | None, str]:
    """Poll until the job ends: ``(last job state, why the wait stopped early or "")``."""
    path = JOB_PATH.format(project_id=quote(project_id, safe=""), job_id=quote(job_id, safe=""))
    # Both clocks bound the wait: the real one (slow polls add up) and the sum of the pauses
    # (so the number of polls is bounded even where pauses are instant, as in tests).
    deadline = time.monotonic() + timeout
    interval = min(poll_interval, MAX_POLL_INTERVAL)
    paused = 0.0
    job: JobState | None = None
    while True:
        await client.pause(interval)
        paused += interval
        try:
            data = await client.call("GET", path, action=f"checking job {job_id}")
        except ApiError as error:
            return job, f"the job {job_id} could not be read ({error.summary})"
        job = parse_job(data, job_id)
        if job.finished:
            return job, ""
        if time.monotonic() >= deadline or paused >= timeout:
            return job, (
                f"the job {job_id} did not finish within {timeout:g}s "
                f"(still {job.status or 'unknown'})"
            )
        interval = min(interval * 1.5, MAX_POLL_INTERVAL)


def _failure(
    verb: str,
    image_id: str,
    job: JobState | None,
    result: ImageResult | None,
    trouble: str,
    member: Member | None,
    read_error: ApiError | None,
) -> ApiError:
    action = f"{verb} {image_id}"
    gone = read_error is not None and read_error.status in (403, 404)
    if result is not None and result.status != "success":
        message = result.message or (job.fail_reason if job else "") or "the job reported a failure"
        # The read-back's 404/403 says the same as IMG.0027 and keeps the HTTP status in view.
        status = read_error.status if read_error is not None and gone else 0
        return ApiError(message, status=status, code=result.code, action=action)
    if read_error is not None and gone:
        return read_error
    still = f"; the image is still {member.status}" if member is not None else ""
    if trouble:
        error = ApiError(
            f"{trouble}{still}",
            hint="The cloud may still apply it: refresh in a minute and check the image.",
            retryable=True,
            action=action,
        )
        error.unconfirmed = True  # the job may still be running
        return error
    if job is not None and job.status == "FAIL":
        reason = job.fail_reason or "the job failed"
        error = ApiError(f"{reason}{still}", code=job.error_code, action=action)
    else:
        error = ApiError(
            f"the cloud did not confirm the decision{still}",
            hint="Refresh and check the image's status.",
            action=action,
        )
    # Not confirmed by the job, and not read back either: nobody knows what became of it.
    error.unconfirmed = member is None
    return error
