"""Token lifecycle against a real DemoCloud: cache reuse (also across processes), proactive
refresh before expiry, revoked tokens renewed exactly once, corrupt or loose cache files."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from tui.cloud import MemberStatus, TokenCache
from tui.democloud import Faults


def run_cli(cloud, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **cloud.credentials}
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def test_token_cache_is_reused_across_processes(demo_cloud, config_dir):
    before = demo_cloud.stats.token_requests
    first = run_cli(demo_cloud, "list", "--json")
    assert first.returncode == 0, first.stderr
    second = run_cli(demo_cloud, "list", "--json")
    assert second.returncode == 0, second.stderr
    assert demo_cloud.stats.token_requests == before + 1
    listed = [row["id"] for row in json.loads(second.stdout)]
    assert sorted(listed) == sorted(demo_cloud.shared_image_ids("pending"))
    assert first.stdout == second.stdout
    cache = config_dir / "tokens.json"
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert demo_cloud.credentials["OS_PASSWORD"] not in cache.read_text()


async def test_cache_is_shared_between_sessions(demo_cloud, make_session):
    first = make_session(demo_cloud)
    await first.list_shared([MemberStatus.PENDING])
    second = make_session(demo_cloud)
    await second.list_shared([MemberStatus.ACCEPTED])
    assert demo_cloud.stats.token_requests == 1
    assert second.current_token.value == first.current_token.value


async def test_short_lived_tokens_are_reused_until_their_scaled_margin(make_cloud, make_session):
    """Tokens living 4 minutes (less than the usual 5-minute margin): one login serves the
    session's calls, and another session reuses the cached token instead of logging in."""
    cloud = make_cloud(token_ttl_seconds=240)
    session = make_session(cloud)
    await session.list_shared()
    await session.get_member(cloud.shared_image_ids("pending")[0])
    assert cloud.stats.token_requests == 1
    again = make_session(cloud)
    await again.list_shared([MemberStatus.PENDING])
    assert cloud.stats.token_requests == 1


async def test_cached_token_expiring_soon_is_replaced(demo_cloud, make_session, config_dir):
    session = make_session(demo_cloud)
    token = await session.token()
    path = config_dir / "tokens.json"
    data = json.loads(path.read_text())
    (entry,) = data["tokens"].values()
    # A day-long token with four minutes left: inside its five-minute renewal margin.
    soon = datetime.now(UTC) + timedelta(minutes=4)
    entry["expires_at"] = soon.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    entry["issued_at"] = (soon - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    path.write_text(json.dumps(data))
    fresh = make_session(demo_cloud)
    new = await fresh.token()
    assert demo_cloud.stats.token_requests == 2
    assert new.value != token.value
    stored = TokenCache(path).get(fresh.settings.cache_key())
    assert stored is not None and stored.value == new.value and stored.is_fresh()


async def test_revoked_token_is_renewed_exactly_once(demo_cloud, make_session):
    session = make_session(demo_cloud)
    pending = [i.id for i in await session.list_shared([MemberStatus.PENDING])]
    assert demo_cloud.stats.token_requests == 1
    demo_cloud.revoke_tokens()
    member = await session.set_status(pending[0], MemberStatus.ACCEPTED)
    assert member.status is MemberStatus.ACCEPTED
    assert demo_cloud.member_status(pending[0]) == "accepted"
    assert demo_cloud.stats.token_requests == 2
    assert session.stats.reauthentications == 1


async def test_revoked_token_during_a_bulk_decision_renews_once(demo_cloud, make_session):
    session = make_session(demo_cloud)
    pending = [i.id for i in await session.list_shared([MemberStatus.PENDING])][:12]
    demo_cloud.revoke_tokens()
    decisions = await session.set_status_many(pending, MemberStatus.REJECTED, concurrency=6)
    assert all(d.ok for d in decisions)
    assert all(demo_cloud.member_status(i) == "rejected" for i in pending)
    assert demo_cloud.stats.token_requests == 2


async def test_cached_token_rejected_by_the_cloud_is_replaced(demo_cloud, make_session, config_dir):
    await make_session(demo_cloud).token()
    demo_cloud.revoke_tokens()  # the cached token still looks fresh, but the cloud says 401
    session = make_session(demo_cloud)
    images = await session.list_shared([MemberStatus.ACCEPTED])
    assert {i.id for i in images} == set(demo_cloud.shared_image_ids("accepted"))
    assert demo_cloud.stats.token_requests == 2
    stored = TokenCache(config_dir / "tokens.json").get(session.settings.cache_key())
    assert stored is not None and stored.value == session.current_token.value


async def test_revoke_after_fault_is_transparent(make_cloud, make_session, monkeypatch):
    from tui.cloud import session as session_module

    monkeypatch.setattr(session_module, "PAGE_LIMIT", 5)
    cloud = make_cloud(faults=Faults(revoke_after=3))
    session = make_session(cloud)
    images = await session.list_shared()
    assert {i.id for i in images} == set(cloud.shared_image_ids())
    assert session.stats.reauthentications >= 1


async def test_corrupt_cache_file_is_ignored_and_replaced(demo_cloud, make_session, config_dir):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "tokens.json"
    path.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    path.chmod(0o600)
    session = make_session(demo_cloud)
    await session.list_shared([MemberStatus.PENDING])
    data = json.loads(path.read_text())
    assert data["version"] == 1 and len(data["tokens"]) == 1
    path.write_text('{"version": 1, "tokens": {"x": [1, 2]}, "extra": null}')
    session = make_session(demo_cloud)
    await session.token()
    assert demo_cloud.stats.token_requests == 2
    # An entry of a shape imshare never writes is dropped by the merge, not carried along.
    assert list(json.loads(path.read_text())["tokens"]) == [session.settings.cache_key()]


async def test_loose_cache_is_reported_then_replaced_by_a_private_file(
    demo_cloud, make_session, config_dir
):
    session = make_session(demo_cloud)
    await session.token()
    path = config_dir / "tokens.json"
    path.chmod(0o644)
    second = make_session(demo_cloud)
    second.cache.check()
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # reported, not chmodded
    assert any("is readable by other users (mode 0644)" in w for w in second.cache.warnings)
    await second.token(force_new=True)  # the login writes a new file, created 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_moved_image_endpoint_is_read_again_from_the_catalog(
    demo_cloud, make_session, config_dir
):
    """A cached token names an image endpoint that no longer answers: the session asks
    Keystone for the current catalog with that token (no new login) and carries on."""
    first = make_session(demo_cloud)
    await first.token()
    path = config_dir / "tokens.json"
    data = json.loads(path.read_text())
    (entry,) = data["tokens"].values()
    entry["image_endpoint"] = "http://127.0.0.1:9/image"  # discard port: nothing answers
    path.write_text(json.dumps(data))
    demo_cloud.stats.reset()
    session = make_session(demo_cloud)
    images = await session.list_shared([MemberStatus.PENDING])
    assert {i.id for i in images} == set(demo_cloud.shared_image_ids("pending"))
    assert demo_cloud.stats.token_requests == 0
    assert demo_cloud.stats.count("GET", "/identity/v3/auth/catalog") == 1
    stored = TokenCache(path).get(session.settings.cache_key())
    assert stored is not None and stored.image_endpoint == demo_cloud.image_url
