"""Retries and faults: throttling honours Retry-After, 5xx/drops/bad bodies are retried within
bounds, and a decision is never reported as made unless the cloud confirmed it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from tui.cloud import ApiError, MemberStatus, RetryPolicy
from tui.cloud import http as transport_module
from tui.democloud import Faults

POLICY = RetryPolicy(attempts=4, base_delay=0.5, max_delay=8.0, max_retry_after=30.0)
IMAGE = {"id": "img-1", "name": "one", "owner": "someone-else", "visibility": "shared"}
LIST_OK = {"images": [IMAGE], "schema": "/v2/schemas/images", "first": "/v2/images"}


def json_response(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **headers},
    )


class Script:
    """Answers IMS calls from a list, one per request (the last one repeats)."""

    def __init__(self, *answers: httpx.Response | Exception) -> None:
        self.answers = list(answers)
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


@pytest.fixture
def slept():
    return []


@pytest.fixture
def scripted(mock_cloud, make_session, slept):
    async def record(delay: float) -> None:
        slept.append(delay)

    def build(*answers):
        script = Script(*answers)
        cloud = mock_cloud(script)
        session = make_session(
            cloud.settings(), transport=cloud.transport, retry=POLICY, sleep=record
        )
        return script, cloud, session

    return build


async def test_429_honours_retry_after(scripted, slept):
    script, _cloud, session = scripted(
        json_response(
            429, {"error_code": "APIG.0308", "error_msg": "throttled"}, **{"Retry-After": "7"}
        ),
        json_response(200, LIST_OK),
    )
    images = await session.list_shared([MemberStatus.PENDING])
    assert [i.id for i in images] == ["img-1"]
    assert slept == [7.0]
    assert script.calls == 2


async def test_retry_after_as_http_date_and_capped(scripted, slept):
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    scripted_answers = (
        json_response(
            503, {"message": "busy", "code": "503 Service Unavailable"}, **{"Retry-After": later}
        ),
        json_response(200, LIST_OK),
    )
    _script, _cloud, session = scripted(*scripted_answers)
    await session.list_shared([MemberStatus.PENDING])
    assert slept == [POLICY.max_retry_after]


async def test_img_0060_flow_control_backs_off(scripted, slept):
    _script, _cloud, session = scripted(
        json_response(400, {"error": {"code": "IMG.0060", "message": "flow control"}}),
        json_response(400, {"error": {"code": "IMG.0060", "message": "flow control"}}),
        json_response(200, {"member_id": "p", "image_id": "img-1", "status": "accepted"}),
    )
    member = await session.set_status("img-1", MemberStatus.ACCEPTED)
    assert member.status is MemberStatus.ACCEPTED
    assert len(slept) == 2
    assert all(0 < d <= POLICY.max_delay for d in slept)
    assert slept[1] >= POLICY.base_delay  # exponential: the second wait is not shorter than base


async def test_503_gives_up_after_bounded_attempts(scripted, slept):
    script, _cloud, session = scripted(
        json_response(503, {"message": "down", "code": "503 Service Unavailable"})
    )
    with pytest.raises(ApiError) as caught:
        await session.get_image("img-1")
    assert caught.value.status == 503
    assert "retry later" in caught.value.hint
    assert script.calls == POLICY.attempts
    assert len(slept) == POLICY.attempts - 1
    assert sum(slept) <= POLICY.max_delay * POLICY.attempts


async def test_non_retryable_errors_are_not_retried(scripted, slept):
    script, _cloud, session = scripted(
        json_response(403, {"message": "no", "code": "403 Forbidden"})
    )
    with pytest.raises(ApiError):
        await session.get_image("img-1")
    assert script.calls == 1 and slept == []


async def test_dropped_connection_and_bad_json_are_retried(scripted, slept):
    script, _cloud, session = scripted(
        httpx.RemoteProtocolError("peer closed connection without sending complete message body"),
        httpx.Response(
            200,
            content=b'{"images": [{"id": "img-1", "na',
            headers={"Content-Type": "application/json"},
        ),
        json_response(200, LIST_OK),
    )
    images = await session.list_shared([MemberStatus.PENDING])
    assert [i.id for i in images] == ["img-1"]
    assert script.calls == 3


async def test_dropped_connection_every_time_is_one_clear_error(scripted):
    _script, _cloud, session = scripted(httpx.ReadError("connection reset"))
    with pytest.raises(ApiError) as caught:
        await session.get_image("img-1")
    assert "dropped mid-response" in caught.value.message
    assert caught.value.status == 0


async def test_read_timeout_is_a_clear_error(scripted):
    _script, _cloud, session = scripted(httpx.ReadTimeout("timed out"))
    with pytest.raises(ApiError) as caught:
        await session.get_image("img-1")
    assert "did not answer in time" in caught.value.message


async def test_failed_put_that_was_applied_is_confirmed_by_reading_back(mock_cloud, make_session):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(502, content=b"<html><h1>502 Bad Gateway</h1></html>")
        return json_response(200, {"member_id": "p", "image_id": "img-1", "status": "accepted"})

    cloud = mock_cloud(handler)
    session = make_session(cloud.settings(), transport=cloud.transport)
    member = await session.set_status("img-1", MemberStatus.ACCEPTED)
    assert member.status is MemberStatus.ACCEPTED


async def test_failed_put_that_was_not_applied_is_reported(mock_cloud, make_session):
    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            return httpx.Response(502, content=b"<html><h1>502 Bad Gateway</h1></html>")
        return json_response(200, {"member_id": "p", "image_id": "img-1", "status": "pending"})

    cloud = mock_cloud(handler)
    session = make_session(cloud.settings(), transport=cloud.transport)
    with pytest.raises(ApiError) as caught:
        await session.set_status("img-1", MemberStatus.ACCEPTED)
    assert caught.value.status == 502


async def test_cloud_answering_another_status_is_not_success(mock_cloud, make_session):
    cloud = mock_cloud(
        lambda r: json_response(200, {"member_id": "p", "image_id": "i", "status": "rejected"})
    )
    session = make_session(cloud.settings(), transport=cloud.transport)
    with pytest.raises(ApiError, match="answered with status rejected"):
        await session.set_status("i", MemberStatus.ACCEPTED)


async def test_login_throttled_by_iam_is_retried(scripted, slept):
    _script, cloud, session = scripted(json_response(200, LIST_OK))
    cloud.auth_answers.append(
        json_response(
            429,
            {"error_code": "IAM.0012", "error_msg": "Threshold: 10 times per 1 s"},
            **{"Retry-After": "2"},
        )
    )
    token = await session.token()
    assert token.value and slept == [2.0]
    assert cloud.token_requests == 2


async def test_a_login_answered_by_an_html_500_or_a_truncated_201_is_retried(scripted, slept):
    """A gateway's HTML error page, then a 201 cut off mid-body: both retried like any call."""
    _script, cloud, session = scripted(json_response(200, LIST_OK))
    cloud.auth_answers += [
        httpx.Response(
            500, content=b"<html><h1>500 Internal Server Error</h1></html>",
            headers={"Content-Type": "text/html"},
        ),
        httpx.Response(
            201, content=b'{"token": {"expires_at": "2030-01', headers={"X-Subject-Token": "t"}
        ),
    ]  # fmt: skip
    token = await session.token()
    assert token.value == "mock-token-3" and cloud.token_requests == 3
    assert len(slept) == 2


async def test_a_login_failing_every_time_gives_up_with_the_gateways_words(scripted, slept):
    _script, cloud, session = scripted(json_response(200, LIST_OK))
    page = httpx.Response(
        502, content=b"<html><title>502 Bad Gateway</title></html>",
        headers={"Content-Type": "text/html"},
    )  # fmt: skip
    cloud.auth_answers += [page] * POLICY.attempts
    with pytest.raises(ApiError) as caught:
        await session.token()
    assert caught.value.status == 502 and "Bad Gateway" in caught.value.message
    assert caught.value.login and cloud.token_requests == POLICY.attempts


async def test_slow_cloud_times_out_clearly(make_cloud, make_session, monkeypatch):
    monkeypatch.setattr(transport_module, "READ_TIMEOUT", 0.2)
    cloud = make_cloud(faults=Faults(slow_ms=1500))
    session = make_session(cloud, retry=RetryPolicy(attempts=1))
    with pytest.raises(ApiError) as caught:
        await session.list_shared([MemberStatus.PENDING])
    assert "did not answer in time" in caught.value.message


# ------------------------------------------------------------------ injected faults, real server


async def test_listing_survives_every_kind_of_fault(make_cloud, make_session, monkeypatch):
    from tui.cloud import session as session_module

    monkeypatch.setattr(session_module, "PAGE_LIMIT", 10)
    cloud = make_cloud(
        images=120,
        faults=Faults(
            error_rate=0.06, throttle_rate=0.06, flow_control_rate=0.06, drop_rate=0.06,
            malformed_rate=0.06, fault_seed=11,
        ),
    )  # fmt: skip
    session = make_session(
        cloud,
        retry=RetryPolicy(attempts=8, base_delay=0.001, max_delay=0.002, max_retry_after=0.001),
    )
    images = await session.list_shared()
    assert {i.id for i in images} == set(cloud.shared_image_ids())
    assert sum(cloud.stats.faults.values()) > 0
    assert session.stats.retries > 0


async def test_bulk_accept_with_failures_never_misreports(make_cloud, make_session):
    cloud = make_cloud(images=300)
    whole = set(cloud.whole_image_ids())
    targets = [i for i in cloud.shared_image_ids() if i not in whole]
    for image_id in targets[:100]:
        cloud.set_member_status(image_id, "pending")
    targets = targets[:100]
    cloud.set_faults(Faults(error_rate=0.1, drop_rate=0.1, apply_to_writes=True, fault_seed=3))
    # Few attempts, so that some decisions do fail and are reported.
    session = make_session(cloud, retry=RetryPolicy(attempts=2, base_delay=0.001, max_delay=0.002))
    # One PUT per image (the batch path under faults is in test_batch.py).
    decisions = await session.set_status_many(
        targets, MemberStatus.ACCEPTED, concurrency=8, use_batch=False
    )
    assert [d.image_id for d in decisions] == targets
    failed = [d for d in decisions if not d.ok]
    for decision in decisions:
        if decision.ok:
            assert cloud.member_status(decision.image_id) == "accepted", decision
        else:
            assert isinstance(decision.error, ApiError) and decision.error.summary
    assert sum(cloud.stats.faults.values()) > 0
    # Running it again finishes the rest.
    cloud.set_faults(None)
    retry = await session.set_status_many([d.image_id for d in failed], MemberStatus.ACCEPTED)
    assert all(d.ok for d in retry)
    assert all(cloud.member_status(i) == "accepted" for i in targets)


class _Endless(httpx.AsyncByteStream):
    """An answer that never ends: 64 KiB chunks, optionally slowly."""

    def __init__(self, pause: float = 0.0) -> None:
        self.pause = pause
        self.sent = 0

    async def __aiter__(self):  # type: ignore[override]
        import asyncio

        while True:
            if self.pause:
                await asyncio.sleep(self.pause)
            self.sent += 65536
            yield b"[" * 65536


def _streaming(mock_cloud, make_session, pause: float = 0.0):
    """A session whose image calls get a fresh endless answer each time."""
    streams: list[_Endless] = []

    def handler(request: httpx.Request) -> httpx.Response:
        streams.append(_Endless(pause))
        return httpx.Response(200, stream=streams[-1])

    cloud = mock_cloud(handler)

    async def instant(delay: float) -> None:
        return None

    session = make_session(cloud.settings(), transport=cloud.transport, retry=POLICY, sleep=instant)
    return session, streams


async def test_an_endless_answer_is_cut_at_the_size_limit(mock_cloud, make_session, monkeypatch):
    monkeypatch.setattr(transport_module, "MAX_RESPONSE_BYTES", 1024 * 1024)
    session, streams = _streaming(mock_cloud, make_session)
    with pytest.raises(ApiError) as caught:
        await session.list_shared()
    assert "larger than 1 MiB" in caught.value.message
    assert not caught.value.retryable
    assert streams and all(s.sent <= 2 * 1024 * 1024 for s in streams)  # stopped soon after


async def test_a_deeply_nested_answer_is_a_malformed_answer_not_a_crash(scripted, slept):
    nested = b"[" * 200_000 + b"]" * 200_000
    _script, _cloud, session = scripted(httpx.Response(200, content=nested))
    with pytest.raises(ApiError) as caught:
        await session.list_shared()
    assert "malformed" in caught.value.message
    error = httpx.Response(500, content=b'{"error": ' * 100_000)
    _script, _cloud, session = scripted(error)
    with pytest.raises(ApiError) as caught:
        await session.get_member("img-1")
    assert caught.value.status == 500


async def test_an_answer_dripping_forever_ends_at_the_request_deadline(
    mock_cloud, make_session, monkeypatch
):
    monkeypatch.setattr(transport_module, "REQUEST_DEADLINE", 0.3)
    session, streams = _streaming(mock_cloud, make_session, pause=0.05)
    with pytest.raises(ApiError) as caught:
        await session.get_member("img-1")
    assert "did not finish answering in time" in caught.value.message
    assert len(streams) == POLICY.attempts  # retried like a timeout, then given up
