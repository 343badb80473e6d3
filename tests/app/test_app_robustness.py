"""Hostile names, a slow server, quitting mid-load."""

from __future__ import annotations

import time
from typing import Any

from app_support import (
    current_view,
    detail_text,
    table,
    visible_ids,
    wait_for,
    wait_loaded,
    wait_screen,
)
from textual.widgets import Input, Static

from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen

SIZE = (120, 36)
MARKUP_NAMES = ("[bold]x[/]", "a [/] b", "[@click=app.quit]x[/]", "[red")


def _add_markup_images(cloud: Any) -> list[str]:
    template = cloud.image(cloud.shared_image_ids("pending")[0])
    ids = []
    for n, name in enumerate(MARKUP_NAMES):
        doc = dict(template)
        doc["id"] = f"00000000-0000-4000-8000-00000000000{n}"
        doc["name"] = name
        doc["__description"] = f"description with {name} inside"
        doc["__whole_image"] = "false"
        ids.append(cloud.add_image(doc, {cloud.project_id: "pending"}))
    return ids


async def test_names_with_markup_are_shown_literally(cloud: Any, make_app: Any) -> None:
    ids = _add_markup_images(cloud)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        shown = visible_ids(app)
        for image_id, name in zip(ids, MARKUP_NAMES, strict=True):
            assert image_id in shown
            table(app).move_to(shown.index(image_id))
            await pilot.pause()
            row = str(table(app).render_line(table(app).cursor + 1 - int(table(app).scroll_y)).text)
            assert name in row, name
            # Quick successive moves redraw the pane once the cursor rests (50 ms).
            await wait_for(pilot, lambda name=name: name in detail_text(app), what=name)
            assert f"description with {name} inside" in detail_text(app)
        # The confirmation names them literally too.
        for image_id in ids:
            main.store.toggle_mark(image_id)
        await pilot.press("r")
        confirm = await wait_screen(pilot, ConfirmScreen)
        question = str(confirm.query_one("#question", Static).render())
        for name in MARKUP_NAMES:
            assert name in question
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        # A filter containing markup characters is taken literally; its matches are counted.
        await pilot.press("slash", "[", "/", "]")
        await pilot.pause()
        assert set(visible_ids(app)) == set(ids[:3])
        label = str(main.query_one("#filter-label").render())
        assert label.split()[:4] == ["Filter", "/", "3", "of"]
        await pilot.press("escape")
        # Clicking the name that looks like an action link only moves the cursor.
        table(app).move_to(0)
        await pilot.pause()
        row = visible_ids(app).index(ids[2]) + 1 - int(table(app).scroll_y)
        await pilot.click(table(app), offset=(5, row))
        await pilot.pause()
        assert app.is_running
        assert table(app).current.id == ids[2]


async def test_the_ui_answers_keys_while_a_slow_server_is_loading(
    make_cloud: Any, make_app: Any
) -> None:
    cloud = make_cloud(images=48, seed=7, latency_ms=2000)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        assert isinstance(main, MainScreen)
        await wait_for(pilot, lambda: main.store.listing, what="the listing to start")

        async def answered(keys: tuple[str, ...], check: Any) -> float:
            started = time.monotonic()
            await pilot.press(*keys)
            await wait_for(pilot, check, timeout=5)
            return time.monotonic() - started

        def view() -> str:
            return current_view(app)

        timings = [
            await answered(("2",), lambda: view() == "Accepted"),
            await answered(("j",), lambda: True),  # nothing to move to yet; must not block
            await answered(("slash",), lambda: main.query_one("#filter", Input).has_focus),
            await answered(tuple("ubu"), lambda: main.store.filter_text == "ubu"),
            await answered(("escape",), lambda: main.store.filter_text == ""),
            await answered(("4",), lambda: view() == "All"),
        ]
        # Every key was handled while the first listing was still waiting for the server ...
        assert main.store.listing, "the listing finished too early for this test to mean anything"
        assert "Loading" in table(app).empty_text
        # ... and promptly (loose bound: the server takes 2 s per request).
        assert max(timings) < 1.5, timings
        await wait_loaded(pilot)
        assert current_view(app) == "All"
        assert len(table(app).rows) == len(cloud.shared_image_ids())


async def test_quitting_mid_load_exits_promptly(make_cloud: Any, make_app: Any) -> None:
    cloud = make_cloud(images=48, seed=7, latency_ms=5000)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await wait_for(pilot, lambda: main.store.listing, what="the listing to start")
        started = time.monotonic()
        await pilot.press("q")
    elapsed = time.monotonic() - started
    assert elapsed < 3.0, f"quitting took {elapsed:.1f}s while a 5 s request was in flight"


async def test_app_exit_mid_load_closes_promptly(make_cloud: Any, make_app: Any) -> None:
    cloud = make_cloud(images=48, seed=7, latency_ms=5000)
    app = make_app(cloud)
    started = 0.0
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: app.screen.store.listing, what="the listing to start")
        started = time.monotonic()
        app.exit()
    assert time.monotonic() - started < 3.0
