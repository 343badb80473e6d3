"""Small modal dialogs: y/n confirmation, password, vault id, an owner's name, a failure
summary.

Every text that may come from the cloud or the user (image names, error messages) is passed as
``rich.text.Text`` so it is shown literally, never parsed as markup, and through ``safe_text`` so
no control character in it reaches the terminal. A dialog's own line breaks stay; a name or an
error is one line.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, RadioButton, RadioSet, Static

from tui.cloud.errors import ApiError
from tui.cloud.models import SharedImage
from tui.formatting import safe_text
from tui.settings.owners import Trust, name_problem


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; ``y``/``n``/``escape`` answer without the mouse."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm_yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm_no"),
        Binding("left,h", "app.focus_previous", show=False),
        Binding("right,l", "app.focus_next", show=False),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            with VerticalScroll(classes="dialog-body"):
                yield Static(Text(safe_text(self.question, multiline=True)), id="question")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Yes (y)", id="yes", variant="primary")
                yield Button("No (n)", id="no")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    def set_question(self, question: str) -> None:
        """Say the question anew when what it asks about has changed while it was shown."""
        if question != self.question:
            self.question = question
            self.query_one("#question", Static).update(Text(safe_text(question, multiline=True)))

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")


class _InputDialog(ModalScreen[str | None]):
    """A one-field dialog; enter submits, escape cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog_cancel")]

    title_text = ""
    help_text = ""
    password = False
    placeholder = ""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.title_text), style="bold"))
            yield Static(Text(safe_text(self.help_text, multiline=True)), classes="dialog-help")
            yield Input(password=self.password, placeholder=self.placeholder, id="value")
            yield Label("", id="problem", classes="problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("OK", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    def validate(self, value: str) -> str:
        return "" if value else "A value is required."

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        value = self.query_one("#value", Input).value.strip()
        problem = self.validate(value)
        if problem:
            self.query_one("#problem", Label).update(Text(problem))
            return
        self.dismiss(value)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class PasswordScreen(_InputDialog):
    """Asked when a token is needed, none is cached and no password is saved."""

    password = True

    def __init__(self, user: str, domain: str, project: str, problem: str = "") -> None:
        super().__init__()
        self.title_text = "Password needed" if not problem else "Login failed: try again"
        self.help_text = (
            f"Log in as {user or '?'} (domain {domain or '?'}) "
            f"to project {project or '?'}. The password is kept in memory only."
        )
        if problem:
            self.help_text = f"{problem}\n\n{self.help_text}"


class VaultScreen(_InputDialog):
    """Full-ECS images can only be accepted into a CBR server-backup vault."""

    placeholder = "CBR vault id"

    def __init__(self, images: list[SharedImage]) -> None:
        super().__init__()
        names = ", ".join(safe_text(image.name or image.id) for image in images[:5])
        more = f" and {len(images) - 5} more" if len(images) > 5 else ""
        self.title_text = "Vault needed"
        self.help_text = (
            f"{names}{more}: full-ECS image(s). Accepting stores them in a CBR server-backup "
            "vault with enough capacity. Enter the vault id (CBR console → Vaults)."
        )


class SummaryScreen(ModalScreen[None]):
    """The end of a bulk decision with failures: each failed image and why."""

    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="summary_close")]

    def __init__(self, headline: str, failures: list[tuple[str, ApiError | None]]) -> None:
        super().__init__()
        self.headline = headline
        self.failures = failures

    def compose(self) -> ComposeResult:
        text = Text()
        for name, error in self.failures:
            text.append(f"• {safe_text(name)}\n", style="bold")
            text.append(f"  {safe_text(error.reason) if error else 'unknown error'}\n")
        with Vertical(classes="dialog"):
            yield Label(Text(safe_text(self.headline), style="bold"))
            with VerticalScroll(classes="dialog-body"):
                yield Static(text)
            with Horizontal(classes="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    @on(Button.Pressed)
    def action_close(self) -> None:
        self.dismiss(None)


class OwnerScreen(ModalScreen[tuple[str, Trust] | None]):
    """``o``: the name the user gives an owner (a project id nobody recognises) and how far
    they trust it. Returns ``(name, trust)``; an empty name with ``unknown`` forgets the owner.
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="owner_cancel")]
    DEFAULT_CSS = """
    OwnerScreen RadioSet { layout: horizontal; width: auto; }
    OwnerScreen RadioButton { margin-right: 2; }
    """

    def __init__(self, owner_id: str, name: str, trust: Trust, images: int) -> None:
        super().__init__()
        self.owner_id = owner_id
        self.owner_name = name
        self.trust = trust
        self.images = images

    def compose(self) -> ComposeResult:
        shares = "1 image" if self.images == 1 else f"{self.images} images"
        help_text = (
            f"Project {self.owner_id} shares {shares} with you. The name is yours, kept in "
            "owners.toml for every profile. Blocked: its rows are flagged B, accepting one "
            "asks twice, rules never decide it. An empty name with trust unknown forgets it."
        )
        with Vertical(classes="dialog"):
            yield Label(Text("Name owner", style="bold"))
            yield Static(Text(safe_text(help_text, multiline=True)), classes="dialog-help")
            yield Input(value=self.owner_name, placeholder="e.g. Platform team", id="value")
            with RadioSet(id="trust"):
                for trust in Trust:
                    yield RadioButton(trust.value, value=trust is self.trust, id=f"trust-{trust}")
            # The choice in words too: a radio button's state is only a colour.
            yield Label(self._trust_words(self.trust), id="trust-now")
            yield Label("", id="problem", classes="problem")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Save", id="ok", variant="primary")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#value", Input).focus()

    @staticmethod
    def _trust_words(trust: Trust) -> str:
        return f"Trust: {trust.value} (tab, then arrows and space to change)"

    @on(RadioSet.Changed)
    def _trust_changed(self) -> None:
        self.query_one("#trust-now", Label).update(self._trust_words(self._chosen()))

    def _chosen(self) -> Trust:
        pressed = self.query_one(RadioSet).pressed_button
        if pressed is None or pressed.id is None:
            return self.trust
        return Trust(pressed.id.removeprefix("trust-"))

    @on(Input.Submitted)
    @on(Button.Pressed, "#ok")
    def _submit(self) -> None:
        name = self.query_one("#value", Input).value.strip()
        problem = name_problem(name)
        if problem:
            self.query_one("#problem", Label).update(Text(problem))
            return
        self.dismiss((name, self._chosen()))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
