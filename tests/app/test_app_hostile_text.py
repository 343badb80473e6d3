"""Issue 10: nothing another project wrote reaches the terminal as a control sequence.

The demo cloud holds images whose every field the sharer controls is hostile (tests/hostile.py),
and the demo user's project names are hostile too (Keystone's answer is cloud text; the app logs
in by project id, so the settings the user typed stay plain).
The app then runs under Pilot and every surface that shows cloud text is opened: the table, the
detail pane, the context bar, the y/n confirmation, the vault dialog, the "new share" toast, a
failed decision's toast and summary, a failed listing, the picker, the config screen's
connection test and the password dialog. Each screen is read as a user would, and every byte the
app writes to its terminal is kept (the headless driver, made to draw as a real one does): none
may carry a control character that came from the cloud.
"""

from __future__ import annotations

import base64
import re
import unicodedata
from collections.abc import Callable
from typing import Any

from app_support import detail_text, screen_text, table, wait_for, wait_loaded, wait_screen
from hostile import (
    ATTACKS,
    CJK,
    HOSTILE,
    HOSTILE_SHOWN,
    MARKUP,
    SHOWN_ID,
    forbidden,
    hostile_doc,
    share_hostile_images,
    terminal_leftovers,
)
from support import cloud_settings
from textual.drivers.headless_driver import HeadlessDriver
from textual.widgets import Static

from tui.app.app import ImshareApp
from tui.app.keys import REJECT_NOTE
from tui.app.screens.config import ConfigScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.picker import ContextPicker
from tui.app.screens.prompts import ConfirmScreen, PasswordScreen, SummaryScreen, VaultScreen
from tui.app.widgets.detail_pane import DetailPane


class RecordingDriver(HeadlessDriver):
    """The headless driver, except that the app draws to it as to a real terminal (Textual skips
    drawing for headless drivers), and it keeps every string it is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.written: list[str] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        self.written.append(data)


def record_terminal(app: ImshareApp) -> list[str]:
    """Make ``app`` draw into a ``RecordingDriver``; returns the list its writes go to.

    ``run_test`` builds its driver with ``App._build_driver`` (Textual-private, checked here so
    a rename fails loudly instead of recording nothing).
    """
    assert hasattr(ImshareApp, "_build_driver"), "Textual renamed App._build_driver"
    written: list[str] = []

    def build(headless: bool, inline: bool, mouse: bool, size: tuple[int, int] | None) -> Any:
        driver = RecordingDriver(app, debug=False, mouse=mouse, size=size)
        driver.written = written
        app._driver = driver
        return driver

    app._build_driver = build  # type: ignore[method-assign]
    return written


def check_screen(app: ImshareApp, where: str, *expected: str) -> str:
    """The screen as a user reads it: no forbidden character, and the cloud text is there."""
    text = screen_text(app)
    assert forbidden(text) == [], f"{where}: {forbidden(text)} on screen"
    for word in expected:
        assert word in text, f"{where}: {word!r} is not on screen"
    return text


async def test_no_cloud_control_character_reaches_the_terminal(
    cloud: Any, make_app: Callable[..., ImshareApp]
) -> None:
    ids = share_hostile_images(cloud)
    settings = cloud_settings(cloud, project_name="", project_id=cloud.project_id)
    app = make_app(settings=settings)
    terminal = record_terminal(app)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        main = await wait_loaded(pilot)
        assert table(app).current is not None and table(app).current.id == ids["all fields"]
        await wait_for(pilot, lambda: ids["all fields"] in main.store.members, what="member")
        await pilot.pause()
        # The table, the detail pane and the context bar (project and user from the token).
        text = check_screen(app, "main screen", "!a evil", "!b 中文", "!c Longong", MARKUP)
        assert "eu-de_demo evil" in text.splitlines()[0]  # the context bar: the token's project
        # The description keeps its line break and its tab, laid out by the pane.
        main.query_one(DetailPane).scroll_end(animate=False)
        await pilot.pause()
        lines = check_screen(app, "description", "first line").splitlines()
        first = next(line for line in lines if "first line" in line)
        assert "second" not in first, "the description lost its line break"
        assert any("second  line" in line for line in lines), "the tab was not laid out"

        # Reject two marked images: the y/n confirmation names them.
        await pilot.press("space", "space", "r")
        await wait_screen(pilot, ConfirmScreen)
        check_screen(app, "confirmation", "!a evil", "!b 中文")
        question = str(app.screen.query_one("#question", Static).render())
        assert question.splitlines() == [  # one line per image, whatever its name holds
            "Reject 2 images?",
            "",
            f"  !a {HOSTILE_SHOWN}",
            f"  !b {CJK * 6} {HOSTILE_SHOWN}",
            "",
            REJECT_NOTE,  # what rejecting means (issue 13), after the names
        ]
        await pilot.press("n")
        await pilot.press("u", "g", "down")  # clear the marks; the full-ECS image

        # Accepting a full-ECS image asks for a vault, naming it.
        await pilot.press("a")
        await wait_screen(pilot, VaultScreen)
        check_screen(app, "vault dialog", "!b 中文")
        await pilot.press("escape")

        # A new share is announced in a toast.
        new_id = cloud.add_image(
            hostile_doc(cloud.image(ids["long"]), "00-hostile-new", f"!new {HOSTILE}"),
            {cloud.project_id: "pending"},
        )
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: any(i.id == new_id for i in table(app).rows), what="new")
        await wait_loaded(pilot)
        check_screen(app, "new-share toast", "!new evil")

        # The cloud refuses with a hostile message: a summary, a toast, the detail pane.
        cloud.fail_project(cloud.project_id, 403, f"refused {HOSTILE}")
        await pilot.press("g", "space", "down", "space", "a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        summary = await wait_screen(pilot, SummaryScreen)
        check_screen(app, "failure summary", "refused evil", "!a evil")
        summary.action_close()
        await pilot.press("u", "g", "a")
        await wait_for(pilot, lambda: not main.store.deciding, what="the decision")
        await wait_for(pilot, lambda: main.store.errors.get(ids["all fields"]) is not None)
        await pilot.pause()
        check_screen(app, "failed decision", "Could not accept", "refused evil")

        # A failed listing keeps the rows and says why.
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main.store.load_error is not None, what="listing error")
        await pilot.pause()
        check_screen(app, "failed listing", "Listing failed", "refused evil")
        cloud.heal_project(cloud.project_id)

        # The image id goes to the clipboard as the table shows it.
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == SHOWN_ID

        # The picker lists the user's projects by name.
        await pilot.press("P")
        picker = await wait_screen(pilot, ContextPicker)
        await wait_for(pilot, lambda: "staging evil" in screen_text(app), what="projects")
        check_screen(app, "picker", "staging evil", "eu-de_demo evil")
        picker.action_cancel()
        await pilot.pause()

        # The config screen's connection test shows the token's project and user.
        await pilot.press("c")
        config = await wait_screen(pilot, ConfigScreen)
        config.action_test()
        await wait_for(pilot, lambda: "Connected" in screen_text(app), what="test connection")
        check_screen(app, "config test", "Project eu-de_demo evil")
        config.action_cancel()
        await pilot.pause()

        # A login problem quoted in the password dialog.
        app.push_screen(PasswordScreen("demo", "domain", "project", problem=f"401: {HOSTILE}"))
        await wait_screen(pilot, PasswordScreen)
        check_screen(app, "password dialog", "401: evil")
        await pilot.press("escape")
        await wait_screen(pilot, MainScreen)  # and the app is still running

    written = "".join(terminal)
    assert "evil" in written and "中文" in written  # the cloud text was drawn at all
    for name, attack in ATTACKS.items():
        if len(attack) > 1:
            assert attack not in written, f"{name} reached the terminal"
    # The one clipboard write is ours (y), holding the id as shown; nothing else may remain.
    clipboard = re.compile(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07")
    assert [base64.b64decode(m) for m in clipboard.findall(written)] == [SHOWN_ID.encode()]
    leftovers = terminal_leftovers(clipboard.sub("", written))
    assert forbidden(leftovers) == [], [
        leftovers[max(0, m.start() - 40) : m.end() + 40]
        for m in re.finditer("[\x00-\x08\x0b-\x1f\x7f-\x9f]", leftovers)
    ][:3]


def cells(text: str) -> int:
    """Terminal cells of ``text``, counted here from Unicode's East Asian Width (not with the
    app's own measure): wide and full-width characters take two cells."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


async def test_wide_names_keep_the_table_aligned_at_every_width(
    cloud: Any, make_app: Callable[..., ImshareApp]
) -> None:
    """A CJK name takes two cells a character; cut anywhere (in the middle), its row stays
    aligned."""
    share_hostile_images(cloud)  # the project's name is hostile now: log in by its id
    app = make_app(settings=cloud_settings(cloud, project_name="", project_id=cloud.project_id))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_loaded(pilot)
        # Odd and even widths: somewhere the name column ends in the middle of a wide character.
        for width in (120, 121, 100, 101, 80, 81):
            await pilot.resize_terminal(width, 30)
            await pilot.pause()
            lines = screen_text(app).splitlines()
            # Table rows (the detail pane, under the table when narrow, has a "Status" row).
            rows = [line for line in lines if " pending " in line and "Status" not in line]
            assert any("中文" in row for row in rows), width
            starts = {cells(row[: row.index(" pending ")]) for row in rows}
            assert len(starts) == 1, f"status column misaligned at width {width}: {rows[:4]}"
            # Cut in the middle: the name keeps its end, right before the status column.
            cut = next(row for row in rows if "中文" in row)
            name = cut[: cut.index(" pending ")]
            assert "…" in name and name.endswith("[b]x[/] end"), f"{name!r} at {width}"


async def test_a_wide_project_name_fits_the_context_bar_whole(
    cloud: Any, make_app: Callable[..., ImshareApp]
) -> None:
    """The bar drops its least important parts by terminal cells, so nothing is cut short."""
    project = cloud.data.demo_user.projects[0]
    project.name = "eu-de_" + "中文" * 10  # 20 wide characters: 40 cells, 20 code points
    app = make_app(settings=cloud_settings(cloud, project_name="", project_id=cloud.project_id))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_loaded(pilot)
        bar = screen_text(app).splitlines()[0]
        parts = [part.strip() for part in bar.split("│")]
        mine = f"{project.name} ({cloud.project_id[:8]})"
        assert mine in parts
        # Whole parts only: no part cut off at the edge, no separator left dangling.
        assert parts[-1] in (mine, "token 23h59m", "demo"), parts
        assert "…" not in bar and cells(bar.rstrip()) <= 80


async def test_the_describe_view_and_its_raw_json_show_hostile_text_inert(
    cloud: Any, make_app: Callable[..., ImshareApp]
) -> None:
    """Every field in the describe view is made safe; the raw JSON shows each control
    character as its JSON escape (decoding to what the sharer sent), never as itself."""
    import json

    from tui.app.screens.describe import DescribeScreen

    ids = share_hostile_images(cloud)
    app = make_app(settings=cloud_settings(cloud, project_name="", project_id=cloud.project_id))
    terminal = record_terminal(app)
    async with app.run_test(size=(120, 60)) as pilot:
        await wait_loaded(pilot)
        for number, image_id in enumerate(ids.values()):
            table(app).move_to(number)
            await pilot.pause()
            assert table(app).current is not None and table(app).current.id == image_id
            await pilot.press("d")
            screen = await wait_screen(pilot, DescribeScreen)
            check_screen(app, f"describe {number}", "evil")
            await pilot.press("J")
            await wait_for(pilot, lambda s=screen: s.document_text is not None, what="raw JSON")
            await pilot.pause()
            raw = str(screen.query_one("#describe-raw", Static).render())
            assert forbidden(raw) == []
            assert json.loads(raw) == cloud.image(image_id)  # nothing lost
            assert "\\u001b]2;pwned\\u0007" in raw and "\\u202e" in raw and "\\u009b2J" in raw
            check_screen(app, f"raw JSON {number}", "evil", "\\u001b")
            await pilot.press("escape")
            await wait_screen(pilot, MainScreen)
    written = "".join(terminal)
    assert "evil" in written
    for name, attack in ATTACKS.items():
        if len(attack) > 1:
            assert attack not in written, f"{name} reached the terminal"
    assert forbidden(terminal_leftovers(written)) == []


async def test_owner_names_and_rule_names_reach_the_terminal_inert(
    cloud: Any, make_app: Callable[..., ImshareApp], config_dir: Any
) -> None:
    """owners.toml and rules.toml are the user's text, but may come from anywhere (a shared
    dotfiles repository): a name written there with escapes is shown as every cloud text is."""
    import tomli_w

    first = cloud.shared_image_ids("pending")[0]
    owner = cloud.image(first)["owner"]
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(
        tomli_w.dumps({"owners": {owner: {"name": f"own {HOSTILE}"}}}), encoding="utf-8"
    )
    (config_dir / "rules.toml").write_text(
        tomli_w.dumps({"rules": [{"name": f"rule {HOSTILE}", "owner": owner, "action": "accept"}]}),
        encoding="utf-8",
    )
    app = make_app(cloud)
    terminal = record_terminal(app)
    async with app.run_test(size=(200, 40), notifications=True) as pilot:
        main = await wait_loaded(pilot)
        grid = table(app)
        grid.move_to([i.id for i in grid.rows].index(first))
        await pilot.pause()
        check_screen(app, "owner name", "own evil", "rule evil")
        detail = detail_text(app)
        assert f"Rule “rule {HOSTILE_SHOWN}” would accept it" in detail
        assert f"own {HOSTILE_SHOWN} · {owner}" in detail
        await pilot.press("X")
        await wait_screen(pilot, ConfirmScreen)
        question = str(app.screen.query_one("#question", Static).render())
        assert f"— rule “rule {HOSTILE_SHOWN}”" in question
        check_screen(app, "rules confirmation", "rule evil")
        await pilot.press("n")
        await pilot.press("d")  # the describe view names the owner and the rule too
        await wait_for(pilot, lambda: "own evil" in screen_text(app), what="describe")
        check_screen(app, "describe", "own evil", "rule evil")
        assert main.store.owners.name_of(owner) == f"own {HOSTILE}"  # kept as written
    written = "".join(terminal)
    assert "own evil" in written
    for name, attack in ATTACKS.items():
        if len(attack) > 1:
            assert attack not in written, f"{name} reached the terminal"
    assert forbidden(terminal_leftovers(written)) == []
