"""The app's decisions are journalled: one operation per key press, the journal's trouble said
once, and the message log says where the journal is (issue 13)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_support import wait_for, wait_loaded, wait_screen
from textual.widgets import Label

from tui.app.screens.log import LogScreen
from tui.app.screens.prompts import ConfirmScreen
from tui.journal import Journal, entries

SIZE = (120, 36)


def _plain_ids(cloud: Any, status: str) -> list[str]:
    whole = set(cloud.whole_image_ids())
    return [i for i in cloud.shared_image_ids(status) if i not in whole]


async def test_a_bulk_key_press_is_one_operation_with_what_the_listing_showed(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        ids = _plain_ids(cloud, "pending")[:3]
        names = {i: cloud.image(i)["name"] for i in ids}
        for image_id in ids:
            main.store.toggle_mark(image_id)
        await pilot.press("a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: not main.store.deciding and not main.store.marked)
        single = _plain_ids(cloud, "pending")[0]
        main.query_one("#table").move_to([image.id for image in main.store.visible()].index(single))
        await pilot.press("p")  # already pending: nothing to send, nothing journalled
        await pilot.press("a")
        await wait_for(pilot, lambda: cloud.member_status(single) == "accepted")
        await wait_for(pilot, lambda: not main.store.deciding)
    found = entries(Journal().records())
    bulk = [e for e in found if e.image_id in ids]
    assert len({e.op for e in bulk}) == 1 and len(bulk) == 3
    for entry in bulk:
        assert (entry.how, entry.before, entry.after) == ("key accept", "pending", "accepted")
        assert entry.outcome == "done" and entry.image_name == names[entry.image_id]
        assert entry.member_id == cloud.project_id and entry.region == cloud.region_of()
        assert cloud.member_status(entry.image_id) == "accepted"
    (alone,) = [e for e in found if e.image_id == single]
    assert alone.op != bulk[0].op and alone.outcome == "done"
    assert len(found) == 4


async def test_an_unwritable_journal_is_said_once_and_the_decision_still_made(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (config_dir / "journal.jsonl").mkdir()
    app = make_app(cloud)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await wait_loaded(pilot)
        ids = _plain_ids(cloud, "pending")[:3]
        for image_id in ids:
            main.store.toggle_mark(image_id)
        await pilot.press("a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: all(cloud.member_status(i) == "accepted" for i in ids))
        await wait_for(pilot, lambda: not main.store.deciding)
        # A second key press misses the journal too: in the log, without a second toast.
        await pilot.press("2")
        other = next(i for i in cloud.shared_image_ids("accepted") if i not in ids)
        main.query_one("#table").move_to([image.id for image in main.store.visible()].index(other))
        await pilot.press("p")
        await wait_for(pilot, lambda: cloud.member_status(other) == "pending")
        await wait_for(pilot, lambda: not main.store.deciding)
        toasts = [n for n in app._notifications if n.title == "Decision journal"]
        assert len(toasts) == 1
        assert "cannot write the journal" in toasts[0].message
        assert str(config_dir / "journal.jsonl") in toasts[0].message
        logged = [e.text for e in main.message_log if "cannot write the journal" in e.text]
        assert len(logged) == 2


async def test_the_message_log_says_where_the_journal_is(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("@")
        log = await wait_screen(pilot, LogScreen)
        line = str(log.query_one("#log-journal", Label).render())
        assert str(config_dir / "journal.jsonl") in line and "imshare history" in line
