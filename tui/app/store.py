"""The in-memory model behind the image table: views, filter, sort, marks and per-image state.

Kept free of Textual so it can be tested and benchmarked alone. The table renders only the
visible slice of ``visible()``, so filtering 10,000 images costs one pass over a cached, sorted
list rather than rebuilding widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Member, MemberStatus, SharedImage

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Column:
    """A table column: its key, header, sort key letter (shift+letter) and how it sorts."""

    key: str
    label: str
    sort_letter: str
    sort_value: Callable[[SharedImage], Any]


COLUMNS: tuple[Column, ...] = (
    Column("name", "Name", "N", lambda i: (i.name.lower(), i.id)),
    Column("status", "Status", "S", lambda i: (i.status.value if i.status else "", i.name.lower())),
    Column("os", "OS", "O", lambda i: (i.os_version.lower(), i.name.lower())),
    Column("size", "Size", "Z", lambda i: (i.size_bytes or 0, i.name.lower())),
    Column("format", "Format", "F", lambda i: (i.disk_format, i.name.lower())),
    Column("owner", "Owner", "W", lambda i: (i.owner, i.name.lower())),
    Column("created", "Created", "C", lambda i: (i.created_at or _EPOCH, i.name.lower())),
)
COLUMN_BY_KEY: dict[str, Column] = {column.key: column for column in COLUMNS}

# The status views in key order: 1 Pending, 2 Accepted, 3 Rejected, 4 All (None).
VIEWS: tuple[MemberStatus | None, ...] = (*ALL_STATUSES, None)


def view_label(view: MemberStatus | None) -> str:
    return view.value.capitalize() if view else "All"


class ImageStore:
    """Every shared image we know of, and what the user is doing with them."""

    def __init__(self) -> None:
        self._images: dict[str, SharedImage] = {}
        self.marked: set[str] = set()
        self.errors: dict[str, ApiError] = {}
        self.members: dict[str, Member] = {}
        self.in_flight: dict[str, MemberStatus] = {}
        self.view: MemberStatus | None = MemberStatus.PENDING
        self.sort_key = "name"
        self.sort_reverse = False
        self._filter = ""
        self._sorted: list[SharedImage] | None = None
        self._visible: list[SharedImage] | None = None
        self._visible_filter = ""
        # ``search_text`` of each row, parallel to ``_sorted`` / ``_visible``: a keystroke in
        # the filter is then one substring test per row instead of building a string per row.
        self._sorted_texts: list[str] | None = None
        self._visible_texts: list[str] = []
        self._texts: dict[str, tuple[SharedImage, str]] = {}

    # ------------------------------------------------------------------ data

    def __len__(self) -> int:
        return len(self._images)

    def ids(self) -> set[str]:
        return set(self._images)

    def visible_all(self) -> list[SharedImage]:
        """Every image, sorted as the table is, regardless of view and filter."""
        rows = list(self._images.values())
        rows.sort(key=COLUMN_BY_KEY[self.sort_key].sort_value, reverse=self.sort_reverse)
        return rows

    def get(self, image_id: str) -> SharedImage | None:
        return self._images.get(image_id)

    def add(self, images: Iterable[SharedImage]) -> None:
        """Add or update images (a page of a listing)."""
        for image in images:
            self._images[image.id] = image
        self._invalidate()

    def replace_all(self, images: Iterable[SharedImage]) -> None:
        """Swap in a complete listing; state of images that are gone is dropped."""
        self._images = {image.id: image for image in images}
        keep = self._images.keys()
        self._texts = {k: v for k, v in self._texts.items() if k in keep}
        self.marked &= keep
        self.errors = {k: v for k, v in self.errors.items() if k in keep}
        self.members = {k: v for k, v in self.members.items() if k in keep}
        self._invalidate()

    def set_status(self, image_id: str, status: MemberStatus, member: Member | None = None) -> None:
        """Record a decision the cloud confirmed."""
        image = self._images.get(image_id)
        if image is None:
            return
        self._images[image_id] = image.with_status(status)
        self.errors.pop(image_id, None)
        if member is not None:
            known = self.members.get(image_id)
            if member.created_at is None and known is not None and known.created_at is not None:
                # The batch API's results carry no member record times; keep what we knew.
                member = replace(member, created_at=known.created_at)
            if member.created_at is not None:
                self.members[image_id] = member
            else:
                self.members.pop(image_id, None)  # fetched again when the pane shows it
        self._invalidate()

    def remove(self, image_id: str) -> None:
        self._images.pop(image_id, None)
        self.marked.discard(image_id)
        self._invalidate()

    def counts(self) -> dict[MemberStatus | None, int]:
        result: dict[MemberStatus | None, int] = dict.fromkeys(VIEWS, 0)
        for image in self._images.values():
            if image.status is not None:
                result[image.status] += 1
        result[None] = len(self._images)
        return result

    # ------------------------------------------------------- view, filter, sort

    @property
    def filter_text(self) -> str:
        return self._filter

    def set_filter(self, text: str) -> None:
        self._filter = text.strip().lower()

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
        self._sorted = None
        self._sorted_texts = None
        self._visible = None

    def _search_texts(self, rows: list[SharedImage]) -> list[str]:
        texts = self._texts
        out: list[str] = []
        for image in rows:
            entry = texts.get(image.id)
            if entry is None or entry[0] is not image:
                entry = texts[image.id] = (image, image.search_text)
            out.append(entry[1])
        return out

    def _sorted_view(self) -> list[SharedImage]:
        if self._sorted is None:
            rows = [i for i in self._images.values() if self.view is None or i.status == self.view]
            rows.sort(key=COLUMN_BY_KEY[self.sort_key].sort_value, reverse=self.sort_reverse)
            self._sorted = rows
        return self._sorted

    def visible(self) -> list[SharedImage]:
        """The rows of the current view, filtered and sorted."""
        needle = self._filter
        if self._visible is not None and needle == self._visible_filter:
            return self._visible
        if (
            self._visible is not None
            and self._visible_filter
            and needle.startswith(self._visible_filter)
        ):
            # Typing more only narrows the previous result.
            source, texts = self._visible, self._visible_texts
        else:
            source = self._sorted_view()
            texts = self._sorted_texts if self._sorted_texts is not None else []
            if needle and self._sorted_texts is None:
                texts = self._sorted_texts = self._search_texts(source)
        if needle:
            picked = [n for n, text in enumerate(texts) if needle in text]
            self._visible = [source[n] for n in picked]
            self._visible_texts = [texts[n] for n in picked]
        else:
            self._visible, self._visible_texts = source, texts
        self._visible_filter = needle
        return self._visible

    # ------------------------------------------------------------------ marks

    def toggle_mark(self, image_id: str) -> None:
        if image_id in self.marked:
            self.marked.discard(image_id)
        elif image_id in self._images:
            self.marked.add(image_id)

    def mark_visible(self) -> int:
        ids = [image.id for image in self.visible()]
        self.marked.update(ids)
        return len(ids)

    def clear_marks(self) -> int:
        count = len(self.marked)
        self.marked.clear()
        return count

    def marked_images(self) -> list[SharedImage]:
        """Marked images in the current display order, then any marked outside the view."""
        shown = [image for image in self.visible() if image.id in self.marked]
        shown_ids = {image.id for image in shown}
        rest = [
            self._images[i] for i in sorted(self.marked) if i not in shown_ids and i in self._images
        ]
        return shown + rest
