"""Helpers for driving ImshareApp under Pilot: waiting on the listing and reading the screen.

Waits poll the app's own state with a generous deadline instead of sleeping a fixed time, so the
suite is fast on a quick machine and still passes on a slow CI runner.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from tui.app.app import ImshareApp
from tui.app.screens.main import MainScreen
from tui.app.widgets.image_table import ImageTable

DEADLINE = 15.0


async def wait_for(
    pilot: Pilot[Any], predicate: Callable[[], object], *, timeout: float = DEADLINE, what: str = ""
) -> None:
    """Let the app run until ``predicate()`` is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        await pilot.pause(0.02)


def main_screen(app: ImshareApp) -> MainScreen:
    for screen in app.screen_stack:
        if isinstance(screen, MainScreen):
            return screen
    raise AssertionError("no MainScreen on the stack")


def table(app: ImshareApp) -> ImageTable:
    return main_screen(app).query_one(ImageTable)


async def wait_loaded(pilot: Pilot[Any]) -> MainScreen:
    """Wait until the listing worker has finished a complete listing."""
    app = pilot.app
    assert isinstance(app, ImshareApp)
    await wait_for(pilot, lambda: any(isinstance(s, MainScreen) for s in app.screen_stack))
    main = main_screen(app)
    await wait_for(
        pilot,
        lambda: main.store.loaded_once and not main.store.listing,
        what="the listing to finish",
    )
    await pilot.pause()
    return main


async def wait_member(pilot: Pilot[Any]) -> None:
    """Wait until the highlighted image's member record is fetched and shown."""
    app = pilot.app
    assert isinstance(app, ImshareApp)
    main = main_screen(app)
    current = table(app).current
    assert current is not None
    key = main.store.key_of(current)
    await wait_for(pilot, lambda: key in main.store.members, what="the member record")
    # Shown, not only fetched: the pane hears of a move after the frame that shows it, so
    # its text (and a re-layout for a taller one) can come a frame after the record.
    await wait_for(
        pilot,
        lambda: current.id in detail_text(app) and "loading…" not in detail_text(app),
        what="the member record in the detail pane",
    )
    await pilot.pause()
    await pilot.pause()


async def wait_screen(pilot: Pilot[Any], kind: type, *, timeout: float = DEADLINE) -> Any:
    await wait_for(
        pilot, lambda: isinstance(pilot.app.screen, kind), timeout=timeout, what=kind.__name__
    )
    await pilot.pause()
    return pilot.app.screen


def detail_text(app: ImshareApp) -> str:
    body = main_screen(app).query_one("#detail-body", Static)
    return str(body.render())


def visible_names(app: ImshareApp) -> list[str]:
    return [image.name for image in table(app).rows]


def visible_ids(app: ImshareApp) -> list[str]:
    return [image.id for image in table(app).rows]


def screen_text(app: ImshareApp) -> str:
    """Every character on the current screen, as a user would read it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(segment.text for segment in strip) for strip in strips)


def footer_keys(app: ImshareApp) -> dict[str, str]:
    """The keys the footer of the current screen shows: key -> description."""
    from textual.widgets._footer import FooterKey

    return {key.key: key.description for key in app.screen.query(FooterKey)}


def tab_counts(app: ImshareApp) -> dict[str, int]:
    """The counts the view tabs show, read off the screen: {"Pending": 12, ...}."""
    tabs = str(main_screen(app).query_one("#tabs").render())
    found = re.findall(r"\d (Pending|Accepted|Rejected|All) (\d+)", tabs)
    return {view: int(count) for view, count in found}


def current_view(app: ImshareApp) -> str:
    """The view whose tab is highlighted, by its label."""
    from tui.app.store import view_label

    return view_label(main_screen(app).store.view)
