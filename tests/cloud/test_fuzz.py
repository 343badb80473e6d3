"""Property tests: whatever a cloud, gateway or proxy answers, every session call returns a valid
model or raises ``ApiError`` — never another exception (issue 4, "Fuzzing").

Responses come from an ``httpx.MockTransport`` (a real server cannot be made to send arbitrary
bytes on demand); the whole session, retry and parsing code runs unmodified.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tui.cloud import ApiError, CloudSession, Member, MemberStatus, RetryPolicy, SharedImage, Token
from tui.settings.model import Settings

IMS = "https://ims.example.test"
PROJECT = "0123456789abcdef0123456789abcdef"
RETRY = RetryPolicy(attempts=3, base_delay=0.001, max_delay=0.002, max_retry_after=5.0)

FUZZ = settings(
    max_examples=int(os.environ.get("IMSHARE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    database=None,  # no .hypothesis/ directory in the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

# ------------------------------------------------------------------------------ strategies

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        ["", "true", "False", "pending", "accepted", "rejected", "2016-09-01T02:05:14Z",
         "0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00", "/v2/images?marker=x",
         "https://other.example/v2/images?marker=y", "IMG.0060", "IMG.0027", "401"]
    ),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)
image_keys = st.sampled_from(
    ["id", "name", "owner", "status", "size", "__image_size", "min_disk", "min_ram", "tags",
     "created_at", "updated_at", "__whole_image", "__support_kvm", "__support_kvm_gpu_type",
     "__system__cmkid", "protected", "visibility", "__os_version"]
)  # fmt: skip
image_objects = st.dictionaries(image_keys, json_values, max_size=12)
member_objects = st.dictionaries(
    st.sampled_from(["image_id", "member_id", "member", "status", "created_at", "updated_at"]),
    json_values | st.sampled_from(["pending", "accepted", "rejected", "Accepted", "bogus"]),
    max_size=6,
)
shaped_bodies = st.one_of(
    st.fixed_dictionaries(
        {"images": st.lists(image_objects, max_size=4) | json_values},
        optional={"next": json_values, "first": json_values, "schema": json_values},
    ),
    member_objects,
    image_objects,
    st.fixed_dictionaries({"error": json_values}),
    st.fixed_dictionaries({"error_code": json_values, "error_msg": json_values}),
    st.fixed_dictionaries({"message": json_values, "code": json_values, "title": json_values}),
    # OTC's batch API: the answer to the PUT, and job documents (OTC IMS API reference).
    st.fixed_dictionaries({"job_id": json_values | st.just("job-1")}),
    st.fixed_dictionaries(
        {"status": json_values | st.sampled_from(["SUCCESS", "FAIL", "RUNNING", "success"])},
        optional={
            "job_id": json_values,
            "entities": st.fixed_dictionaries(
                {"results": st.lists(
                    st.fixed_dictionaries(
                        {"image_id": st.sampled_from(["a", "b", "c"]) | json_values},
                        optional={"status": json_values | st.sampled_from(["success", "fail"]),
                                  "error_code": json_values, "error_msg": json_values}),
                    max_size=3)}
            ) | json_values,
            "fail_reason": json_values,
        },
    ),
    st.fixed_dictionaries(
        {"token": st.dictionaries(
            st.sampled_from(["expires_at", "project", "user", "catalog", "methods"]),
            json_values, max_size=5)}
    ),
)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    json_values.map(lambda v: json.dumps(v).encode()),
    shaped_bodies.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [b"", b"<html><title>502</title><h1>Bad Gateway</h1></html>", b"{", b"[" * 50,
         b'{"images": [], "next": "/v2/images?marker=a"}', b"null", b"\xff\xfe\x00"]
    ),
)  # fmt: skip
header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.strip
)
headers = st.dictionaries(
    st.sampled_from(["Content-Type", "Retry-After", "X-Subject-Token", "Location"]),
    header_text
    | st.sampled_from(
        ["application/json", "text/html", "nan", "inf", "-5", "1e308", "0",
         "Wed, 21 Oct 2015 07:28:00 GMT", "Fri, 31 Dec 9999 23:59:59 GMT"]
    ),
    max_size=4,
)  # fmt: skip
statuses = st.one_of(
    st.sampled_from([200, 201, 204, 300, 400, 401, 403, 404, 409, 429, 500, 502, 503]),
    st.integers(min_value=200, max_value=599),
)
responses = st.tuples(statuses, headers, bodies)


# ------------------------------------------------------------------------------ harness


def _token_response() -> httpx.Response:
    body = {
        "token": {
            "expires_at": "2999-01-01T00:00:00.000000Z",
            "project": {"id": PROJECT, "name": "eu-de"},
            "user": {"id": "u", "name": "alice", "domain": {"name": "OTC1"}},
            "catalog": [
                {"type": "image",
                 "endpoints": [{"url": IMS, "interface": "public", "region": "eu-de"}]}
            ],
        }
    }  # fmt: skip
    return httpx.Response(201, headers={"X-Subject-Token": "tok"}, json=body)


def _fuzzed(response: tuple[int, dict[str, str], bytes]) -> httpx.Response:
    status, hdrs, body = response
    return httpx.Response(status, headers=hdrs, content=body)


async def _checked_sleep(delay: float) -> None:
    # Retry waits must always be finite and bounded, whatever Retry-After said.
    assert math.isfinite(delay), delay
    assert 0 <= delay <= RETRY.max_retry_after, delay


def _run(
    call: Callable[[CloudSession], Awaitable[Any]],
    ims: tuple[int, dict[str, str], bytes] | None,
    auth: tuple[int, dict[str, str], bytes] | None = None,
) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/tokens"):
            return _fuzzed(auth) if auth is not None else _token_response()
        assert ims is not None
        return _fuzzed(ims)

    config = Settings(
        auth_url="https://iam.example.test/v3",
        username="alice",
        password="pw",
        user_domain_name="OTC1",
        project_name="eu-de",
        region="eu-de",
    )

    async def main() -> Any:
        async with CloudSession(
            config, None, transport=httpx.MockTransport(handler), retry=RETRY, sleep=_checked_sleep
        ) as session:
            try:
                return await call(session)
            except ApiError as error:
                assert isinstance(error.summary, str) and error.summary
                return error

    return asyncio.run(main())


# ------------------------------------------------------------------------------ properties


@FUZZ
@given(responses)
def test_list_shared(response):
    result = _run(lambda s: s.list_shared(), response)
    if not isinstance(result, ApiError):
        assert isinstance(result, list)
        assert all(isinstance(image, SharedImage) for image in result)
        assert all(image.owner != PROJECT for image in result)
        for image in result:
            json.dumps(image.to_json())


@FUZZ
@given(responses)
def test_get_image(response):
    result = _run(lambda s: s.get_image("img-1"), response)
    assert isinstance(result, SharedImage | ApiError)
    if isinstance(result, SharedImage):
        json.dumps(result.to_json())


@FUZZ
@given(responses)
def test_get_member(response):
    result = _run(lambda s: s.get_member("img-1"), response)
    assert isinstance(result, Member | ApiError)


@FUZZ
@given(responses, st.sampled_from(list(MemberStatus)), st.sampled_from(["", "vault-1"]))
def test_set_status(response, status, vault):
    result = _run(lambda s: s.set_status("img-1", status, vault_id=vault), response)
    assert isinstance(result, Member | ApiError)
    if isinstance(result, Member):
        assert result.status is status  # never claims a decision the cloud did not confirm


@FUZZ
@given(responses)
def test_login(response):
    result = _run(lambda s: s.token(force_new=True), None, auth=response)
    assert isinstance(result, Token | ApiError)
    if isinstance(result, Token):
        assert result.value and result.project_id and result.image_endpoint


@FUZZ
@given(st.lists(responses, min_size=1, max_size=4))
def test_sequence_of_answers_for_a_decision(answers):
    """Answers change from call to call (first a 503, then a body...): each image gets exactly
    one outcome, in order, and one reported as accepted was confirmed by some 2xx answer that
    said so (a member record of that image, or a batch job) — never made up."""
    queue = list(answers)
    sent: list[tuple[str, int, bytes]] = []

    def pick() -> tuple[int, dict[str, str], bytes]:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/tokens"):
            return _token_response()
        status, headers, body = pick()
        sent.append((request.url.path, status, body))
        return _fuzzed((status, headers, body))

    def confirmed(image_id: str) -> bool:
        return any(
            200 <= status < 300
            and (
                (f"/{image_id}/members/" in path and b"accepted" in body.lower())
                or ("/jobs/" in path and b"success" in body.lower())
            )
            for path, status, body in sent
        )

    async def main() -> Any:
        config = Settings(
            auth_url="https://iam.example.test/v3", username="a", password="p",
            user_domain_name="d", project_name="eu-de",
        )  # fmt: skip
        async with CloudSession(
            config, None, transport=httpx.MockTransport(handler), retry=RETRY, sleep=_checked_sleep
        ) as session:
            decisions = await session.set_status_many(["a", "b"], MemberStatus.ACCEPTED)
        assert [decision.image_id for decision in decisions] == ["a", "b"]
        for decision in decisions:
            if decision.ok:
                assert decision.member is not None
                assert decision.member.status is MemberStatus.ACCEPTED
                assert confirmed(decision.image_id), f"{decision.image_id}: never confirmed"
            else:
                assert decision.error is not None and decision.error.reason

    asyncio.run(main())
