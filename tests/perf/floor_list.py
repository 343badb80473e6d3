"""The floor for ``imshare list --status all --json``: bare httpx + asyncio, nothing else.

Launched by ``bench.py`` (never by pytest), which logs in once with ``imshare login`` and
hands this script the cached token and the image endpoint in ``FLOOR_TOKEN`` and
``FLOOR_IMAGE_URL`` (environment, not arguments: ``ps`` shows arguments), so it no more logs
in per run than imshare does with a cached token. It sends what imshare sends on the wire: the
three listings ``GET /v2/images?visibility=shared&member_status=<s>&limit=1000`` at the same
time, each followed page by page through ``next``; drops the images the caller's own project
owns (``FLOOR_PROJECT_ID``; ``visibility=shared`` returns those too) and writes the images as
one JSON array to stdout with ``json.dumps``. No models, no sanitiser, no sorting: the least a
client in this stack can do, so imshare's time over this one is what imshare itself costs.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from urllib.parse import urlsplit

import httpx

STATUSES = ("pending", "accepted", "rejected")
PAGE_LIMIT = 1000  # tui.cloud.session.PAGE_LIMIT


async def _listing(client: httpx.AsyncClient, root: str, status: str, own: str) -> list[dict]:
    images: list[dict] = []
    url = f"{root}/v2/images"
    params: dict[str, object] | None = {
        "visibility": "shared",
        "member_status": status,
        "limit": PAGE_LIMIT,
    }
    while True:
        response = await client.get(url, params=params)
        response.raise_for_status()
        data = response.json()
        page = data["images"]
        images.extend(image for image in page if image.get("owner") != own)
        link = data.get("next")
        if not link or not page:
            return images
        # ``next`` is relative to the version-less root, as in imshare's ``_resolve_next``.
        url, params = root + link if link.startswith("/") else link, None


async def main() -> int:
    token = os.environ["FLOOR_TOKEN"]
    root = os.environ["FLOOR_IMAGE_URL"].rstrip("/")
    own = os.environ.get("FLOOR_PROJECT_ID", "")
    if not urlsplit(root).scheme:
        raise SystemExit("FLOOR_IMAGE_URL must be an absolute URL")
    async with httpx.AsyncClient(headers={"X-Auth-Token": token}, timeout=120) as client:
        lists = await asyncio.gather(*(_listing(client, root, s, own) for s in STATUSES))
    images = [image for listing in lists for image in listing]
    sys.stdout.write(json.dumps(images))
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
