"""How values look on screen and in the CLI: sizes, times, short ids, countdowns, cloud text.

The one place where data becomes display text, so the app and the CLI say the same thing.
"""

from __future__ import annotations

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
    return value[:length] if value else unknown


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


def printable(text: str) -> str:
    """Names come from other tenants: keep control characters out of the terminal."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else "?" for ch in text)
