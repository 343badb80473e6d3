"""The main screen: status views, the image table, the detail pane and every decision key.

A row changes status only after the cloud confirmed the decision; a failure leaves it as it was,
still marked, with the cloud's message. Listing keeps the previous rows until a new listing is
complete, so a failed refresh never looks like "nothing is shared with you".

Workers here do the I/O and post messages (:mod:`tui.app.messages`); the handlers change the
store and redraw. The screen gets its store and session from the app and never reaches into it;
the app hands over a new session with ``use_session`` when the user switches cloud or project.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.events import Resize
from textual.geometry import Size
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, Label, Static

from tui import journaled, rules, undo
from tui.app import heap
from tui.app.keys import MAIN_BINDINGS, REJECT_NOTE
from tui.app.message_log import Level, MessageLog
from tui.app.messages import (
    DecisionFinished,
    DecisionProgress,
    DecisionStarted,
    ListingFinished,
    ListingProgress,
    MemberLoaded,
    ReportsWorkerFailures,
    UndoFinished,
)
from tui.app.screens.prompts import ConfirmScreen, OwnerScreen, SummaryScreen, VaultScreen
from tui.app.store import VIEWS, ImageStore
from tui.app.widgets.context_bar import ContextBar, ViewTabs
from tui.app.widgets.detail_pane import DetailPane, beside_width, describe, owner_text
from tui.app.widgets.footer import KeyFooter
from tui.app.widgets.image_table import LEGEND, ImageTable
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession, PasswordRequired, StatusFailed, StatusPage
from tui.filter_language import compile_filter, with_field
from tui.formatting import safe_text
from tui.journal import Journal, JournalEntry
from tui.rules import Plan, Rule
from tui.settings import owners

if TYPE_CHECKING:
    # The all-projects inbox, the describe and the projects screens are imported when first
    # used: one project's first rows need none of them.
    from tui.cloud.inbox import Inbox

# Below this width the detail pane moves under the table.
NARROW_WIDTH = 100
# How long the cursor must rest on a row before its member record is fetched.
DETAIL_DELAY = 0.25
DECISION_CONCURRENCY = 8
_DECISION_ACTIONS = {"decide", "undo", "apply_rules"}
#: The binding id of each decision key: how the journal names a decision made in the app.
_KEY_IDS = {
    MemberStatus.ACCEPTED: "accept",
    MemberStatus.REJECTED: "reject",
    MemberStatus.PENDING: "pending",
}


# A decision run: its images by id, the status asked for, the outcomes known so far.
_Run = tuple[dict[str, SharedImage], MemberStatus, dict[str, Decision]]


class FilterInput(Input):
    """The filter field: an ``Input`` whose growing text never re-lays out the screen.

    Textual's ``Input`` keeps ``virtual_size`` equal to its text's width, and ``virtual_size``
    is a layout reactive, so every keystroke re-laid out the whole screen (~29 ms at 120x40 on
    a slow CPU). The field has a fixed size, so a repaint is all it needs.
    """

    virtual_size = Reactive(Size(0, 0), layout=False)

    _on_text: Callable[[str], None] | None = None

    def __init__(self, *, on_text: Callable[[str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)  # sets the first value: not a change to filter by
        self._on_text = on_text

    def watch_value(self, value: str) -> None:
        """Filter while the key is handled, not on ``Input.Changed``: the message arrives after
        the field's own repaint is on its way, so the field and the table would come in two
        frames (two screen updates, ~17-33 ms apart) instead of one."""
        if self._on_text is not None:
            self._on_text(value)


class MainScreen(ReportsWorkerFailures, Screen[None]):
    """Shared images of the project, with accept / reject / reset on one key."""

    BINDINGS = MAIN_BINDINGS
    #: What the help screen adds below the keys: what the table's flags mean.
    HELP_LEGEND = LEGEND

    def __init__(
        self,
        store: ImageStore,
        session: CloudSession,
        *,
        read_only: bool = False,
        refresh_seconds: float = 0.0,
        announce: Callable[[str, str], None] | None = None,
        context_hint: str = "",
        load_at_start: bool = True,
        message_log: MessageLog | None = None,
        inbox: Inbox | None = None,
        journal: Journal | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        #: Where every decision of this screen is recorded (``imshare history`` reads it).
        self.journal = journal or Journal()
        self._journal_toasted = False
        #: All projects: the inbox whose scopes this screen lists and decides in (else None).
        self.inbox = inbox
        store.reset(by_project=inbox is not None)
        self.message_log = MessageLog() if message_log is None else message_log
        # How many outcomes of each decision run are in the log already.
        self._logged: dict[int, int] = {}
        # Each run in flight: its images and the outcomes known so far (for the quit report).
        self._runs: dict[int, _Run] = {}
        self._finished_runs: dict[int, _Run] = {}
        self.session = session
        self.read_only = read_only
        self.refresh_seconds = refresh_seconds
        #: Rings the bell or sends a desktop notification for new shares (``tui.app.notify``).
        self.announce = announce
        self.context_hint = context_hint
        self.load_at_start = load_at_start
        self._generation = 0
        # Rows of the running first listing the table shows (see _listing_progress).
        self._partial_shown = 0
        self._operations = itertools.count(1)
        self._decision_queued = False
        self._detail_timer: Timer | None = None
        self._flash_timer: Timer | None = None
        self._reload_timer: Timer | None = None
        # Problems with owners.toml and rules.toml already said (each once, not per ctrl+r).
        self._file_warnings: set[str] = set()

    # -------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield ContextBar(id="context")
        yield ViewTabs(id="tabs")
        yield Static("", id="notice")
        with Horizontal(id="body"):
            yield ImageTable(self.store, id="table")
            yield DetailPane(id="detail")
        yield Static("", id="flash")
        with Horizontal(id="filter-bar"):
            yield Label("Filter /", id="filter-label")
            yield FilterInput(
                on_text=self._filter_changed,
                value=self.store.filter_text,
                placeholder="words, name: owner: os: status: format: member: region:, !not",
                id="filter",
            )
        yield KeyFooter()

    def on_mount(self) -> None:
        bar = self.query_one(ContextBar)
        bar.read_only = self.read_only
        bar.insecure = not self.session.settings.verify
        bar.fallback = self.context_hint
        bar.token_source = lambda: self.session.current_token
        bar.set_token(self.session.cached_token())
        self._read_owners_and_rules()
        self._update_tabs()
        self.query_one(ImageTable).focus()
        if self.store.filter_text:  # started with --filter: show what filters the table
            self.query_one("#filter-bar").add_class("-active")
        if self.load_at_start:
            self.load_images()
        else:
            self._set_empty_text("Not configured yet: press c to open the config screen.")

    def session_for(self, image: SharedImage) -> CloudSession:
        """The session that reaches the project a row belongs to (all projects: its own)."""
        if self.inbox is not None:
            scope = self.inbox.scope_of(image)
            if scope is not None:
                return scope.session
        return self.session

    def use_session(
        self, session: CloudSession, context_hint: str, *, inbox: Inbox | None = None
    ) -> None:
        """Show another cloud, profile, project or scope (``inbox``: every project of the
        user): forget everything and list anew."""
        self.session = session
        self.inbox = inbox
        self.context_hint = context_hint
        self.store.reset(by_project=inbox is not None)
        bar = self.query_one(ContextBar)
        bar.set_scope_label("all projects" if inbox is not None else "")
        bar.insecure = not session.settings.verify
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
        """Say which images appeared since the last listing (auto-refresh or ctrl+r), and who
        shares them: the owner's name from owners.toml, else its short id."""
        new = [i for i in self.store.visible_all() if self.store.key_of(i) not in before]
        if not new:
            return
        book = self.store.owners
        names = ", ".join(
            f"{safe_text(image.name or image.id)} from {safe_text(book.label(image.owner))}"
            for image in new[:3]
        )
        more = f" and {len(new) - 3} more" if len(new) > 3 else ""
        noun = "image is" if len(new) == 1 else "images are"
        title = f"{len(new)} new {noun} shared with you"
        self.notify(f"{names}{more}", title=title, timeout=8, markup=False)
        if self.announce is not None:
            self.announce(title, f"{names}{more}")

    def on_resize(self, event: Resize) -> None:
        self.set_class(event.size.width < NARROW_WIDTH, "-narrow")
        self._fit_detail()

    @on(ImageTable.WidthWanted)
    def _fit_detail(self) -> None:
        """Beside the table, the detail pane gives way (down to a minimum) to whole names."""
        narrow = self.size.width < NARROW_WIDTH
        wanted = self.query_one(ImageTable).wanted
        pane = self.query_one(DetailPane)
        pane.fit_beside(None if narrow else beside_width(self.size.width, wanted))

    # ----------------------------------------------------------- rendering

    def _incomplete_text(self) -> str:
        failed = self.store.incomplete
        if not failed:
            return ""
        projects = self.store.failed_projects
        if projects:
            if len(projects) == 1:
                name, error = next(iter(projects.items()))
                head = f"Could not list {name}: {error.reason}"
            else:
                head = f"Could not list {len(projects)} projects ({', '.join(projects)})"
            return f"{head} Counts +? are incomplete; m shows each project, ctrl+r retries."
        names = " and ".join(status.value for status in failed)
        reasons = "; ".join(error.reason for error in failed.values())
        return (
            f"Could not list the {names} shares ({reasons}). Counts marked +? are incomplete "
            "and rows marked ? were not confirmed. ctrl+r retries."
        )

    def _update_notice(self) -> None:
        """The line above the table: what is not shown completely, for as long as it is so."""
        store = self.store
        text = self._incomplete_text()
        if not text and store.load_error is not None:
            # In full, wrapped: the table's own line is cut at its width, the hint with it.
            if store.loaded_once:
                text = f"Refresh failed, showing the previous list: {store.load_error.summary}"
            else:
                text = f"Could not load shares: {store.load_error.summary} (ctrl+r retries)"
        notice = self.query_one("#notice", Static)
        shown = Text(safe_text(text))  # the cloud's error words are in it
        if shown != notice.content:  # an update is a re-layout: only when it changed
            notice.update(shown)
        notice.display = bool(text)

    def _update_tabs(self) -> None:
        store = self.store
        # The sort shows in the table's header (▲/▼) and the filter's matches in the filter
        # bar: this line keeps only the marks (and, for every project, where the pending
        # shares are), so it fits 80 columns.
        extra = f"{len(store.marked)} marked" if store.marked else ""
        if self.inbox is not None:
            self.query_one(ContextBar).set_scope_label(self._scope_summary())
        incomplete: set[MemberStatus | None] = set(store.incomplete)
        if incomplete:
            incomplete.add(None)  # "All" is incomplete too
        self.query_one(ViewTabs).set_state(
            store.counts(),
            store.view,
            extra,
            incomplete=incomplete,
            loading=store.listing and not store.loaded_once,
        )
        self._update_filter_label()
        self._update_notice()

    def _scope_summary(self) -> str:
        """``12 projects, 9 with pending shares``: where the work is, in the context bar."""
        inbox = self.inbox
        if inbox is None:
            return ""
        projects = {scope.project.id for scope in inbox.scopes}
        projects |= {gone.project.id for gone in inbox.unreached if not gone.skipped}
        if not self.store.loaded_once:
            return f"all {len(projects)} projects" if projects else "all projects"
        waiting = {
            image.member_id
            for image in self.store.visible_all()
            if image.status is MemberStatus.PENDING
        }
        return f"{len(projects)} projects, {len(waiting)} with pending shares"

    def _update_filter_label(self) -> None:
        store = self.store
        label = "Filter /"
        if store.filter_problem:
            label = f"Filter / {store.filter_problem}"
        elif len(store):
            view = store.view.value if store.view else "shared"
            total = str(store.counts()[store.view])
            # Also before the first key ("10000 of 10000"), and the count padded to the
            # total's digits: the label keeps its width while the filter is typed.
            label = f"Filter / {len(store.visible()):>{len(total)}} of {total} {view}"
        shown = Text(safe_text(label))
        widget = self.query_one("#filter-label", Label)
        if shown != widget.content:
            # A label of the same width needs a repaint, not a layout of the screen
            # (~5-20 ms at 120x40): the match count changes on every filter keystroke.
            before = widget.content.cell_len if isinstance(widget.content, Text) else -1
            widget.update(shown, layout=shown.cell_len != before)

    def _refresh_table(self, *, top: bool = False, detail_later: bool = False) -> None:
        self.query_one(ImageTable).reload(top=top, detail_later=detail_later)
        self._update_tabs()

    def _set_empty_text(self, text: str) -> None:
        table = self.query_one(ImageTable)
        if text != table.empty_text:  # shown only without rows; a repaint is ~10 KB of wire
            table.empty_text = text
            if not table.rows:
                table.refresh()

    def _empty_text(self) -> str:
        store = self.store
        if store.load_error is not None and not store.loaded_once:
            summary = safe_text(store.load_error.summary)
            return f"Could not load shares: {summary}  (ctrl+r to retry)"
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
        key = store.key_of(image)
        pane.show(
            describe(
                image,
                store.members.get(key),
                store.member_errors.get(key),
                store.errors.get(key),
                member_loading=key not in store.members,
                stale=key in store.stale,
                show_member=store.by_project,
                owners=store.owners,
                rule=store.rule_of(key),
            ),
            image_id=key,
        )

    @on(ImageTable.Highlighted)
    def _highlighted(self, event: ImageTable.Highlighted) -> None:
        self._show_detail()
        if self._detail_timer is not None:
            self._detail_timer.stop()
        image = event.image
        if image is not None and self.store.key_of(image) not in self.store.members:
            self._detail_timer = self.set_timer(
                DETAIL_DELAY, lambda: self.load_member(image), name="detail-delay"
            )

    @on(ImageTable.HeaderClicked)
    def _header_clicked(self, event: ImageTable.HeaderClicked) -> None:
        self.action_sort(event.column)

    # ------------------------------------------------------------- loading

    def load_images(self) -> None:
        """Start a listing; the previous rows stay until it is complete."""
        self._generation += 1
        self._partial_shown = 0
        self.store.begin_listing()
        self._update_tabs()  # the counts read "…" until the first listing is in
        self.query_one(ContextBar).set_activity("loading shares…")
        self._set_empty_text(self._empty_text())
        if self.inbox is not None:
            self._list_inbox(self._generation, self.inbox)
        else:
            self._list(self._generation, self.session)

    @work(exclusive=True, group="list", exit_on_error=False, description="Listing shares")
    async def _list(self, generation: int, session: CloudSession) -> None:
        seen: dict[str, SharedImage] = {}
        by_status: dict[MemberStatus, dict[str, SharedImage]] = {}
        failed: dict[MemberStatus, ApiError] = {}
        try:
            async for event in session.iter_listing():
                if isinstance(event, StatusPage):
                    rows = by_status.setdefault(event.status, {})
                    for image in event.images:
                        rows[image.id] = seen[image.id] = image
                    self.post_message(
                        ListingProgress(generation, tuple(seen.values()), session.current_token)
                    )
                elif isinstance(event, StatusFailed):
                    failed[event.status] = event.error
                    by_status.pop(event.status, None)
        except ApiError as error:
            self.post_message(ListingFinished(generation, None, error, session.current_token))
            return
        if len(failed) == len(ALL_STATUSES):
            error = next(iter(failed.values()))
            self.post_message(ListingFinished(generation, None, error, session.current_token))
            return
        complete = {image.id: image for rows in by_status.values() for image in rows.values()}
        self.post_message(
            ListingFinished(
                generation, tuple(complete.values()), None, session.current_token, failed
            )
        )

    @work(exclusive=True, group="list", exit_on_error=False, description="Listing all projects")
    async def _list_inbox(self, generation: int, inbox: Inbox) -> None:
        """Every project of the user at once; one that fails is named, the others list."""
        from tui.cloud.inbox import ScopeDone, ScopeFailed, ScopePage

        token = inbox.base.current_token
        try:
            await inbox.discover()
        except ApiError as error:  # not even the list of projects
            self.post_message(ListingFinished(generation, None, error, token))
            return
        token = inbox.base.current_token
        seen: dict[str, SharedImage] = {}
        rows: dict[str, dict[str, SharedImage]] = {}
        failed: dict[str, ApiError] = {}
        failed_members: set[str] = set()
        for unreached in inbox.unreached:
            if not unreached.skipped and unreached.error is not None:
                failed[unreached.project.name] = unreached.error
                failed_members.add(unreached.project.id)
        answered = 0
        async for event in inbox.iter_events():
            if isinstance(event, ScopeDone):
                answered += 1
            elif isinstance(event, ScopePage):
                scope_rows = rows.setdefault(event.scope.key, {})
                for image in event.images:
                    scope_rows[image.id] = seen[image.key] = image
                self.post_message(ListingProgress(generation, tuple(seen.values()), token))
            elif isinstance(event, ScopeFailed):
                rows.pop(event.scope.key, None)
                failed[event.scope.label] = event.error
                failed_members.add(event.scope.project.id)
        if not answered and failed:
            error = next(iter(failed.values()))
            self.post_message(ListingFinished(generation, None, error, token))
            return
        complete = [image for scope_rows in rows.values() for image in scope_rows.values()]
        self.post_message(
            ListingFinished(
                generation,
                tuple(complete),
                None,
                token,
                failed_projects=failed,
                failed_members=frozenset(failed_members),
            )
        )

    @on(ListingProgress)
    def _listing_progress(self, message: ListingProgress) -> None:
        if message.generation != self._generation:
            return
        bar = self.query_one(ContextBar)
        bar.set_token(message.token)
        bar.set_activity(f"loading shares… {len(message.images)} so far")
        if not self.store.loaded_once and len(message.images) >= 2 * self._partial_shown:
            # Show the first rows before the rest arrives. Later pages join the table each
            # time the rows have doubled: every time costs a sort and a measure of all rows,
            # so 50,000 shares take 7 of them instead of one per page (53).
            self._partial_shown = len(message.images)
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
            store.finish_listing(
                message.images or (),
                message.failed,
                message.failed_projects,
                message.failed_members,
            )
            if before is not None:
                self._announce_new(before)
            if message.failed or message.failed_projects:
                self.notify(
                    self._incomplete_text(),
                    title="Listing incomplete",
                    severity="warning",
                    markup=False,
                    timeout=10,
                )
        self._start_reload_timer()
        if self.refresh_seconds:
            bar.refresh_note = (
                f"auto-refresh {self.refresh_seconds:g}s, last {datetime.now(UTC):%H:%M} UTC"
            )
        self._set_empty_text(self._empty_text())
        self._refresh_table()
        self.call_after_refresh(self._after_listing_drawn)

    def _after_listing_drawn(self) -> None:
        """Work a listing leaves, done while the user looks at its rows rather than on their
        first keystrokes: the filter's texts, and a garbage collection (``heap.settle``)."""
        self.store.prepare_filter()
        heap.settle()

    @work(exclusive=True, group="detail", exit_on_error=False, description="Reading share")
    async def load_member(self, image: SharedImage) -> None:
        key = self.store.key_of(image)
        if key in self.store.members:
            return
        try:
            member = await self.session_for(image).get_member(image.id)
        except PasswordRequired:
            return
        except ApiError as error:
            self.post_message(MemberLoaded(key, None, error))
        else:
            self.post_message(MemberLoaded(key, member, None))

    @on(MemberLoaded)
    def _member_loaded(self, message: MemberLoaded) -> None:
        if message.member is not None:
            self.store.set_member(message.image_id, message.member)
        elif message.error is not None:
            self.store.set_member_error(message.image_id, message.error)
            image = self.store.get(message.image_id)
            name = image.name if image is not None and image.name else message.image_id
            self.message_log.add(
                Level.ERROR, f"could not read the share of {name}: {message.error.reason}"
            )
        current = self.query_one(ImageTable).current
        if current is not None and self.store.key_of(current) == message.image_id:
            self._show_detail()

    # -------------------------------------------------------------- actions

    def flash(self, text: str, seconds: float = 3.0) -> None:
        """A line above the footer for a few seconds: a short answer to a key, not news."""
        line = self.query_one("#flash", Static)
        line.update(Text(text))
        line.display = True
        if self._flash_timer is not None:
            self._flash_timer.stop()
        self._flash_timer = self.set_timer(seconds, self._end_flash)

    def _end_flash(self) -> None:
        self.query_one("#flash", Static).display = False
        self._flash_timer = None

    def on_key(self, event: events.Key) -> None:
        # Read-only hides and blocks the decision keys; pressing one still gets an answer.
        if not self.read_only:
            return
        bindings = self._bindings.key_to_bindings.get(event.key, ())
        if any(
            binding.action.startswith("decide(") or binding.action == "apply_rules"
            for binding in bindings
        ):
            event.stop()
            self.flash("read-only: decisions are off (started with --read-only)")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Read-only mode hides the decision keys from the footer and help, and blocks them.
        if action in _DECISION_ACTIONS and self.read_only:
            return False
        # Sorting by project or region means something only with every project in view.
        if action == "sort" and parameters and parameters[0] in ("member", "region"):
            return self.inbox is not None
        return not (action == "project_counts" and self.inbox is None)

    def action_project_counts(self) -> None:
        """Where the shares are, per project; picking one narrows the table to it."""
        if self.inbox is None:
            return
        from tui.app.screens.projects import ProjectsScreen, project_counts

        rows = project_counts(
            self.inbox.scopes,
            self.inbox.unreached,
            self.store.visible_all(),
            self.store.failed_projects,
        )
        current = self._filtered_member()
        self.app.push_screen(ProjectsScreen(rows, current), callback=self._project_picked)

    def _filtered_member(self) -> str:
        """The project the filter narrows to (one ``member:`` term naming a project id)."""
        ids = {scope.project.id for scope in self.inbox.scopes} if self.inbox else set()
        found = [
            t.text for t in compile_filter(self.store.filter_text).terms if t.field == "member"
        ]
        return found[0] if len(found) == 1 and found[0] in ids else ""

    def _project_picked(self, project_id: str | None) -> None:
        if project_id is None:
            return
        text = with_field(self.store.filter_text, "member", project_id)
        field = self.query_one("#filter", Input)
        field.value = text
        self.store.set_filter(text)
        self.query_one("#filter-bar").set_class(bool(text), "-active")
        self._set_empty_text(self._empty_text())
        self._refresh_table(top=True)
        self.query_one(ImageTable).focus()

    def action_show_view(self, index: int) -> None:
        if 0 <= index < len(VIEWS):
            self.store.set_view(VIEWS[index])
            self._set_empty_text(self._empty_text())
            self._refresh_table(top=True)

    def action_sort(self, key: str) -> None:
        self.store.toggle_sort(key)
        self._refresh_table(top=True)

    def action_toggle_mark(self) -> None:
        table = self.query_one(ImageTable)
        image = table.current
        if image is None:
            return
        self.store.toggle_mark(self.store.key_of(image))
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
        # At once, not on the next idle tick: the keys typed right after "/" go there.
        self.set_focus(self.query_one("#filter", Input))

    def action_describe(self) -> None:
        """The highlighted image on the whole screen; escape comes back to the same row."""
        from tui.app.screens.describe import DescribeScreen

        image = self.query_one(ImageTable).current
        if image is None:
            return
        store, session = self.store, self.session_for(image)
        key = store.key_of(image)
        self.app.push_screen(
            DescribeScreen(
                image,
                store.members.get(key),
                store.member_errors.get(key),
                read_member=lambda: session.get_member(image.id),
                read_document=lambda: session.get_image_document(image.id),
                last_error=store.errors.get(key),
                stale=key in store.stale,
                owner=owner_text(image.owner, store.owners),
                rule=_rule_text(store.rule_of(key)),
            )
        )

    def action_toggle_detail(self) -> None:
        """w: the detail pane hides (the table takes its room) or comes back."""
        hidden = not self.has_class("-detail-hidden")
        self.set_class(hidden, "-detail-hidden")
        if hidden and self.query_one(DetailPane).has_focus:
            self.query_one(ImageTable).focus()

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

    def _filter_changed(self, text: str) -> None:
        """The filter field's text changed (typed, or set by the screen)."""
        if text.strip() == self.store.filter_text:
            return  # built with, or set by the screen to, what the store already filters by
        self.store.set_filter(text)
        self._set_empty_text(self._empty_text())
        self._refresh_table(detail_later=True)

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        if not event.value:
            self.query_one("#filter-bar").remove_class("-active")
        self.query_one(ImageTable).focus()

    def action_refresh(self) -> None:
        self.store.forget_members()
        self._read_owners_and_rules()
        self.load_images()

    def action_copy_id(self) -> None:
        image = self.query_one(ImageTable).current
        if image is None:
            return
        # The id comes from the cloud too: the clipboard gets what the screen shows, never
        # control characters (the terminal's paste would type them).
        image_id = safe_text(image.id)
        self.app.copy_to_clipboard(image_id)
        self.notify(
            f"Copied {image_id} (OSC 52; in tmux set set-clipboard on)",
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
        done = [self.store.key_of(image) for image in images if image.status == target]
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
        blocked = [i for i in images if self.store.owners.is_blocked(i.owner)]
        # Asked before anything else, also for a single image: the user said not to trust
        # this owner.
        if (
            status is MemberStatus.ACCEPTED
            and blocked
            and not await self.app.push_screen_wait(ConfirmScreen(self._blocked_question(blocked)))
        ):
            return
        if status is MemberStatus.REJECTED or len(images) > 1:
            noun = "image" if len(images) == 1 else f"{len(images)} images"
            projects = {image.member_id for image in images}
            where = f" in {len(projects)} projects" if self.inbox and len(projects) > 1 else ""
            question = f"{status.verb.capitalize()} {noun}{where}?\n\n{self._names(images)}"
            if status is MemberStatus.REJECTED:
                question += f"\n\n{REJECT_NOTE}"
            if not await self.app.push_screen_wait(ConfirmScreen(question)):
                return
        vault_id = ""
        whole = [image for image in images if image.needs_vault]
        if status is MemberStatus.ACCEPTED and whole:
            vault_id = await self.app.push_screen_wait(VaultScreen(whole)) or ""
            if not vault_id:
                self.notify("Not accepted: full-ECS images need a vault id.", severity="warning")
                return
        await self._send(images, status, vault_id=vault_id)

    def _blocked_question(self, blocked: list[SharedImage]) -> str:
        """The extra question before accepting images of blocked owners: who, and which."""
        book = self.store.owners
        who = sorted({book.name_of(i.owner) or i.owner for i in blocked})
        owner_words = ", ".join(who)
        noun = "image" if len(blocked) == 1 else f"{len(blocked)} images"
        return (
            f"Accept {noun} of a blocked owner?\n\nYou blocked {owner_words} in owners.toml "
            f"(o changes it):\n\n{self._names(blocked)}\n\nAccept anyway?"
        )

    async def _send(
        self,
        images: list[SharedImage],
        status: MemberStatus,
        *,
        vault_id: str = "",
        rule: Rule | None = None,
    ) -> None:
        """Send one decision run (one key press, or one rule of ``X``) and report on it."""
        operation = next(self._operations)
        keys = tuple(self.store.key_of(image) for image in images)
        self.post_message(DecisionStarted(operation, status, keys))
        known: list[Decision] = []

        def progress(decision: Decision) -> None:
            known.append(decision)
            self.post_message(DecisionProgress(operation, status, tuple(known), len(keys)))

        # Each project's rows go to that project's session: its token, its member id, and
        # (where the cloud has one) its own batch job. One key press (or one rule of X), one
        # journal operation.
        groups: dict[int, tuple[CloudSession, list[SharedImage]]] = {}
        for image in images:
            session = self.session_for(image)
            groups.setdefault(id(session), (session, []))[1].append(image)
        try:
            if rule is not None:
                await rules.send(
                    list(groups.values()),
                    rule,
                    warn=self._journal_trouble,
                    journal=self.journal,
                    concurrency=DECISION_CONCURRENCY,
                    on_progress=progress,
                )
            else:
                await journaled.decide(
                    [
                        (session, [journaled.subject_of(image, session) for image in group])
                        for session, group in groups.values()
                    ],
                    status,
                    how=f"key {_KEY_IDS[status]}",
                    warn=self._journal_trouble,
                    journal=self.journal,
                    vault_id=vault_id,
                    concurrency=DECISION_CONCURRENCY,
                    on_progress=progress,
                )
        finally:
            self.post_message(DecisionFinished(operation, status, tuple(images), tuple(known)))

    def action_undo(self) -> None:
        """z: the last operation of this user on this cloud, set back after a y/N."""
        if self.store.deciding or self._decision_queued:
            self.notify("A decision is still running; wait for it to finish.", severity="warning")
            return
        self._decision_queued = True
        self.run_undo()

    @work(group="decide", exit_on_error=False, description="Undoing")
    async def run_undo(self) -> None:
        try:
            await self._undo()
        finally:
            self._decision_queued = False

    async def _undo(self) -> None:
        session = self.session
        try:
            await session.token()  # the journal is matched by Keystone's names for the user
            found = undo.journal_entries(self.journal)
        except ApiError as error:
            self.notify(error.reason, title="Cannot undo", severity="error", markup=False)
            return
        except OSError as error:
            self.notify(str(error), title="Cannot undo", severity="error", markup=False)
            return
        who = journaled.who_for(session, "key undo")
        operations = undo.last_operations(found, who)
        if not operations:
            self.notify(
                "Nothing to undo: the journal has no decision of yours on this cloud.",
                markup=False,
            )
            return
        sessions = undo.sessions_from(session)
        self.query_one(ContextBar).set_activity("Reading the images to undo…")
        try:
            (plan,) = await undo.plan(operations, sessions)
        finally:
            self.query_one(ContextBar).set_activity("")
        text = "\n".join(plan.describe(limit=8, ids=False))
        if not plan.todo:
            self.app.push_screen(SummaryScreen("Nothing to undo", [(text, None)]))
            return
        if not await self.app.push_screen_wait(ConfirmScreen(f"{text}\n\nSet them back?")):
            return
        keys: list[str] = []
        for item in plan.todo:
            key = self._undo_key(item.entry)
            if key is not None and item.target is not None:
                keys.append(key)
                self.store.start_decision([key], item.target)
        self.query_one(ContextBar).set_activity(f"Undoing {len(keys)}")
        self._refresh_table()
        decisions: tuple[Decision, ...] = ()
        operation = ""
        try:
            recorded = await undo.run(
                plan,
                sessions,
                who=who,
                warn=self._journal_trouble,
                journal=self.journal,
                concurrency=DECISION_CONCURRENCY,
            )
            decisions, operation = tuple(recorded.decisions), recorded.operation
        finally:
            self.store.end_decision(keys)
            self.post_message(UndoFinished(plan, decisions, operation))

    def _undo_key(self, entry: JournalEntry) -> str | None:
        """The row an undone entry is about, or None when its project is not in view."""
        if self.store.by_project:
            return f"{entry.member_id}/{entry.image_id}"
        token = self.session.current_token
        own = token.project_id if token else self.session.settings.project_id
        return entry.image_id if entry.member_id in ("", own) else None

    @on(UndoFinished)
    def _undo_finished(self, message: UndoFinished) -> None:
        plan = message.plan
        by_id = {(i.entry.member_id, i.entry.image_id): i for i in plan.todo}
        failures: list[tuple[str, ApiError | None]] = []
        for decision in message.decisions:
            item = by_id.get((decision.member_id, decision.image_id))
            if item is not None and self._undo_key(item.entry) is not None:
                self.store.apply_decision(decision)
            label = item.label if item is not None else decision.image_id
            if decision.ok:
                self.message_log.add(Level.DONE, f"undo: {decision.status.done} {label}")
            else:
                reason = undo.explain(decision)
                self.message_log.add(Level.ERROR, f"undo: could not set back {label}: {reason}")
                failures.append((label, ApiError(reason)))
        for item in plan.skipped:
            self.message_log.add(Level.WARNING, f"undo: not touched {item.label}: {item.skip}")
        self.query_one(ContextBar).set_activity("")
        self._refresh_table()
        self._show_detail()
        if len(message.decisions) < len(plan.todo):
            return  # cancelled (the app is closing)
        done = sum(1 for d in message.decisions if d.ok)
        skipped = [(item.label, ApiError(item.skip)) for item in plan.skipped]
        if failures or skipped:
            self.app.push_screen(
                SummaryScreen(
                    f"Undo of {plan.operation}: {done} of {len(plan.items)} set back "
                    f"({message.operation}); these were not:",
                    failures + skipped,
                )
            )
        else:
            self.notify(
                f"Set {done} image(s) back (undo {plan.operation}; each one is in the log: @).",
                markup=False,
                timeout=4,
            )

    def _journal_trouble(self, problem: str) -> None:
        """The journal could not be written: the decision goes on (see :mod:`tui.journaled`).
        Each operation it misses is in the log; the toast (logged too) comes once a run."""
        if self._journal_toasted:
            self.message_log.add(Level.WARNING, problem)
        else:
            self._journal_toasted = True
            self.notify(
                f"{problem} (every later one is in the log: @)",
                title="Decision journal",
                severity="warning",
                markup=False,
                timeout=10,
            )

    # ------------------------------------------------------------- owners, rules

    def _read_owners_and_rules(self) -> None:
        """owners.toml and rules.toml, at start and again on ctrl+r (edited meanwhile). A file
        that cannot be used is said once; the app goes on without names or without rules."""
        book, problem = owners.load_or_empty()
        rule_set, warnings = rules.load_or_empty()
        for warning in [problem, *warnings]:
            if warning and warning not in self._file_warnings:
                self._file_warnings.add(warning)
                self.notify(warning, severity="warning", markup=False, timeout=12)
        self.store.set_owners(book)
        self.store.set_rules(rule_set)
        if self.is_mounted:
            self._refresh_table()
            self._show_detail()

    def action_name_owner(self) -> None:
        """o: name the highlighted row's owner (not a decision: allowed read-only too)."""
        image = self.query_one(ImageTable).current
        if image is None:
            return
        owner_id = image.owner
        if not owner_id:
            self.notify("This image names no owner.", severity="warning")
            return
        book = self.store.owners
        count = sum(1 for row in self.store.visible_all() if row.owner == owner_id)
        self.app.push_screen(
            OwnerScreen(owner_id, book.name_of(owner_id), book.trust_of(owner_id), count),
            callback=lambda answer: self._owner_named(owner_id, answer),
        )

    def _owner_named(self, owner_id: str, answer: tuple[str, owners.Trust] | None) -> None:
        if answer is None:
            return
        name, trust = answer
        try:
            book = owners.set_owner(owner_id, name, trust)
        except owners.OwnersError as error:
            self.notify(str(error), title="Owner not saved", severity="error", markup=False)
            return
        self.store.set_owners(book)
        self._refresh_table()
        self._show_detail()
        if book.get(owner_id) is None:
            self.flash(f"Forgot the name of owner {owner_id}")
        else:
            shown = name or owner_id
            self.flash(f"Owner {shown}: {trust.value} (saved in owners.toml)")

    def action_apply_rules(self) -> None:
        """X: decide what rules.toml says about the pending shares, after a y/N."""
        if self.store.deciding or self._decision_queued:
            self.notify("A decision is still running; wait for it to finish.", severity="warning")
            return
        store = self.store
        if not store.rules:
            self.notify(
                f"No rules: write them in {rules.rules_file()} (the README shows how); "
                "ctrl+r reads the file again.",
                markup=False,
                timeout=8,
            )
            return
        plan = store.rule_plan()
        skipped = f" ({len(plan.skipped)} matched but skipped)" if plan.skipped else ""
        if not plan.decide:
            self.notify(f"No pending share for the rules to decide{skipped}.", markup=False)
            return
        if plan.over_limit:
            self.notify(
                f"The rules would decide {len(plan.decide)} images, more than max_per_run "
                f"({plan.max_per_run}) in rules.toml: nothing was decided. Raise max_per_run, "
                "or run `imshare apply --yes --force` from a shell.",
                title="Too many for one run",
                severity="warning",
                markup=False,
                timeout=12,
            )
            return
        self._decision_queued = True
        self.run_rules(plan)

    @work(group="decide", exit_on_error=False, description="Applying rules")
    async def run_rules(self, plan: Plan) -> None:
        try:
            if not await self.app.push_screen_wait(ConfirmScreen(self._rules_question(plan))):
                return
            for rule, images in plan.by_rule():
                await self._send(images, rule.action, vault_id=rule.vault_id, rule=rule)
        finally:
            self._decision_queued = False

    def _rules_question(self, plan: Plan, limit: int = 12) -> str:
        """Every image the rules would decide, with what and by which rule; then what they
        skip and why."""
        count = len(plan.decide)
        noun = "1 pending image" if count == 1 else f"{count} pending images"
        lines = [f"Apply the rules to {noun}?", ""]
        for image, rule in plan.decide[:limit]:
            where = ""
            if self.inbox is not None:
                where = f" ({safe_text(image.member_name or image.member_id)})"
            name = safe_text(image.name or image.id)
            lines.append(f"  {rule.action.verb} {name}{where}  — rule “{rule.label}”")
        if len(plan.decide) > limit:
            lines.append(f"  … and {len(plan.decide) - limit} more")
        if plan.skipped:
            lines.append("")
            lines.append(f"Skipped ({len(plan.skipped)}):")
            for skip in plan.skipped[:4]:
                lines.append(f"  {safe_text(skip.image.name or skip.image.id)}: {skip.reason}")
            if len(plan.skipped) > 4:
                lines.append(f"  … and {len(plan.skipped) - 4} more")
        return "\n".join(lines)

    def _names(self, images: list[SharedImage], limit: int = 8) -> str:
        """The images a confirmation names (with their project, when there are many)."""
        lines = []
        for image in images[:limit]:
            name = safe_text(image.name or image.id)
            if self.inbox is not None:
                name += f"  ({safe_text(image.member_name or image.member_id)})"
            lines.append(f"  {name}")
        if len(images) > limit:
            lines.append(f"  … and {len(images) - limit} more")
        return "\n".join(lines)

    # ---------------------------------------------------------------- quitting

    def decisions_running(self) -> int:
        """Images whose decision was sent (or is about to be) and not answered yet."""
        return len(self.store.in_flight)

    async def finish_decisions(self, timeout: float) -> list[str]:
        """Let the runs in flight finish (at most ``timeout`` seconds); one line per image of
        those runs saying what came of it — for stderr, after the terminal is given back."""
        running = set(self._runs)
        workers = [
            w
            for w in self.app.workers
            if w.node is self and w.group == "decide" and not w.is_finished
        ]
        if workers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    for worker in workers:
                        with contextlib.suppress(Exception):
                            await worker.wait()
        lines: list[str] = []
        for operation in sorted(running):
            images, status, outcomes = self._finished_runs.get(operation) or self._runs.get(
                operation, ({}, MemberStatus.PENDING, {})
            )
            for key, image in images.items():
                image_id = image.id or key
                name = safe_text(image.name or image_id)
                decision = outcomes.get(key)
                if decision is None:
                    lines.append(
                        f"{image_id} ({name}): unknown: no answer before imshare quit; "
                        f"check with: imshare show {image_id}"
                    )
                elif decision.ok:
                    lines.append(f"{status.value} {image_id} ({name})")
                else:
                    reason = decision.error.reason if decision.error else "not confirmed"
                    lines.append(f"{image_id} ({name}): {safe_text(reason)}")
        return lines

    @on(DecisionStarted)
    def _decision_started(self, message: DecisionStarted) -> None:
        self._runs[message.operation] = (
            {i: self.store.get(i) or SharedImage(i, "", "", None) for i in message.image_ids},
            message.status,
            {},
        )
        self.store.start_decision(message.image_ids, message.status)
        total = len(message.image_ids)
        self.query_one(ContextBar).set_activity(f"{message.status.doing.capitalize()} 0/{total}")
        self._refresh_table()

    def _log_outcomes(self, operation: int, decisions: tuple[Decision, ...]) -> None:
        """Each outcome once in the log: what was decided, or why not."""
        start = self._logged.get(operation, 0)
        for decision in decisions[start:]:
            image = self.store.get(self.store.decision_key(decision))
            name = image.name if image is not None and image.name else decision.image_id
            where = f"{name} ({decision.image_id})"
            if self.inbox is not None and image is not None:
                where += f" in {image.member_name or image.member_id}"
            if decision.ok:
                self.message_log.add(Level.DONE, f"{decision.status.done} {where}")
            else:
                reason = decision.error.reason if decision.error else "not confirmed"
                self.message_log.add(
                    Level.ERROR, f"could not {decision.status.verb} {where}: {reason}"
                )
        self._logged[operation] = max(start, len(decisions))

    @on(DecisionProgress)
    def _decision_progress(self, message: DecisionProgress) -> None:
        self._log_outcomes(message.operation, message.decisions)
        run = self._runs.get(message.operation)
        if run is not None:
            run[2].update((self.store.decision_key(d), d) for d in message.decisions)
        for decision in message.decisions:
            self.store.apply_decision(decision)
        done = len(message.decisions)
        status = message.status
        bar = self.query_one(ContextBar)
        bar.set_token(self.session.current_token or bar.token)  # a re-login shows at once
        bar.set_activity(f"{status.doing.capitalize()} {done}/{message.total}")
        self._refresh_table()
        self._show_detail()

    @on(DecisionFinished)
    def _decision_finished(self, message: DecisionFinished) -> None:
        self._log_outcomes(message.operation, message.decisions)
        self._logged.pop(message.operation, None)
        run = self._runs.pop(message.operation, None)
        if run is not None:
            run[2].update((self.store.decision_key(d), d) for d in message.decisions)
            self._finished_runs[message.operation] = run
        store = self.store
        for decision in message.decisions:
            store.apply_decision(decision)
        images = message.images
        store.end_decision(store.key_of(image) for image in images)
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
            if total == 1:
                text = f"{status.done.capitalize()} {images[0].name or images[0].id}."
            else:
                text = f"{status.done.capitalize()} {total} images (each one is in the log: @)."
            self.notify(text, markup=False, timeout=4)
        elif total == 1:
            error = failures[0].error
            assert error is not None
            self.notify(
                error.reason, title=f"Could not {status.verb}", severity="error", markup=False
            )
        else:
            by_id = {self.store.key_of(image): image for image in images}
            succeeded = total - len(failures)
            self.app.push_screen(
                SummaryScreen(
                    f"{status.done.capitalize()} {succeeded} of {total}; {len(failures)} failed "
                    "(still marked, press the key again to retry):",
                    [
                        (by_id[self.store.decision_key(d)].name or d.image_id, d.error)
                        for d in failures
                    ],
                )
            )


def _rule_text(rule: Rule | None) -> str:
    """What the describe view says of the rule that would decide an image."""
    if rule is None:
        return ""
    return f"“{rule.label}” would {rule.action.verb} it (X applies the rules)"
