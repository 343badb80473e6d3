"""The detail pane: everything a reviewer wants to know before deciding on one image.

Text is built with ``rich.text.Text`` so image names, descriptions and server messages are shown
literally and never parsed as markup, and every value the cloud sent passes ``safe_text`` first:
the sharer chose it, and control characters in it must not reach the terminal. Only the
description keeps its line breaks and tabs, which the pane lays out itself.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from tui.cloud.errors import ApiError
from tui.cloud.models import Member, SharedImage
from tui.formatting import human_size, safe_text, time_text
from tui.rules import Rule
from tui.settings.owners import OwnerBook, Trust

_LABEL_WIDTH = 10
#: Beside the table the pane takes at least this many cells — its border, padding and
#: scrollbar and an image id (36) on a line of its own — and at most that many; in between it
#: gives way to whole names in the table.
BESIDE_MIN = 40
BESIDE_MAX = 50
# Detail heights are rounded up to this many lines (see DetailPane.show).
_HEIGHT_STEP = 6


def beside_width(screen_width: int, table_wants: int) -> int:
    """The pane's width beside a table that asks for ``table_wants`` cells."""
    return max(BESIDE_MIN, min(BESIDE_MAX, screen_width - table_wants))


def _join(*parts: str, sep: str = " · ") -> str:
    return sep.join(p for p in parts if p)


def describe(
    image: SharedImage,
    member: Member | None,
    member_error: ApiError | None,
    last_error: ApiError | None,
    *,
    member_loading: bool = False,
    stale: bool = False,
    show_member: bool = False,
    owners: OwnerBook | None = None,
    rule: Rule | None = None,
) -> Text:
    """The pane's text for ``image``; also used by tests to check what a user reads."""
    text = Text()
    text.append(safe_text(image.name) or "(no name)", style="bold")
    text.append("\n")

    def row(label: str, value: str, style: str = "") -> None:
        text.append(f"{label:<{_LABEL_WIDTH}}", style="dim")
        text.append((safe_text(value) or "—") + "\n", style=style)

    status = image.status.value if image.status else "unknown"
    if stale:
        status += " (not confirmed: the last listing was incomplete)"
    row("Status", status, style="bold")
    if show_member:
        # Every project at once: whose share this row is (a decision goes to that project).
        project = image.member_name or image.member_id
        row("Member", _join(project, image.region, sep=" · "), style="bold")
    if member is not None:
        row("Shared", time_text(member.created_at))
        decided = time_text(member.updated_at) if member.status.value != "pending" else "—"
        row("Decided", decided)
    elif member_error is not None:
        row("Share", f"unavailable: {member_error.message}")
    elif member_loading:
        # The two lines the record will fill: the text below does not move when it arrives
        # (a moved text is a repaint of every line under it).
        row("Shared", "loading…")
        row("Decided", "loading…")
    row("ID", image.id)
    row("Owner", owner_text(image.owner, owners))
    row("OS", _join(image.os_version, image.os_type, f"{image.os_bit}-bit" if image.os_bit else ""))
    row("Platform", image.platform)
    row("Size", human_size(image.size_bytes) if image.size_bytes else "—")
    minimum = _join(
        f"disk {image.min_disk_gb} GB" if image.min_disk_gb is not None else "",
        f"RAM {image.min_ram_mb} MB" if image.min_ram_mb is not None else "",
    )
    row("Minimum", minimum)
    row("Format", _join(image.disk_format, image.container_format, sep=" / "))
    row("State", _join(image.image_status, image.visibility))
    row("Type", _join(image.virtual_env_type, image.hw_firmware_type, image.image_type))
    row("Created", time_text(image.created_at))
    row("Updated", time_text(image.updated_at))
    row("Tags", ", ".join(image.tags))
    row("Features", ", ".join(image.features))
    if image.encrypted:
        row("Encrypt", "yes (KMS key)")
    if image.protected:
        row("Protected", "yes")
    if image.description:
        text.append("Description\n", style="dim")
        text.append(safe_text(image.description, multiline=True) + "\n")
    if image.needs_vault:
        text.append("\n")
        text.append(
            "Full-ECS image: accepting it needs the id of a CBR server-backup vault with "
            "enough capacity.\n",
            style="bold",
        )
    if rule is not None:
        text.append("\n")
        text.append(
            safe_text(f"Rule “{rule.name}” would {rule.action.verb} it (X applies the rules).\n"),
            style="bold",
        )
    if owners is not None and owners.is_blocked(image.owner):
        text.append("\n")
        text.append(
            "Owner blocked (owners.toml): accepting asks twice, rules never decide it.\n",
            style="bold",
        )
    if last_error is not None:
        text.append("\n")
        text.append("Last action failed: ", style="bold")
        text.append(safe_text(last_error.summary) + "\n")
    return text


def owner_text(owner_id: str, owners: OwnerBook | None) -> str:
    """``Platform team · trusted · 907a70c3…``: the name the user gave, the trust level when
    it is not the default, and always the id (the name is only the user's word for it)."""
    owner = owners.get(owner_id) if owners is not None else None
    if owner is None:
        return owner_id
    trust = owner.trust.value if owner.trust is not Trust.UNKNOWN else ""
    return _join(owner.name, trust, owner_id)


class DetailBody(Static):
    """The pane's text. A new text of the same height repaints only the lines that differ.

    A cursor move shows another image whose details mostly share their labels, dates and
    formats with the last one's; repainting the whole pane for it wrote ~8 KB to the terminal
    at 120x36 (over a slow SSH link, what the user waits for), the changed lines ~1-3 KB.
    """

    _diffing = False

    def update_lines(self, content: Text) -> None:
        """``update(content, layout=False)``, repainting the lines whose strips changed."""
        old = list(self._render_cache.lines) if self._render_cache.size == self.size else None
        if old is None or not self.size.width:
            self.update(content, layout=False)
            return
        self._diffing = True
        try:
            self.update(content, layout=False)
        finally:
            self._diffing = False
        self._render_content()  # the new lines at the current size, compared below
        new = self._render_cache.lines
        width = self.size.width
        changed = [
            Region(0, y, width, 1)
            for y in range(max(len(old), len(new)))
            if y >= len(old) or y >= len(new) or old[y] != new[y]
        ]
        if changed:
            super().refresh(*changed)

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> Widget:
        if self._diffing and not (regions or layout or recompose):
            # Static.update's own refresh: forget the rendered text (Textual keeps it in the
            # layout cache) but leave the repaint to update_lines, which knows what changed.
            self._layout_cache.clear()
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)


class DetailPane(VerticalScroll, can_focus=True):
    """Scrollable details of the highlighted image."""

    DEFAULT_CSS = """
    DetailPane { padding: 0 1; scrollbar-size-vertical: 1; }
    DetailPane > Static { width: 1fr; }
    """

    def compose(self):  # type: ignore[override]
        yield DetailBody(Text("No image selected.", style="dim"), id="detail-body")

    _lines = -1
    _shown_id: str | None = None
    _content: Text | None = None
    _content_id: str | None = None

    def on_resize(self) -> None:
        """A pane now shorter than the padded text: show the text again, padded to the new
        height, so no scrollbar offers blank lines (see ``show``)."""
        if self._content is not None and self._lines > self.scrollable_content_region.height:
            self.show(self._content, image_id=self._content_id)

    def show(self, content: Text, *, image_id: str | None = None) -> None:
        """Show ``content``; details of another image (``image_id``) start at the top, not
        where the previous image's were scrolled to."""
        body = self.query_one("#detail-body", DetailBody)
        width = body.size.width
        # A re-layout repaints the whole pane (~10 KB at 120x36) and is needed only when the
        # height changes. Heights are rounded up to a few lines, and while the text fits the
        # pane it never gets shorter (blank lines below it look like the pane), so moving
        # between images re-lays out the screen only when a taller text than any before
        # comes, and repaints only the lines that differ (DetailBody.update_lines).
        self._content, self._content_id = content, image_id
        lines = len(content.wrap(self.app.console, width)) if width else -1
        if lines > 0:
            padded = max(
                -(-lines // _HEIGHT_STEP) * _HEIGHT_STEP,
                min(self._lines, self.scrollable_content_region.height),
            )
            content = content.copy()
            content.append("\n" * (padded - lines))
            lines = padded
        same_height = width > 0 and lines == self._lines
        self._lines = lines
        if same_height:
            body.update_lines(content)
        else:
            body.update(content, layout=True)
        if image_id != self._shown_id:
            self._shown_id = image_id
            self.scroll_home(animate=False, immediate=True)

    def fit_beside(self, width: int | None) -> None:
        """Take ``width`` cells beside the table, or (``None``, under the table) what the
        stylesheet says."""
        if width is None:
            if self.styles.clear_rule("width"):
                self.refresh(layout=True)
        else:
            self.styles.width = width  # a re-layout only when it changed

    def show_message(self, message: str) -> None:
        self.show(Text(message, style="dim"))
