"""The config screen: where a new user gets from nothing to a working login.

Fields are checked as they are typed; "Test connection" logs in without saving; "Save" returns
the settings to the app, which writes them (TOML, mode 0600; the password only when "remember
password" is on) and switches to them. The screen shows what it is given and reads nothing
itself: the clouds of clouds.yaml, a way to import one, and a way to test a login come in
through its constructor.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Input, Label, Select, Static, Switch

from tui.app.messages import ReportsWorkerFailures
from tui.app.widgets.footer import Footer
from tui.cloud.errors import ApiError
from tui.cloud.models import Token
from tui.formatting import countdown, safe_text, time_text
from tui.settings.model import (
    REGION_PRESETS,
    ConfigError,
    Settings,
    check_url,
    sends_password_in_clear,
)

_PRESETS = [
    ("OTC eu-de (Germany)", "eu-de"),
    ("OTC eu-nl (Netherlands)", "eu-nl"),
    ("OTC eu-ch2 (Switzerland)", "eu-ch2"),
    ("Custom / other OpenStack", "custom"),
]

# (field id, label, placeholder, password)
_TEXT_FIELDS: tuple[tuple[str, str, str, bool], ...] = (
    ("auth_url", "Auth URL", "https://iam.eu-de.otc.t-systems.com/v3", False),
    ("region", "Region", "eu-de", False),
    ("ims_endpoint", "IMS endpoint", "blank: from the service catalog", False),
    ("user_domain_name", "User domain", "OTC00000000001000000xxx", False),
    ("username", "User name", "", False),
    ("password", "Password", "", True),
    ("project_name", "Project name", "eu-de_myproject", False),
    ("project_id", "or project id", "", False),
    ("cacert", "CA bundle", "optional path to a PEM file", False),
)


def field_problem(name: str, value: str) -> str:
    """What is wrong with one field's value, checked as the user types."""
    value = value.strip()
    if name == "auth_url":
        if not value:
            return "required"
        problem = check_url(value)
        if problem:
            return problem
        if sends_password_in_clear(value):
            return "plain http:// to a remote host would send the password unencrypted"
        return ""
    if name == "ims_endpoint" and value:
        return check_url(value)
    if name in ("user_domain_name", "username") and not value:
        return "required"
    if name == "cacert" and value and not os.path.isfile(os.path.expanduser(value)):
        return "no such file"
    return ""


def _on_off(value: bool) -> str:
    """A switch's state in words: without colour (NO_COLOR) the knob alone says little."""
    return " on" if value else " off"


class ConfigScreen(ReportsWorkerFailures, Screen[Settings | None]):
    """Edit and test the connection settings; dismissed with the settings to save, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Back", id="config_cancel"),
        Binding("f2", "save", "Save", id="config_save"),
        Binding("f3", "test", "Test connection", id="config_test"),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        test_login: Callable[[Settings], Awaitable[Token]],
        clouds: Sequence[str] = (),
        import_cloud: Callable[[str], Settings] | None = None,
        environment: Sequence[str] = (),
        first_run: bool = False,
        status: str = "",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.first_run = first_run
        self._test_login = test_login
        self._clouds = list(clouds)
        self._import = import_cloud
        self._environment = [name for name in environment if name != "OS_PASSWORD"]
        self._initial_status = status
        self._preset_shown = ""

    def compose(self) -> ComposeResult:
        settings = self.settings
        with VerticalScroll(id="config-form"):
            title = "Welcome to imshare — connect to your cloud" if self.first_run else "Config"
            yield Label(Text(title, style="bold"), id="config-title")
            env = sorted(self._environment)
            if env:
                yield Static(
                    Text(
                        "Note: OS_* variables are set (" + ", ".join(env) + "); they override "
                        "the saved file at the next start.",
                        style="dim",
                    ),
                    classes="config-note",
                )
            clouds = self._clouds
            if clouds and self._import is not None:
                with Horizontal(classes="config-row"):
                    yield Label("clouds.yaml", classes="config-label")
                    yield Select(
                        [(name, name) for name in clouds],
                        prompt="import a cloud from clouds.yaml…",
                        id="import_cloud",
                    )
            self._preset_shown = settings.preset if settings.preset in REGION_PRESETS else "custom"
            with Horizontal(classes="config-row"):
                yield Label("Region preset", classes="config-label")
                yield Select(
                    _PRESETS,
                    value=self._preset_shown,
                    allow_blank=False,
                    id="preset",
                )
            for name, label, placeholder, password in _TEXT_FIELDS:
                with Horizontal(classes="config-row"):
                    yield Label(label, classes="config-label")
                    yield Input(
                        value=getattr(settings, name),
                        placeholder=placeholder,
                        password=password,
                        id=name,
                    )
                yield Label("", id=f"{name}-problem", classes="problem")
            with Horizontal(classes="config-row"):
                yield Label("Verify TLS", classes="config-label")
                yield Switch(value=settings.verify, id="verify")
                yield Label(_on_off(settings.verify), id="verify-state", classes="config-state")
            with Horizontal(classes="config-row"):
                yield Label("Remember pw", classes="config-label")
                yield Switch(value=settings.remember_password, id="remember_password")
                yield Label(
                    _on_off(settings.remember_password),
                    id="remember_password-state",
                    classes="config-state",
                )
                yield Label(" store the password in config.toml (0600)", classes="config-hint")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Test (F3)", id="test")
                yield Button("Save (F2)", id="save", variant="primary")
                yield Button("Back (esc)", id="cancel")
            yield Static(Text(self._initial_status, style="bold"), id="config-status")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        for name, *_ in _TEXT_FIELDS:
            self._check(name, quiet_required=True)
        first_empty = next(
            (n for n, *_ in _TEXT_FIELDS if not self.query_one(f"#{n}", Input).value), "auth_url"
        )
        self.query_one(f"#{first_empty}", Input).focus()

    # ------------------------------------------------------------ the form

    def _check(self, name: str, *, quiet_required: bool = False) -> str:
        value = self.query_one(f"#{name}", Input).value
        problem = field_problem(name, value)
        if quiet_required and problem == "required":
            problem = ""  # a new user has not typed yet: no red wall on first sight
        label = self.query_one(f"#{name}-problem", Label)
        label.update(Text(f"↳ {problem}" if problem else ""))
        label.display = bool(problem)
        self.query_one(f"#{name}", Input).set_class(bool(problem), "-invalid")
        return problem

    @on(Switch.Changed)
    def _switched(self, event: Switch.Changed) -> None:
        if event.switch.id:
            self.query_one(f"#{event.switch.id}-state", Label).update(_on_off(event.value))

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self._check(event.input.id)

    @on(Select.Changed, "#import_cloud")
    def _import_cloud(self, event: Select.Changed) -> None:
        if event.value is Select.NULL or self._import is None:
            return
        try:
            imported = self._import(str(event.value))
        except ConfigError as error:
            self._status(Text(f"Cannot import: {error}", style="bold"))
            return
        for name, *_ in _TEXT_FIELDS:
            value = getattr(imported, name)
            if value or name != "password":
                self.query_one(f"#{name}", Input).value = value
        self.query_one("#verify", Switch).value = imported.verify
        self._status(Text(f"Imported cloud {event.value}; check the fields, then Test or Save."))

    @on(Select.Changed, "#preset")
    def _preset(self, event: Select.Changed) -> None:
        # Select announces its initial value on mount: only a real change fills the fields,
        # or a saved custom auth URL (a proxy, say) would be replaced by the preset's.
        if str(event.value) == self._preset_shown:
            return
        self._preset_shown = str(event.value)
        preset = REGION_PRESETS.get(str(event.value))
        if preset is None:
            return
        self.query_one("#auth_url", Input).value = preset["auth_url"]
        self.query_one("#region", Input).value = preset["region"]
        project = self.query_one("#project_name", Input)
        if not project.value:
            project.value = preset["region"]

    def form_settings(self) -> Settings:
        """The settings as currently typed (not yet saved)."""
        values: dict[str, object] = {
            name: self.query_one(f"#{name}", Input).value.strip() for name, *_ in _TEXT_FIELDS
        }
        values["verify"] = self.query_one("#verify", Switch).value
        values["remember_password"] = self.query_one("#remember_password", Switch).value
        preset = self.query_one("#preset", Select).value
        values["preset"] = preset if isinstance(preset, str) else "custom"
        return replace(self.settings, **values)  # type: ignore[arg-type]

    def _status(self, text: Text) -> None:
        self.query_one("#config-status", Static).update(text)

    def _form_problems(self) -> list[str]:
        problems = [
            f"{label}: {problem}"
            for name, label, *_ in _TEXT_FIELDS
            if (problem := self._check(name))
        ]
        return problems or self.form_settings().problems()

    # ------------------------------------------------------------- actions

    @on(Button.Pressed, "#test")
    def action_test(self) -> None:
        self.test_connection(self.form_settings())

    @work(exclusive=True, group="config-test", exit_on_error=False, description="Testing")
    async def test_connection(self, settings: Settings) -> None:
        problems = settings.problems()
        if problems:
            self._status(Text("Cannot test yet: " + "; ".join(problems), style="bold"))
            return
        if not settings.password:
            self._status(Text("Enter the password to test the connection.", style="bold"))
            return
        self._status(Text("Testing… logging in", style="italic"))
        try:
            token = await self._test_login(settings)
        except ApiError as error:
            self._status(Text(f"✗ {safe_text(error.summary)}", style="bold"))
            return
        # Every name here is Keystone's answer (cloud text), shown safely.
        project, project_id = safe_text(token.project_name), safe_text(token.project_id)
        text = Text("✓ Connected. ", style="bold")
        text.append(f"Project {project} (id {project_id}), user {safe_text(token.user_name)}")
        text.append(f"; token valid until {time_text(token.expires_at)}")
        endpoint = safe_text(token.image_endpoint)
        text.append(f" ({countdown(token.seconds_left())}); image endpoint {endpoint}")
        self._status(text)

    @on(Button.Pressed, "#save")
    def action_save(self) -> None:
        problems = self._form_problems()
        if problems:
            self._status(Text("Not saved: " + "; ".join(problems), style="bold"))
            return
        self.dismiss(self.form_settings())

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
