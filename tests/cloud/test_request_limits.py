"""The request limits shared by the sessions of every project: a busy host never starves another."""

from __future__ import annotations

import asyncio

from tui.cloud.http import RequestLimiter


async def test_requests_queued_for_a_busy_host_leave_the_other_host_its_slots() -> None:
    """Sixteen listings for eu-de come first (Keystone lists projects by name); eu-nl's
    listings must still start at once, up to the global limit, not wait behind eu-de."""
    limiter = RequestLimiter(total=16, per_host=8)
    release = asyncio.Event()
    running: dict[str, int] = {"de": 0, "nl": 0}

    async def request(host: str) -> None:
        url = f"https://image.{host}.example:443/v2/images"
        async with limiter.slot(url):
            running[host] += 1
            await release.wait()

    tasks = [asyncio.create_task(request("de")) for _ in range(16)]
    tasks += [asyncio.create_task(request("nl")) for _ in range(8)]
    for _ in range(50):
        await asyncio.sleep(0)
    try:
        assert running == {"de": 8, "nl": 8}  # 16 at once: each host its 8
    finally:
        release.set()
        await asyncio.gather(*tasks)
    assert running == {"de": 16, "nl": 8}
