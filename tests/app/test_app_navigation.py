"""Keys that look and move: views, cursor, detail pane, sort, filter, marks, copy, help, quit."""

from __future__ import annotations

import io
from typing import Any

import pytest
from app_support import (
    current_view,
    detail_text,
    screen_text,
    tab_counts,
    table,
    visible_ids,
    visible_names,
    wait_for,
    wait_loaded,
    wait_member,
    wait_screen,
)
from rich.console import Console
from textual.widgets import Input

from tui.app.screens.help import HelpScreen
from tui.app.screens.main import MainScreen
from tui.app.widgets.image_table import ImageTable

SIZE = (120, 36)


async def test_views_and_counts_match_the_cloud(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        pending = set(cloud.shared_image_ids("pending"))
        accepted = set(cloud.shared_image_ids("accepted"))
        rejected = set(cloud.shared_image_ids("rejected"))
        assert current_view(app) == "Pending"  # the default view
        assert tab_counts(app) == {
            "Pending": len(pending),
            "Accepted": len(accepted),
            "Rejected": len(rejected),
            "All": len(pending | accepted | rejected),
        }
        assert set(visible_ids(app)) == pending
        for key, view, expected in (
            ("2", "Accepted", accepted),
            ("3", "Rejected", rejected),
            ("4", "All", pending | accepted | rejected),
            ("1", "Pending", pending),
        ):
            await pilot.press(key)
            assert current_view(app) == view
            assert set(visible_ids(app)) == expected
        # The tabs show each view with its count, as text.
        tabs = str(main.query_one("#tabs").render())
        assert f"1 Pending {len(pending)}" in tabs
        assert f"2 Accepted {len(accepted)}" in tabs


async def test_cursor_keys_move_and_the_detail_pane_follows(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=(120, 24)) as pilot:
        await wait_loaded(pilot)
        grid = table(app)
        rows = list(grid.rows)
        assert len(rows) > 20  # more than a page, so pageup/pagedown really page
        assert grid.cursor == 0
        assert rows[0].name in detail_text(app)
        assert rows[0].id in detail_text(app)

        expected = {
            "j": 1,
            "down": 2,
            "k": 1,
            "up": 0,
            "G": len(rows) - 1,
            "g": 0,
            "pagedown": None,  # checked below: a page further than before
            "end": len(rows) - 1,
            "home": 0,
        }
        for key, index in expected.items():
            before = grid.cursor
            await pilot.press(key)
            if index is None:
                assert grid.cursor > before + 5
            else:
                assert grid.cursor == index, key
            current = rows[grid.cursor]
            assert grid.current == current
            text = detail_text(app)
            assert current.name in text and current.id in text, key
        await pilot.press("pagedown", "pagedown")
        assert grid.cursor > 10
        low = grid.cursor
        await pilot.press("pageup")
        assert grid.cursor < low
        # k at the top and j at the bottom stay put.
        await pilot.press("g", "k")
        assert grid.cursor == 0
        await pilot.press("G", "j")
        assert grid.cursor == len(rows) - 1


async def test_detail_pane_shows_the_member_record_once_fetched(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await wait_member(pilot)
        text = detail_text(app)
        assert "Shared" in text and "Decided" in text
        assert "loading…" not in text
        # An accepted image has a decision time.
        await pilot.press("2")
        await wait_member(pilot)
        text = detail_text(app)
        decided = next(line for line in text.splitlines() if line.startswith("Decided"))
        assert "UTC" in decided


async def test_detail_pane_says_a_full_ecs_image_needs_a_vault(cloud: Any, make_app: Any) -> None:
    whole = cloud.whole_image_ids()[0]
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("4")
        grid = table(app)
        grid.move_to(visible_ids(app).index(whole))
        await pilot.pause()
        assert "Full-ECS image" in detail_text(app)
        assert "vault" in detail_text(app)


def _sort_key(cloud: Any, key: str) -> Any:
    """The order a user expects for each column, computed from the cloud's own documents.

    Text compares without case; ties fall back to the name. Written out here on purpose, not
    taken from the app, so a wrong sort in the app cannot agree with itself.
    """

    def size(doc: dict[str, Any]) -> int:
        for field in ("__image_size", "size"):
            value = doc.get(field)
            if value not in (None, "", 0, "0"):
                return int(value)
        return 0

    def of(image_id: str) -> Any:
        doc = cloud.image(image_id)
        name = (doc.get("name") or "").lower()
        return {
            "name": (name, image_id),
            "status": (cloud.member_status(image_id), name),
            "os": ((doc.get("__os_version") or "").lower(), name),
            "size": (size(doc), name),
            "format": (doc.get("disk_format") or "", name),
            "owner": (doc["owner"], name),
            "created": (doc["created_at"], name),
        }[key]

    return of


def _assert_sorted(cloud: Any, app: Any, key: str, reverse: bool) -> None:
    keys = [_sort_key(cloud, key)(image_id) for image_id in visible_ids(app)]
    assert keys == sorted(keys, reverse=reverse), (key, reverse)


def _matches(cloud: Any, image_id: str, needle: str) -> bool:
    """What `/` finds: the text in the name, id, owner, OS version or platform, any case."""
    doc = cloud.image(image_id)
    fields = (doc.get("name"), image_id, doc.get("owner"), doc.get("__os_version"),
              doc.get("__platform"))  # fmt: skip
    return any(needle.lower() in (value or "").lower() for value in fields)


async def test_sort_keys_toggle_direction(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")  # every status, so sorting by status means something
        names = visible_names(app)
        _assert_sorted(cloud, app, "name", False)  # the default: name ascending
        for letter, key in (
            ("N", "name"),
            ("S", "status"),
            ("O", "os"),
            ("Z", "size"),
            ("F", "format"),
            ("W", "owner"),
            ("C", "created"),
        ):
            await pilot.press(letter)
            ascending = key != "name"  # name was already the sort key: N flips it
            assert main.store.sort_key == key
            assert main.store.sort_reverse is not ascending, letter
            _assert_sorted(cloud, app, key, not ascending)
            await pilot.press(letter)
            assert main.store.sort_reverse is ascending, letter
            _assert_sorted(cloud, app, key, ascending)
        assert visible_names(app) != names  # the order really changed along the way


async def test_clicking_a_header_sorts_by_that_column(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        grid = table(app)
        header = str(grid.render_line(0).text)
        column = header.index("Size")
        await pilot.click(ImageTable, offset=(column + 1, 0))
        await pilot.pause()
        assert main.store.sort_key == "size"
        assert not main.store.sort_reverse
        sizes = [i.size_bytes or 0 for i in grid.rows]
        assert sizes == sorted(sizes)
        await pilot.click(ImageTable, offset=(column + 1, 0))
        await pilot.pause()
        assert main.store.sort_reverse
        sizes = [i.size_bytes or 0 for i in grid.rows]
        assert sizes == sorted(sizes, reverse=True)
        assert "Size▼" in str(grid.render_line(0).text)


async def test_filter_by_name_id_owner_and_os_as_you_type(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")
        everything = list(table(app).rows)
        some = everything[5]
        field = main.query_one("#filter", Input)

        await pilot.press("slash")
        assert field.has_focus
        # Name, typed in the wrong case, one key at a time: the table narrows as you type.
        word = some.name.split("_")[0].upper()
        counts = []
        for char in word:
            await pilot.press(char)
            counts.append(len(table(app).rows))
        assert counts == sorted(counts, reverse=True)
        expected = [i.id for i in everything if _matches(cloud, i.id, word)]
        assert visible_ids(app) == expected
        assert some.id in expected

        async def filter_for(text: str) -> list[str]:
            field.value = text  # Input.Changed, as when typed (typing is covered above)
            await pilot.pause()
            return visible_ids(app)

        assert await filter_for(some.id[:13].upper()) == [some.id]
        owner_hits = await filter_for(some.owner[:10])
        assert some.id in owner_hits
        assert owner_hits == [i.id for i in everything if _matches(cloud, i.id, some.owner[:10])]
        os_word = some.os_version.split()[0].lower()
        assert set(await filter_for(os_word)) == {
            i.id for i in everything if _matches(cloud, i.id, os_word)
        }
        assert await filter_for("no-such-image-zzz") == []
        assert "No image matches" in table(app).empty_text

        # Escape clears the filter and gives the table back the focus.
        await pilot.press("escape")
        assert field.value == ""
        assert main.store.filter_text == ""
        assert visible_ids(app) == [i.id for i in everything]
        assert table(app).has_focus
        assert not main.query_one("#filter-bar").has_class("-active")


async def test_enter_in_the_filter_keeps_it_and_returns_to_the_table(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("slash", "d", "e", "b", "enter")
        assert table(app).has_focus
        assert main.store.filter_text == "deb"
        assert all(_matches(cloud, i.id, "deb") for i in table(app).rows)
        await pilot.press("j")  # keys act on the table again
        assert table(app).cursor == min(1, len(table(app).rows) - 1)
        await pilot.press("escape")
        assert main.store.filter_text == ""


async def test_marks_space_star_and_u(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        rows = list(table(app).rows)
        await pilot.press("space")
        assert main.store.marked == {rows[0].id}
        assert table(app).cursor == 1  # space moves down
        await pilot.press("space", "space")
        assert main.store.marked == {r.id for r in rows[:3]}
        assert len(main.store.marked) == 3
        assert "3 marked" in str(main.query_one("#tabs").render())
        assert str(table(app).render_line(1).text).startswith("✓")
        # space on a marked row unmarks it
        await pilot.press("k", "space")
        assert main.store.marked == {rows[0].id, rows[1].id}
        await pilot.press("u")
        assert main.store.marked == set()
        await pilot.press("asterisk")
        assert main.store.marked == {r.id for r in rows}
        await pilot.press("u")
        assert not main.store.marked
        # * marks only what the filter shows
        await pilot.press("slash", *"ubuntu", "enter")
        shown = {i.id for i in table(app).rows}
        assert shown and len(shown) < len(rows)
        await pilot.press("asterisk")
        assert main.store.marked == shown


async def test_y_copies_the_image_id(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("j", "y")
        assert app.clipboard == table(app).rows[1].id


def _plain(content: object) -> str:
    console = Console(width=120, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


async def test_help_lists_the_keys(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        help_screen = await wait_screen(pilot, HelpScreen)
        text = "\n".join(_plain(static.content) for static in help_screen.query("Static"))
        for needle in (
            "Next image",
            "Accept",
            "Reject",
            "Reset to pending",
            "Mark / unmark",
            "Mark every visible image",
            "Clear all marks",
            "Filter by name, id, owner or OS",
            "^r / f5",
            "Copy the image id",
            "Open the config screen",
            "Quit",
            "Sort by name",
            "N",
        ):
            assert needle in text, needle
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))
        await pilot.press("f1")
        await wait_screen(pilot, HelpScreen)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen))


async def test_q_quits(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)
    assert app.return_code == 0


async def test_ctrl_q_quits_from_a_dialog(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("question_mark")
        await wait_screen(pilot, HelpScreen)
        await pilot.press("ctrl+q")
        await wait_for(pilot, lambda: not app.is_running, timeout=5)


async def test_the_context_bar_shows_the_tokens_project_and_only_the_host(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        bar = str(main.query_one("#context").render())
        assert bar.startswith("127.0.0.1 eu-de")
        assert "eu-de_demo" in bar and cloud.project_id[:8] in bar
        assert "demo" in bar and "23h59m" in bar
        assert str(cloud.app.base_url.rsplit(":", 1)[1]) not in bar  # no port
        assert "demo-password" not in bar


async def test_clicking_a_view_tab_switches_the_view(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        tabs = str(main.query_one("#tabs").render())
        await pilot.click("#tabs", offset=(tabs.index("3 Rejected") + 2, 0))
        await pilot.pause()
        assert current_view(app) == "Rejected"
        assert set(visible_ids(app)) == set(cloud.shared_image_ids("rejected"))


async def test_the_detail_pane_moves_under_the_table_below_100_columns(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await wait_loaded(pilot)
        assert main.has_class("-narrow")
        pane = main.query_one("#detail")
        assert pane.region.y > table(app).region.y
        assert pane.region.width >= 78
        await pilot.resize_terminal(120, 36)
        await pilot.pause()
        assert not main.has_class("-narrow")
        assert main.query_one("#detail").region.x > table(app).region.x


async def test_a_partial_listing_never_looks_complete(cloud: Any, make_app: Any) -> None:
    """The accepted listing fails on a refresh: its rows stay, flagged as not confirmed (not
    marked), its count reads +?, a line says what failed and how to retry — until a refresh
    completes."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        accepted = set(cloud.shared_image_ids("accepted"))
        cloud.fail_listing("accepted", status=503)
        await pilot.press("ctrl+r")
        await wait_loaded(pilot)
        await wait_for(pilot, lambda: main.store.incomplete, what="the incomplete listing")
        tabs = str(main.query_one("#tabs").render())
        assert f"2 Accepted {len(accepted)}+?" in tabs and "4 All" in tabs and "+? " in tabs
        assert f"1 Pending {len(cloud.shared_image_ids('pending'))} " in tabs  # complete
        notice = str(main.query_one("#notice").render())
        assert "Could not list the accepted shares" in notice and "ctrl+r" in notice
        await pilot.press("2")
        assert set(visible_ids(app)) == accepted  # nothing vanished
        assert main.store.stale == accepted and not main.store.marked
        assert "accepted ?" in str(table(app).render_line(1).text)
        cloud.heal_listing("accepted")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: not main.store.incomplete, what="a complete listing")
        assert not main.store.stale
        assert "+?" not in str(main.query_one("#tabs").render())
        assert not main.query_one("#notice").display


def _burst(app: Any, text: str) -> None:
    """Keys as they arrive over SSH: all at once, before the app has handled the first."""
    from textual import events

    names = {"/": "slash", " ": "space"}
    for char in text:
        app.post_message(events.Key(names.get(char, char), char))


async def test_a_burst_after_slash_goes_to_the_filter_and_leaves_marks_alone(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("space", "space")  # two marks the burst must not clear ("u")
        _burst(app, "/ubuntu")
        field = main.query_one("#filter", Input)
        await wait_for(pilot, lambda: field.value == "ubuntu", what="the filter text")
        await wait_for(pilot, lambda: main.store.filter_text == "ubuntu", what="the filter")
        assert len(main.store.marked) == 2
        expected = [i for i in cloud.shared_image_ids("pending") if _matches(cloud, i, "ubuntu")]
        assert sorted(visible_ids(app)) == sorted(expected) and expected


async def test_a_key_typed_before_the_confirmation_appears_does_not_answer_it(
    cloud: Any, make_app: Any
) -> None:
    """ "ry" typed fast: the dialog asks, and the y that came before it is not its answer."""
    from tui.app.screens.prompts import ConfirmScreen

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        image_id = table(app).current.id
        _burst(app, "ry")
        dialog = await wait_screen(pilot, ConfirmScreen)
        await pilot.pause(0.3)
        assert app.screen is dialog  # still asking
        assert cloud.member_status(image_id) == "pending"
        await pilot.press("n")
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert cloud.member_status(image_id) == "pending"


async def test_the_command_palette_offers_imshares_commands_with_their_keys(
    cloud: Any, make_app: Any
) -> None:
    from textual.command import CommandPalette

    from tui.app.screens.log import LogScreen

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("ctrl+p")
        palette = await wait_screen(pilot, CommandPalette)
        await pilot.press(*"message log")
        await wait_for(
            pilot, lambda: "Log  (@)" in screen_text(app), what="the log command in the palette"
        )
        await pilot.press("enter")
        await wait_screen(pilot, LogScreen)
        assert palette is not app.screen


async def test_read_only_leaves_the_decisions_out_of_the_palette(cloud: Any, make_app: Any) -> None:
    from textual.command import CommandPalette

    app = make_app(cloud, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("ctrl+p")
        await wait_screen(pilot, CommandPalette)
        await pilot.press(*"accept")
        await wait_for(pilot, lambda: "Accepted view" in screen_text(app), what="the matches")
        assert "Accept  (a)" not in screen_text(app)


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (120, 36)])
async def test_the_footer_shows_only_whole_keys(cloud: Any, make_app: Any, size: Any) -> None:
    from textual.widgets._footer import FooterKey

    app = make_app(cloud)
    async with app.run_test(size=size) as pilot:
        await wait_loaded(pilot)
        keys = list(app.screen.query(FooterKey))
        assert keys and any(key.description == "Help" for key in keys)
        for key in keys:
            region = key.region
            assert region.right <= size[0], (key.key_display, key.description, region)
        last_line = screen_text(app).splitlines()[-1]
        assert last_line.rstrip().endswith("? Help")


async def test_counts_read_an_ellipsis_until_the_first_listing_is_in(
    make_cloud: Any, make_app: Any
) -> None:
    slow = make_cloud(images=48, seed=7, latency_ms=400)
    app = make_app(slow)
    async with app.run_test(size=SIZE) as pilot:
        main = app.screen
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="main")
        main = app.screen
        await wait_for(pilot, lambda: main.store.listing, what="the listing to start")
        assert "1 Pending …" in str(main.query_one("#tabs").render())
        await wait_loaded(pilot)
        assert "1 Pending …" not in str(main.query_one("#tabs").render())


async def test_the_filter_language_in_the_app(cloud: Any, make_app: Any) -> None:
    """Several terms must all match, fields narrow a term, ! negates; a term it cannot read
    says so in the filter bar and matches nothing."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")
        everything = list(table(app).rows)
        some = next(i for i in everything if i.os_version)
        word = some.os_version.split()[0]
        owner = some.owner[:6]
        field = main.query_one("#filter", Input)

        async def filter_for(text: str) -> list[str]:
            field.value = text
            await pilot.pause()
            return visible_ids(app)

        both = [i.id for i in everything if _matches(cloud, i.id, word) and owner in i.owner]
        assert await filter_for(f"{word} {owner}") == both and some.id in both
        assert await filter_for(f"os:{word.upper()} owner:{owner}") == both
        not_word = [i.id for i in everything if not _matches(cloud, i.id, word)]
        assert await filter_for(f"!{word}") == not_word
        rejected = [i.id for i in everything if cloud.member_status(i.id) == "rejected"]
        assert await filter_for("status:rej") == rejected
        assert await filter_for("colour:red") == []
        label = str(main.query_one("#filter-label").render())
        assert "colour" in label and "name" in label  # names the field it did not know


async def test_started_with_a_filter_the_app_shows_it_and_filters(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    app.store.set_filter("ubuntu")  # what `imshare --filter ubuntu` does before the start
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert main.query_one("#filter", Input).value == "ubuntu"
        assert main.query_one("#filter-bar").has_class("-active")
        expected = [i for i in cloud.shared_image_ids("pending") if _matches(cloud, i, "ubuntu")]
        assert sorted(visible_ids(app)) == sorted(expected) and expected


async def test_typing_and_erasing_a_filter_key_by_key_shows_what_it_matches(
    cloud: Any, make_app: Any
) -> None:
    """A keystroke that narrows the last filter tests only the rows it matched, and a
    backspace finds an earlier result: at every step the table must still hold exactly the
    rows the text matches from scratch, also where a longer text matches *more* rows (a
    negated term typed on) and a term is added or ends in a field."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4")
        everything = list(table(app).rows)
        field = main.query_one("#filter", Input)
        await pilot.press("slash")

        def expected(text: str) -> list[str]:
            def one(image_id: str, term: str) -> bool:
                if term.startswith("!"):
                    return not term[1:] or not one(image_id, term[1:])
                if term.startswith("status:"):
                    return cloud.member_status(image_id).startswith(term[7:])
                return _matches(cloud, image_id, term)

            return [i.id for i in everything if all(one(i.id, t) for t in text.split())]

        seen: set[int] = set()
        for typed in ("!ubu", "ntu", " status:p", "e"):
            for char in typed:
                await pilot.press("space" if char == " " else char)
                await pilot.pause()
                assert visible_ids(app) == expected(field.value), field.value
                seen.add(len(visible_ids(app)))
        for _ in range(len(field.value)):
            await pilot.press("backspace")
            await pilot.pause()
            assert visible_ids(app) == expected(field.value), field.value
            seen.add(len(visible_ids(app)))
        assert field.value == "" and visible_ids(app) == [i.id for i in everything]
        assert len(seen) > 4  # the steps matched different numbers of rows
