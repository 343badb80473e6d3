"""``@``: the message log of this run (like lazygit's command log), newest at the bottom."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Label, RichLog

from tui.app.message_log import Level, LogEntry, MessageLog
from tui.app.widgets.footer import Footer
from tui.formatting import safe_text

_STYLES = {
    Level.INFO: "",
    Level.DONE: "green",
    Level.WARNING: "yellow",
    Level.ERROR: "bold red",
}
_MARKS = {Level.INFO: " ", Level.DONE: "✓", Level.WARNING: "!", Level.ERROR: "✗"}


def entry_text(entry: LogEntry) -> Text:
    """One entry as a line: time (UTC), a mark that reads without colour, the words."""
    text = Text(no_wrap=False)
    text.append(entry.time.strftime("%H:%M:%S"), style="dim")
    text.append(f" {_MARKS[entry.level]} {entry.level.value:<7} ", style=_STYLES[entry.level])
    text.append(safe_text(entry.text, multiline=True))
    return text


class LogScreen(Screen[None]):
    """Everything this run said, with times; new lines appear while it is open."""

    BINDINGS = [
        Binding("escape,q,at", "close", "Back", id="log_close"),
        Binding("g,home", "top", "First", show=False, id="log_top"),
        Binding("G,end", "bottom", "Last", show=False, id="log_bottom"),
    ]

    def __init__(self, log: MessageLog, journal_path: Path | None = None) -> None:
        super().__init__()
        self.message_log = log
        self.journal_path = journal_path
        self._stop_listening = lambda: None

    def compose(self) -> ComposeResult:
        errors = self.message_log.count(Level.ERROR)
        title = f"Message log — {len(self.message_log)} lines, {errors} errors (times UTC)"
        yield Label(Text(title, style="bold"), id="log-title")
        yield RichLog(id="log-lines", wrap=True, markup=False, highlight=False)
        if self.journal_path is not None:
            # This log ends with the run; the journal keeps every decision across runs.
            where = safe_text(str(self.journal_path))
            yield Label(
                Text(f"Every decision is kept in the journal {where} (imshare history)"),
                id="log-journal",
            )
        yield Footer(compact=True)

    def on_mount(self) -> None:
        lines = self.query_one(RichLog)
        for entry in self.message_log:
            lines.write(entry_text(entry))
        if not len(self.message_log):
            lines.write(Text("Nothing to report yet.", style="dim"))
        self._stop_listening = self.message_log.listen(lambda e: lines.write(entry_text(e)))
        lines.focus()

    def on_unmount(self) -> None:
        self._stop_listening()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_top(self) -> None:
        self.query_one(RichLog).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(RichLog).scroll_end(animate=False)
