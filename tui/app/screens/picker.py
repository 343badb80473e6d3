"""``P``: switch profile, clouds.yaml cloud or project without leaving the app (k9s ``:ctx``).

The picker shows what it is given and returns what the user chose (``PickerChoice``); the app
turns that into settings and a session. Every choice keeps its own cached token, so switching
back is instant while that token lives. Project names and ids come from Keystone, and pass
``safe_text`` like any cloud text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from tui.app.messages import ReportsWorkerFailures
from tui.cloud.errors import ApiError
from tui.formatting import safe_text


@dataclass(frozen=True, slots=True)
class PickerChoice:
    """What the user picked: ``kind`` is "profile", "cloud" or "project"; ``value`` its name/id,
    ``label`` how it was shown (a project's name)."""

    kind: str
    value: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class PickerContext:
    """What the picker shows: the choices, which one is current, and a problem to mention."""

    profiles: Sequence[str]
    clouds: Sequence[str]
    current_profile: str
    current_cloud: str
    current_project_id: str
    user: str
    problem: str = ""
    #: Every project of the user is shown at once (the inbox).
    all_projects: bool = False


class ContextPicker(ReportsWorkerFailures, ModalScreen[PickerChoice | None]):
    """A list of config profiles, clouds.yaml clouds and the user's projects."""

    BINDINGS = [Binding("escape,q", "cancel", "Cancel", id="picker_cancel")]

    def __init__(
        self,
        context: PickerContext,
        list_projects: Callable[[], Awaitable[list[tuple[str, str]]]],
    ) -> None:
        super().__init__()
        self.context = context
        self._list_projects = list_projects
        self._names: dict[str, str] = {}
        self._placed: int | None = None  # where the picker put the highlight itself

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
        context = self.context
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        if context.profiles:
            heading = Text("Config profiles (config.toml)", style="bold")
            options.add_option(Option(heading, disabled=True))
        for name in context.profiles:
            mark = "● " if name == context.current_profile else "  "
            options.add_option(Option(Text(f"{mark}{name}"), id=f"profile:{name}"))
        if context.clouds:
            options.add_option(Option(Text("clouds.yaml", style="bold"), disabled=True))
            for name in context.clouds:
                mark = "● " if name == context.current_cloud else "  "
                options.add_option(Option(Text(f"{mark}{name}"), id=f"cloud:{name}"))
        heading = Text(f"Projects of {safe_text(context.user) or '?'}", style="bold")
        options.add_option(Option(heading, disabled=True))
        mark = "● " if context.all_projects else "  "
        options.add_option(
            Option(Text(f"{mark}All projects (every project you can reach)"), id="scope:all")
        )
        if projects is None:
            options.add_option(Option(Text("  loading…", style="dim"), disabled=True))
        elif not projects:
            options.add_option(Option(Text("  (none listed)", style="dim"), disabled=True))
        for project_id, name in projects or []:
            self._names[project_id] = name
            mark = "● " if project_id == context.current_project_id else "  "
            label = f"{mark}{safe_text(name)}  ({safe_text(project_id[:8])})"
            options.add_option(Option(Text(label), id=f"project:{project_id}"))
        if (
            highlighted is not None
            and highlighted != self._placed
            and highlighted < len(options.options)
        ):
            options.highlighted = highlighted  # the user moved: stay where they are
        else:
            # Start on the current choice — the current project once the list is in — so
            # enter alone is a no-op and the arrows have little way to go.
            current = [
                index
                for index in range(options.option_count)
                if not options.get_option_at_index(index).disabled
                and str(options.get_option_at_index(index).prompt).startswith("●")
            ]
            if current:
                options.highlighted = current[-1]
            self._placed = options.highlighted
        status = safe_text(problem or context.problem, multiline=True)
        self.query_one("#picker-status", Static).update(Text(status))

    @work(exclusive=True, group="picker-projects", exit_on_error=False)
    async def load_projects(self) -> None:
        try:
            projects = await self._list_projects()
        except ApiError as error:
            self._fill(projects=[], problem=f"Cannot list projects: {error.summary}")
            return
        self._fill(projects=projects)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        kind, _, value = (event.option.id or "").partition(":")
        if kind in ("profile", "cloud", "project", "scope"):
            self.dismiss(PickerChoice(kind, value, self._names.get(value, value)))

    def action_cancel(self) -> None:
        self.dismiss(None)
