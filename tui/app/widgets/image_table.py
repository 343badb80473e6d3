"""The image table: a line-API widget that renders only the rows on screen.

A ``DataTable`` rebuilds a row object per image, which costs about a second for 10,000 rows and
again on every filter keystroke. This widget keeps a reference to the store's list and draws the
visible slice, so filtering, sorting and cursor moves stay flat however many shares there are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.app.store import COLUMN_BY_KEY, ImageStore
from tui.cloud.models import MemberStatus, SharedImage
from tui.formatting import date_text, fit_cells, human_size, safe_text, short_id


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column keys and widths that fit the current width; low-priority columns drop first."""

    keys: tuple[str, ...]
    widths: tuple[int, ...]
    total: int


# Fixed widths; "name" takes what is left. Order is display order.
_WIDTHS: dict[str, int] = {
    "name": 0,
    "status": 10,
    "os": 18,
    "size": 9,
    "format": 6,
    "owner": 8,
    "created": 10,
}
# Dropped in this order when the name column would get narrower than _MIN_NAME.
_DROP_ORDER = ("created", "format", "owner")
_MIN_NAME = 22
_MIN_OS = 12
_MARK_WIDTH = 2
_CURSOR = "image-table--cursor"
# Rendered rows kept for redraws; a few screens' worth, dropped wholesale when full.
_ROW_CACHE_SIZE = 512


def _layout(width: int) -> _Layout:
    """Fit the columns: drop created, then format, then narrow OS, and drop owner last."""
    keys = list(_WIDTHS)
    os_width = _WIDTHS["os"]

    def name_width() -> int:
        fixed = sum(os_width if k == "os" else _WIDTHS[k] for k in keys if k != "name")
        return width - _MARK_WIDTH - fixed - (len(keys) - 1)

    for key in _DROP_ORDER:
        if name_width() >= _MIN_NAME:
            break
        if key == "owner":
            os_width = max(_MIN_OS, os_width - (_MIN_NAME - name_width()))
            if name_width() >= _MIN_NAME:
                break
        keys.remove(key)
    if name_width() < _MIN_NAME:
        os_width = max(_MIN_OS, os_width - (_MIN_NAME - name_width()))
    widths = tuple(
        max(8, name_width()) if k == "name" else os_width if k == "os" else _WIDTHS[k] for k in keys
    )
    return _Layout(tuple(keys), widths, width)


def _cell(text: str, width: int, right: bool = False) -> str:
    """One cell of ``width`` terminal cells; cloud text (a name, an OS, an error) made safe."""
    return fit_cells(safe_text(text), width, right=right)


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
    """

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next image", show=False, id="down"),
        Binding("up,k", "cursor_up", "Previous image", show=False, id="up"),
        Binding("g,home", "cursor_top", "First image", show=False, id="top"),
        Binding("G,end", "cursor_bottom", "Last image", show=False, id="bottom"),
        Binding("pagedown", "page_down", "Page down", show=False, id="page_down"),
        Binding("pageup", "page_up", "Page up", show=False, id="page_up"),
    ]

    cursor: reactive[int] = reactive(0, always_update=False, init=False)

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

    class HeaderClicked(Message):
        def __init__(self, column: str) -> None:
            self.column = column
            super().__init__()

    def __init__(self, store: ImageStore, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.store = store
        self.rows: Sequence[SharedImage] = ()
        self.empty_text = "Loading shared images…"
        self._layout = _layout(80)
        self._highlighted_id: str | None = None
        self._announced: SharedImage | None = None
        self._pass_styles: dict[str, Style] | None = None
        self._row_cache: dict[tuple[object, ...], Strip] = {}

    # ----------------------------------------------------------------- data

    @property
    def current(self) -> SharedImage | None:
        if 0 <= self.cursor < len(self.rows):
            return self.rows[self.cursor]
        return None

    def reload(self) -> None:
        """Take the store's current visible rows, keeping the cursor on the same image."""
        keep = self._highlighted_id
        self._row_cache.clear()
        self.rows = self.store.visible()
        index = 0
        if keep is not None:
            for position, image in enumerate(self.rows):
                if image.id == keep:
                    index = position
                    break
            else:
                index = min(self.cursor, max(0, len(self.rows) - 1))
        self._update_virtual_size()
        self.set_reactive(ImageTable.cursor, index)
        self._scroll_cursor_into_view()
        self._announce()
        self.refresh()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, len(self.rows) + 1)

    def _announce(self) -> None:
        """Tell the screen when the highlighted image changed (another image, or new data)."""
        image = self.current
        self._highlighted_id = image.id if image else None
        if image is not None and image is self._announced:
            return  # same row, same data: the detail pane need not be redrawn
        self._announced = image
        self.post_message(self.Highlighted(image))

    # ------------------------------------------------------------- cursor

    def watch_cursor(self, old: int, new: int) -> None:
        self._scroll_cursor_into_view()
        self.refresh_row(old)
        self.refresh_row(new)
        self._announce()

    def refresh_row(self, index: int) -> None:
        y = index - int(self.scroll_y) + 1
        if 1 <= y < self.size.height:
            self.refresh_lines(y)

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

    def render_lines(self, crop: Region) -> list[Strip]:
        # One set of styles for every line of this pass: ``rich_style`` walks the ancestors
        # and costs more than drawing a row.
        self._pass_styles = self._styles()
        try:
            return super().render_lines(crop)
        finally:
            self._pass_styles = None

    def _styles(self) -> dict[str, Style]:
        styles = {"": self.rich_style}
        for name in self.COMPONENT_CLASSES:
            styles[name] = self.get_component_rich_style(name)
        return styles

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        if self._layout.total != width:
            self._layout = _layout(width)
        styles = self._pass_styles or self._styles()
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

    def _render_header(self, width: int, base: Style, styles: dict[str, Style]) -> Strip:
        style = base + styles["image-table--header"]
        segments = [Segment(" " * _MARK_WIDTH, style)]
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
        marked = image.id in store.marked
        error = store.errors.get(image.id)
        busy = store.in_flight.get(image.id)
        stale = image.id in store.stale
        layout = self._layout
        # A row looks the same as long as these do: keep its strip (cursor moves, scrolling
        # and screen re-layouts redraw rows that did not change).
        # ``reload`` clears the cache, and ``rows`` holds every image until then, so the
        # object's id is a safe and cheap stand-in for the image.
        key = (
            index, id(image), is_cursor, marked, error, busy, stale, layout, base, styles[_CURSOR]
        )  # fmt: skip
        cached = self._row_cache.get(key)
        if cached is not None:
            return cached
        row_style = base
        if marked:
            row_style += styles["image-table--marked"]
        if is_cursor:
            row_style += styles["image-table--cursor"]
        # Cells that share a style are joined into one segment: fewer segments make every
        # later strip operation (cropping, meta, compositing) cheaper.
        segments: list[Segment] = []
        pending = ["✓ " if marked else "  "]
        for key_name, column_width in zip(layout.keys, layout.widths, strict=True):
            text, cell_style = self._cell_text(image, key_name, error is not None, busy, stale)
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
        self._row_cache[key] = strip
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
            return image.os_version or image.platform or "—", ""
        if key == "size":
            return human_size(image.size_bytes), ""
        if key == "format":
            return image.disk_format or "—", ""
        if key == "owner":
            return short_id(image.owner), ""
        if key == "created":
            return date_text(image.created_at), ""
        return "", ""
