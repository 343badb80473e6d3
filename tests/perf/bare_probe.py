"""The yardstick for start-up: a bare Textual app (one ``Static``), timed as the app probe times
imshare. Run by ``bench.py`` (never by pytest)::

    python tests/perf/bare_probe.py --spawned-at T

``T`` is the parent's ``time.perf_counter()`` just before it spawned this process (the same
clock as ``app_probe.py``: ``CLOCK_MONOTONIC`` on Linux). The app runs exactly as the app probe
runs imshare: ``run_test(headless=True, size=(120, 40))``, every screen update wrapped by
``app_probe.Frames`` (which also turns the update into escape sequences, as a real terminal
frame would cost). It prints one JSON line:

* ``startup``: spawn to the first line of this file running (interpreter + site);
* ``imports``: importing Textual's ``App`` and ``Static``;
* ``first_frame``: spawn to the end of the first screen update that drew the ``Static``'s text
  — the floor under imshare's "first rows" on the same machine at the same moment;
* ``rss_mb``: peak resident set right after that frame.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import app_probe  # noqa: E402

TEXT = "imshare start-up yardstick"


async def _run(app: Any, spawned_at: float) -> dict[str, Any]:
    frames = app_probe.Frames(app)

    def drawn() -> bool:
        # The Static is mounted and has been laid out with its text: a frame shows it.
        static = app.query("#bare")
        return bool(static) and static.first().size.width > 0

    frames.watch["first_frame"] = drawn
    result: dict[str, Any] = {}
    async with app.run_test(headless=True, size=app_probe.SIZE):
        deadline = time.perf_counter() + 60
        while "first_frame" not in frames.marks:
            if time.perf_counter() > deadline:
                raise SystemExit("timed out waiting for the first frame")
            await asyncio.sleep(0.01)
        result["first_frame"] = frames.marks["first_frame"] - spawned_at
        result["rss_mb"] = app_probe.peak_rss_mb()
        result["frames"] = frames.count
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spawned-at", type=float, default=None)
    args = parser.parse_args()
    spawned_at = args.spawned_at if args.spawned_at is not None else T0

    imports_started = time.perf_counter()
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    imports_done = time.perf_counter()

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Static(TEXT, id="bare")

    result = asyncio.run(_run(Bare(), spawned_at))
    result["startup"] = T0 - spawned_at
    result["imports"] = imports_done - imports_started
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
