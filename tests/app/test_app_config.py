"""The config screen, the password prompt, a wrong password and read-only mode."""

from __future__ import annotations

import stat
import tomllib
from typing import Any

from app_support import (
    current_view,
    footer_keys,
    main_screen,
    tab_counts,
    table,
    visible_ids,
    wait_for,
    wait_loaded,
    wait_screen,
)
from support import OfflineTransport, example_settings
from textual.widgets import Input, Label, Select, Static, Switch

from tui.app.screens.config import ConfigScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import PasswordScreen

SIZE = (120, 36)


def _status(screen: ConfigScreen) -> str:
    return str(screen.query_one("#config-status", Static).render())


def _problem(screen: ConfigScreen, name: str) -> str:
    label = screen.query_one(f"#{name}-problem", Label)
    return str(label.render()) if label.display else ""


async def _retype(
    pilot: Any, screen: ConfigScreen, name: str, text: str, *, keys: bool = False
) -> None:
    """Replace a field's text: key by key, or at once (Input.Changed fires either way)."""
    field = screen.query_one(f"#{name}", Input)
    field.focus()
    field.value = ""
    await pilot.pause()
    if keys:
        await pilot.press(*text)
    else:
        field.value = text
    await pilot.pause()


async def test_c_opens_config_with_the_current_settings(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        assert screen.query_one("#auth_url", Input).value == cloud.credentials["OS_AUTH_URL"]
        assert screen.query_one("#username", Input).value == "demo"
        assert screen.query_one("#password", Input).password  # masked
        assert not screen.query_one("#remember_password", Switch).value  # off by default
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))


async def test_fields_are_validated_as_typed(cloud: Any, make_app: Any, tmp_path: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        assert _problem(screen, "auth_url") == ""
        await _retype(pilot, screen, "auth_url", "iam.exa", keys=True)
        assert _problem(screen, "auth_url").startswith("↳ ")
        assert screen.query_one("#auth_url", Input).has_class("-invalid")
        await _retype(pilot, screen, "auth_url", "http://iam.example.com/v3")
        assert "unencrypted" in _problem(screen, "auth_url")
        await _retype(pilot, screen, "auth_url", "https://iam.example.com/v3")
        assert _problem(screen, "auth_url") == ""
        assert not screen.query_one("#auth_url", Input).has_class("-invalid")
        await _retype(pilot, screen, "username", "")
        assert "required" in _problem(screen, "username")
        await _retype(pilot, screen, "cacert", str(tmp_path / "missing.pem"))
        assert "no such file" in _problem(screen, "cacert")
        # Save refuses while something is wrong, and says what.
        await pilot.press("f2")
        await pilot.pause()
        assert isinstance(app.screen, ConfigScreen)
        assert "Not saved" in _status(screen)
        assert not app.config_path.exists()


async def test_test_connection_shows_the_project_id(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        await pilot.press("f3")
        await wait_for(pilot, lambda: "Connected" in _status(screen), what="the test result")
        assert cloud.project_id in _status(screen)
        # Wrong password: the error, and nothing saved or switched.
        await _retype(pilot, screen, "password", "wrong-password")
        await pilot.click("#test")
        await wait_for(pilot, lambda: "✗" in _status(screen), what="the failed test")
        assert "401" in _status(screen)
        assert "wrong-password" not in _status(screen)
        assert not app.config_path.exists()
        assert app.settings.password == "demo-password"


async def test_save_writes_toml_0600_without_the_password(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        count = tab_counts(app)["All"]
        requests = cloud.stats.image_requests
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="the main screen")
        path = app.config_path
        assert path.exists()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        text = path.read_text()
        assert "demo-password" not in text
        data = tomllib.loads(text)
        assert "password" not in str(data)
        assert "demo" in str(data)
        # The main screen reloaded from the cloud with the new settings.
        await wait_for(pilot, lambda: cloud.stats.image_requests > requests + 2)
        await wait_loaded(pilot)
        assert tab_counts(app)["All"] == count
        assert screen is not app.screen


async def test_save_with_remember_password_stores_it(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        screen.query_one("#remember_password", Switch).value = True
        await pilot.click("#save")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert stat.S_IMODE(app.config_path.stat().st_mode) == 0o600
        assert "demo-password" in app.config_path.read_text()


async def test_first_run_opens_the_config_screen_without_any_request(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(settings=example_settings(username="", password=""))
    async with app.run_test(size=SIZE) as pilot:
        screen = await wait_screen(pilot, ConfigScreen)
        assert screen.first_run
        assert "Welcome" in str(screen.query_one("#config-title", Label).render())
        assert cloud.stats.token_requests == 0


async def test_password_prompt_when_no_password_and_no_cached_token(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud, password="")
    async with app.run_test(size=SIZE) as pilot:
        prompt = await wait_screen(pilot, PasswordScreen)
        assert cloud.stats.token_requests == 0
        field = prompt.query_one("#value", Input)
        assert field.password and field.has_focus
        await pilot.press(*"demo-password", "enter")
        await wait_loaded(pilot)
        assert isinstance(app.screen, MainScreen)
        assert set(visible_ids(app)) == set(cloud.shared_image_ids("pending"))
        assert len(table(app).rows) > 0
        assert cloud.stats.token_requests == 1


async def test_a_cached_token_needs_no_password(cloud: Any, make_app: Any, tmp_path: Any) -> None:
    cache = tmp_path / "shared-tokens.json"
    first = make_app(cloud, cache_path=cache)
    async with first.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
    second = make_app(cloud, cache_path=cache, password="")
    async with second.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert not isinstance(second.screen, PasswordScreen)
        assert cloud.stats.token_requests == 1
        assert len(table(second).rows) > 0


async def test_a_wrong_password_at_start_shows_the_error_and_keeps_running(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud, password="wrong-password")
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        main = main_screen(app)
        await wait_for(pilot, lambda: main.store.load_error is not None and not main.store.listing)
        await pilot.pause()
        grid = table(app)
        assert grid.empty_text.startswith("Could not load shares: login failed: 401")
        shown = str(grid.render_line(2).text)
        assert "Could not load shares" in shown  # never an empty-looking list
        assert "wrong-password" not in shown
        # The whole message, hint included, wraps in the line above the table.
        notice = str(app.screen.query_one("#notice").render())
        assert "Check the user name, password, user domain and project" in notice
        assert "ctrl+r" in notice
        await pilot.press("j", "2", "1")
        assert app.is_running
        assert "Could not load shares" in table(app).empty_text


async def test_read_only_hides_and_blocks_decisions(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud, read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        keys = footer_keys(app)
        descriptions = set(keys.values())
        assert "Filter" in descriptions and "Refresh" in descriptions
        assert not {"Accept", "Reject", "Pending"} & descriptions
        assert "READ-ONLY" in str(main.query_one("#context").render())
        image_id = table(app).current.id
        await pilot.press("space", "space")  # marks are allowed: two rows marked
        assert len(main.store.marked) == 2
        # Keys are handled in order: once "2" has switched the view, a / r / p were handled.
        await pilot.press("a", "r", "p", "2")
        await wait_for(pilot, lambda: current_view(app) == "Accepted", what="the view switch")
        assert isinstance(app.screen, MainScreen)  # no confirmation, no vault dialog
        flash = main.query_one("#flash", Static)
        assert flash.display and "read-only: decisions are off" in str(flash.render())
        assert not [k for k in cloud.stats.requests if k[0] == "PUT"]
        assert cloud.member_status(image_id) == "pending"
        assert len(main.store.marked) == 2  # nothing was decided, so the marks stay
        await pilot.press("question_mark")
        help_screen = await wait_screen(pilot, HelpScreen)
        notes = "".join(str(s.render()) for s in help_screen.query(Static))
        assert "Read-only mode" in notes
        ids = {row.binding_id for row in help_screen.rows if row}
        assert "refresh" in ids and "mark" in ids
        assert not {"accept", "reject", "pending"} & ids


async def test_footer_shows_decision_keys_when_not_read_only(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        descriptions = set(footer_keys(app).values())
        assert {"Accept", "Reject", "Pending"} <= descriptions


async def test_a_failed_login_after_saving_settings_is_shown_in_the_table(
    cloud: Any, make_app: Any
) -> None:
    """After Save, a listing that fails must show as a failure, not as an empty list."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        # Another user name: no cached token for it, so the new settings must log in (and fail).
        screen.query_one("#username", Input).value = "nobody"
        await pilot.press("f2")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: main.store.load_error is not None and not main.store.listing)
        await pilot.pause()
        assert "Could not load shares" in table(app).empty_text
        assert "401" in table(app).empty_text
        assert "Could not load shares" in str(table(app).render_line(2).text)


async def test_a_mistyped_password_at_the_prompt_is_asked_again(cloud: Any, make_app: Any) -> None:
    """A 401 with a password from the prompt asks again, saying why; it does not stick."""
    app = make_app(cloud, password="")
    async with app.run_test(size=SIZE) as pilot:
        first = await wait_screen(pilot, PasswordScreen)
        await pilot.press(*"typo", "enter")
        await wait_for(
            pilot, lambda: app.screen is not first and isinstance(app.screen, PasswordScreen)
        )
        again = app.screen
        assert "401" in str(again.query_one(".dialog-help", Static).render())
        assert cloud.stats.token_requests == 1
        await pilot.press(*"demo-password", "enter")
        await wait_loaded(pilot)
        assert len(table(app).rows) == len(cloud.shared_image_ids("pending"))
        assert "typo" not in app.settings.password


async def test_opening_config_keeps_a_saved_auth_url_that_differs_from_the_preset(
    make_app: Any,
) -> None:
    """The preset only fills the fields when the user changes it, not when the screen opens."""
    settings = example_settings(auth_url="https://iam-proxy.example.com/v3", region="eu-de-1")
    app = make_app(settings=settings, transport=OfflineTransport())
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        await pilot.pause(0.2)
        assert screen.query_one("#auth_url", Input).value == "https://iam-proxy.example.com/v3"
        assert screen.query_one("#region", Input).value == "eu-de-1"
        # Choosing a preset still fills them in.
        screen.query_one("#preset", Select).value = "eu-nl"
        await pilot.pause()
        assert (
            screen.query_one("#auth_url", Input).value == "https://iam.eu-nl.otc.t-systems.com/v3"
        )
        assert screen.query_one("#region", Input).value == "eu-nl"


async def test_switches_say_on_or_off_in_words(cloud: Any, make_app: Any) -> None:
    """Under NO_COLOR a switch's knob says little: its state is written next to it."""
    from textual.widgets import Switch

    app = make_app(settings=example_settings(), transport=OfflineTransport())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        screen = await wait_screen(pilot, ConfigScreen)
        state = screen.query_one("#verify-state", Label)
        assert str(state.render()).strip() == "on"
        screen.query_one("#verify", Switch).toggle()
        await pilot.pause()
        assert str(state.render()).strip() == "off"
