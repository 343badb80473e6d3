"""The context bar says INSECURE while TLS certificates are not checked, and only then."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from app_support import wait_for, wait_loaded, wait_screen
from support import cloud_settings
from textual.widgets import OptionList

from tui.app.screens.main import MainScreen
from tui.app.screens.picker import ContextPicker
from tui.settings import config_file

SIZE = (120, 36)


def bar_text(app: Any) -> str:
    main = next(s for s in app.screen_stack if isinstance(s, MainScreen))
    return str(main.query_one("#context").render())


async def test_insecure_marker_follows_the_settings_in_use(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud, verify=False, read_only=True)
    assert app.config_path is not None
    config_file.save(replace(cloud_settings(cloud), remember_password=True), app.config_path)
    config_file.save(
        replace(cloud_settings(cloud), remember_password=True), app.config_path, profile="safe"
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        shown = bar_text(app)
        assert "READ-ONLY │ INSECURE │ " in shown
        await pilot.press("P")
        picker = await wait_screen(pilot, ContextPicker)
        options = picker.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("profile:safe")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.profile == "safe", what="the switch to 'safe'")
        await wait_for(pilot, lambda: "INSECURE" not in bar_text(app), what="the marker to go")
        assert "READ-ONLY" in bar_text(app)


async def test_no_marker_when_certificates_are_checked(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert app.settings.verify is True
        assert "INSECURE" not in bar_text(app)
