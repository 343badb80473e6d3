"""The main screen: status views, the image table, the detail pane and every decision key.

A row changes status only after the cloud confirmed the decision; a failure leaves it as it was,
still marked, with the cloud's message. Listing keeps the previous rows until a new listing is
complete, so a failed refresh never looks like "nothing is shared with you".

Workers here do the I/O and post messages (:mod:`tui.app.messages`); the handlers change the
store and redraw. The screen gets its store and session from the app and never reaches into it;
the app hands over a new session with ``use_session`` when the user switches cloud or project.
"""

from __future__ import annotations

import itertools

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label

from tui.app.keys import MAIN_BINDINGS
from tui.app.messages import (
    DecisionFinished,
    DecisionProgress,
    DecisionStarted,
    ListingFinished,
    ListingProgress,
    MemberLoaded,
    ReportsWorkerFailures,
)
from tui.app.screens.prompts import ConfirmScreen, SummaryScreen, VaultScreen
from tui.app.store import COLUMNS, VIEWS, ImageStore
from tui.app.widgets.context_bar import ContextBar, ViewTabs
from tui.app.widgets.detail_pane import DetailPane, describe
from tui.app.widgets.footer import Footer
from tui.app.widgets.image_table import ImageTable
from tui.cloud.errors import ApiError
from tui.cloud.models import Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession, PasswordRequired

# Below this width the detail pane moves under the table.
NARROW_WIDTH = 100
# How long the cursor must rest on a row before its member record is fetched.
DETAIL_DELAY = 0.25
DECISION_CONCURRENCY = 8
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


class MainScreen(ReportsWorkerFailures, Screen[None]):
    """Shared images of the project, with accept / reject / reset on one key."""

    BINDINGS = MAIN_BINDINGS

    def __init__(
        self,
        store: ImageStore,
        session: CloudSession,
        *,
        read_only: bool = False,
        refresh_seconds: float = 0.0,
        context_hint: str = "",
        load_at_start: bool = True,
    ) -> None:
        super().__init__()
        self.store = store
        self.session = session
        self.read_only = read_only
        self.refresh_seconds = refresh_seconds
        self.context_hint = context_hint
        self.load_at_start = load_at_start
        self._generation = 0
        self._operations = itertools.count(1)
        self._decision_queued = False
        self._detail_timer: Timer | None = None
        self._reload_timer: Timer | None = None

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
        bar.read_only = self.read_only
        bar.fallback = self.context_hint
        bar.set_token(self.session.cached_token())
        self._update_tabs()
        self.query_one(ImageTable).focus()
        if self.load_at_start:
            self.load_images()
        else:
            self._set_empty_text("Not configured yet: press c to open the config screen.")

    def use_session(self, session: CloudSession, context_hint: str) -> None:
        """Show another cloud, profile or project: forget everything and list anew."""
        self.session = session
        self.context_hint = context_hint
        self.store.reset()
        bar = self.query_one(ContextBar)
        bar.set_token(None)
        bar.fallback = context_hint
        self._refresh_table()
        self.load_images()

    def _start_reload_timer(self) -> None:
        """Reload every ``refresh_seconds`` once the first listing is in (off when 0)."""
        if self.refresh_seconds and self._reload_timer is None:
            self._reload_timer = self.set_interval(
                self.refresh_seconds, self._reload_tick, name="auto-refresh"
            )

    def _reload_tick(self) -> None:
        if not (self.store.listing or self.store.deciding or self.app.screen is not self):
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

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")

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
        store = self.store
        if store.load_error is not None and not store.loaded_once:
            return f"Could not load shares: {store.load_error.summary}  (ctrl+r to retry)"
        if store.listing and not len(store):
            return "Loading shared images…"
        if store.filter_text:
            return f"No image matches “{store.filter_text}” (escape clears the filter)."
        view = store.view
        if view is None:
            return "Nothing is shared with this project."
        return f"No {view.value} shares."

    def _show_detail(self) -> None:
        pane = self.query_one(DetailPane)
        image = self.query_one(ImageTable).current
        store = self.store
        if image is None:
            pane.show_message(
                "No image selected." if len(store) or not store.listing else "Loading…"
            )
            return
        pane.show(
            describe(
                image,
                store.members.get(image.id),
                store.member_errors.get(image.id),
                store.errors.get(image.id),
                member_loading=image.id not in store.members,
            )
        )

    @on(ImageTable.Highlighted)
    def _highlighted(self, event: ImageTable.Highlighted) -> None:
        self._show_detail()
        if self._detail_timer is not None:
            self._detail_timer.stop()
        image = event.image
        if image is not None and image.id not in self.store.members:
            self._detail_timer = self.set_timer(
                DETAIL_DELAY, lambda: self.load_member(image.id), name="detail-delay"
            )

    @on(ImageTable.HeaderClicked)
    def _header_clicked(self, event: ImageTable.HeaderClicked) -> None:
        self.action_sort(event.column)

    # ------------------------------------------------------------- loading

    def load_images(self) -> None:
        """Start a listing; the previous rows stay until it is complete."""
        self._generation += 1
        self.store.begin_listing()
        self.query_one(ContextBar).set_activity("loading shares…")
        self._set_empty_text(self._empty_text())
        self._list(self._generation, self.session)

    @work(exclusive=True, group="list", exit_on_error=False, description="Listing shares")
    async def _list(self, generation: int, session: CloudSession) -> None:
        collected: dict[str, SharedImage] = {}
        try:
            async for _status, page in session.iter_shared_pages():
                for image in page:
                    collected[image.id] = image
                self.post_message(
                    ListingProgress(generation, tuple(collected.values()), session.current_token)
                )
        except ApiError as error:
            self.post_message(ListingFinished(generation, None, error, session.current_token))
        else:
            self.post_message(
                ListingFinished(generation, tuple(collected.values()), None, session.current_token)
            )

    @on(ListingProgress)
    def _listing_progress(self, message: ListingProgress) -> None:
        if message.generation != self._generation:
            return
        bar = self.query_one(ContextBar)
        bar.set_token(message.token)
        bar.set_activity(f"loading shares… {len(message.images)}")
        if not self.store.loaded_once:
            # Show the first rows before the rest arrives.
            self.store.add_partial(message.images)
            self._refresh_table()

    @on(ListingFinished)
    def _listing_finished(self, message: ListingFinished) -> None:
        if message.generation != self._generation:
            return
        store = self.store
        bar = self.query_one(ContextBar)
        bar.set_token(message.token)
        bar.set_activity("")
        if message.error is not None:
            kept = " (showing the previous list)" if store.loaded_once else ""
            store.fail_listing(message.error)
            self.notify(
                message.error.summary + kept,
                title="Listing failed",
                severity="error",
                markup=False,
                timeout=10,
            )
        else:
            before = store.ids() if store.loaded_once else None
            store.finish_listing(message.images or ())
            if before is not None:
                self._announce_new(before)
        self._start_reload_timer()
        self._set_empty_text(self._empty_text())
        self._refresh_table()

    @work(exclusive=True, group="detail", exit_on_error=False, description="Reading share")
    async def load_member(self, image_id: str) -> None:
        if image_id in self.store.members:
            return
        try:
            member = await self.session.get_member(image_id)
        except PasswordRequired:
            return
        except ApiError as error:
            self.post_message(MemberLoaded(image_id, None, error))
        else:
            self.post_message(MemberLoaded(image_id, member, None))

    @on(MemberLoaded)
    def _member_loaded(self, message: MemberLoaded) -> None:
        if message.member is not None:
            self.store.set_member(message.image_id, message.member)
        elif message.error is not None:
            self.store.set_member_error(message.image_id, message.error)
        current = self.query_one(ImageTable).current
        if current is not None and current.id == message.image_id:
            self._show_detail()

    # -------------------------------------------------------------- actions

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only mode hides the decision keys from the footer and help, and blocks them.
        return not (action in _DECISION_ACTIONS and self.read_only)

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
        self.store.forget_members()
        self.load_images()

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
        if self.store.deciding or self._decision_queued:
            self.notify("A decision is still running; wait for it to finish.", severity="warning")
            return
        images = self.store.marked_images()
        if not images:
            current = self.query_one(ImageTable).current
            images = [current] if current is not None else []
        todo = [image for image in images if image.status != target]
        done = [image.id for image in images if image.status == target]
        if done:
            # Already where the user wants it: done, so the mark must not linger and
            # silently become the target of the next key.
            self.store.unmark(done)
            self.query_one(ImageTable).refresh()
            self._update_tabs()
        if not todo:
            if images:
                self.notify(f"Already {target.value}.", timeout=3)
            return
        self._decision_queued = True
        self.run_decision(todo, target)

    # ------------------------------------------------------------ decisions

    @work(group="decide", exit_on_error=False, description="Deciding")
    async def run_decision(self, images: list[SharedImage], status: MemberStatus) -> None:
        try:
            await self._decide(images, status)
        finally:
            self._decision_queued = False

    async def _decide(self, images: list[SharedImage], status: MemberStatus) -> None:
        if status is MemberStatus.REJECTED or len(images) > 1:
            noun = "image" if len(images) == 1 else f"{len(images)} images"
            question = f"{status.verb.capitalize()} {noun}?\n\n{_names(images)}"
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
        vault_id = ""
        whole = [image for image in images if image.needs_vault]
        if status is MemberStatus.ACCEPTED and whole:
            vault_id = await self.app.push_screen_wait(VaultScreen(whole)) or ""
            if not vault_id:
                self.notify("Not accepted: full-ECS images need a vault id.", severity="warning")
                return
        operation = next(self._operations)
        ids = tuple(image.id for image in images)
        self.post_message(DecisionStarted(operation, status, ids))
        known: list[Decision] = []

        def progress(decision: Decision) -> None:
            known.append(decision)
            self.post_message(DecisionProgress(operation, status, tuple(known), len(ids)))

        try:
            await self.session.set_status_many(
                list(ids),
                status,
                vault_id=vault_id,
                concurrency=DECISION_CONCURRENCY,
                on_progress=progress,
            )
        finally:
            self.post_message(DecisionFinished(operation, status, tuple(images), tuple(known)))

    @on(DecisionStarted)
    def _decision_started(self, message: DecisionStarted) -> None:
        self.store.start_decision(message.image_ids, message.status)
        total = len(message.image_ids)
        self.query_one(ContextBar).set_activity(f"{message.status.doing.capitalize()} 0/{total}")
        self._refresh_table()

    @on(DecisionProgress)
    def _decision_progress(self, message: DecisionProgress) -> None:
        for decision in message.decisions:
            self.store.apply_decision(decision)
        done = len(message.decisions)
        status = message.status
        self.query_one(ContextBar).set_activity(
            f"{status.doing.capitalize()} {done}/{message.total}"
        )
        self._refresh_table()
        self._show_detail()

    @on(DecisionFinished)
    def _decision_finished(self, message: DecisionFinished) -> None:
        store = self.store
        for decision in message.decisions:
            store.apply_decision(decision)
        images = message.images
        store.end_decision(image.id for image in images)
        self.query_one(ContextBar).set_activity("")
        self._refresh_table()
        self._show_detail()
        status = message.status
        total = len(images)
        if len(message.decisions) < total:
            return  # cancelled (the app is closing): nothing more to say
        failures = [d for d in message.decisions if not d.ok]
        if any(isinstance(d.error, PasswordRequired) for d in failures):
            self.notify(
                "Not logged in: nothing was decided. Press the key again to log in.",
                severity="warning",
                markup=False,
            )
            return
        if not failures:
            noun = "image" if total == 1 else "images"
            self.notify(f"{status.done.capitalize()} {total} {noun}.", markup=False, timeout=4)
        elif total == 1:
            error = failures[0].error
            assert error is not None
            self.notify(
                error.reason, title=f"Could not {status.verb}", severity="error", markup=False
            )
        else:
            by_id = {image.id: image for image in images}
            succeeded = total - len(failures)
            self.app.push_screen(
                SummaryScreen(
                    f"{status.done.capitalize()} {succeeded} of {total}; {len(failures)} failed "
                    "(still marked, press the key again to retry):",
                    [(by_id[d.image_id].name or d.image_id, d.error) for d in failures],
                )
            )
