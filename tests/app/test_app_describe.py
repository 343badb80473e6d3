"""Issue 11, the describe view: `enter` / `d` show one image in full, `J` its raw document,
`escape` comes back to the same row.

Every expected value is read from the demo cloud's own documents and member records and
written out here (labels, UTC times, byte counts), never taken from the app.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from app_support import main_screen, screen_text, table, visible_ids, wait_for, wait_loaded
from textual.widgets import Static

from tui.app.screens.describe import DescribeScreen
from tui.app.screens.main import MainScreen

SIZE = (120, 60)  # tall enough to show every field at once


def body_text(app: Any) -> str:
    """What the describe view shows right now (fields or raw JSON), as plain text."""
    screen = app.screen
    assert isinstance(screen, DescribeScreen)
    shown = "#describe-raw" if screen.raw else "#describe-fields"
    return str(screen.query_one(shown, Static).render())


def utc(stamp: str) -> str:
    """``2025-06-18T04:17:23Z`` as the describe view writes it."""
    assert stamp.endswith("Z")
    return stamp[:-1].replace("T", " ") + " UTC"


def field(text: str, label: str) -> str:
    line = next(line for line in text.splitlines() if line.startswith(label + " "))
    return line[len(label) :].strip()


async def open_describe(pilot: Any, key: str = "enter") -> DescribeScreen:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DescribeScreen), what="describe")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, DescribeScreen)
    return screen


@pytest.mark.parametrize("key", ["enter", "d"])
async def test_describe_shows_every_field_and_the_member_record(
    cloud: Any, make_app: Any, key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The detail pane would read the member record only after a minute: the describe view,
    # opened before, reads it itself.
    monkeypatch.setattr("tui.app.screens.main.DETAIL_DELAY", 60.0)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("j", "j")
        image_id = visible_ids(app)[2]
        assert image_id not in main.store.members
        await open_describe(pilot, key)
        await wait_for(pilot, lambda: "Shared At" in body_text(app), what="the member record")
        text = body_text(app)
        doc = cloud.image(image_id)
        member = cloud.state.get_member(image_id, cloud.project_id).to_json()
        size = int(doc["__image_size"])
        expected = {
            "Name": doc["name"],
            "ID": image_id,
            "Status": "pending",
            "Full-ECS": "no",
            "Owner": doc["owner"],
            "OS Version": doc["__os_version"],
            "Platform": doc["__platform"],
            "Disk Format": doc["disk_format"],
            "Container Format": doc["container_format"],
            "Min Disk": f"{doc['min_disk']} GB",
            "Min RAM": f"{doc['min_ram']} MB",
            "Image Status": doc["status"],
            "Visibility": "shared",
            "Image Type": doc["__imagetype"],
            "Firmware": doc["hw_firmware_type"],
            "Created At": utc(doc["created_at"]),
            "Updated At": utc(doc["updated_at"]),
            "Tags": ", ".join(doc["tags"]) or "—",
            "Member Status": member["status"],
            "Shared At": utc(member["created_at"]),
            "Decided At": "— (pending)",
            "Region": "eu-de",
        }
        for label, value in expected.items():
            assert field(text, label) == value, label
        assert field(text, "Size").endswith(f"({size:,} bytes)")
        assert field(text, "OS Type").startswith(doc["__os_type"])
        assert cloud.project_id in field(text, "Shared With")
        assert doc["__description"] in text
        # The title names the image; the footer the view's keys.
        assert doc["name"] in screen_text(app).splitlines()[0]
        assert "Raw JSON" in screen_text(app).splitlines()[-1]


async def test_describe_of_a_decided_full_ecs_image(cloud: Any, make_app: Any) -> None:
    (whole,) = cloud.whole_image_ids()
    cloud.set_member_status(whole, "accepted")
    member = cloud.state.get_member(whole, cloud.project_id).to_json()
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("2")
        table(app).move_to(visible_ids(app).index(whole))
        await open_describe(pilot, "d")
        await wait_for(pilot, lambda: "Decided At" in body_text(app), what="the member record")
        text = body_text(app)
        assert field(text, "Status") == "accepted"
        assert field(text, "Full-ECS").startswith("yes") and "vault" in field(text, "Full-ECS")
        assert field(text, "Decided At") == utc(member["updated_at"])


async def test_escape_returns_to_the_same_row(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=(80, 24)) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("4", "G", "k", "k")
        grid = table(app)
        index, scroll = grid.cursor, grid.scroll_y
        image_id = visible_ids(app)[index]
        assert index > 20 and scroll > 0
        await open_describe(pilot)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
        await pilot.pause()
        assert grid.cursor == index and grid.scroll_y == scroll
        assert grid.current is not None and grid.current.id == image_id
        assert grid.has_focus
        assert cloud.image(image_id)["name"] in str(main.query_one("#detail-body").render())
        await pilot.press("k")  # the keys act on the table again
        assert grid.cursor == index - 1


async def test_raw_json_shows_the_document_as_the_cloud_sent_it(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        image_id = visible_ids(app)[0]
        screen = await open_describe(pilot)
        assert screen.document_text is None  # read only when asked for
        await pilot.press("J")
        await wait_for(pilot, lambda: screen.document_text is not None, what="the document")
        await pilot.pause()
        raw = body_text(app)
        assert json.loads(raw) == cloud.image(image_id)
        assert raw.splitlines()[1].startswith('  "')  # pretty-printed, two spaces
        assert "raw JSON" in screen_text(app).splitlines()[0]
        await pilot.press("J")
        await pilot.pause()
        assert not screen.raw and "Container Format" in body_text(app)


async def test_a_document_the_cloud_refuses_is_said_and_can_be_read_again(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        image_id = visible_ids(app)[0]
        screen = await open_describe(pilot)
        cloud.fail_project(cloud.project_id, 403, "Policy doesn't allow image:get")
        await pilot.press("J")
        await wait_for(pilot, lambda: screen.document_error is not None, what="the refusal")
        await pilot.pause()
        text = body_text(app)
        assert "Could not read the image document" in text
        assert "Policy doesn't allow image:get" in text and "J" in text
        assert screen.document_text is None and app.is_running
        cloud.heal_project(cloud.project_id)
        await pilot.press("J", "J")
        await wait_for(pilot, lambda: screen.document_text is not None, what="the document")
        await pilot.pause()
        assert json.loads(body_text(app)) == cloud.image(image_id)
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
        assert main_screen(app).store.load_error is None


async def test_y_in_the_describe_view_copies_the_id(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        image_id = visible_ids(app)[0]
        await open_describe(pilot)
        await pilot.press("y")
        assert app.clipboard == image_id
