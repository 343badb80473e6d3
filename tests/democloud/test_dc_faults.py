"""Injected faults behave as configured, deterministically, and only where asked."""

from __future__ import annotations

import json
from collections import Counter

import httpx
import pytest
from dc_helpers import Api

from tui.democloud import DemoCloud, Faults


def _list(api: Api) -> httpx.Response:
    return api.get("/v2/images", params={"visibility": "shared", "member_status": "all"})


def test_faults_validate_their_rates() -> None:
    with pytest.raises(ValueError):
        Faults(error_rate=1.5)
    with pytest.raises(ValueError):
        Faults(error_rate=0.6, drop_rate=0.6)
    assert not Faults().active
    assert Faults(slow_ms=1).active


def test_server_errors_vary_in_status_and_shape() -> None:
    with DemoCloud(images=10, faults=Faults(error_rate=1.0, fault_seed=5)) as cloud:
        api = Api(cloud)  # Keystone is not faulted
        try:
            seen = Counter()
            for _ in range(40):
                resp = _list(api)
                assert resp.status_code in (500, 502, 503)
                kind = resp.headers["content-type"].split(";")[0]
                seen[(resp.status_code, kind)] += 1
                if kind == "application/json":
                    assert resp.json()["code"].startswith(str(resp.status_code))
            assert {k for _, k in seen} == {"application/json", "text/html", "text/plain"}
            assert {s for s, _ in seen} == {500, 502, 503}
            assert cloud.stats.faults["error"] == 40
        finally:
            api.close()


def test_throttle_and_flow_control() -> None:
    with DemoCloud(images=10, faults=Faults(throttle_rate=1.0)) as cloud:
        api = Api(cloud)
        resp = _list(api)
        assert resp.status_code == 429 and resp.headers["Retry-After"] == "1"
        api.close()
    with DemoCloud(images=10, faults=Faults(flow_control_rate=1.0)) as cloud:
        api = Api(cloud)
        resp = _list(api)
        assert resp.status_code == 400
        assert resp.json() == {
            "error": {
                "code": "IMG.0060",
                "message": "The number of tasks exceeds the flow control limit.",
            }
        }
        api.close()


def test_dropped_connections_and_malformed_bodies() -> None:
    with DemoCloud(images=30, faults=Faults(drop_rate=1.0, fault_seed=1)) as cloud:
        api = Api(cloud)
        for _ in range(8):
            with pytest.raises(httpx.TransportError):
                _list(api)
        api.close()
    with DemoCloud(images=30, faults=Faults(malformed_rate=1.0, fault_seed=1)) as cloud:
        api = Api(cloud)
        for _ in range(6):
            resp = _list(api)
            assert resp.status_code == 200
            with pytest.raises(json.JSONDecodeError):
                json.loads(resp.content)
        api.close()


def test_revoke_after_n_image_requests() -> None:
    with DemoCloud(images=10, faults=Faults(revoke_after=3)) as cloud:
        api = Api(cloud)
        assert [_list(api).status_code for _ in range(4)] == [200, 200, 200, 401]
        api.token = api.login()
        assert all(_list(api).status_code == 200 for _ in range(5))  # only once
        api.close()


def test_rates_and_determinism() -> None:
    faults = Faults(error_rate=0.3, throttle_rate=0.1, fault_seed=42)

    def run() -> list[int]:
        with DemoCloud(images=10, faults=faults) as cloud:
            api = Api(cloud)
            try:
                return [_list(api).status_code for _ in range(200)]
            finally:
                api.close()

    first = run()
    assert first == run()
    errors = sum(s >= 500 for s in first)
    throttled = sum(s == 429 for s in first)
    assert 35 <= errors <= 85 and 5 <= throttled <= 40


def test_writes_and_keystone_are_spared_unless_asked() -> None:
    with DemoCloud(images=20, faults=Faults(error_rate=1.0)) as cloud:
        api = Api(cloud)  # would fail if Keystone were faulted
        image_id = cloud.shared_image_ids("pending")[0]
        assert api.put_member(image_id, {"status": "rejected"}).status_code == 200
        api.close()
    with DemoCloud(images=20, faults=Faults(error_rate=1.0, auth_faults=True)) as cloud:
        resp = httpx.post(f"{cloud.auth_url}/auth/tokens", json={}, trust_env=False)
        assert resp.status_code >= 500


def test_write_faults_sometimes_apply_the_change_first() -> None:
    faults = Faults(error_rate=1.0, apply_to_writes=True, fault_seed=3)
    with DemoCloud(images=60, faults=None) as cloud:
        api = Api(cloud)
        cloud.set_faults(faults)
        applied = 0
        pending = [
            i for i in cloud.shared_image_ids("pending") if i not in cloud.whole_image_ids()
        ][:20]
        for image_id in pending:
            resp = api.put_member(image_id, {"status": "rejected"})
            assert resp.status_code >= 500
            applied += cloud.member_status(image_id) == "rejected"
        assert 0 < applied < len(pending)
        cloud.set_faults(None)
        assert _list(api).status_code == 200
        api.close()


def test_slow_and_latency_add_delay() -> None:
    import time

    with DemoCloud(images=5, latency_ms=30, faults=Faults(slow_ms=30)) as cloud:
        api = Api(cloud)
        start = time.perf_counter()
        _list(api)
        assert time.perf_counter() - start >= 0.06
        api.close()
