"""z: the last operation of this user on this cloud, set back after a y/N that names the images
(issue 13). The demo cloud's member records are the judge."""

from __future__ import annotations

from typing import Any

from app_support import wait_for, wait_loaded, wait_screen
from textual.widgets import Static

from tui.app.screens.help import HelpScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen, SummaryScreen
from tui.journal import Journal, entries

SIZE = (120, 36)


def _plain_ids(cloud: Any, status: str) -> list[str]:
    whole = set(cloud.whole_image_ids())
    return [i for i in cloud.shared_image_ids(status) if i not in whole]


async def _bulk_accept(pilot: Any, main: MainScreen, ids: list[str]) -> None:
    for image_id in ids:
        main.store.toggle_mark(image_id)
    await pilot.press("a")
    await wait_screen(pilot, ConfirmScreen)
    await pilot.press("y")
    await wait_for(pilot, lambda: not main.store.deciding and not main.store.marked)


def _question(app: Any) -> str:
    return str(app.screen.query_one("#question", Static).render())


async def test_z_puts_the_last_bulk_back_after_naming_each_image(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        ids = _plain_ids(cloud, "pending")[:3]
        names = {i: cloud.image(i)["name"] for i in ids}
        await _bulk_accept(pilot, main, ids)
        assert all(cloud.member_status(i) == "accepted" for i in ids)
        await pilot.press("z")
        await wait_screen(pilot, ConfirmScreen)
        question = _question(app)
        for image_id in ids:
            assert f"  {names[image_id]}: accepted → pending" in question.splitlines()
        await pilot.press("y")
        await wait_for(pilot, lambda: all(cloud.member_status(i) == "pending" for i in ids))
        await wait_for(pilot, lambda: not main.store.deciding)
        await pilot.pause()
        assert all(main.store.get(i).status.value == "pending" for i in ids)
    found = entries(Journal().records())
    accept_op = found[0].op
    undone = [e for e in found if e.op != accept_op]
    assert {e.how for e in undone} == {f"undo {accept_op}"} and len(undone) == 3
    assert all((e.before, e.after, e.outcome) == ("accepted", "pending", "done") for e in undone)


async def test_z_leaves_an_image_decided_since_alone_and_names_it(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        ids = _plain_ids(cloud, "pending")[:2]
        changed, kept = ids
        names = {i: cloud.image(i)["name"] for i in ids}
        await _bulk_accept(pilot, main, ids)
        cloud.set_member_status(changed, "rejected")  # someone else, meanwhile
        await pilot.press("z")
        await wait_screen(pilot, ConfirmScreen)
        question = _question(app)
        assert "Not touched:" in question
        tail = question[question.index("Not touched:") :]
        assert f"  {names[changed]}: it is rejected now, not accepted: changed since" in tail
        assert names[kept] not in tail
        await pilot.press("y")
        summary = await wait_screen(pilot, SummaryScreen)
        text = "\n".join(str(s.render()) for s in summary.query("Static, Label"))
        assert "1 of 2 set back" in text and changed in text  # the summary names the id too
        assert cloud.member_status(kept) == "pending"
        assert cloud.member_status(changed) == "rejected"


async def test_z_with_nothing_of_yours_in_the_journal_says_so(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_loaded(pilot)
        await pilot.press("z")
        await wait_for(
            pilot, lambda: any("Nothing to undo" in n.message for n in app._notifications)
        )
        assert not isinstance(app.screen, ConfirmScreen)


async def test_z_is_off_in_read_only_mode(cloud: Any, make_app: Any) -> None:
    image_id = _plain_ids(cloud, "pending")[0]
    cloud.set_member_status(image_id, "accepted")
    app = make_app(cloud, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert main.check_action("undo", ()) is False
        await pilot.press("z")
        await pilot.pause()
        assert app.screen is main and not main.store.deciding
        await pilot.press("question_mark")
        help_screen = await wait_screen(pilot, HelpScreen)
        assert "undo" not in {row.binding_id for row in help_screen.rows if row}
    assert not Journal().path.exists()
