"""The main screen: status views, the image table, the detail pane and every decision key.

A row changes status only after the cloud confirmed the decision; a failure leaves it as it was,
still marked, with the cloud's message. Listing keeps the previous rows until a new listing is
complete, so a failed refresh never looks like "nothing is shared with you".
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Input, Label
from textual.worker import Worker

from tui.app.store import COLUMNS, VIEWS, ImageStore, view_label
from tui.app.widgets.context_bar import ContextBar, ViewTabs
from tui.app.widgets.detail_pane import DetailPane, describe
from tui.app.widgets.image_table import ImageTable
from tui.cloud.errors import ApiError
from tui.cloud.models import MemberStatus, SharedImage
from tui.cloud.session import Decision, PasswordRequired

if TYPE_CHECKING:
    from tui.app.app import ImshareApp

# Below this width the detail pane moves under the table.
NARROW_WIDTH = 100
# How long the cursor must rest on a row before its member record is fetched.
DETAIL_DELAY = 0.25
# Cursor moves closer together than this (a held key) redraw the detail pane once at the end.
DETAIL_REPEAT = 0.05
# Redraw at most this often while pages stream in.
PROGRESS_INTERVAL = 0.1
DECISION_CONCURRENCY = 8

_VERBS = {
    MemberStatus.ACCEPTED: ("accept", "Accepting", "Accepted"),
    MemberStatus.REJECTED: ("reject", "Rejecting", "Rejected"),
    MemberStatus.PENDING: ("reset to pending", "Resetting", "Reset to pending"),
}
_DECISION_ACTIONS = {"decide"}


class FilterInput(Input):
    """The filter field: an ``Input`` whose growing text never re-lays out the screen.

    Textual's ``Input`` keeps ``virtual_size`` equal to its text's width, and ``virtual_size``
    is a layout reactive, so every keystroke re-laid out the whole screen (~29 ms at 120x40 on
    a slow CPU). The field has a fixed size, so a repaint is all it needs.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)


def _names(images: list[SharedImage], limit: int = 8) -> str:
    lines = [f"  {image.name or image.id}" for image in images[:limit]]
    if len(images) > limit:
        lines.append(f"  … and {len(images) - limit} more")
    return "\n".join(lines)


class MainScreen(Screen[None]):
    """Shared images of the project, with accept / reject / reset on one key."""

    BINDINGS = [
        Binding("a", "decide('accepted')", "Accept", id="accept"),
        Binding("r", "decide('rejected')", "Reject", id="reject"),
        Binding("p", "decide('pending')", "Pending", id="pending"),
        Binding("space", "toggle_mark", "Mark", key_display="space", id="mark"),
        Binding("asterisk", "mark_all", "Mark all", show=False, key_display="*", id="mark_all"),
        Binding("u", "clear_marks", "Unmark all", show=False, id="clear_marks"),
        Binding("slash", "filter", "Filter", key_display="/", id="filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False, id="clear_filter"),
        Binding("enter", "focus_detail", "Details", show=False, id="details"),
        Binding("ctrl+r,f5", "refresh", "Refresh", id="refresh"),
        Binding("y", "copy_id", "Copy ID", show=False, id="copy_id"),
        Binding("c", "app.config", "Config", show=False, id="config"),
        Binding("P", "switch_context", "Profile/project", show=False, id="switch_context"),
        Binding("q", "app.quit", "Quit", id="quit"),
        Binding("1", "show_view(0)", "Pending view", show=False, id="view_pending"),
        Binding("2", "show_view(1)", "Accepted view", show=False, id="view_accepted"),
        Binding("3", "show_view(2)", "Rejected view", show=False, id="view_rejected"),
        Binding("4", "show_view(3)", "All view", show=False, id="view_all"),
        *(
            Binding(
                column.sort_letter,
                f"sort('{column.key}')",
                f"Sort by {column.label.lower()}",
                show=False,
                id=f"sort_{column.key}",
            )
            for column in COLUMNS
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.store = ImageStore()
        self.listing = False
        self.deciding = False
        self._load_error: ApiError | None = None
        self._detail_timer: Timer | None = None
        self._member_errors: dict[str, ApiError] = {}
        self._loaded_once = False
        self._reload_timer: Timer | None = None
        self._detail_redraw: Timer | None = None
        self._last_highlight = 0.0

    @property
    def imshare(self) -> ImshareApp:
        return self.app  # type: ignore[return-value]

    # -------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield ContextBar(id="context")
        yield ViewTabs(id="tabs")
        with Horizontal(id="body"):
            yield ImageTable(self.store, id="table")
            yield DetailPane(id="detail")
        with Horizontal(id="filter-bar"):
            yield Label("Filter /", id="filter-label")
            yield FilterInput(placeholder="name, id, owner or OS", id="filter")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        bar = self.query_one(ContextBar)
        bar.read_only = self.imshare.read_only
        bar.fallback = self._fallback_context()
        bar.set_token(self.imshare.session.cached_token())
        self._update_tabs()
        self.query_one(ImageTable).focus()
        if not self.imshare.settings.problems() or self.imshare.session.cached_token():
            self.load_images()
        else:
            self._set_empty_text("Not configured yet: press c to open the config screen.")

    def _start_reload_timer(self) -> None:
        """Reload every ``refresh_seconds`` once the first listing is in (off when 0)."""
        refresh = self.imshare.refresh_seconds
        if refresh and self._reload_timer is None:
            self._reload_timer = self.set_interval(refresh, self._reload_tick, name="auto-refresh")

    def _reload_tick(self) -> None:
        if not (self.listing or self.deciding or self.app.screen is not self):
            self.load_images()

    def _announce_new(self, before: set[str]) -> None:
        """Say which images appeared since the last listing (auto-refresh or ctrl+r)."""
        new = [image for image in self.store.visible_all() if image.id not in before]
        if not new:
            return
        names = ", ".join(image.name or image.id for image in new[:3])
        more = f" and {len(new) - 3} more" if len(new) > 3 else ""
        noun = "image is" if len(new) == 1 else "images are"
        self.notify(
            f"{names}{more}",
            title=f"{len(new)} new {noun} shared with you",
            timeout=8,
            markup=False,
        )

    def _fallback_context(self) -> str:
        settings = self.imshare.settings
        if not settings.auth_url:
            return "not configured — press c"
        from tui.cloud.auth import host_of

        return f"{host_of(settings.auth_url)} │ {settings.project_label or '?'} │ not logged in"

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")

    def settings_changed(self) -> None:
        """New settings were saved: forget everything about the old project and reload."""
        self.store.replace_all([])
        self.store.marked.clear()
        self._member_errors.clear()
        self._loaded_once = False  # a failure now must show as a failure, not an empty list
        bar = self.query_one(ContextBar)
        bar.set_token(None)
        bar.fallback = self._fallback_context()
        self._refresh_table()
        self.load_images()

    # ----------------------------------------------------------- rendering

    def _update_tabs(self) -> None:
        store = self.store
        extra: list[str] = []
        if store.marked:
            extra.append(f"{len(store.marked)} marked")
        if store.filter_text:
            extra.append(f"filter: {store.filter_text} ({len(store.visible())})")
        column = next(c for c in COLUMNS if c.key == store.sort_key)
        extra.append(f"sort {column.label.lower()}{'▼' if store.sort_reverse else '▲'}")
        self.query_one(ViewTabs).set_state(store.counts(), store.view, " · ".join(extra))

    def _refresh_table(self) -> None:
        self.query_one(ImageTable).reload()
        self._update_tabs()

    def _set_empty_text(self, text: str) -> None:
        table = self.query_one(ImageTable)
        table.empty_text = text
        table.refresh()

    def _empty_text(self) -> str:
        if self._load_error is not None and not self._loaded_once:
            return f"Could not load shares: {self._load_error.summary}  (ctrl+r to retry)"
        if self.listing and not len(self.store):
            return "Loading shared images…"
        if self.store.filter_text:
            return f"No image matches “{self.store.filter_text}” (escape clears the filter)."
        view = self.store.view
        if view is None:
            return "Nothing is shared with this project."
        return f"No {view.value} shares."

    def _show_detail(self) -> None:
        pane = self.query_one(DetailPane)
        image = self.query_one(ImageTable).current
        if image is None:
            pane.show_message(
                "No image selected." if len(self.store) or not self.listing else "Loading…"
            )
            return
        store = self.store
        pane.show(
            describe(
                image,
                store.members.get(image.id),
                self._member_errors.get(image.id),
                store.errors.get(image.id),
                member_loading=image.id not in store.members,
            )
        )

    @on(ImageTable.Highlighted)
    def _highlighted(self, event: ImageTable.Highlighted) -> None:
        # Redrawing the pane re-lays out the screen; while a key is held down the rows move at
        # once and the pane follows as soon as the cursor slows down.
        now = time.monotonic()
        if now - self._last_highlight < DETAIL_REPEAT:
            if self._detail_redraw is None:
                self._detail_redraw = self.set_timer(DETAIL_REPEAT, self._redraw_detail)
        else:
            self._show_detail()
        self._last_highlight = now
        if self._detail_timer is not None:
            self._detail_timer.stop()
        image = event.image
        if image is not None and image.id not in self.store.members:
            self._detail_timer = self.set_timer(
                DETAIL_DELAY, lambda: self.load_member(image.id), name="detail-delay"
            )

    def _redraw_detail(self) -> None:
        self._detail_redraw = None
        self._show_detail()

    @on(ImageTable.HeaderClicked)
    def _header_clicked(self, event: ImageTable.HeaderClicked) -> None:
        self.action_sort(event.column)

    # ------------------------------------------------------------- loading

    @work(exclusive=True, group="list", exit_on_error=False, description="Listing shares")
    async def load_images(self) -> None:
        session = self.imshare.session
        bar = self.query_one(ContextBar)
        self.listing = True
        self._load_error = None
        first_load = not self._loaded_once
        bar.set_activity("loading shares…")
        self._set_empty_text(self._empty_text())
        collected: dict[str, SharedImage] = {}
        try:
            while True:
                try:
                    last_draw = 0.0
                    async for _status, page in session.iter_shared_pages():
                        for image in page:
                            collected[image.id] = image
                        bar.set_token(session.current_token)
                        bar.set_activity(f"loading shares… {len(collected)}")
                        if first_load:
                            # Show the first page before the rest arrives.
                            self.store.add(page)
                            now = time.monotonic()
                            if now - last_draw > PROGRESS_INTERVAL:
                                last_draw = now
                                self._refresh_table()
                    break
                except PasswordRequired:
                    if not await self.imshare.ask_password():
                        raise
                except ApiError as error:
                    # A mistyped password from the prompt: ask again rather than keep it.
                    if error.status != 401 or not self.imshare.password_from_prompt:
                        raise
                    self.imshare.settings.password = ""
                    if not await self.imshare.ask_password(problem=error.summary):
                        raise
            before = self.store.ids() if self._loaded_once else None
            self.store.replace_all(collected.values())
            self._loaded_once = True
            if before is not None:
                self._announce_new(before)
            bar.set_token(session.current_token)
        except ApiError as error:
            self._load_error = error
            bar.set_token(session.current_token)
            kept = " (showing the previous list)" if self._loaded_once else ""
            self.notify(
                error.summary + kept,
                title="Listing failed",
                severity="error",
                markup=False,
                timeout=10,
            )
        finally:
            self.listing = False
            bar.set_activity("")
            self._start_reload_timer()
            self._set_empty_text(self._empty_text())
            self._refresh_table()

    @work(exclusive=True, group="detail", exit_on_error=False, description="Reading share")
    async def load_member(self, image_id: str) -> None:
        if image_id in self.store.members:
            return
        try:
            member = await self.imshare.session.get_member(image_id)
        except PasswordRequired:
            return
        except ApiError as error:
            self._member_errors[image_id] = error
        else:
            self.store.members[image_id] = member
            self._member_errors.pop(image_id, None)
        current = self.query_one(ImageTable).current
        if current is not None and current.id == image_id:
            self._show_detail()

    # -------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only mode hides the decision keys from the footer and blocks them.
        return not (action in _DECISION_ACTIONS and self.imshare.read_only)

    def action_show_view(self, index: int) -> None:
        if 0 <= index < len(VIEWS):
            self.store.set_view(VIEWS[index])
            self._set_empty_text(self._empty_text())
            self._refresh_table()

    def action_sort(self, key: str) -> None:
        self.store.toggle_sort(key)
        self._refresh_table()

    def action_toggle_mark(self) -> None:
        table = self.query_one(ImageTable)
        image = table.current
        if image is None:
            return
        self.store.toggle_mark(image.id)
        table.refresh_row(table.cursor)
        table.action_cursor_down()
        self._update_tabs()

    def action_mark_all(self) -> None:
        count = self.store.mark_visible()
        self.query_one(ImageTable).refresh()
        self._update_tabs()
        self.notify(f"Marked {count} visible images", timeout=2)

    def action_clear_marks(self) -> None:
        count = self.store.clear_marks()
        self.query_one(ImageTable).refresh()
        self._update_tabs()
        if count:
            self.notify(f"Cleared {count} marks", timeout=2)

    def action_filter(self) -> None:
        bar = self.query_one("#filter-bar")
        bar.add_class("-active")
        self.query_one("#filter", Input).focus()

    def action_focus_detail(self) -> None:
        """Enter reads the details (scroll them with the arrows); escape goes back."""
        pane = self.query_one(DetailPane)
        if pane.has_focus:
            self.query_one(ImageTable).focus()
        else:
            pane.focus()

    def action_clear_filter(self) -> None:
        if self.query_one(DetailPane).has_focus:
            self.query_one(ImageTable).focus()
            return
        field = self.query_one("#filter", Input)
        bar = self.query_one("#filter-bar")
        if field.value or bar.has_class("-active"):
            field.value = ""
            self.store.set_filter("")
            bar.remove_class("-active")
            self._set_empty_text(self._empty_text())
            self._refresh_table()
        self.query_one(ImageTable).focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.store.set_filter(event.value)
        self._set_empty_text(self._empty_text())
        self._refresh_table()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one("#filter-bar").remove_class("-active")
        self.query_one(ImageTable).focus()

    def action_refresh(self) -> None:
        self.store.members.clear()
        self._member_errors.clear()
        self.load_images()

    @work(exclusive=True, group="switch", exit_on_error=False, description="Switching")
    async def action_switch_context(self) -> None:
        from tui.app.screens.picker import ContextPicker

        choice = await self.app.push_screen_wait(ContextPicker())
        if choice is None:
            return
        self.imshare.profile = choice.profile
        self.imshare.source = choice.source
        await self.imshare.apply_settings(choice.settings)
        self.notify(f"Switched to {choice.source}", timeout=3, markup=False)

    def action_copy_id(self) -> None:
        image = self.query_one(ImageTable).current
        if image is None:
            return
        self.app.copy_to_clipboard(image.id)
        self.notify(
            f"Copied {image.id} (OSC 52; in tmux set set-clipboard on)",
            title="Image ID copied",
            timeout=4,
            markup=False,
        )

    def action_decide(self, status: str) -> None:
        target = MemberStatus(status)
        if self.deciding:
            self.notify("A decision is still running; wait for it to finish.", severity="warning")
            return
        images = self.store.marked_images()
        if not images:
            current = self.query_one(ImageTable).current
            images = [current] if current is not None else []
        todo = [image for image in images if image.status != target]
        for image in images:
            if image.status == target:
                # Already where the user wants it: done, so the mark must not linger and
                # silently become the target of the next key.
                self.store.marked.discard(image.id)
        if len(todo) != len(images):
            self.query_one(ImageTable).refresh()
            self._update_tabs()
        if not todo:
            if images:
                self.notify(f"Already {target.value}.", timeout=3)
            return
        self.run_decision(todo, target)

    # ------------------------------------------------------------ decisions

    @work(group="decide", exit_on_error=False, description="Deciding")
    async def run_decision(self, images: list[SharedImage], status: MemberStatus) -> None:
        from tui.app.screens.prompts import ConfirmScreen, SummaryScreen, VaultScreen

        verb, doing, done = _VERBS[status]
        if status is MemberStatus.REJECTED or len(images) > 1:
            noun = "image" if len(images) == 1 else f"{len(images)} images"
            question = f"{verb.capitalize()} {noun}?\n\n{_names(images)}"
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
        vault_id = ""
        whole = [image for image in images if image.needs_vault]
        if status is MemberStatus.ACCEPTED and whole:
            vault_id = await self.app.push_screen_wait(VaultScreen(whole)) or ""
            if not vault_id:
                self.notify("Not accepted: full-ECS images need a vault id.", severity="warning")
                return
        self.deciding = True
        bar = self.query_one(ContextBar)
        total = len(images)
        finished = 0
        store = self.store
        for image in images:
            store.in_flight[image.id] = status
        self._refresh_table()
        bar.set_activity(f"{doing} 0/{total}")

        def progress(decision: Decision) -> None:
            nonlocal finished
            finished += 1
            store.in_flight.pop(decision.image_id, None)
            if decision.ok:
                store.set_status(decision.image_id, status, decision.member)
                store.marked.discard(decision.image_id)
            elif decision.error is not None:
                store.errors[decision.image_id] = decision.error
                store.marked.add(decision.image_id)
            bar.set_activity(f"{doing} {finished}/{total}")
            self._refresh_table()
            self._show_detail()

        try:
            decisions = await self.imshare.session.set_status_many(
                [image.id for image in images],
                status,
                vault_id=vault_id,
                concurrency=DECISION_CONCURRENCY,
                on_progress=progress,
            )
        finally:
            for image in images:
                store.in_flight.pop(image.id, None)
            self.deciding = False
            bar.set_activity("")
            self._refresh_table()
        failures = [d for d in decisions if not d.ok]
        succeeded = total - len(failures)
        if any(isinstance(d.error, PasswordRequired) for d in failures):
            if await self.imshare.ask_password():
                self.notify("Logged in; press the key again to retry.", markup=False)
            return
        if not failures:
            noun = "image" if total == 1 else "images"
            self.notify(f"{done} {total} {noun}.", markup=False, timeout=4)
        elif total == 1:
            error = failures[0].error
            assert error is not None
            self.notify(error.summary, title=f"Could not {verb}", severity="error", markup=False)
        else:
            by_id = {image.id: image for image in images}
            self.app.push_screen(
                SummaryScreen(
                    f"{done} {succeeded} of {total}; {len(failures)} failed "
                    "(still marked, press the key again to retry):",
                    [(by_id[d.image_id].name or d.image_id, d.error) for d in failures],
                )
            )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.imshare.report_worker_failure(event.worker)

    def describe_state(self) -> dict[str, Any]:
        """A compact summary for tests and the benchmark (what a user would see)."""
        table = self.query_one(ImageTable)
        return {
            "view": view_label(self.store.view),
            "rows": len(table.rows),
            "counts": {view_label(k): v for k, v in self.store.counts().items()},
            "marked": len(self.store.marked),
            "current": table.current.id if table.current else None,
        }
