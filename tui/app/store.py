"""Everything the app knows about the shares on screen, changed only through these methods.

The rows, the member records and their errors, the last failed decision of each image, the
marks, the decisions in flight, the listing's state, and the view, filter and sort. Workers never
touch it: they post messages, and the screen's handlers call the methods here. Kept free of
Textual so it can be tested and benchmarked alone. The table renders only the visible slice of
``visible()``, so filtering 10,000 images costs one pass over a cached, sorted list rather than
rebuilding widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage
from tui.filter_language import Filter, Haystack, compile_filter, haystack
from tui.rules import Plan, Rule, RuleSet, plan
from tui.settings.owners import OwnerBook

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Filter results kept per sorted view (see ImageStore.visible): a word typed and erased.
_FILTERS_KEPT = 16


@dataclass(frozen=True, slots=True)
class TableColumn:
    """A column of the app's table: its key, header, sort letter (shift+letter), sort order."""

    key: str
    label: str
    sort_letter: str
    sort_value: Callable[[SharedImage], Any]


COLUMNS: tuple[TableColumn, ...] = (
    TableColumn("name", "Name", "N", lambda i: (i.name.lower(), i.id)),
    TableColumn(
        "status", "Status", "S", lambda i: (i.status.value if i.status else "", i.name.lower())
    ),
    TableColumn("os", "OS", "O", lambda i: (i.os_version.lower(), i.name.lower())),
    TableColumn("size", "Size", "Z", lambda i: (i.size_bytes or 0, i.name.lower())),
    TableColumn("format", "Format", "F", lambda i: (i.disk_format, i.name.lower())),
    TableColumn("owner", "Owner", "W", lambda i: (i.owner, i.name.lower())),
    TableColumn(
        "member", "Member", "M", lambda i: ((i.member_name or i.member_id).lower(), i.name.lower())
    ),
    TableColumn("region", "Region", "E", lambda i: (i.region, i.name.lower())),
    TableColumn("created", "Created", "C", lambda i: (i.created_at or _EPOCH, i.name.lower())),
)
COLUMN_BY_KEY: dict[str, TableColumn] = {column.key: column for column in COLUMNS}

# The status views in key order: 1 Pending, 2 Accepted, 3 Rejected, 4 All (None).
VIEWS: tuple[MemberStatus | None, ...] = (*ALL_STATUSES, None)


def view_label(view: MemberStatus | None) -> str:
    return view.label if view else "All"


class ImageStore:
    """Every shared image we know of, and what the user is doing with them."""

    def __init__(self) -> None:
        self._images: dict[str, SharedImage] = {}
        self._marked: set[str] = set()
        self._errors: dict[str, ApiError] = {}
        self._members: dict[str, Member] = {}
        self._member_errors: dict[str, ApiError] = {}
        self._in_flight: dict[str, MemberStatus] = {}
        #: Rows of every project of the user (the inbox), keyed by project and image id.
        self.by_project = False
        # Rows the last listing could not confirm (their status's listing failed).
        self._stale: set[str] = set()
        #: Statuses the last listing could not list completely, and why: their counts are
        #: shown as incomplete and a line says what failed, until a listing completes.
        self.incomplete: dict[MemberStatus, ApiError] = {}
        #: All projects: projects the last listing could not reach, by name, and why.
        self.failed_projects: dict[str, ApiError] = {}
        #: A listing is running; the previous complete one (if any) stays on screen meanwhile.
        self.listing = False
        #: A complete listing has arrived since the last reset: a failure is then shown as
        #: "showing the previous list", not in place of the list.
        self.loaded_once = False
        self.load_error: ApiError | None = None
        self.view: MemberStatus | None = MemberStatus.PENDING
        self.sort_key = "name"
        self.sort_reverse = False
        self._filter = ""
        self._compiled: Filter = compile_filter("")
        self._sorted: list[SharedImage] | None = None
        self._visible: list[SharedImage] | None = None
        self._visible_filter = ""
        # The filter's haystack of each row, parallel to ``_sorted`` / ``_visible``: a keystroke
        # in the filter is then a few substring tests per row instead of building texts.
        self._sorted_texts: list[Haystack] | None = None
        self._visible_texts: list[Haystack] = []
        # Recent filters' results (rows, haystacks) for the current sorted view: a keystroke
        # that narrows the last filter tests only its rows, a backspace finds its result here.
        self._filtered: dict[str, tuple[Filter, list[SharedImage], list[Haystack]]] = {}
        self._counts: dict[MemberStatus | None, int] | None = None
        self._texts: dict[str, tuple[SharedImage, Haystack]] = {}
        #: The names and trust levels the user gave owners (owners.toml).
        self.owners = OwnerBook()
        #: The rules of rules.toml, and what they would decide now (computed when asked).
        self.rules = RuleSet()
        self._plan: Plan | None = None
        self._rule_of: dict[str, Rule] = {}

    # ------------------------------------------------------- owners and rules

    def set_owners(self, owners: OwnerBook) -> None:
        """New owner names: the filter's texts, the owner sort and the rules' plan follow."""
        self.owners = owners
        self._texts = {}
        self._invalidate()

    def set_rules(self, rules: RuleSet) -> None:
        self.rules = rules
        self._plan = None

    def rule_plan(self) -> Plan:
        """What the rules would decide among every row now (pending rows, blocked owners
        skipped); kept until the rows, the owners or the rules change."""
        if self._plan is None:
            self._plan = plan(self._images.values(), self.rules, self.owners)
            self._rule_of = self._plan.rule_of(self.key_of)
        return self._plan

    def rule_of(self, key: str) -> Rule | None:
        """The rule that would decide the row ``key`` (None: no rule would)."""
        if not self.rules:
            return None
        self.rule_plan()
        return self._rule_of.get(key)

    def flagged(self) -> bool:
        """Whether any row may carry a blocked-owner or a rule flag (the table then shows the
        column for it)."""
        return bool(self.rules) or self.owners.any_blocked

    def _sort_value(self) -> Callable[[SharedImage], Any]:
        if self.sort_key == "owner":
            text = self.owners.sort_text
            return lambda image: (text(image.owner), image.name.lower())
        return COLUMN_BY_KEY[self.sort_key].sort_value

    # ------------------------------------------------------------ read access

    def key_of(self, image: SharedImage) -> str:
        """The key of a row: its image id, or — when the store holds every project's shares
        (the same image can be shared with two of them) — its project and image id."""
        return image.key if self.by_project else image.id

    def __len__(self) -> int:
        return len(self._images)

    def ids(self) -> set[str]:
        return set(self._images)

    def get(self, image_id: str) -> SharedImage | None:
        return self._images.get(image_id)

    @property
    def marked(self) -> AbstractSet[str]:
        return self._marked

    @property
    def errors(self) -> Mapping[str, ApiError]:
        """The last failed decision of each image, until it succeeds or the image is gone."""
        return MappingProxyType(self._errors)

    @property
    def members(self) -> Mapping[str, Member]:
        return MappingProxyType(self._members)

    @property
    def member_errors(self) -> Mapping[str, ApiError]:
        return MappingProxyType(self._member_errors)

    @property
    def in_flight(self) -> Mapping[str, MemberStatus]:
        return MappingProxyType(self._in_flight)

    @property
    def deciding(self) -> bool:
        return bool(self._in_flight)

    @property
    def stale(self) -> AbstractSet[str]:
        """Rows kept from an earlier listing that the last one could not confirm."""
        return self._stale

    def visible_all(self) -> list[SharedImage]:
        """Every image, sorted as the table is, regardless of view and filter."""
        rows = list(self._images.values())
        rows.sort(key=self._sort_value(), reverse=self.sort_reverse)
        return rows

    def counts(self) -> dict[MemberStatus | None, int]:
        """Images per status (``None``: all), counted once per change of the rows: the tabs
        and the filter bar ask on every keystroke, and a count of 10,000 costs ~5 ms."""
        if self._counts is None:
            result: dict[MemberStatus | None, int] = dict.fromkeys(VIEWS, 0)
            for image in self._images.values():
                if image.status is not None:
                    result[image.status] += 1
            result[None] = len(self._images)
            self._counts = result
        return dict(self._counts)

    # ---------------------------------------------------------------- listing

    def reset(self, *, by_project: bool | None = None) -> None:
        """Forget everything about the shares (another project, cloud or scope is shown)."""
        if by_project is not None:
            self.by_project = by_project
        self._images = {}
        self._texts = {}
        self._marked.clear()
        self._errors.clear()
        self._members.clear()
        self._member_errors.clear()
        self._in_flight.clear()
        self._stale.clear()
        self.incomplete = {}
        self.failed_projects = {}
        self.listing = False
        self.loaded_once = False
        self.load_error = None
        self._invalidate()

    def begin_listing(self) -> None:
        self.listing = True
        self.load_error = None

    def add_partial(self, images: Iterable[SharedImage]) -> None:
        """Rows of a first listing still arriving: shown before the rest comes in."""
        for image in images:
            self._images[self.key_of(image)] = image
        self._invalidate()

    def finish_listing(
        self,
        images: Iterable[SharedImage],
        failed: Mapping[MemberStatus, ApiError] | None = None,
        failed_projects: Mapping[str, ApiError] | None = None,
        failed_members: Iterable[str] = (),
    ) -> None:
        """Take a listing: complete (``failed`` empty) or not.

        A complete listing replaces everything; state of images that are gone is dropped. An
        incomplete one replaces the rows it confirmed, and keeps every other known row flagged
        stale — it may only have moved into a status that could not be listed — so nothing
        shared with the user vanishes because a request failed.
        """
        listed = {self.key_of(image): image for image in images}
        failed = dict(failed or {})
        self.failed_projects = dict(failed_projects or {})
        # Rows that may still be true but were not confirmed: every unconfirmed row when a
        # status could not be listed; only the failed projects' rows when projects failed.
        keep_members = None if failed else set(failed_members)
        if self.failed_projects:
            # A project that could not be listed leaves every status count a lower bound.
            for status in ALL_STATUSES:
                failed.setdefault(status, next(iter(self.failed_projects.values())))
        if failed:
            kept = {
                k: v
                for k, v in self._images.items()
                if k not in listed and (keep_members is None or v.member_id in keep_members)
            }
            self._stale = set(kept)
            listed = {**kept, **listed}
        else:
            self._stale = set()
        self._images = listed
        keep = self._images.keys()
        self._texts = {k: v for k, v in self._texts.items() if k in keep}
        self._marked &= keep
        self._errors = {k: v for k, v in self._errors.items() if k in keep}
        self._members = {k: v for k, v in self._members.items() if k in keep}
        self._member_errors = {k: v for k, v in self._member_errors.items() if k in keep}
        self.incomplete = failed
        self.listing = False
        self.loaded_once = True
        self._invalidate()

    def fail_listing(self, error: ApiError) -> None:
        """The listing failed: what was shown stays, and the error is remembered for display."""
        self.listing = False
        self.load_error = error

    # ---------------------------------------------------------- member records

    def set_member(self, image_id: str, member: Member) -> None:
        self._members[image_id] = member
        self._member_errors.pop(image_id, None)

    def set_member_error(self, image_id: str, error: ApiError) -> None:
        self._member_errors[image_id] = error

    def forget_members(self) -> None:
        """Member records are read again (a refresh: someone may have decided meanwhile)."""
        self._members.clear()
        self._member_errors.clear()

    # -------------------------------------------------------------- decisions

    def start_decision(self, image_ids: Iterable[str], status: MemberStatus) -> None:
        for image_id in image_ids:
            self._in_flight[image_id] = status

    def decision_key(self, decision: Decision) -> str:
        """The row a decision was about (its project's, when the store holds many)."""
        if self.by_project:
            return f"{decision.member_id}/{decision.image_id}"
        return decision.image_id

    def apply_decision(self, decision: Decision) -> None:
        """Record one outcome: a confirmed decision moves the row; a failed one stays marked."""
        key = self.decision_key(decision)
        self._in_flight.pop(key, None)
        if decision.ok:
            self._set_status(key, decision.status, decision.member)
            self._marked.discard(key)
        elif decision.error is not None and key in self._images:
            self._errors[key] = decision.error
            self._marked.add(key)

    def end_decision(self, image_ids: Iterable[str]) -> None:
        """The run is over: nothing of it is in flight any more (also after a cancel)."""
        for image_id in image_ids:
            self._in_flight.pop(image_id, None)

    def _set_status(self, image_id: str, status: MemberStatus, member: Member | None) -> None:
        image = self._images.get(image_id)
        if image is None:
            return
        self._images[image_id] = image.with_status(status)
        self._errors.pop(image_id, None)
        self._stale.discard(image_id)  # the cloud just confirmed where it stands
        if member is not None:
            known = self._members.get(image_id)
            if member.created_at is None and known is not None and known.created_at is not None:
                # The batch API's results carry no member record times; keep what we knew.
                member = replace(member, created_at=known.created_at)
            if member.created_at is not None:
                self._members[image_id] = member
            else:
                self._members.pop(image_id, None)  # fetched again when the pane shows it
        self._invalidate()

    # ------------------------------------------------------- view, filter, sort

    @property
    def filter_text(self) -> str:
        return self._filter

    @property
    def filter_problem(self) -> str:
        """What the filter language could not read in the filter ("" when all is well)."""
        return self._compiled.error

    def set_filter(self, text: str) -> None:
        """The ``/`` filter, in the filter language (``tui.filter_language``): terms that must
        all match, ``field:`` terms, ``!`` to negate; a term it cannot read matches nothing."""
        self._filter = text.strip()
        self._compiled = compile_filter(self._filter)

    def set_view(self, view: MemberStatus | None) -> None:
        if view != self.view:
            self.view = view
            self._invalidate()

    def toggle_sort(self, key: str) -> None:
        """Sort by ``key``; the same key again flips the direction (k9s style)."""
        if key not in COLUMN_BY_KEY:
            return
        if key == self.sort_key:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_key = key
            self.sort_reverse = False
        self._invalidate()

    def _invalidate(self) -> None:
        self._plan = None
        self._sorted = None
        self._sorted_texts = None
        self._visible = None
        self._filtered = {}
        self._counts = None

    def prepare_filter(self) -> None:
        """Build every image's filter haystack now (~100 ms at 10,000 shares), so that the
        first filter keystroke after a listing does not: called once the listing is drawn."""
        self._search_texts(list(self._images.values()))

    def _search_texts(self, rows: list[SharedImage]) -> list[Haystack]:
        texts = self._texts
        out: list[Haystack] = []
        for image in rows:
            key = self.key_of(image)
            entry = texts.get(key)
            if entry is None or entry[0] is not image:
                name = self.owners.name_of(image.owner)
                entry = texts[key] = (image, haystack(image, name))
            out.append(entry[1])
        return out

    def _sorted_view(self) -> list[SharedImage]:
        if self._sorted is None:
            rows = [i for i in self._images.values() if self.view is None or i.status == self.view]
            rows.sort(key=self._sort_value(), reverse=self.sort_reverse)
            self._sorted = rows
        return self._sorted

    def view_rows(self) -> list[SharedImage]:
        """The rows of the current view, sorted, before the filter (the same list until the
        view, the sort or the rows change): what the table sizes its columns for."""
        return self._sorted_view()

    def visible(self) -> list[SharedImage]:
        """The rows of the current view, filtered and sorted."""
        text = self._filter
        if self._visible is not None and text == self._visible_filter:
            return self._visible
        source = self._sorted_view()
        if self._compiled.empty:
            self._visible, self._visible_texts = source, []
        elif text in self._filtered:
            _compiled, self._visible, self._visible_texts = self._filtered[text]
        else:
            rows, texts = self._narrowest(self._compiled)
            matches = self._compiled.matches
            picked = [n for n, hay in enumerate(texts) if matches(hay)]
            self._visible = [rows[n] for n in picked]
            self._visible_texts = [texts[n] for n in picked]
            if len(self._filtered) >= _FILTERS_KEPT:
                del self._filtered[next(iter(self._filtered))]
            self._filtered[text] = (self._compiled, self._visible, self._visible_texts)
        self._visible_filter = text
        return self._visible

    def _narrowest(self, compiled: Filter) -> tuple[list[SharedImage], list[Haystack]]:
        """The fewest rows (and their haystacks) that hold every match of ``compiled``: the
        smallest kept result of a filter it narrows, else the whole sorted view."""
        best: tuple[list[SharedImage], list[Haystack]] | None = None
        for wider, rows, texts in self._filtered.values():
            if (best is None or len(rows) < len(best[0])) and compiled.narrows(wider):
                best = (rows, texts)
        if best is not None:
            return best
        if self._sorted_texts is None:
            self._sorted_texts = self._search_texts(self._sorted_view())
        return self._sorted_view(), self._sorted_texts

    # ------------------------------------------------------------------ marks

    def toggle_mark(self, image_id: str) -> None:
        if image_id in self._marked:
            self._marked.discard(image_id)
        elif image_id in self._images:
            self._marked.add(image_id)

    def unmark(self, image_ids: Iterable[str]) -> None:
        self._marked.difference_update(image_ids)

    def mark_visible(self) -> int:
        ids = [self.key_of(image) for image in self.visible()]
        self._marked.update(ids)
        return len(ids)

    def clear_marks(self) -> int:
        count = len(self._marked)
        self._marked.clear()
        return count

    def marked_images(self) -> list[SharedImage]:
        """Marked images in the current display order, then any marked outside the view."""
        shown = [image for image in self.visible() if self.key_of(image) in self._marked]
        shown_ids = {self.key_of(image) for image in shown}
        rest = [
            self._images[i]
            for i in sorted(self._marked)
            if i not in shown_ids and i in self._images
        ]
        return shown + rest
