"""Run ImshareApp headless in its own process and report timings as JSON on stdout.

Launched by ``bench.py`` (never by pytest) with the demo cloud's ``OS_*`` variables and an
``IMSHARE_CONFIG_DIR`` in the environment::

    python tests/perf/app_probe.py --spawned-at T [--expect N] [--interact] [--all-projects]

``T`` is the parent's ``time.perf_counter()`` just before it spawned this process. On Linux
``perf_counter`` is ``CLOCK_MONOTONIC``, one clock for every process, so ``T0 - T`` is the
interpreter start-up and every figure below can be given "from process start".

What is timed (all in seconds):

* ``startup``: spawn to the first line of this file running (interpreter + site);
* ``imports``: Textual and the app's modules;
* ``first_rows``: spawn to the end of the first screen update that drew rows into the table;
* ``all_rows``: spawn to the end of the first screen update after the listing finished with
  every image in the store;
* ``rss_mb``: peak resident set (``VmHWM``, see ``peak_rss_mb``) right after ``all_rows``;
* ``first_request``: spawn to the moment the app hands its first HTTP request to httpx
  (``httpx.AsyncClient.send``, wrapped before the app is built), and
  ``rows_after_request``: from there to ``first_rows``: what the app's own start-up does not
  count in, the figure the all-projects target is about.

With ``--all-projects`` the app starts in the "All projects" scope (``imshare --all-projects``,
optionally ``--region R1,R2``): the rows of every project of the user; ``--expect`` is then
the number of (image, project) rows.

With ``--interact`` it then measures keystrokes (see ``_keystroke``): filter keystrokes in the
"All" view and cursor moves in the table.

A "screen update" is Textual's compositor refresh (``Screen._compositor_refresh``: render the
dirty lines and hand them to ``App._display``). Headless, ``_display`` skips turning the update
into terminal escape sequences; the probe does that step itself (``render_segments``) so that a
headless frame costs what a real one does, minus the write to the terminal.
"""

from __future__ import annotations

import time

T0 = time.perf_counter()

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

# Words typed into the filter, one key at a time, then erased with backspace. They match
# different fractions of the demo data (a few percent to about a quarter of the rows).
FILTER_WORDS = ("ubuntu", "windows", "sles 15", "centos_7", "4f", "debian")
# Pause between keystrokes: about a fast typist / key repeat. Keys that come faster than a
# frame are coalesced by Textual into one screen update, which is not what we want to time.
KEY_GAP = 0.06
CURSOR_KEYS = ("down",) * 30 + ("pagedown",) * 6 + ("up",) * 10 + ("pageup",) * 4
SIZE = (120, 40)


class Frames:
    """Timestamps every screen update and resolves waits on a condition at a frame's end."""

    def __init__(self, app: Any) -> None:
        from textual._compositor import CompositorUpdate

        self.app = app
        self.count = 0
        self.last_render = 0.0
        self._original = app._display
        self._compositor_update = CompositorUpdate
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[tuple[float, float]]]] = []
        self.marks: dict[str, float] = {}
        self.watch: dict[str, Callable[[], bool]] = {}
        app._display = self._display

    def _display(self, screen: Any, renderable: Any) -> None:
        started = time.perf_counter()
        self._original(screen, renderable)
        if self.app.is_headless and isinstance(renderable, self._compositor_update):
            renderable.render_segments(self.app.console)
        now = time.perf_counter()
        cpu = time.process_time()
        self.count += 1
        self.last_render = now - started
        for name, condition in list(self.watch.items()):
            if name not in self.marks and condition():
                self.marks[name] = now
                del self.watch[name]
        for entry in list(self._waiters):
            condition, future = entry
            if not future.done() and condition():
                future.set_result((now, cpu))
                self._waiters.remove(entry)

    def wait_for(self, condition: Callable[[], bool]) -> asyncio.Future[tuple[float, float]]:
        """Resolves with (wall clock, process CPU time) at the end of the first screen update
        after which ``condition`` holds."""
        future: asyncio.Future[tuple[float, float]] = asyncio.get_running_loop().create_future()
        self._waiters.append((condition, future))
        return future


def peak_rss_mb() -> float:
    """This program's peak resident set: ``VmHWM`` of its own memory map, which starts afresh
    at ``exec``. ``ru_maxrss`` does not: it keeps the high-water mark of the process that
    spawned us (the benchmark, which holds the listings of 50,000 shares), so after the large
    sizes every child read 300 MB and more."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    low = int(k)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


def _summary(samples: list[float]) -> dict[str, Any]:
    return {
        "n": len(samples),
        "p50": _pct(samples, 0.5),
        "p95": _pct(samples, 0.95),
        "max": max(samples) if samples else float("nan"),
        "mean": statistics.fmean(samples) if samples else float("nan"),
        "samples": samples,
    }


async def _keystroke(
    app: Any, frames: Frames, key: str, char: str | None, done: Callable[[], bool]
) -> tuple[float, float, float]:
    """Post one key as the terminal driver would; time until a frame shows its effect.

    Returns ``(latency, render, cpu)``: from posting the ``Key`` event to the end of the first
    screen update after which ``done()`` holds (the handler ran, the table took the new rows or
    cursor, and that state was rendered), how long that last screen update itself took, and the
    CPU time this process spent over the latency (the same as the latency on an idle machine;
    on a busy one the difference is time spent waiting for a core).
    """
    from textual import events

    future = frames.wait_for(done)
    started, cpu_started = time.perf_counter(), time.process_time()
    event = events.Key(key, char)
    event.set_sender(app)
    app.post_message(event)
    finished, cpu_finished = await asyncio.wait_for(future, timeout=10)
    return finished - started, frames.last_render, cpu_finished - cpu_started


async def _interact(app: Any, frames: Frames, main: Any, table: Any) -> dict[str, Any]:
    from textual.widgets import Input

    store = main.store
    field = main.query_one("#filter", Input)

    async def settle() -> None:
        await asyncio.sleep(0.3)

    # The "All" view: every row takes part.
    await _keystroke(app, frames, "4", "4", lambda: store.view is None and len(table.rows) > 0)
    await settle()
    await _keystroke(app, frames, "slash", "/", lambda: app.focused is field)
    await settle()
    filter_samples: list[float] = []
    filter_render: list[float] = []
    filter_cpu: list[float] = []
    matched: list[int] = []
    for word in FILTER_WORDS:
        typed = ""
        steps = [(ch, ch) for ch in word] + [("backspace", None)] * len(word)
        for key, char in steps:
            typed = typed + char if char is not None else typed[:-1]
            want = typed.strip().lower()

            def shown(want: str = want) -> bool:
                return store.filter_text == want and table.rows is store.visible()

            key_name = "space" if char == " " else key
            latency, render, cpu = await _keystroke(app, frames, key_name, char, shown)
            filter_samples.append(latency)
            filter_render.append(render)
            filter_cpu.append(cpu)
            matched.append(len(table.rows))
            await asyncio.sleep(KEY_GAP)
    await _keystroke(app, frames, "escape", None, lambda: app.focused is table)
    await settle()

    cursor_samples: list[float] = []
    cursor_render: list[float] = []
    cursor_cpu: list[float] = []
    for key in CURSOR_KEYS:
        before = table.cursor
        page = table._page()
        target = {
            "down": before + 1,
            "up": before - 1,
            "pagedown": before + page,
            "pageup": before - page,
        }[key]
        target = max(0, min(target, len(table.rows) - 1))

        def moved(target: int = target) -> bool:
            return table.cursor == target

        latency, render, cpu = await _keystroke(app, frames, key, None, moved)
        cursor_samples.append(latency)
        cursor_render.append(render)
        cursor_cpu.append(cpu)
        await asyncio.sleep(KEY_GAP)
    return {
        "rows": len(store.visible()),
        "filter": _summary(filter_samples),
        "filter_render": _summary(filter_render),
        "filter_cpu": _summary(filter_cpu),
        "filter_matches": {"min": min(matched), "max": max(matched)},
        "cursor": _summary(cursor_samples),
        "cursor_render": _summary(cursor_render),
        "cursor_cpu": _summary(cursor_cpu),
        "key_gap": KEY_GAP,
    }


def _watch_requests() -> list[float]:
    """The times of the HTTP requests the process sends, from the first: ``send`` of every
    httpx client (the app's sessions share one) records the moment it is called."""
    import httpx

    sent: list[float] = []
    original = httpx.AsyncClient.send

    async def send(self: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> Any:
        sent.append(time.perf_counter())
        return await original(self, request, **kwargs)

    httpx.AsyncClient.send = send  # type: ignore[method-assign]
    return sent


async def _run(
    app: Any, spawned_at: float, expect: int, interact: bool, first_request: list[float]
) -> dict[str, Any]:
    from tui.app.screens.main import MainScreen
    from tui.app.widgets.image_table import ImageTable

    frames = Frames(app)
    state: dict[str, Any] = {"main": None, "table": None}

    def main_screen() -> Any:
        if state["main"] is None:
            for screen in app.screen_stack:
                if isinstance(screen, MainScreen):
                    state["main"] = screen
                    state["table"] = screen.query_one(ImageTable)
        return state["main"]

    def has_rows() -> bool:
        main = main_screen()
        return main is not None and len(state["table"].rows) > 0

    def all_loaded() -> bool:
        main = main_screen()
        return (
            main is not None
            and main.store.loaded_once
            and not main.store.listing
            and len(main.store) >= expect
            and len(state["table"].rows) > 0
        )

    frames.watch["first_rows"] = has_rows
    frames.watch["all_rows"] = all_loaded
    result: dict[str, Any] = {}
    async with app.run_test(headless=True, size=SIZE):
        result["app_ready"] = time.perf_counter() - spawned_at
        deadline = time.perf_counter() + 120
        while "all_rows" not in frames.marks:
            main = main_screen()
            error = main.store.load_error if main is not None else None
            if error is not None and not main.store.listing:
                raise SystemExit(f"listing failed: {error.summary}")
            if time.perf_counter() > deadline:
                raise SystemExit("timed out waiting for the listing")
            await asyncio.sleep(0.01)
        result["rss_mb"] = peak_rss_mb()
        result["first_rows"] = frames.marks["first_rows"] - spawned_at
        result["all_rows"] = frames.marks["all_rows"] - spawned_at
        main = main_screen()
        result["images"] = len(main.store)
        result["state"] = {
            "rows": len(state["table"].rows),
            "counts": {str(k): v for k, v in main.store.counts().items()},
        }
        if first_request:
            result["first_request"] = first_request[0] - spawned_at
            result["rows_after_request"] = frames.marks["first_rows"] - first_request[0]
        result["requests_sent"] = len(first_request)
        result["frames_while_loading"] = frames.count
        result["requests"] = app.session.stats.requests
        result["token_requests"] = app.session.stats.token_requests
        if interact:
            result["interact"] = await _interact(app, frames, main, state["table"])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spawned-at", type=float, default=None)
    parser.add_argument("--expect", type=int, default=1, help="images the listing must reach")
    parser.add_argument("--interact", action="store_true", help="also time keystrokes")
    parser.add_argument(
        "--all-projects", action="store_true", help="start in the All projects scope"
    )
    parser.add_argument("--region", default="", help="regions of that scope (R1,R2)")
    args = parser.parse_args()
    spawned_at = args.spawned_at if args.spawned_at is not None else T0

    imports_started = time.perf_counter()
    from tui import files
    from tui.app.app import ImshareApp
    from tui.cloud.token_cache import TokenCache
    from tui.settings.sources import load

    imports_done = time.perf_counter()
    sent = _watch_requests()
    loaded = load(None)
    cache = TokenCache(files.token_cache_file())
    app = ImshareApp(
        loaded.settings,
        cache=cache,
        config_path=loaded.path,
        ui_prefs=dict(loaded.ui),
        all_projects=True if args.all_projects else None,
        regions=tuple(r for r in args.region.split(",") if r),
    )
    result = asyncio.run(_run(app, spawned_at, args.expect, args.interact, sent))
    result["startup"] = T0 - spawned_at
    result["imports"] = imports_done - imports_started
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
