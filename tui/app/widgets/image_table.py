"""The image table: a line-API widget that renders only the rows on screen.

A ``DataTable`` rebuilds a row object per image, which costs about a second for 10,000 rows and
again on every filter keystroke. This widget keeps a reference to the store's list and draws the
visible slice, so filtering, sorting and cursor moves stay flat however many shares there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import Reactive, reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.store import COLUMN_BY_KEY, ImageStore
from tui.cloud.models import MemberStatus, SharedImage
from tui.formatting import (
    cell_width,
    date_text,
    fit_cells,
    fit_cells_middle,
    human_size,
    safe_text,
    short_id,
)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column keys and widths that fit the current width; low-priority columns drop first."""

    keys: tuple[str, ...]
    widths: tuple[int, ...]
    #: What it was computed for: (width, name want, OS want, sort key, every project, marks
    #: column width, owner want).
    basis: tuple[int, int, int, str, bool, int, int]


# Normal widths; the name column's is measured (see ImageTable._measure). Display order.
_WIDTHS: dict[str, int] = {
    "name": 0,
    "status": 10,
    "member": 16,
    "region": 6,
    "os": 18,
    "size": 9,
    "format": 6,
    "owner": 8,
    "created": 10,
}
# What makes room for the name, in this order: drop created, drop format, narrow OS, drop
# owner, drop region, narrow member. The column the table is sorted by is never dropped
# (C shows Created at 80 columns).
_MAKE_ROOM = ("created", "format", "os", "owner", "region", "member")
# Shown only when the table holds every project's shares (the inbox).
_PROJECT_COLUMNS = ("member", "region")
#: The name column fits the longest name in the view up to this many cells before any other
#: column grows; a longer name is cut in the middle.
NAME_CAP = 48
# Narrowest a name column is cut to, and an OS column is narrowed to.
_MIN_NAME = 8
_MIN_OS = 12
# The member (receiving project) column narrows to this, cut in the middle like a name.
_MIN_MEMBER = 12
# The OS column grows to its longest text up to this, once every name fits.
_OS_CAP = 36
# The owner column: a short id; a name from owners.toml widens it up to this.
_OWNER_WIDTH = 8
_OWNER_CAP = 20
# The marks column: "✓" when marked, a flag for a full-ECS image, a space. With owners.toml
# blocking someone or rules.toml holding rules, one more: the owner is blocked, or a rule
# would decide the row.
_MARK_WIDTH = 3
_FLAGGED_MARK_WIDTH = 4
_SCROLLBAR = 1
WHOLE_FLAG = "E"
BLOCKED_FLAG = "B"
RULE_FLAG = "R"
#: What the row flags mean, for the help screen: every on/off state is a character, so it
#: reads without colour (NO_COLOR) too.
LEGEND = (
    f"Row flags: ✓ marked · {WHOLE_FLAG} full-ECS image (accepting needs a CBR vault) · "
    f"{BLOCKED_FLAG} owner blocked in owners.toml (o) · {RULE_FLAG} a rule of rules.toml "
    "would decide it (X) · ! last decision failed · ? not confirmed by the last listing."
)
_CURSOR = "image-table--cursor"
# Rendered rows kept for redraws; a few screens' worth, dropped wholesale when full.
_ROW_CACHE_SIZE = 512


def _used(keys: list[str], widths: dict[str, int], marks: int = _MARK_WIDTH) -> int:
    return marks + sum(widths[k] for k in keys) + len(keys) - 1


def _layout(
    width: int,
    name_want: int,
    os_want: int,
    sort_key: str,
    by_project: bool = False,
    marks: int = _MARK_WIDTH,
    owner_want: int = _OWNER_WIDTH,
) -> _Layout:
    """Fit the columns into ``width`` cells, the name column first.

    The name gets ``name_want`` cells (its longest text) before anything else: to make room,
    Created, then Format drop, the OS column narrows, then Owner and Region drop, then the
    Member column narrows — except the sort column. Only when that is not enough is the name
    cut. Room left over widens the OS column to its longest text, then the name column.
    """
    keys = [k for k in _WIDTHS if by_project or k not in _PROJECT_COLUMNS]
    widths = dict(_WIDTHS, name=name_want, owner=owner_want)
    for step in _MAKE_ROOM:
        if step not in keys:
            continue
        over = _used(keys, widths, marks) - width
        if over <= 0:
            break
        if step == "os":
            widths["os"] = max(_MIN_OS, widths["os"] - over)
        elif step == "member":
            widths["member"] = max(_MIN_MEMBER, widths["member"] - over)
        elif step != sort_key:
            keys.remove(step)
    spare = width - _used(keys, widths, marks)
    if spare < 0:
        widths["name"] = max(_MIN_NAME, name_want + spare)
    else:
        grow = min(spare, max(0, os_want - widths["os"]))
        widths["os"] += grow
        widths["name"] += spare - grow
    return _Layout(
        tuple(keys),
        tuple(widths[k] for k in keys),
        (width, name_want, os_want, sort_key, by_project, marks, owner_want),
    )


def wanted_width(
    name_want: int,
    sort_key: str,
    by_project: bool = False,
    marks: int = _MARK_WIDTH,
    owner_want: int = _OWNER_WIDTH,
) -> int:
    """The table width at which every name fits whole with Status, OS (narrowed), Size and
    Owner beside it (and Member, narrowed, for every project's shares), and the sort column:
    what the detail pane gives way to."""
    keys = ["name", "status", "os", "size", "owner"] + (["member"] if by_project else [])
    if sort_key not in keys:
        keys.append(sort_key)
    widths = dict(_WIDTHS, name=name_want, os=_MIN_OS, member=_MIN_MEMBER, owner=owner_want)
    return _used(keys, widths, marks) + _SCROLLBAR


def _longest(texts: Iterable[str], floor: int, cap: int) -> int:
    """The widest of ``texts`` in cells as shown (``safe_text``), at least ``floor``, at most
    ``cap``. Most texts are passed over on their length alone: an ASCII text never takes more
    cells than it has characters, any other never more than twice as many."""
    best = floor
    for text in texts:
        if best >= cap:
            return cap
        length = len(text)
        if text.isascii():
            if length > best:
                best = length if text.isprintable() else max(best, cell_width(safe_text(text)))
        elif length * 2 > best:
            best = max(best, cell_width(safe_text(text)))
    return min(best, cap)


def _cell(text: str, width: int, right: bool = False) -> str:
    """One cell of ``width`` terminal cells; cloud text (a name, an OS, an error) made safe."""
    return fit_cells(safe_text(text), width, right=right)


def _name_cell(name: str, width: int) -> str:
    """A name cut in the middle, so the end that tells versions apart stays."""
    return fit_cells_middle(safe_text(name), width)


def _os_text(image: SharedImage) -> str:
    return image.os_version or image.platform or "—"


class ImageTable(ScrollView, can_focus=True, inherit_bindings=False):
    """Rows of shared images with a cursor, marks and a clickable, sortable header.

    Its own keys only: ScrollView's sideways scrolling means nothing here (no horizontal
    overflow) and would only crowd the help screen.
    """

    COMPONENT_CLASSES = {
        "image-table--header",
        "image-table--cursor",
        "image-table--marked",
        "image-table--error",
        "image-table--pending",
        "image-table--accepted",
        "image-table--rejected",
        "image-table--busy",
        "image-table--stale",
        "image-table--empty",
        "image-table--whole",
        "image-table--flag",
    }

    DEFAULT_CSS = """
    ImageTable {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    ImageTable > .image-table--header { text-style: bold; background: $panel; color: $foreground; }
    ImageTable > .image-table--cursor { background: $block-cursor-blurred-background; }
    ImageTable:focus > .image-table--cursor {
        background: $block-cursor-background; color: $block-cursor-foreground; text-style: bold;
    }
    ImageTable > .image-table--marked { color: $accent; text-style: bold; }
    ImageTable > .image-table--error { color: $error; text-style: bold; }
    ImageTable > .image-table--pending { color: $warning; }
    ImageTable > .image-table--accepted { color: $success; }
    ImageTable > .image-table--rejected { color: $text-muted; }
    ImageTable > .image-table--busy { color: $secondary; text-style: italic; }
    ImageTable > .image-table--stale { color: $text-muted; text-style: italic; }
    ImageTable > .image-table--empty { color: $text-muted; text-style: italic; }
    ImageTable > .image-table--whole { color: $warning; text-style: bold; }
    ImageTable > .image-table--flag { color: $error; text-style: bold; }
    /* Without colour the cursor row is reversed, so it is still seen where it is. */
    ImageTable:nocolor > .image-table--cursor { text-style: reverse; }
    ImageTable:nocolor:focus > .image-table--cursor { text-style: reverse bold; }
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next image", show=False, id="down"),
        Binding("up,k", "cursor_up", "Previous image", show=False, id="up"),
        Binding("g,home", "cursor_top", "First image", show=False, id="top"),
        Binding("G,end", "cursor_bottom", "Last image", show=False, id="bottom"),
        Binding("pagedown", "page_down", "Page down", show=False, id="page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="page_up"),
    ]

    #: ``repaint=False``: a move repaints the old and the new cursor row (``watch_cursor``), not
    #: the whole table; over a slow link every repainted row costs ~0.3 KB.
    cursor: reactive[int] = reactive(0, always_update=False, init=False, repaint=False)
    #: Set by ``_update_virtual_size``, which lays out the screen only when it must.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    class Highlighted(Message):
        """The cursor moved to another image (or to none).

        While a key is held the rows move faster than the detail pane can follow; queued
        highlights then merge, and the pane is drawn once for the row the cursor rests on.
        """

        def __init__(self, image: SharedImage | None) -> None:
            self.image = image
            super().__init__()

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, ImageTable.Highlighted)

    class WidthWanted(Message):
        """The table's columns would now fit whole in ``width`` cells (its names got longer
        or shorter, or the sort column changed): the screen may give it room."""

        def __init__(self, width: int) -> None:
            self.width = width
            super().__init__()

    class HeaderClicked(Message):
        def __init__(self, column: str) -> None:
            self.column = column
            super().__init__()

    def __init__(self, store: ImageStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.rows: Sequence[SharedImage] = ()
        self.empty_text = "Loading shared images…"
        #: Cells the longest name and the longest OS text of the view take (see _measure).
        self.name_want = _MIN_NAME
        self.os_want = _MIN_OS
        self.owner_want = _OWNER_WIDTH
        self._measured: Sequence[SharedImage] | None = None
        self._wanted = 0
        self._layout = _layout(80, self.name_want, self.os_want, store.sort_key)
        self._highlighted_id: str | None = None
        self._highlighted: SharedImage | None = None
        #: The user moved the cursor: reloads keep it on its image. Until then it stays on
        #: the first row while a listing's pages arrive and re-sort the rows.
        self.moved = False
        self._announced: SharedImage | None = None
        self._style_cache: dict[str, Style] | None = None
        self._row_cache: dict[tuple[object, ...], tuple[SharedImage, Strip]] = {}
        #: What each line of the widget was last drawn from (see _line_key).
        self._drawn: dict[int, tuple[object, ...]] = {}
        self._partial = False
        self._prerender_pending = False

    # ----------------------------------------------------------------- data

    @property
    def current(self) -> SharedImage | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def reload(self, *, top: bool = False, detail_later: bool = False) -> None:
        """Take the store's current visible rows, keeping the cursor on the same image (on
        the first row with ``top``: another view or another order starts at the top).

        ``detail_later`` (a filter keystroke): the screen hears of the highlighted image once
        the frame with the new rows is out, as after a cursor move (see ``_highlight``).
        """
        keep = None if top or not self.moved else self._highlighted_id
        top_before = int(self.scroll_y)
        self.rows = self.store.visible()
        self._measure()
        index = 0
        if keep is not None:
            found = self._position_of(self._highlighted, keep)
            index = min(self.cursor, max(0, len(self.rows) - 1)) if found is None else found
        self._partial = True
        try:
            self._update_virtual_size()  # the scrollbar (or a layout), not every line
        finally:
            self._partial = False
        self.set_reactive(ImageTable.cursor, index)
        self._scroll_cursor_into_view()
        self._highlight(later=detail_later)
        if int(self.scroll_y) != top_before or not self.rows:
            self.refresh()
        else:
            self._refresh_changed_lines()

    def _position_of(self, image: SharedImage | None, key: str) -> int | None:
        """The row that now shows the highlighted image, if any.

        By identity first, at C speed: a filter keystroke keeps the store's objects. By key
        only when the store holds another object for it (a listing or a decision replaced
        it): that scan calls Python per row, ~5 ms at 10,000 rows.
        """
        rows = self.rows
        if image is not None:
            with suppress(ValueError):
                return list(map(id, rows)).index(id(image))
            if self.store.get(key) is image:
                return None  # the same object, filtered out
        key_of = self.store.key_of
        for position, row in enumerate(rows):
            if key_of(row) == key:
                return position
        return None

    def _refresh_changed_lines(self) -> None:
        """Repaint the lines that would now show something else than they do.

        A filter keystroke or a decision often leaves most rows on screen where they were;
        repainting only the others keeps a keystroke to a few hundred bytes on the wire.
        """
        width = self._fit_layout()
        styles = self._styles()
        changed = [
            y
            for y in range(self.size.height)
            if not self._same_as_drawn(y, self._line_key(y, width, styles))
        ]
        for y in changed:
            self.refresh(Region(0, y, self.size.width, 1))

    def _same_as_drawn(self, y: int, key: tuple[object, ...]) -> bool:
        drawn = self._drawn.get(y)
        # The image itself is kept and compared by identity: an id() of a dropped row may be
        # reused by a new one.
        return drawn is not None and drawn[0] is key[0] and drawn[1:] == key[1:]

    def refresh(
        self,
        *regions: Region,
        repaint: bool = True,
        layout: bool = False,
        recompose: bool = False,
    ) -> ImageTable:
        if self._partial and not regions:
            # A new virtual size: lay out, but leave the repaint to _refresh_changed_lines.
            regions = (Region(0, 0, 0, 0),)
        super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)
        return self

    def _measure(self) -> None:
        """Size the name and OS columns for the view's rows before the filter, so typing a
        filter never moves the columns (nor the detail pane beside them)."""
        rows = self.store.view_rows()
        if rows is not self._measured:
            self._measured = rows
            book = self.store.owners
            if len(book):
                labels = {book.name_of(image.owner) for image in rows}
                self.owner_want = _longest(labels, _OWNER_WIDTH, _OWNER_CAP)
            else:
                self.owner_want = _OWNER_WIDTH
            header = cell_width(COLUMN_BY_KEY["name"].label) + 1  # and the sort arrow
            self.name_want = _longest((image.name for image in rows), header, NAME_CAP)
            self.os_want = _longest((_os_text(image) for image in rows), _MIN_OS, _OS_CAP)
        wanted = wanted_width(
            self.name_want,
            self.store.sort_key,
            self.store.by_project,
            self._marks(),
            self.owner_want,
        )
        if wanted != self._wanted:
            self._wanted = wanted
            self.post_message(self.WidthWanted(wanted))

    def _marks(self) -> int:
        """The marks column's width: one more cell while blocked owners or rules exist."""
        return _FLAGGED_MARK_WIDTH if self.store.flagged() else _MARK_WIDTH

    def _flag(self, image: SharedImage, key: str) -> str:
        """The owner-or-rule flag of a row: a blocked owner wins (rules never decide one)."""
        if self.store.owners.is_blocked(image.owner):
            return BLOCKED_FLAG
        if self.store.rule_of(key) is not None:
            return RULE_FLAG
        return " "

    @property
    def wanted(self) -> int:
        """The width the table asked for last (``WidthWanted``)."""
        return self._wanted

    def _update_virtual_size(self) -> None:
        """Take the row count as the scrollable height.

        ``virtual_size`` is not a layout reactive here: a filter keystroke changes the row
        count, and a layout of the whole screen for it cost 5-20 ms at 120x40. The scrollbar
        is updated as a layout would (its thumb, the scroll offset kept in range); only when it
        comes or goes does the table's width change, and the screen is laid out again
        (``show_vertical_scrollbar`` is a layout reactive).
        """
        size = Size(self.size.width, len(self.rows) + 1)
        if size != self.virtual_size:
            self.virtual_size = size
            self._scroll_update(size)  # Textual's own step of a layout for a scrolling widget

    def _highlight(self, *, later: bool = True) -> None:
        """Remember the image under the cursor and tell the screen, ``later``: once the frame
        is out. The detail pane's text takes 5-15 ms at 10,000 rows; announced at once, the
        screen draws it before the frame that shows a moved cursor or filtered rows. (Other
        reloads, such as a listing's pages, announce at once: the pane keeps the height of
        the tallest text it showed, and which texts it showed should not depend on timing.)
        """
        image = self.current
        self._highlighted = image
        self._highlighted_id = self.store.key_of(image) if image else None
        if later:
            self.call_after_refresh(self._announce)
        else:
            self._announce()

    def _announce(self) -> None:
        """Tell the screen when the highlighted image changed (another image, or new data)."""
        image = self.current
        if image is not None and image is self._announced:
            return  # same row, same data: the detail pane need not be redrawn
        self._announced = image
        self.post_message(self.Highlighted(image))

    # ------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        self.moved = True
        top = int(self.scroll_y)
        self._scroll_cursor_into_view()
        if int(self.scroll_y) != top:
            self.refresh()  # scrolled: every line shows another row
        else:
            self.refresh_row(old)
            self.refresh_row(new)
        self._highlight()
        if not self._prerender_pending:
            self._prerender_pending = True
            self.call_after_refresh(self._prerender, 1 if new >= old else -1)

    def _prerender(self, direction: int) -> None:
        """Draw the page beyond the visible one, in the direction the cursor went, into the
        row cache once the frame is out: a page key then finds its rows drawn. A page of
        new rows is about a third of what a page move costs; done here, it is not in the
        keystroke's time, and it costs nothing when the rows were drawn before."""
        self._prerender_pending = False
        if not self.rows or self.size.height < 2:
            return
        top, visible, page = int(self.scroll_y), self.size.height - 1, self._page()
        if direction > 0:
            indices = range(top + visible, min(len(self.rows), top + visible + page + 1))
        else:
            indices = range(max(0, top - page - 1), top)
        width = self._fit_layout()
        styles = self._styles()
        for index in indices:
            self._render_row(index, width, styles[""], styles)

    def refresh_row(self, index: int) -> None:
        """Repaint the line that shows row ``index``, if it is on screen."""
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            # A line of the widget, not ScrollView.refresh_lines: that takes a line of the
            # virtual area and subtracts the scroll offset again.
            self.refresh(Region(0, y, self.size.width, 1))

    def move_to(self, index: int) -> None:
        if not self.rows:
            return
        self.cursor = max(0, min(index, len(self.rows) - 1))

    def _page(self) -> int:
        return max(1, self.size.height - 2)

    def action_cursor_down(self) -> None:
        self.move_to(self.cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_to(self.cursor - 1)

    def action_cursor_top(self) -> None:
        self.move_to(0)

    def action_cursor_bottom(self) -> None:
        self.move_to(len(self.rows) - 1)

    def action_page_down(self) -> None:
        self.move_to(self.cursor + self._page())

    def action_page_up(self) -> None:
        self.move_to(self.cursor - self._page())

    def _scroll_cursor_into_view(self) -> None:
        visible = max(1, self.size.height - 1)
        top = int(self.scroll_y)
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + visible:
            self.scroll_to(y=self.cursor - visible + 1, animate=False, immediate=True)

    # ------------------------------------------------------------- events

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_cursor_into_view()
        self.refresh()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._style_cache = None
        self._row_cache.clear()
        self.refresh()

    async def _on_click(self, event: events.Click) -> None:
        meta = event.style.meta
        if "column" in meta:
            self.post_message(self.HeaderClicked(meta["column"]))
        elif "row" in meta:
            index = meta["row"]
            if 0 <= index < len(self.rows):
                self.cursor = index

    # ------------------------------------------------------------ rendering

    def _styles(self) -> dict[str, Style]:
        """The table's style and its component classes', kept until the styles change:
        ``rich_style`` walks the ancestors, and the twelve cost ~3 ms, more than a repaint of
        two rows."""
        if self._style_cache is None:
            styles = {"": self.rich_style}
            for name in self.COMPONENT_CLASSES:
                styles[name] = self.get_component_rich_style(name)
            self._style_cache = styles
        return self._style_cache

    def render_line(self, y: int) -> Strip:
        width = self._fit_layout()
        styles = self._styles()
        self._drawn[y] = self._line_key(y, width, styles)
        base = styles[""]
        if y == 0:
            return self._render_header(width, base, styles)
        index = int(self.scroll_y) + y - 1
        if not self.rows:
            if y == 2:
                style = base + styles["image-table--empty"]
                return Strip([Segment(_cell("  " + self.empty_text, width), style)], width)
            return Strip.blank(width, base)
        if index >= len(self.rows):
            return Strip.blank(width, base)
        return self._render_row(index, width, base, styles)

    def _fit_layout(self) -> int:
        """Fit the columns to the width and what they hold now; returns the width."""
        width = self.scrollable_content_region.width or self.size.width
        basis = (
            width,
            self.name_want,
            self.os_want,
            self.store.sort_key,
            self.store.by_project,
            self._marks(),
            self.owner_want,
        )
        if self._layout.basis != basis:
            self._layout = _layout(*basis)
        return width

    def _line_key(self, y: int, width: int, styles: dict[str, Style]) -> tuple[object, ...]:
        """Everything line ``y`` shows depends on; the first item is the row's image (or
        None). Two equal keys draw the same line."""
        base = styles[""]
        if y == 0:
            store = self.store
            return (None, "header", self._layout, store.sort_key, store.sort_reverse, base)
        if not self.rows:
            return (None, "empty", y, width, self.empty_text, base, styles["image-table--empty"])
        index = int(self.scroll_y) + y - 1
        if index >= len(self.rows):
            return (None, "blank", width, base)
        image = self.rows[index]
        return (image, *self._row_key(index, image, base, styles))

    def _row_key(
        self, index: int, image: SharedImage, base: Style, styles: dict[str, Style]
    ) -> tuple[object, ...]:
        """What a row looks like: its place, image, marks, flags and states, and the layout."""
        store = self.store
        row_key = store.key_of(image)
        layout = self._layout
        flag = self._flag(image, row_key) if layout.basis[5] > _MARK_WIDTH else ""
        owner = store.owners.label(image.owner) if "owner" in layout.keys else ""
        return (
            index, id(image), index == self.cursor, row_key in store.marked,
            store.errors.get(row_key), store.in_flight.get(row_key), row_key in store.stale,
            layout, base, styles[_CURSOR], flag, owner,
        )  # fmt: skip

    def _render_header(self, width: int, base: Style, styles: dict[str, Style]) -> Strip:
        style = base + styles["image-table--header"]
        segments = [Segment(" " * self._layout.basis[5], style)]
        for key, column_width in zip(self._layout.keys, self._layout.widths, strict=True):
            column = COLUMN_BY_KEY[key]
            arrow = ""
            if key == self.store.sort_key:
                arrow = "▼" if self.store.sort_reverse else "▲"
            label = f"{column.label}{arrow}"
            right = key == "size"
            segments.append(
                Segment(_cell(label, column_width, right), style + Style(meta={"column": key}))
            )
            segments.append(Segment(" ", style))
        return Strip(segments).adjust_cell_length(width, style)

    def _render_row(self, index: int, width: int, base: Style, styles: dict[str, Style]) -> Strip:
        image = self.rows[index]
        store = self.store
        is_cursor = index == self.cursor
        row_key = store.key_of(image)
        marked = row_key in store.marked
        error = store.errors.get(row_key)
        busy = store.in_flight.get(row_key)
        stale = row_key in store.stale
        layout = self._layout
        flagged = layout.basis[5] > _MARK_WIDTH
        flag = self._flag(image, row_key) if flagged else ""
        # A row looks the same as long as these do: keep its strip (cursor moves, scrolling,
        # filtering and screen re-layouts redraw rows that did not change). The image is kept
        # with the strip and compared by identity: the id() of a dropped row may be reused.
        key = self._row_key(index, image, base, styles)
        cached = self._row_cache.get(key)
        if cached is not None and cached[0] is image:
            return cached[1]
        row_style = base
        if marked:
            row_style += styles["image-table--marked"]
        if is_cursor:
            row_style += styles["image-table--cursor"]
        # Cells that share a style are joined into one segment: fewer segments make every
        # later strip operation (cropping, meta, compositing) cheaper.
        segments: list[Segment] = []
        pending = ["✓" if marked else " "]
        if image.whole_image:
            if is_cursor:
                pending.append(WHOLE_FLAG)
            else:
                segments.append(Segment("".join(pending), row_style))
                segments.append(Segment(WHOLE_FLAG, row_style + styles["image-table--whole"]))
                pending = []
        else:
            pending.append(" ")
        if flag.strip() and not is_cursor:
            segments.append(Segment("".join(pending), row_style))
            segments.append(Segment(flag, row_style + styles["image-table--flag"]))
            pending = []
        elif flagged:
            pending.append(flag)
        pending.append(" ")
        for key_name, column_width in zip(layout.keys, layout.widths, strict=True):
            text, cell_style = self._cell_text(image, key_name, error is not None, busy, stale)
            if key_name in ("name", "member"):
                cell = _name_cell(text, column_width)
            else:
                cell = _cell(text, column_width, key_name == "size")
            if cell_style and not is_cursor:
                segments.append(Segment("".join(pending), row_style))
                segments.append(Segment(cell, row_style + styles[cell_style]))
                pending = [" "]
            else:
                pending.append(cell)
                pending.append(" ")
        segments.append(Segment("".join(pending), row_style))
        strip = Strip(segments).adjust_cell_length(width, row_style).apply_meta({"row": index})
        if len(self._row_cache) >= _ROW_CACHE_SIZE:
            self._row_cache.clear()
        self._row_cache[key] = (image, strip)
        return strip

    def _cell_text(
        self,
        image: SharedImage,
        key: str,
        failed: bool,
        busy: MemberStatus | None,
        stale: bool = False,
    ) -> tuple[str, str]:
        if key == "name":
            return image.name or "(no name)", ""
        if key == "status":
            if busy is not None:
                return f"{busy.doing}…", "image-table--busy"
            status = image.status.value if image.status else "?"
            if failed:
                return f"{status} !", "image-table--error"
            if stale:
                # Not confirmed by the last listing: a flag of its own, never a mark.
                return f"{status} ?", "image-table--stale"
            return status, f"image-table--{status}" if image.status else ""
        if key == "os":
            return _os_text(image), ""
        if key == "size":
            return human_size(image.size_bytes), ""
        if key == "format":
            return image.disk_format or "—", ""
        if key == "owner":
            return self.store.owners.label(image.owner), ""
        if key == "member":
            return image.member_name or short_id(image.member_id), ""
        if key == "region":
            return image.region or "—", ""
        if key == "created":
            return date_text(image.created_at), ""
        return "", ""
