"""OTC's asynchronous batch member update and job polling."""

from __future__ import annotations

import time
from typing import Any

from dc_helpers import Api

from tui.democloud import DemoCloud


def _poll(api: Api, cloud: DemoCloud, job_id: str) -> list[dict[str, Any]]:
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        resp = api.get(f"/v1/{cloud.project_id}/jobs/{job_id}")
        assert resp.status_code == 200
        seen.append(resp.json())
        if seen[-1]["status"] in ("SUCCESS", "FAIL"):
            return seen
        time.sleep(0.05)
    raise AssertionError("job did not finish")


def test_batch_accept_runs_asynchronously(fresh_api: Api, fresh: DemoCloud) -> None:
    whole = set(fresh.whole_image_ids())
    images = [i for i in fresh.shared_image_ids("pending") if i not in whole][:3]
    body = {"images": images, "project_id": fresh.project_id, "status": "accepted"}
    resp = fresh_api.request("PUT", "/v1/cloudimages/members", json=body)
    assert resp.status_code == 200
    job_id = resp.json()["job_id"]
    states = _poll(fresh_api, fresh, job_id)
    assert states[0]["status"] in ("INIT", "RUNNING")
    final = states[-1]
    assert final["status"] == "SUCCESS"
    assert final["job_type"] == "imsUpdateImageMembersJob"
    assert final["begin_time"].endswith("Z") and len(final["begin_time"]) == 24
    assert {r["image_id"] for r in final["entities"]["results"]} == set(images)
    assert all(r["status"] == "success" for r in final["entities"]["results"])
    assert all(fresh.member_status(i) == "accepted" for i in images)


def test_batch_reports_failures_per_image(fresh_api: Api, fresh: DemoCloud) -> None:
    good = fresh.shared_image_ids("pending")[0]
    bad = fresh.foreign_image_ids()[0]
    body = {"images": [good, bad], "project_id": fresh.project_id, "status": "rejected"}
    job_id = fresh_api.request("PUT", "/v1/cloudimages/members", json=body).json()["job_id"]
    final = _poll(fresh_api, fresh, job_id)[-1]
    assert final["status"] == "FAIL" and final["error_code"] == "IMG.0027"
    results = {r["image_id"]: r for r in final["entities"]["results"]}
    assert results[good]["status"] == "success" and results[bad]["status"] == "fail"
    assert fresh.member_status(good) == "rejected"


def test_batch_validation(fresh_api: Api, fresh: DemoCloud) -> None:
    image = fresh.shared_image_ids()[0]
    wrong_project = {"images": [image], "project_id": "0" * 32, "status": "accepted"}
    resp = fresh_api.request("PUT", "/v1/cloudimages/members", json=wrong_project)
    assert resp.status_code == 400 and resp.json()["error"]["code"] == "IMG.0067"
    bad_status = {"images": [image], "project_id": fresh.project_id, "status": "pending"}
    assert fresh_api.request("PUT", "/v1/cloudimages/members", json=bad_status).status_code == 400
    assert fresh_api.get(f"/v1/{fresh.project_id}/jobs/nope").status_code == 404
