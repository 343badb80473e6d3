"""``?``: every key of the screen underneath, including those the footer has no room for.

Built from that screen's active bindings (its focused widget's, its own and the app's), as
Textual's own key panel does: the keys as the user's key map set them (``get_key_display``), the
longer ``Binding.tooltip`` (or the short description when there is none), and the binding id
for remapping. A key the screen's ``check_action`` hides (decisions in read-only mode) is not
listed, so there is no second copy of that rule here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import ActiveBinding, Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static

from tui.app.keys import REJECT_NOTE

_NOTE = (
    "tab moves between the table and the details; click a column header to sort by it. "
    "With marked images, a / r / p act on all of them; otherwise on the highlighted one. "
    "Remap a key by its id (right column) in config.toml, e.g. "
    '[ui.keymap] accept = "a,A". '
    "Every decision is kept in the journal (imshare history); z sets your last one back. "
    + REJECT_NOTE
)


class HelpRow(NamedTuple):
    """One line of the help: the keys as shown, what they do, the binding id for the key map."""

    keys: str
    text: str
    binding_id: str


class HelpScreen(ModalScreen[None]):
    """A modal listing the keys of ``described``, grouped as its bindings are."""

    BINDINGS = [Binding("escape,q,question_mark", "close", "Close", id="help_close")]

    def __init__(self, described: Screen[object], *, read_only: bool = False) -> None:
        super().__init__()
        # Read now: once this modal is on top, the described screen's bindings are not active.
        self._described_bindings = list(described.active_bindings.values())
        # What the described screen's marks and flags mean, when it has any.
        self._legend = str(getattr(described, "HELP_LEGEND", ""))
        self._read_only = read_only

    def compose(self) -> ComposeResult:
        self.rows = self._rows(self._described_bindings)
        with Vertical(classes="dialog help-dialog"):
            yield Label(Text("imshare keys  (escape closes)", style="bold"))
            with VerticalScroll(classes="dialog-body"):
                yield Static(self._table(self.rows))
            note = (
                "Read-only mode: accepting, rejecting and resetting are off.\n"
                if self._read_only
                else ""
            )
            if self._legend:
                note += self._legend + "\n"
            yield Static(Text(note + _NOTE, style="dim"))

    def _rows(self, active: Iterable[ActiveBinding]) -> list[HelpRow | None]:
        """One row per action of each binding owner, its keys joined; None between owners."""
        grouped: dict[tuple[int, str], tuple[list[str], Binding]] = {}
        owners: list[object] = []
        for namespace, binding, _enabled, _tooltip in active:
            # Textual's own keys (ctrl+p for the command palette) are listed too.
            if namespace not in owners:
                owners.append(namespace)
            keys, _ = grouped.setdefault((owners.index(namespace), binding.action), ([], binding))
            shown = self.app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
        rows: list[HelpRow | None] = []
        previous = -1
        for (owner, _action), (keys, binding) in grouped.items():
            if owner != previous and previous != -1:
                rows.append(None)
            previous = owner
            # The longer text where there is one; the footer already shows the short one.
            text = binding.tooltip or binding.description
            rows.append(HelpRow(" / ".join(keys), text[:1].upper() + text[1:], binding.id or ""))
        return rows

    @staticmethod
    def _table(rows: Iterable[HelpRow | None]) -> Table:
        table = Table.grid(padding=(0, 2))
        table.add_column(style="bold", no_wrap=True)
        table.add_column()
        table.add_column(style="dim", no_wrap=True)
        for row in rows:
            table.add_row(*(row or ("", "", "")))
        return table

    def action_close(self) -> None:
        self.dismiss(None)
