"""OTC's asynchronous batch API: ``PUT /v1/cloudimages/members`` and job polling.

The PUT only says "the task was delivered" (200 ``{"job_id"}``); the outcome arrives
later through ``GET /v1/{project_id}/jobs/{job_id}``.  Jobs run on a timer so clients
really see ``INIT``/``RUNNING`` before ``SUCCESS``/``FAIL`` and must poll.

Error codes the IMS docs name (``IMG.0067`` wrong project, ``IMG.0184`` vault,
``IMG.0027`` no such image) are used as documented; the generic parameter error
``IMG.0001`` and the unknown-job ``IMG.0404`` are this demo's own choice.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from .state import CloudState, Job, Token
from .wire import Request, Response, dumps, job_time, otc_error

if TYPE_CHECKING:
    from .glance import GlanceApi

#: How long a job stays INIT, and when it finishes (seconds after submission).
JOB_START_DELAY = 0.05
JOB_DURATION = 0.4


class BatchApi:
    """Handlers for the OTC v1 batch member update and its jobs."""

    def __init__(self, state: CloudState, glance: GlanceApi) -> None:
        self.state = state
        self.glance = glance

    def update_members(self, req: Request, token: Token) -> Response:
        """Validate, enqueue a job, answer 200 ``{"job_id": ...}``."""
        assert token.project is not None
        try:
            body = json.loads(req.body) if req.body else None
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return otc_error(400, "IMG.0001", "The request body is invalid.")
        images = body.get("images")
        if (
            not isinstance(images, list)
            or not images
            or not all(isinstance(i, str) for i in images)
        ):
            return otc_error(400, "IMG.0001", "images must be a non-empty list of image IDs.")
        if body.get("project_id") != token.project.id:
            return otc_error(400, "IMG.0067", "The project ID is incorrect.")
        status = body.get("status")
        if status not in ("accepted", "rejected"):
            return otc_error(400, "IMG.0001", "status must be accepted or rejected.")
        vault_id = body.get("vault_id")
        job = Job(
            id=f"ff8080{secrets.token_hex(13)}",
            project_id=token.project.id,
            job_type="imsUpdateImageMembersJob",
            begin_time=time.time(),
        )
        with self.state.lock:
            self.state.jobs[job.id] = job
        timer = threading.Timer(
            JOB_DURATION, self._run, args=(job, list(dict.fromkeys(images)), status, vault_id)
        )
        timer.daemon = True
        timer.start()
        return Response(200, dumps({"job_id": job.id}))

    def _run(self, job: Job, images: list[str], status: str, vault_id: Any) -> None:
        state = self.state
        pid = job.project_id
        results: list[dict[str, Any]] = []
        for image_id in images:
            img = state.images.get(image_id)
            member = state.get_member(image_id, pid) if img is not None else None
            result: dict[str, Any] = {"image_id": image_id, "project_id": pid}
            whole = img is not None and str(img.doc.get("__whole_image", "")).lower() == "true"
            if img is None or member is None or img.visibility != "shared":
                result |= {"status": "fail", "error_code": "IMG.0027",
                           "error_msg": "The image does not exist."}  # fmt: skip
            elif status == "accepted" and whole and vault_id not in state.vault_ids:
                result |= {"status": "fail", "error_code": "IMG.0184",
                           "error_msg": "The vault is not found."}  # fmt: skip
            else:
                state.set_member_status(image_id, pid, status)
                result["status"] = "success"
            results.append(result)
        failed = [r for r in results if r["status"] == "fail"]
        with state.lock:
            job.results = results
            job.end_time = time.time()
            job.status = "FAIL" if failed else "SUCCESS"
            if failed:
                job.error_code = failed[0]["error_code"]
                job.fail_reason = f"{len(failed)} of {len(results)} images failed."

    def show_job(self, req: Request, token: Token, project_id: str, job_id: str) -> Response:
        """``GET /v1/{project_id}/jobs/{job_id}``."""
        assert token.project is not None
        if project_id != token.project.id:
            return otc_error(400, "IMG.0067", "The project ID is incorrect.")
        job = self.state.jobs.get(job_id)
        if job is None or job.project_id != project_id:
            return otc_error(404, "IMG.0404", f"The job {job_id} does not exist.")
        with self.state.lock:
            status = job.status
            if status == "INIT" and time.time() - job.begin_time >= JOB_START_DELAY:
                status = "RUNNING"
            body: dict[str, Any] = {
                "job_id": job.id,
                "job_type": job.job_type,
                "begin_time": job_time(job.begin_time),
                "end_time": job_time(job.end_time) if job.end_time else None,
                "status": status,
                "error_code": job.error_code,
                "fail_reason": job.fail_reason,
                "entities": {"results": list(job.results)} if job.end_time else {},
            }
        return Response(200, dumps(body))
