"""``P``: switch profile, clouds.yaml cloud or project without leaving the app (k9s ``:ctx``).

Every choice is a complete set of settings with its own cached token, so switching back is
instant while that token lives. Switching project reuses the password in memory, or re-scopes
the current token when there is none (Keystone's token method), so no password is asked.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option
from textual.worker import Worker

from tui.cloud.errors import ApiError
from tui.settings import config_file, sources
from tui.settings.model import ConfigError, Settings

if TYPE_CHECKING:
    from tui.app.app import ImshareApp


@dataclass(frozen=True, slots=True)
class ContextChoice:
    """What the picker chose: settings to switch to and where they came from."""

    settings: Settings
    profile: str
    source: str


class ContextPicker(ModalScreen[ContextChoice | None]):
    """A list of config profiles, clouds.yaml clouds and the user's projects."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="picker_cancel")]

    @property
    def imshare(self) -> ImshareApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker-dialog"):
            yield Label(Text("Switch profile, cloud or project", style="bold"))
            yield OptionList(id="choices")
            yield Static("", id="picker-status", classes="problem")
            yield Static(
                Text("enter switches · escape cancels · each keeps its own token", style="dim")
            )

    def on_mount(self) -> None:
        self._fill(projects=None)
        self.query_one(OptionList).focus()
        self.load_projects()

    def _fill(self, projects: list[tuple[str, str]] | None, problem: str = "") -> None:
        from tui.settings import clouds_yaml

        app = self.imshare
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        current_token = app.session.current_token
        profiles: list[str] = []
        if not app.demo:  # the demo cloud has no config file of its own
            try:
                profiles = config_file.list_profiles(app.config_path)
            except ConfigError as error:
                problem = problem or str(error)
        if profiles:
            heading = Text("Config profiles (config.toml)", style="bold")
            options.add_option(Option(heading, disabled=True))
        for name in profiles:
            mark = "● " if name == app.profile else "  "
            options.add_option(Option(Text(f"{mark}{name}"), id=f"profile:{name}"))
        clouds: list[str] = []
        if not app.demo:
            try:
                clouds = clouds_yaml.list_clouds()
            except ConfigError as error:
                problem = problem or str(error)
        if clouds:
            options.add_option(Option(Text("clouds.yaml", style="bold"), disabled=True))
            for name in clouds:
                current = app.source.endswith(f"cloud {name}") or app.source == name
                mark = "● " if current else "  "
                options.add_option(Option(Text(f"{mark}{name}"), id=f"cloud:{name}"))
        user = current_token.user_name if current_token else app.settings.username
        options.add_option(Option(Text(f"Projects of {user or '?'}", style="bold"), disabled=True))
        if projects is None:
            options.add_option(Option(Text("  loading…", style="dim"), disabled=True))
        elif not projects:
            options.add_option(Option(Text("  (none listed)", style="dim"), disabled=True))
        for project_id, name in projects or []:
            current = current_token is not None and current_token.project_id == project_id
            mark = "● " if current else "  "
            options.add_option(
                Option(Text(f"{mark}{name}  ({project_id[:8]})"), id=f"project:{project_id}")
            )
        if highlighted is not None and highlighted < options.option_count:
            options.highlighted = highlighted
        else:  # start on the current choice, so enter alone is a no-op and arrows are short
            for index in range(options.option_count):
                option = options.get_option_at_index(index)
                if not option.disabled and str(option.prompt).startswith("●"):
                    options.highlighted = index
                    break
        self.query_one("#picker-status", Static).update(Text(problem))

    @work(exclusive=True, group="picker-projects", exit_on_error=False)
    async def load_projects(self) -> None:
        try:
            projects = await self.imshare.session.list_projects()
        except ApiError as error:
            self._fill(projects=[], problem=f"Cannot list projects: {error.summary}")
            return
        self._fill(projects=projects)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        try:
            choice = self._resolve(kind, value)
        except ConfigError as error:
            self.query_one("#picker-status", Static).update(Text(str(error)))
            return
        if choice is not None:
            self.dismiss(choice)

    def _resolve(self, kind: str, value: str) -> ContextChoice | None:
        app = self.imshare
        current = app.settings
        if kind == "project":
            token = app.session.current_token
            settings = replace(current, project_id=value, project_name="")
            if not current.password and not current.uses_token and token is not None:
                # No password in memory: re-scope the token we hold instead of asking for one.
                settings = replace(settings, auth_type="token", token=token.value)
            return ContextChoice(settings, app.profile, f"project {value}")
        if kind not in ("profile", "cloud"):
            return None
        # An explicit switch means exactly that profile or cloud: the OS_* variables of the
        # shell that started the app do not apply to it.
        loaded = sources.load(
            app.config_path,
            environ={},
            profile=value if kind == "profile" else None,
            cloud=value if kind == "cloud" else None,
        )
        settings = loaded.settings
        same_login = (settings.auth_url, settings.username, settings.user_domain_name) == (
            current.auth_url,
            current.username,
            current.user_domain_name,
        )
        if not settings.password and same_login and current.password:
            settings = replace(settings, password=current.password)
        return ContextChoice(settings, loaded.profile, loaded.source or f"{kind} {value}")

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.imshare.report_worker_failure(event.worker)
