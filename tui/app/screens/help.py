"""``?``: every key of the app in one place, including those the footer has no room for."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

_MOVES = (
    ("j / ↓", "Next image"),
    ("k / ↑", "Previous image"),
    ("g / home", "First image"),
    ("G / end", "Last image"),
    ("pgup / pgdn", "Page up / down"),
    ("tab", "Switch focus between table and details"),
    ("click header", "Sort by that column"),
)


def _keys(binding: Binding, keymap: dict[str, str]) -> str:
    keys = keymap.get(binding.id or "", binding.key)
    if binding.key_display and binding.id not in keymap:
        return binding.key_display
    shown = []
    for key in keys.split(","):
        key = key.strip()
        shown.append({"question_mark": "?", "slash": "/", "asterisk": "*"}.get(key, key))
    return " / ".join(shown)


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys, built from the live bindings so it never goes stale."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help_close")]

    def compose(self) -> ComposeResult:
        from tui.app.app import ImshareApp
        from tui.app.screens.main import MainScreen

        app = self.app
        keymap = {}
        read_only = False
        if isinstance(app, ImshareApp):
            prefs = app.ui_prefs.get("keymap")
            keymap = {str(k): str(v) for k, v in prefs.items()} if isinstance(prefs, dict) else {}
            read_only = app.read_only
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(style="dim", no_wrap=True)
        for keys, description in _MOVES:
            table.add_row(keys, description, "")
        table.add_row("", "", "")
        for binding in MainScreen.BINDINGS:
            assert isinstance(binding, Binding)
            if read_only and binding.id in ("accept", "reject", "pending"):
                continue
            table.add_row(_keys(binding, keymap), _describe(binding), binding.id or "")
        for binding in ImshareApp.BINDINGS:
            assert isinstance(binding, Binding)
            table.add_row(_keys(binding, keymap), binding.description, binding.id or "")
        with Vertical(classes="dialog help-dialog"):
            yield Label(Text("imshare keys  (escape closes)", style="bold"))
            with VerticalScroll(classes="dialog-body"):
                yield Static(table)
            note = "Read-only mode: accept, reject and pending are disabled." if read_only else ""
            note += (
                "\nWith marked images, a / r / p act on all of them; otherwise on the "
                "highlighted one. Remap a key by its id (right column) in config.toml, e.g. "
                '[ui.keymap] accept = "a,A".'
            )
            yield Static(Text(note.strip(), style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


_DESCRIPTIONS = {
    "accept": "Accept the marked images, or the highlighted one",
    "reject": "Reject (asks first)",
    "pending": "Reset to pending",
    "mark": "Mark / unmark and move down",
    "mark_all": "Mark every visible image",
    "clear_marks": "Clear all marks",
    "filter": "Filter by name, id, owner or OS",
    "clear_filter": "Clear the filter (in the details: back to the table)",
    "details": "Read the details (arrows scroll them); again or escape: back",
    "refresh": "Reload from the cloud",
    "copy_id": "Copy the image id to the clipboard",
    "config": "Open the config screen",
    "switch_context": "Switch config profile, clouds.yaml cloud or project",
    "quit": "Quit",
}


def _describe(binding: Binding) -> str:
    return _DESCRIPTIONS.get(binding.id or "", binding.description)
