"""What is on screen after partial repaints: no stale row, no stale detail.

The table repaints only the lines whose rows changed (the old and new cursor row on a move, the
rows a filter keystroke or a decision changed) and the detail pane only the lines whose text
changed: over a slow SSH link that is what a keystroke costs. The bug such economy invites is a
line that is never repainted: a row that still shows the image that was there before, a cursor
bar on two rows, the previous image's details. These tests read the screen as the terminal got
it (the compositor's cached lines, not a fresh render) and compare it with the cloud's own
documents and with the table's rows.
"""

from __future__ import annotations

from typing import Any

from app_support import main_screen, screen_text, table, wait_for, wait_loaded
from rich.style import Style

from tui.app.widgets.detail_pane import DetailPane

SIZE = (120, 36)


def _screen_rows(app: Any) -> list[tuple[str, bool]]:
    """Each table line below the header as on screen: its text, and whether the cursor bar
    (the cursor style's background) is on it."""
    grid = table(app)
    region = grid.content_region
    cursor_bg = grid.get_component_rich_style("image-table--cursor").bgcolor
    strips = app.screen._compositor.render_strips()
    rows = []
    for strip in strips[region.y + 1 : region.y + region.height]:
        cropped = strip.crop(region.x, region.x + region.width)
        text = "".join(segment.text for segment in cropped)
        on = any(
            isinstance(segment.style, Style) and segment.style.bgcolor == cursor_bg
            for segment in cropped
            if segment.text.strip()
        )
        rows.append((text, on))
    return rows


def _check_screen(app: Any, cloud: Any) -> None:
    """Every visible row shows the cloud's name of the image the table holds at that place,
    the cursor bar is on the cursor's row only, and the detail pane names that image."""
    grid = table(app)
    top = int(grid.scroll_y)
    rows = _screen_rows(app)
    shown = grid.rows[top : top + len(rows)]
    for offset, (text, on_cursor) in enumerate(rows):
        if not shown:
            break  # no rows: the table says why (the empty text)
        if offset >= len(shown):
            assert not text.strip(), f"line {offset + 1} should be blank, shows {text!r}"
            continue
        image = shown[offset]
        name = cloud.image(image.id)["name"]
        assert name in text, f"line {offset + 1}: {name!r} expected, screen shows {text!r}"
        assert on_cursor == (top + offset == grid.cursor), f"cursor bar wrong on {text!r}"
    current = grid.current
    if current is not None:
        pane = main_screen(app).query_one(DetailPane).content_region
        lines = screen_text(app).splitlines()[pane.y : pane.y + pane.height]
        detail = "\n".join(line[pane.x : pane.x + pane.width] for line in lines)
        assert cloud.image(current.id)["name"] in detail
        assert current.id in detail


async def _settle(pilot: Any) -> None:
    await pilot.pause()
    await pilot.pause()


async def test_rows_and_details_on_screen_follow_moves_filters_and_decisions(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")  # every status: the filter below keeps some of each
        grid = table(app)
        grid.focus()
        await _settle(pilot)
        _check_screen(app, cloud)
        for key in ("down", "down", "down", "pagedown", "up", "end", "home", "down"):
            await pilot.press(key)
            await _settle(pilot)
            _check_screen(app, cloud)
        # A word that some names have: typed one key at a time, erased, then cleared.
        word = cloud.image(grid.rows[len(grid.rows) // 2].id)["name"][:3].lower()
        await pilot.press("/")
        for key in (*word, "backspace", word[-1], "x", "backspace"):
            await pilot.press(key)
            await wait_for(pilot, lambda: main.store.filter_text == main.query_one("#filter").value)
            await _settle(pilot)
            _check_screen(app, cloud)
        await pilot.press("escape")
        await _settle(pilot)
        _check_screen(app, cloud)
        # A decision changes one row (its status) and, in the Pending view, removes it.
        grid.focus()
        whole = set(cloud.whole_image_ids())
        pending = [i for i in cloud.shared_image_ids("pending") if i not in whole]
        for view in ("4", "1"):
            await pilot.press(view)
            await _settle(pilot)
            image_id = pending.pop(0)
            grid.move_to([image.id for image in grid.rows].index(image_id))
            await _settle(pilot)
            await pilot.press("a")
            await wait_for(pilot, lambda i=image_id: cloud.member_status(i) == "accepted")
            await wait_for(pilot, lambda: not main.store.deciding, what="the decision")
            await _settle(pilot)
            _check_screen(app, cloud)
            await pilot.press("down")
            await _settle(pilot)
            _check_screen(app, cloud)


async def test_the_scrollbar_follows_the_rows_a_filter_leaves(cloud: Any, make_app: Any) -> None:
    """A filter keystroke changes the row count without a layout of the screen: the scrollbar
    must still go when the rows fit, come back when they do not, have a thumb for the rows
    there are, and a table scrolled to its end must not stay scrolled past the new end."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")
        grid = table(app)
        grid.focus()
        await pilot.press("end")
        await _settle(pilot)
        everything = len(grid.rows)
        height = grid.scrollable_content_region.height
        assert everything + 1 > height and grid.show_vertical_scrollbar
        assert grid.scroll_y > 0
        end_image = grid.current
        # A filter that keeps the image at the end and a few rows more than fit on screen.
        word = end_image.id[:1]
        await pilot.press("/", *word)
        await _settle(pilot)
        some = len(grid.rows)
        assert end_image in grid.rows
        if some + 1 > height:
            assert grid.show_vertical_scrollbar
            assert grid.vertical_scrollbar.window_virtual_size == some + 1
        assert grid.scroll_y <= grid.max_scroll_y
        _check_screen(app, cloud)
        # The whole id: one row, no scrollbar, the table as wide as its widget.
        await pilot.press(*end_image.id[1:])
        await _settle(pilot)
        assert [image.id for image in grid.rows] == [end_image.id]
        assert not grid.show_vertical_scrollbar
        assert grid.scroll_y == 0
        assert grid.scrollable_content_region.width == grid.content_region.width
        _check_screen(app, cloud)
        await pilot.press("escape")
        await _settle(pilot)
        assert len(grid.rows) == everything and grid.show_vertical_scrollbar
        assert grid.vertical_scrollbar.window_virtual_size == everything + 1
        assert grid.scrollable_content_region.width == grid.content_region.width - 1
        _check_screen(app, cloud)
        assert main.store.filter_text == ""


async def test_a_filter_right_after_a_move_keeps_the_cursor_on_the_new_image(
    cloud: Any, make_app: Any
) -> None:
    """The detail pane hears of a move only once the frame is out; a filter keystroke that
    comes before that frame (keys in one burst over SSH) must still keep the cursor on the
    image it moved to, not on the one the pane showed last."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")
        grid = table(app)
        grid.focus()
        await _settle(pilot)
        grid.move_to(3)
        await _settle(pilot)  # the pane now shows row 3
        shown, target = grid.rows[3], grid.rows[9]
        grid.move_to(9)  # and at once, in the same burst, a filter that keeps both rows
        word = next(c for c in target.id if c != "-" and c in shown.id)
        main.store.set_filter(word)
        grid.reload()
        await _settle(pilot)
        assert shown in grid.rows and grid.current is target
        _check_screen(app, cloud)
