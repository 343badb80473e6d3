"""The describe view: one image in full — every field, our member record, the raw JSON.

``enter`` or ``d`` on the main screen opens it for the highlighted image and ``escape`` goes back
to the same row. Like every screen it gets what it shows in its constructor: the image, what is
known of its member record, and two callables that read from the cloud — the member record when
it is not known yet, and the image document, read only when the raw view is first asked for
(the app keeps no raw documents: thousands of rows need not carry them).

Everything here is cloud text. Each value passes ``safe_text`` (the description keeps its line
breaks and tabs), and the raw document is shown as ``safe_json`` writes it: every control
character an escape, everything else as the cloud sent it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from tui.app.messages import ReportsWorkerFailures
from tui.app.widgets.footer import Footer
from tui.cloud.errors import ApiError
from tui.cloud.models import Member, SharedImage
from tui.formatting import human_size, safe_json, safe_text, table_time

ReadMember = Callable[[], Awaitable[Member]]
ReadDocument = Callable[[], Awaitable[dict[str, Any]]]

_LABEL_WIDTH = 18


def _when(moment: datetime | None) -> str:
    return f"{table_time(moment, seconds=True)} UTC" if moment else "—"


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _size(size: int | None) -> str:
    if size is None:
        return "—"
    return f"{human_size(size)} ({size:,} bytes)"


def _join(*parts: str, sep: str = " ") -> str:
    return sep.join(part for part in parts if part)


def describe_image(
    image: SharedImage,
    member: Member | None,
    member_error: ApiError | None,
    *,
    last_error: ApiError | None = None,
    stale: bool = False,
    member_loading: bool = False,
    owner: str = "",
    rule: str = "",
) -> Text:
    """Every field of ``image`` and of its member record, one labelled line each (the CLI's
    ``show`` labels), times in UTC; then the description as its sharer wrote it."""
    text = Text()

    def heading(title: str) -> None:
        if text:
            text.append("\n")
        text.append(title + "\n", style="bold underline")

    def row(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:<{_LABEL_WIDTH}}", style="dim")
        text.append((safe_text(value) or "—") + "\n", style=style)

    heading("Image")
    row("Name", image.name, style="bold")
    row("ID", image.id)
    status = image.status.value if image.status else "unknown"
    if stale:
        status += " (not confirmed: the last listing was incomplete)"
    row("Status", status, style="bold")
    if image.whole_image:
        row("Full-ECS", "yes: accepting it needs the id of a CBR server-backup vault", "bold")
    else:
        row("Full-ECS", "no")
    # ``owner``: the name and trust the user gave it, with the id (see owner_text).
    row("Owner", owner or image.owner)
    if rule:
        row("Rule", rule, style="bold")
    row("OS Version", image.os_version)
    row("OS Type", _join(image.os_type, f"{image.os_bit}-bit" if image.os_bit else ""))
    row("Platform", image.platform)
    row("Size", _size(image.size_bytes))
    row("Disk Format", image.disk_format)
    row("Container Format", image.container_format)
    row("Min Disk", f"{image.min_disk_gb} GB" if image.min_disk_gb is not None else "")
    row("Min RAM", f"{image.min_ram_mb} MB" if image.min_ram_mb is not None else "")
    row("Image Status", image.image_status)
    row("Visibility", image.visibility)
    row("Image Type", image.image_type)
    row("Virtualization", image.virtual_env_type)
    row("Firmware", image.hw_firmware_type)
    row("Protected", _yes(image.protected))
    row("Encrypted", "yes (KMS key)" if image.encrypted else "no")
    row("Features", ", ".join(image.features))
    row("Tags", ", ".join(image.tags))
    row("Created At", _when(image.created_at))
    row("Updated At", _when(image.updated_at))

    heading("Your share (member record)")
    project = image.member_name or image.member_id
    if image.member_name and image.member_id:
        project = f"{image.member_name} ({image.member_id})"
    row("Shared With", project)
    row("Region", image.region)
    if member is not None:
        row("Member Status", member.status.value)
        row("Shared At", _when(member.created_at))
        decided = _when(member.updated_at) if member.status.value != "pending" else "— (pending)"
        row("Decided At", decided)
    elif member_error is not None:
        row("Member Record", f"unavailable: {member_error.reason}")
    elif member_loading:
        row("Member Record", "loading…")
    if last_error is not None:
        row("Last Action", f"failed: {last_error.summary}", style="bold")

    heading("Description")
    description = safe_text(image.description, multiline=True)
    text.append((description or "—") + "\n")
    return text


class DescribeScreen(ReportsWorkerFailures, Screen[None]):
    """One image on the whole screen: its fields, or (``J``) its document as raw JSON."""

    BINDINGS = [
        Binding("escape", "back", "Back", tooltip="Back to the table, same row", id="back"),
        Binding(
            "J",
            "toggle_raw",
            "Raw JSON",
            tooltip="The image document as the cloud sent it (again: the fields)",
            id="raw_json",
        ),
        Binding(
            "y", "copy_id", "Copy ID", tooltip="Copy the image id to the clipboard", id="copy_id"
        ),
        Binding("down,j", "scroll('down')", "Scroll down", show=False, id="down"),
        Binding("up,k", "scroll('up')", "Scroll up", show=False, id="up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="bottom"),
        Binding("pagedown,space", "scroll('page_down')", "Page down", show=False, id="page_down"),
        Binding("pageup", "scroll('page_up')", "Page up", show=False, id="page_up"),
    ]

    class MemberRead(Message):
        """The member record arrived, or could not be read."""

        def __init__(self, member: Member | None, error: ApiError | None) -> None:
            self.member = member
            self.error = error
            super().__init__()

    class DocumentRead(Message):
        """The image document arrived, or could not be read."""

        def __init__(self, document: dict[str, Any] | None, error: ApiError | None) -> None:
            self.document = document
            self.error = error
            super().__init__()

    def __init__(
        self,
        image: SharedImage,
        member: Member | None,
        member_error: ApiError | None,
        *,
        read_member: ReadMember,
        read_document: ReadDocument,
        last_error: ApiError | None = None,
        stale: bool = False,
        owner: str = "",
        rule: str = "",
    ) -> None:
        super().__init__()
        self.owner = owner
        self.rule = rule
        self.image = image
        self.member = member
        self.member_error = member_error
        self.last_error = last_error
        self.stale = stale
        self._read_member = read_member
        self._read_document = read_document
        self.raw = False
        #: The document as ``safe_json`` shows it, once read; or why it could not be.
        self.document_text: str | None = None
        self.document_error: ApiError | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="describe-title")
        with VerticalScroll(id="describe-body"):
            yield Static(id="describe-fields")
            yield Static(id="describe-raw")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._show_fields()
        self._show_raw()
        self._show_title()
        self.query_one("#describe-body").focus()
        if self.member is None and self.member_error is None:
            self._load_member()

    # -------------------------------------------------------------- drawing

    def _show_title(self) -> None:
        title = Text(no_wrap=True, overflow="ellipsis")
        title.append("Describe  ", style="bold")
        title.append(safe_text(self.image.name) or safe_text(self.image.id), style="bold")
        view = "raw JSON, as the cloud sent it (J: fields)" if self.raw else "fields (J: raw JSON)"
        title.append(f"  ·  {view}", style="dim")
        self.query_one("#describe-title", Static).update(title)

    def _show_fields(self) -> None:
        loading = self.member is None and self.member_error is None
        self.query_one("#describe-fields", Static).update(
            describe_image(
                self.image,
                self.member,
                self.member_error,
                last_error=self.last_error,
                stale=self.stale,
                member_loading=loading,
                owner=self.owner,
                rule=self.rule,
            )
        )

    def _show_raw(self) -> None:
        if self.document_text is not None:
            content = Text(self.document_text)
        elif self.document_error is not None:
            content = Text(
                f"Could not read the image document: {safe_text(self.document_error.summary)}\n"
                "Press J twice to try again."
            )
        else:
            content = Text("Reading the image document from the cloud…", style="dim")
        self.query_one("#describe-raw", Static).update(content)

    # -------------------------------------------------------------- reading

    @work(exclusive=True, group="describe-member", exit_on_error=False, description="Reading share")
    async def _load_member(self) -> None:
        try:
            member = await self._read_member()
        except ApiError as error:
            self.post_message(self.MemberRead(None, error))
        else:
            self.post_message(self.MemberRead(member, None))

    @work(exclusive=True, group="describe-document", exit_on_error=False, description="Reading")
    async def _load_document(self) -> None:
        try:
            document = await self._read_document()
        except ApiError as error:
            self.post_message(self.DocumentRead(None, error))
        else:
            self.post_message(self.DocumentRead(document, None))

    @on(MemberRead)
    def _member_read(self, message: MemberRead) -> None:
        self.member, self.member_error = message.member, message.error
        self._show_fields()

    @on(DocumentRead)
    def _document_read(self, message: DocumentRead) -> None:
        if message.document is not None:
            self.document_text = safe_json(message.document, indent=2)
        self.document_error = message.error
        self._show_raw()

    # -------------------------------------------------------------- actions

    def action_back(self) -> None:
        self.dismiss(None)

    def action_toggle_raw(self) -> None:
        self.raw = not self.raw
        if self.raw and self.document_text is None:
            self.document_error = None  # asked again: try again
            self._show_raw()
            self._load_document()
        self.set_class(self.raw, "-raw")
        self._show_title()
        self.query_one("#describe-body", VerticalScroll).scroll_home(animate=False)

    def action_scroll(self, where: str) -> None:
        body = self.query_one("#describe-body", VerticalScroll)
        actions = {
            "down": body.action_scroll_down,
            "up": body.action_scroll_up,
            "home": body.action_scroll_home,
            "end": body.action_scroll_end,
            "page_down": body.action_page_down,
            "page_up": body.action_page_up,
        }
        actions[where]()

    def action_copy_id(self) -> None:
        image_id = safe_text(self.image.id)  # the clipboard gets what the screen shows
        self.app.copy_to_clipboard(image_id)
        self.notify(
            f"Copied {image_id} (OSC 52; in tmux set set-clipboard on)",
            title="Image ID copied",
            timeout=4,
            markup=False,
        )
