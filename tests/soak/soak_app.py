"""The app side of the soak (``soak.py`` starts it; never collected by pytest).

Builds ``ImshareApp`` as ``imshare`` does (settings from the ``OS_*`` variables, a token cache
in ``IMSHARE_CONFIG_DIR``), runs it headless at 120x40 with auto-refresh, presses keys like a
user now and then, and prints one JSON line per sample on stdout: resident memory, asyncio
tasks, open sockets, Textual workers, live Python objects, and what the app did so far. The
last line (``"final": true``) also carries every unexpected error and the crash line, if any.

Samples are taken when the app is quiet (no listing, decision or other worker running, waited
for up to 20 s) and after a full garbage collection, so counts compare like with like and
memory is what the app keeps, not garbage the collector has not reached yet.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from textual.cache import FIFOCache, LRUCache
from textual.message import Message

from tui import files, logsetup
from tui.app.app import ImshareApp
from tui.app.messages import DecisionFinished, ListingFinished
from tui.app.screens.main import MainScreen
from tui.cloud.token_cache import TokenCache
from tui.settings.sources import load

QUIET_WAIT = 20.0


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def open_sockets() -> int:
    count = 0
    for entry in os.scandir("/proc/self/fd"):
        try:
            if os.readlink(entry.path).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


class Counters:
    """What the app did, counted from the messages it handled."""

    def __init__(self) -> None:
        self.listings_ok = 0
        self.listings_failed = 0
        self.decision_runs = 0
        self.decisions_ok = 0
        self.decisions_failed = 0

    def hook(self, message: Message) -> None:
        if isinstance(message, ListingFinished):
            if message.error is None:
                self.listings_ok += 1
            else:
                self.listings_failed += 1
        elif isinstance(message, DecisionFinished):
            self.decision_runs += 1
            self.decisions_ok += sum(1 for d in message.decisions if d.ok)
            self.decisions_failed += sum(1 for d in message.decisions if not d.ok)


def main_screen(app: ImshareApp) -> MainScreen | None:
    return next((s for s in app.screen_stack if isinstance(s, MainScreen)), None)


def busy(app: ImshareApp) -> bool:
    """A listing, a decision, a detail read or any other worker still running."""
    main = main_screen(app)
    if main is None:
        return True
    return bool(main.store.listing) or any(not worker.is_finished for worker in app.workers)


async def quiet(app: ImshareApp, pilot: Any) -> bool:
    deadline = time.monotonic() + QUIET_WAIT
    while busy(app):
        if time.monotonic() > deadline:
            return False
        await pilot.pause(0.1)
    await pilot.pause()
    return True


# One user step every few seconds: move, switch views, filter, decide (and undo).
STEPS: list[tuple[str, ...]] = [
    ("j",),
    ("j", "j", "j"),
    ("k",),
    ("2",),
    ("3",),
    ("4",),
    ("1",),
    ("slash", "u", "b", "u", "escape"),
    ("N",),
    ("Z",),
    ("a",),
    ("p",),
    ("G",),
    ("g",),
    ("space", "space", "u"),
    ("enter", "escape"),
]


async def step(app: ImshareApp, pilot: Any, rng: random.Random, number: int) -> None:
    """Step ``number``: every kind once in order first (the warm-up), then at random."""
    if not isinstance(app.screen, MainScreen):
        await pilot.press("escape")  # a prompt (vault id, confirmation) or the detail pane
        return
    keys = STEPS[number] if number < len(STEPS) else rng.choice(STEPS)
    await pilot.press(*keys)


def cache_entries() -> int:
    """Entries in every bounded cache (functools and Textual): what fills as content varies."""
    total = 0
    for obj in gc.get_objects():
        if isinstance(obj, functools._lru_cache_wrapper):
            total += obj.cache_info().currsize
        elif isinstance(obj, LRUCache | FIFOCache):
            total += len(obj)
    return total


def sample(app: ImshareApp, counters: Counters, started: float, was_quiet: bool) -> dict[str, Any]:
    main = main_screen(app)
    gc.collect()  # what is kept, not what the collector has not got round to yet
    return {
        "t": round(time.monotonic() - started, 1),
        "quiet": was_quiet,
        "rss_kb": rss_kb(),
        "tasks": len(asyncio.all_tasks()),
        "sockets": open_sockets(),
        "workers": len(app.workers),
        "gc_objects": len(gc.get_objects()),
        "cache_entries": cache_entries(),
        "members_cached": len(main.store.members) if main else 0,
        "images": len(main.store.ids()) if main else 0,
        "listings_ok": counters.listings_ok,
        "listings_failed": counters.listings_failed,
        "decision_runs": counters.decision_runs,
        "decisions_ok": counters.decisions_ok,
        "decisions_failed": counters.decisions_failed,
        "cloud_error_toasts": sum(1 for n in app._notifications if n.severity == "error"),
        "unexpected_errors": len(app.unexpected_errors),
    }


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


async def soak(args: argparse.Namespace) -> int:
    logsetup.configure(False, stderr=False)  # as the app runs: nothing on the terminal
    loaded = load(files.config_file())
    logsetup.add_secret(loaded.settings.password)
    counters = Counters()
    app = ImshareApp(
        loaded.settings,
        cache=TokenCache(files.token_cache_file()),
        config_path=files.config_file(),
        refresh_seconds=args.refresh,
    )
    rng = random.Random(args.seed)
    started = time.monotonic()
    end = started + args.minutes * 60
    next_sample = started
    steps = 0
    async with app.run_test(headless=True, size=(120, 40), message_hook=counters.hook) as pilot:
        deadline = time.monotonic() + 120
        while counters.listings_ok == 0 and time.monotonic() < deadline:
            await pilot.pause(0.2)
        while True:
            now = time.monotonic()
            if now >= next_sample:
                was_quiet = await quiet(app, pilot)
                emit(sample(app, counters, started, was_quiet))
                next_sample += args.sample_seconds
                if now >= end or not app.is_running:
                    break
            if args.interact:
                await step(app, pilot, rng, steps)
                steps += 1
            await pilot.pause(args.step_seconds)
        final = sample(app, counters, started, await quiet(app, pilot))
        final["final"] = True
        final["unexpected"] = [repr(e) for e in app.unexpected_errors]
        final["crash_line"] = app.crash_line
        emit(final)
    return 0 if app.crash_line is None else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--refresh", type=float, default=5.0)
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--step-seconds", type=float, default=2.0)
    parser.add_argument("--no-interact", dest="interact", action="store_false")
    parser.add_argument("--seed", type=int, default=1)
    return asyncio.run(soak(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
