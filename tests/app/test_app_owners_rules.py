"""Owner names (``o``, owners.toml, the B flag, accepting a blocked owner's image asks twice)
and rules (the R flag, the rule in the detail pane, ``X``) in the app, against a real demo
cloud whose member records say what was really decided."""

from __future__ import annotations

import stat
from collections import Counter
from pathlib import Path
from typing import Any

import tomli_w
from app_support import (
    detail_text,
    table,
    visible_ids,
    wait_for,
    wait_loaded,
    wait_screen,
)
from textual.widgets import Input, Static

from tui.app.screens.help import HelpScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen, OwnerScreen
from tui.journal import Journal, entries
from tui.settings import owners as owners_file

# Wide enough for the Owner column beside the detail pane.
SIZE = (200, 40)


def _busiest(cloud: Any, status: str = "pending") -> str:
    counted = Counter(cloud.image(i)["owner"] for i in cloud.shared_image_ids(status))
    return counted.most_common(1)[0][0]


def _owned(cloud: Any, owner: str, status: str = "pending") -> list[str]:
    return sorted(i for i in cloud.shared_image_ids(status) if cloud.image(i)["owner"] == owner)


def _plain(cloud: Any, ids: list[str]) -> list[str]:
    whole = set(cloud.whole_image_ids())
    return [i for i in ids if i not in whole]


def _write(config_dir: Path, name: str, data: dict[str, Any]) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / name).write_text(tomli_w.dumps(data), encoding="utf-8")


def _row(app: Any, image_id: str) -> str:
    """The table row of ``image_id`` as a user reads it."""
    return str(table(app).render_line(visible_ids(app).index(image_id) + 1).text)


def _flags(app: Any, image_id: str) -> str:
    """The marks column of a row (mark, E, and the owner-or-rule flag)."""
    return _row(app, image_id)[:4]


def _select(app: Any, image_id: str) -> None:
    table(app).move_to(visible_ids(app).index(image_id))


async def _decided(pilot: Any, main: MainScreen) -> None:
    await wait_for(pilot, lambda: not main.store.deciding and not main._decision_queued)
    await pilot.pause()


async def test_o_names_the_owner_and_every_row_follows_at_once(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    owner = _busiest(cloud)
    theirs = _owned(cloud, owner)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        _select(app, theirs[0])
        await pilot.pause()
        assert all(f" {owner[:8]} " in _row(app, i) for i in theirs)
        await pilot.press("o")
        dialog = await wait_screen(pilot, OwnerScreen)
        assert owner in str(dialog.query_one(".dialog-help", Static).render())
        assert dialog.query_one("#value", Input).value == ""
        await pilot.press(*"Platform team")
        await pilot.click("#trust-trusted")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: app.screen is main)
        await pilot.pause()
        # Saved at once, imshare's own way: 0600 in the config directory.
        path = config_dir / "owners.toml"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert owners_file.load().get(owner) == owners_file.Owner(
            owner, "Platform team", owners_file.Trust.TRUSTED
        )
        # Every row of that owner, without a reload.
        assert not main.store.listing
        for image_id in theirs:
            assert " Platform team " in _row(app, image_id)
        others = [i for i in visible_ids(app) if i not in theirs]
        assert others and all("Platform team" not in _row(app, i) for i in others)
        assert f"Platform team · trusted · {owner}" in detail_text(app)
        # o again: the prompt starts from what was saved; an empty name forgets the owner.
        await pilot.press("o")
        dialog = await wait_screen(pilot, OwnerScreen)
        assert dialog.query_one("#value", Input).value == "Platform team"
        dialog.query_one("#value", Input).value = ""
        await pilot.click("#trust-unknown")
        await pilot.click("#ok")
        await wait_for(pilot, lambda: app.screen is main)
        await pilot.pause()
        assert owners_file.load().get(owner) is None
        assert all(f" {owner[:8]} " in _row(app, i) for i in theirs)


async def test_a_name_with_a_control_character_is_refused_in_the_prompt(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("o")
        dialog = await wait_screen(pilot, OwnerScreen)
        dialog.query_one("#value", Input).value = "evil\x1b[2J"
        await pilot.click("#ok")
        await pilot.pause()
        assert app.screen is dialog
        assert "control or formatting characters" in str(dialog.query_one("#problem").render())
        assert not (config_dir / "owners.toml").exists()


async def test_the_owner_filter_and_sort_use_the_name(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    # The owner whose id sorts last: named "Aardvark", sorting by name puts it first.
    owner = max(cloud.image(i)["owner"] for i in cloud.shared_image_ids("pending"))
    _write(config_dir, "owners.toml", {"owners": {owner: {"name": "Aardvark team"}}})
    theirs = _owned(cloud, owner)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("slash", *"owner:aardvark", "enter")
        await wait_for(pilot, lambda: sorted(visible_ids(app)) == theirs)
        await pilot.press("escape")
        await pilot.press("W")  # sort by owner: by name, the named owner first
        await pilot.pause()
        ids = visible_ids(app)
        assert sorted(ids[: len(theirs)]) == theirs
        rest = [cloud.image(i)["owner"] for i in ids[len(theirs) :]]
        assert rest == sorted(rest)


async def test_blocked_rows_are_flagged_and_accepting_one_asks_twice(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    owner = _busiest(cloud)
    _write(config_dir, "owners.toml", {"owners": {owner: {"name": "Shady", "trust": "blocked"}}})
    theirs = _plain(cloud, _owned(cloud, owner))
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        for image_id in visible_ids(app):
            assert ("B" in _flags(app, image_id)) == (image_id in _owned(cloud, owner))
        target = theirs[0]
        _select(app, target)
        await pilot.pause()
        assert "Owner blocked (owners.toml)" in detail_text(app)
        await pilot.press("a")  # one image, normally no question: here there is one
        dialog = await wait_screen(pilot, ConfirmScreen)
        question = str(dialog.query_one("#question", Static).render())
        assert "blocked owner" in question and "Shady" in question
        assert cloud.image(target)["name"] in question
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen is main)
        await _decided(pilot, main)
        assert cloud.member_status(target) == "pending"
        await pilot.press("a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: cloud.member_status(target) == "accepted")
        await _decided(pilot, main)
        # Rejecting needs no second word about the owner (only the usual question).
        _select(app, theirs[1])
        await pilot.press("r")
        dialog = await wait_screen(pilot, ConfirmScreen)
        assert "blocked" not in str(dialog.query_one("#question", Static).render())
        await pilot.press("n")


async def test_a_bulk_accept_with_a_blocked_owner_names_only_those(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    owner = _busiest(cloud)
    _write(config_dir, "owners.toml", {"owners": {owner: {"trust": "blocked"}}})
    blocked = _plain(cloud, _owned(cloud, owner))[0]
    fine = next(i for i in _plain(cloud, cloud.shared_image_ids("pending"))
                if cloud.image(i)["owner"] != owner)  # fmt: skip
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        for image_id in (blocked, fine):
            _select(app, image_id)
            await pilot.press("space")
        await pilot.press("a")
        dialog = await wait_screen(pilot, ConfirmScreen)
        question = str(dialog.query_one("#question", Static).render())
        assert cloud.image(blocked)["name"] in question and owner in question
        assert cloud.image(fine)["name"] not in question
        await pilot.press("n")  # nothing at all is accepted
        await wait_for(pilot, lambda: app.screen is main)
        await _decided(pilot, main)
        assert cloud.member_status(blocked) == cloud.member_status(fine) == "pending"


def _rules(config_dir: Path, rules: list[dict[str, Any]], **top: Any) -> None:
    _write(config_dir, "rules.toml", {**top, "rules": rules})


async def test_rule_rows_are_flagged_and_x_decides_exactly_those(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    owner = _busiest(cloud)
    _write(config_dir, "owners.toml", {"owners": {owner: {"name": "Platform team"}}})
    _rules(config_dir, [{"name": "platform", "owner": "Platform team", "action": "reject"}])
    planned = _owned(cloud, owner)
    before = {i: cloud.member_status(i) for i in cloud.shared_image_ids()}
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        for image_id in visible_ids(app):
            assert ("R" in _flags(app, image_id)) == (image_id in planned), image_id
        _select(app, planned[0])
        await pilot.pause()
        assert "Rule “platform” would reject it" in detail_text(app)
        await pilot.press("X")
        dialog = await wait_screen(pilot, ConfirmScreen)
        question = str(dialog.query_one("#question", Static).render())
        assert f"Apply the rules to {len(planned)} pending images?" in question
        for image_id in planned:
            assert f"reject {cloud.image(image_id)['name']}  — rule “platform”" in question
        await pilot.press("y")
        await wait_for(pilot, lambda: all(cloud.member_status(i) == "rejected" for i in planned))
        await _decided(pilot, main)
        after = {i: cloud.member_status(i) for i in before}
        assert {i for i in before if after[i] != before[i]} == set(planned)
        assert not any(main.store.rule_of(i) for i in main.store.ids())
    # The journal names the rule as what made each decision.
    journalled = {e.image_id: e for e in entries(Journal().records())}
    assert set(journalled) == set(planned)
    assert {(e.how, e.before, e.after, e.outcome) for e in journalled.values()} == {
        ("rule platform", "pending", "rejected", "done")
    }


async def test_x_over_max_per_run_decides_none_and_names_force(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    _rules(config_dir, [{"name": "all", "image": "*", "action": "reject"}], max_per_run=2)
    before = {i: cloud.member_status(i) for i in cloud.shared_image_ids()}
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("X")
        await pilot.pause()
        assert app.screen is main
        said = [entry.text for entry in app.message_log]
        assert any("more than max_per_run (2)" in s and "--force" in s for s in said)
        assert {i: cloud.member_status(i) for i in before} == before


async def test_read_only_blocks_x_but_allows_o(cloud: Any, make_app: Any, config_dir: Path) -> None:
    _rules(config_dir, [{"name": "all", "image": "*", "action": "reject"}])
    pending = cloud.shared_image_ids("pending")
    app = make_app(cloud, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("X")
        await pilot.pause()
        assert app.screen is main
        assert "read-only" in str(main.query_one("#flash", Static).render())
        assert all(cloud.member_status(i) == "pending" for i in pending)
        await pilot.press("question_mark")  # the help lists o, not X
        help_screen = await wait_screen(pilot, HelpScreen)
        listed = {row.binding_id for row in help_screen.rows if row is not None}
        assert "name_owner" in listed and "apply_rules" not in listed
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is main)
        await pilot.press("o")
        await wait_screen(pilot, OwnerScreen)


async def test_ctrl_r_reads_rules_toml_again(cloud: Any, make_app: Any, config_dir: Path) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        first = visible_ids(app)[0]
        assert "R" not in _flags(app, first)
        name = cloud.image(first)["name"]
        _rules(config_dir, [{"name": "that one", "image": name, "action": "accept"}])
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main.store.rule_of(first) is not None)
        await wait_loaded(pilot)
        assert "R" in _flags(app, first)
        _rules(config_dir, [{"name": "broken", "action": "accept"}])
        await pilot.press("ctrl+r")
        await wait_loaded(pilot)
        assert main.store.rule_of(first) is None
        said = [entry.text for entry in app.message_log]
        assert any("rule #1 ('broken'): has no match term" in s for s in said)


async def test_a_corrupt_owners_file_is_said_and_never_overwritten(
    cloud: Any, make_app: Any, config_dir: Path
) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "owners.toml"
    path.write_text('[owners."abc"\nname = "half', encoding="utf-8")
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert sorted(visible_ids(app)) == sorted(cloud.shared_image_ids("pending"))
        said = [entry.text for entry in app.message_log]
        assert any(str(path) in s and "not valid TOML" in s for s in said)
        await pilot.press("o")
        dialog = await wait_screen(pilot, OwnerScreen)
        dialog.query_one("#value", Input).value = "Platform team"
        await pilot.click("#ok")
        await wait_for(pilot, lambda: app.screen is main)
        await pilot.pause()
        said = [entry.text for entry in app.message_log]
        assert any(s.startswith("Owner not saved") and "not valid TOML" in s for s in said)
        assert path.read_text(encoding="utf-8") == '[owners."abc"\nname = "half'
