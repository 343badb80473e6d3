"""Switching project, auto-refresh, remembered theme, clouds.yaml import, token logins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from app_support import table, wait_for, wait_loaded, wait_screen
from support import cloud_settings
from textual.widgets import Input, OptionList, Select

from tui.app.screens.config import ConfigScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.picker import ContextPicker
from tui.app.screens.prompts import PasswordScreen
from tui.settings import sources

SIZE = (120, 36)


async def test_the_picker_switches_project_and_the_list_follows(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        first_project = app.session.current_token.project_id
        first_total = len(main_ids := {i.id for i in app.screen.store.visible_all()})
        assert first_total == len(cloud.shared_image_ids())
        await pilot.press("P")
        picker = await wait_screen(pilot, ContextPicker)
        options = picker.query_one(OptionList)
        await wait_for(
            pilot,
            lambda: any(
                (options.get_option_at_index(i).id or "").startswith("project:")
                for i in range(options.option_count)
            ),
            what="the project list",
        )
        ids = [options.get_option_at_index(i).id or "" for i in range(options.option_count)]
        staging = next(
            index
            for index, option_id in enumerate(ids)
            if option_id.startswith("project:") and option_id != f"project:{first_project}"
        )
        options.highlighted = staging
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await wait_for(
            pilot,
            lambda: (
                app.session.current_token is not None
                and app.session.current_token.project_id != first_project
                and main.store.loaded_once
                and not main.store.listing
            ),
            what="the other project's listing",
        )
        assert app.session.current_token.project_name == "eu-de_demo_staging"
        said = [entry.text for entry in app.message_log]
        assert "Switched to project eu-de_demo_staging" in said  # by name, not by id
        second = {i.id for i in main.store.visible_all()}
        assert second and second != main_ids
        # Decisions now go to the other project's member record.
        assert app.session.current_token.project_id != cloud.project_id
        image_id = next(iter(second))
        assert await app.session.get_member(image_id) is not None
        assert (await app.session.get_member(image_id)).member_id != cloud.project_id


async def test_auto_refresh_announces_new_shares(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    app.refresh_seconds = 0.3  # the option's minimum is 5 s; the test need not wait that long
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await wait_loaded(pilot)
        template = cloud.image(cloud.shared_image_ids("pending")[0])
        doc = dict(template, id="11111111-2222-4333-8444-555555555555", name="Fresh_share_1")
        new_id = cloud.add_image(doc, {cloud.project_id: "pending"})
        await wait_for(pilot, lambda: main.store.get(new_id) is not None, what="the new share")
        await wait_for(
            pilot,
            lambda: any("new image is shared" in (n.title or "") for n in app._notifications),
            what="the toast",
        )
        toast = next(n for n in app._notifications if "new image" in (n.title or ""))
        assert "Fresh_share_1" in toast.message
        assert new_id in {image.id for image in table(app).rows}

        # The context bar says that auto-refresh is on and when it last ran (between two
        # refreshes: while one runs, the bar shows that instead).
        def says_auto_refresh() -> bool:
            bar = str(main.query_one("#context").render())
            return "auto-refresh 0.3s, last " in bar and " UTC" in bar

        await wait_for(pilot, says_auto_refresh, what="the auto-refresh line")


async def test_a_theme_picked_in_the_app_is_remembered(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        app.theme = "ansi-dark"
        await pilot.pause()
    assert app.config_path is not None
    loaded = sources.load(app.config_path, environ={})
    assert loaded.ui.get("theme") == "ansi-dark"
    assert app.config_path.stat().st_mode & 0o777 == 0o600


async def test_config_screen_imports_a_cloud_from_clouds_yaml(
    cloud: Any, make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n"
        "  work:\n"
        "    profile: otc\n"
        "    region_name: eu-nl\n"
        "    auth:\n"
        "      username: alice\n"
        "      project_name: eu-nl_apps\n"
        "      user_domain_name: OTC00000000001000000123\n"
    )
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        screen.query_one("#import_cloud", Select).value = "work"
        await pilot.pause()
        assert (
            screen.query_one("#auth_url", Input).value == "https://iam.eu-nl.otc.t-systems.com/v3"
        )
        assert screen.query_one("#username", Input).value == "alice"
        assert screen.query_one("#project_name", Input).value == "eu-nl_apps"


async def test_a_refused_token_login_is_reported_without_a_password_prompt(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud, auth_type="token", token="not-a-valid-token", password="")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = app.screen
        await wait_for(pilot, lambda: main.store.load_error is not None and not main.store.listing)
        assert not isinstance(app.screen, PasswordScreen)
        shown = table(app).empty_text
        assert "Could not find token" in shown and "log in again" in shown
        assert "not-a-valid-token" not in shown  # Keystone quotes it; we never show it


async def test_keys_are_remapped_by_binding_id_from_the_config(cloud: Any, tmp_path: Path) -> None:
    from tui.app.app import ImshareApp
    from tui.cloud.token_cache import TokenCache

    app = ImshareApp(
        cloud_settings(cloud),
        cache=TokenCache(tmp_path / "tokens.json"),
        config_path=tmp_path / "config.toml",
        ui_prefs={"keymap": {"refresh": "x", "quit": "Q"}},
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        before = cloud.stats.image_requests
        await pilot.press("x")
        await wait_for(pilot, lambda: cloud.stats.image_requests > before, what="a reload")
        await pilot.press("q")  # no longer bound: quit moved to Q
        await pilot.pause()
        assert app.is_running
        await pilot.press("Q")
        await wait_for(pilot, lambda: not app.is_running, what="quit on Q")


async def test_tab_reads_the_details_and_escape_goes_back(cloud: Any, make_app: Any) -> None:
    """(enter opens the describe view now: tests/app/test_app_describe.py.)"""
    from tui.app.widgets.detail_pane import DetailPane
    from tui.app.widgets.image_table import ImageTable

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("tab")
        assert main.query_one(DetailPane).has_focus
        await pilot.press("escape")
        assert main.query_one(ImageTable).has_focus


async def test_choosing_the_current_project_says_so_and_changes_nothing(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        session = app.session
        await pilot.press("P")
        picker = await wait_screen(pilot, ContextPicker)
        options = picker.query_one(OptionList)
        current = f"project:{session.current_token.project_id}"
        await wait_for(
            pilot,
            lambda: any(
                options.get_option_at_index(i).id == current for i in range(options.option_count)
            ),
            what="the project list",
        )
        assert options.get_option_at_index(options.highlighted).id == current  # opens on it
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(
            pilot,
            lambda: any("Already on project eu-de_demo" in e.text for e in app.message_log),
            what="the answer",
        )
        assert app.session is session  # nothing was switched


async def test_no_color_with_an_ansi_theme_keeps_the_terminals_own_colours(
    cloud: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """NO_COLOR and --theme ansi-dark: text in the terminal's default colours, never black
    on black (Textual's Monochrome filter is for truecolor themes)."""
    from textual.filter import Monochrome, NoColor

    from tui.app.app import ImshareApp
    from tui.cloud.token_cache import TokenCache

    monkeypatch.setenv("NO_COLOR", "1")
    app = ImshareApp(
        cloud_settings(cloud), cache=TokenCache(tmp_path / "t.json"), theme="ansi-dark",
    )  # fmt: skip
    assert [type(f) for f in app._filters if isinstance(f, NoColor | Monochrome)] == [NoColor]
    app.theme = "textual-dark"
    assert [type(f) for f in app._filters if isinstance(f, NoColor | Monochrome)] == [Monochrome]
