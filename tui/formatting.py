"""How values look on screen and in the CLI: sizes, times, short ids, countdowns, cloud text.

The one place where data becomes display text, so the app and the CLI say the same thing.

Cloud text is hostile: whoever shares an image with you chooses its name, description and
properties, and an error body is whatever a server or a proxy sent. ``safe_text`` is the one
rule every surface applies before such text reaches a terminal (the app's views, dialogs and
toasts, the CLI's formats, the log), and ``safe_json`` is the same rule for JSON output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int | None, unknown: str = "—") -> str:
    """``42949672960`` -> ``40.0 GiB``; the CLI passes ``unknown="-"`` to stay ASCII."""
    if size is None or size < 0:
        return unknown
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def short_id(value: str, length: int = 8, unknown: str = "—") -> str:
    return safe_text(value[:length]) if value else unknown


def date_text(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d") if moment else "—"


def time_text(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def table_time(moment: datetime | None, *, seconds: bool = False) -> str:
    """The CLI's plain ASCII timestamp (UTC): ``2026-11-01 09:30`` or with seconds; ``-``."""
    if moment is None:
        return "-"
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def countdown(seconds: float) -> str:
    """``23h59m`` / ``4m12s`` / ``expired``: precise enough to act on, short for 80 columns."""
    if seconds <= 0:
        return "expired"
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s"


# ----------------------------------------------------------------------------- cloud text

#: What a character that must not reach the terminal becomes: Unicode's own "a character was
#: here that cannot be shown". It is one cell wide, so columns stay put, and unlike ``?`` it
#: cannot be mistaken for something the sharer typed, so a reviewer sees that a name carried
#: control characters (a reason to reject it).
REPLACEMENT = "\ufffd"

# Unicode's Bidi_Control characters: ALM, LRM, RLM, the embeddings and overrides
# (U+202A-U+202E) and the isolates (U+2066-U+2069). They reorder what is shown, so a name
# could read differently from what it is ("Trojan Source").
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
# C0 and C1 controls, DEL, bidi controls, the Unicode line and paragraph separators, and lone
# surrogates (``json`` decodes the escape ``\ud800`` into one, and printing one raises
# UnicodeEncodeError: a name could crash the CLI).
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
# The same without the tab and the line feed, which multi-line text keeps.
_UNSAFE_MULTILINE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")
# Line breaks in any spelling, as a multi-line view keeps them.
_BREAKS = re.compile("\r\n?|[\u2028\u2029]")
# Tabs and line breaks, which a one-line surface turns into a space each.
_LAYOUT = re.compile("\r\n|[\t\n\r\u2028\u2029]")
# What is left to replace once tabs and line breaks are handled.
_REPLACED = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}\ud800-\udfff]")
# What JSON output escapes on top of what ``json`` escapes itself (C0, quote, backslash).
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}\u2028\u2029\ud800-\udfff]")


def safe_text(text: str, *, multiline: bool = False) -> str:
    r"""Cloud text as it may reach a terminal: no control character can act on it.

    C0 and C1 controls, DEL, bidi controls and lone surrogates become ``REPLACEMENT``, so an
    image name cannot set the window title, clear the screen, leave the alternate screen,
    write the clipboard (OSC 52) or reorder what is shown. Tabs and line breaks are layout,
    not attacks: a one-line surface (a table cell, a toast, a CSV field) shows each as a
    space; with ``multiline`` (a description in a view that lays lines out itself) tabs and
    line breaks stay, every spelling of a break (``\r\n``, ``\r``, U+2028) as ``\n``.
    Everything else, including wide and non-Latin text, is kept.
    """
    if multiline:
        if _UNSAFE_MULTILINE.search(text) is None:
            return text
        text = _BREAKS.sub("\n", text)
    else:
        # isprintable() is false for every control, format (bidi), surrogate and line or
        # paragraph separator character, and runs at C speed: nearly every name stops here.
        if text.isprintable() or _UNSAFE.search(text) is None:
            return text
        text = _LAYOUT.sub(" ", text)
    return _REPLACED.sub(REPLACEMENT, text)


_JSON_ENCODER = json.JSONEncoder(ensure_ascii=False)
#: ``_JSON_ENCODER``'s C encoder, made once: ``encode`` makes a new one per call, which was a
#: fifth of writing 10,000 images. Its arguments are what ``JSONEncoder.iterencode`` passes
#: (no circular check: our values are trees); None where Python has no C accelerator.
_C_ENCODE = (
    json.encoder.c_make_encoder(
        None,
        _JSON_ENCODER.default,
        json.encoder.encode_basestring,
        None,
        _JSON_ENCODER.key_separator,
        _JSON_ENCODER.item_separator,
        False,
        False,
        True,
    )
    if json.encoder.c_make_encoder is not None
    else None
)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _inert_json(text: str) -> str:
    r"""JSON text with C1 controls, DEL, bidi controls, U+2028/U+2029 and lone surrogates as
    ``\uXXXX`` (``json`` escaped the C0 controls itself).

    These characters can only occur inside JSON strings (the syntax around them is ASCII),
    where an escape means exactly the character it replaces: so a text made of several
    encoded values joined by ASCII gets the same bytes in one pass as value by value.
    """
    if (text.isascii() and "\x7f" not in text) or _JSON_UNSAFE.search(text) is None:
        return text  # in ASCII, json left only DEL unescaped
    return _JSON_UNSAFE.sub(_json_escape, text)


def safe_json(value: object, *, indent: int | None = None) -> str:
    r"""``value`` as JSON that is safe to print: ``json`` escapes C0 controls itself; C1
    controls, DEL, bidi controls, U+2028/U+2029 and lone surrogates become ``\uXXXX`` here.

    Every other character stays as it is (no ``ensure_ascii``: a Japanese name stays
    readable), and the escapes decode to the original string, so nothing is lost.
    """
    if indent is None:
        text = _JSON_ENCODER.encode(value)  # one encoder, not one per image
    else:
        text = json.dumps(value, ensure_ascii=False, indent=indent)
    return _inert_json(text)


def safe_json_lines(items: Iterable[object]) -> str:
    """Each item as ``safe_json`` writes it, joined by ``,\\n``: the same bytes, from one
    encoder and one pass of the sanitiser over the whole text instead of one per item
    (``imshare list --json`` writes tens of thousands of objects)."""
    if _C_ENCODE is None:
        return _inert_json(",\n".join(map(_JSON_ENCODER.encode, items)))
    encode = _C_ENCODE
    return _inert_json(",\n".join(["".join(encode(item, 0)) for item in items]))


# ----------------------------------------------------------------------------- cell width


def cell_width(text: str) -> int:
    """How many terminal cells ``text`` takes: CJK and most emoji take two, combining marks
    none. Measure ``safe_text`` output: a raw control character has no honest width.
    """
    if text.isascii():
        return len(text)  # the common case, and no import of rich's width tables
    from rich.cells import cell_len

    return cell_len(text)


def pad_cells(text: str, width: int, *, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` cells (left-aligned, or right with ``right``)."""
    padding = " " * max(0, width - cell_width(text))
    return padding + text if right else text + padding


def fit_cells(text: str, width: int, *, right: bool = False) -> str:
    """``text`` in exactly ``width`` cells: padded, or cut with ``…`` when it is longer.

    A cut never leaves half of a wide character: where one would be split, a space takes
    the cell it would have half-filled.
    """
    if cell_width(text) <= width:
        return pad_cells(text, width, right=right)
    if width <= 1:
        return "…"[:width]
    if text.isascii():
        return text[: width - 1] + "…"
    from rich.cells import set_cell_size

    return set_cell_size(text, width - 1) + "…"


def fit_cells_middle(text: str, width: int) -> str:
    """``text`` in exactly ``width`` cells, cut in the middle when it is longer:
    ``Standard_Win…SQL_20250208``.

    Image names tell versions apart at their end (a date, a build number), so a cut keeps the
    start and the end and drops the middle; the end gets the larger half. As with
    ``fit_cells``, a wide character that does not fit leaves a space in its place.
    """
    if cell_width(text) <= width:
        return pad_cells(text, width)
    if width <= 2:
        return fit_cells(text, width)
    tail = width // 2
    head = width - 1 - tail
    if text.isascii():
        return text[:head] + "…" + text[len(text) - tail :]
    from rich.cells import cell_len, set_cell_size

    start, taken = len(text), 0
    while start > 0:
        size = cell_len(text[start - 1])
        if taken + size > tail:
            break
        taken += size
        start -= 1
    while start < len(text) and cell_len(text[start]) == 0:
        start += 1  # a combining mark whose base was cut must not join the "…"
    return set_cell_size(text, head) + "…" + " " * (tail - taken) + text[start:]
