"""``imshare history``: the decision journal as a log, one row per image and operation.

The journal is read, never trusted: it may have been written by another version of imshare or
edited by hand, so every field is shown as text from the cloud is (``safe_text`` in the table,
csv and value; escaped JSON). A line that cannot be read is skipped, and one stderr line names
where. Newest last, like a log; an intent without an outcome reads ``unknown``.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime, timedelta

from tui.cli import table
from tui.cli.output import json_array
from tui.formatting import cell_width, safe_text
from tui.journal import Journal, JournalEntry, entries

_AGO = re.compile(r"(\d+)\s*([mhdw])", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class HistoryUsage(ValueError):
    """An option ``history`` cannot read; the message says what it takes."""


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """``7d``, ``24h``, ``30m``, ``2w`` ago, or a date / time (``2026-12-01``, UTC)."""
    now = now or datetime.now(UTC)
    match = _AGO.fullmatch(text.strip())
    if match:
        amount, unit = int(match.group(1)), match.group(2).lower()
        return now - timedelta(**{_UNITS[unit]: amount})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise HistoryUsage(
            f"--since {text!r}: give an age (30m, 24h, 7d, 2w) or a date (2026-12-01, "
            "UTC; a time may follow: 2026-12-01T08:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _moment(entry: JournalEntry) -> datetime | None:
    try:
        moment = datetime.fromisoformat(entry.time)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def select(
    found: Sequence[JournalEntry],
    *,
    image: str = "",
    operation: str = "",
    since: datetime | None = None,
) -> list[JournalEntry]:
    """The entries asked for, in journal order (oldest first)."""
    chosen = []
    for entry in found:
        if image and entry.image_id != image:
            continue
        if operation and entry.op != operation:
            continue
        if since is not None:
            moment = _moment(entry)
            if moment is None or moment < since:
                continue
        chosen.append(entry)
    return chosen


def _when(entry: JournalEntry) -> str:
    moment = _moment(entry)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S") if moment else entry.time


def _outcome(entry: JournalEntry) -> str:
    if entry.outcome == "failed":
        said = f"{entry.code}: {entry.message}" if entry.code else entry.message
        return f"failed ({said})" if said else "failed"
    if entry.outcome == "unknown" and entry.message:
        return f"unknown ({entry.message})"
    return entry.outcome


#: The table's columns: header and how each entry fills it.
COLUMNS: list[tuple[str, Callable[[JournalEntry], str]]] = [
    ("Time (UTC)", _when),
    ("Operation", lambda e: e.op),
    ("How", lambda e: e.how),
    ("Member", lambda e: e.member_name or e.member_id),
    ("Region", lambda e: e.region),
    ("Image", lambda e: e.image_name),
    ("ID", lambda e: e.image_id),
    ("Change", lambda e: f"{e.before or '?'} → {e.after or '?'}"),
    ("Outcome", _outcome),
    ("Request ID", lambda e: e.request_id),
]


def _csv(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return safe_text(str(value))


def render(found: Sequence[JournalEntry], fmt: str, *, max_width: int = 0) -> str:
    """The entries in ``fmt``; JSON keeps every field, escaped, so nothing is lost."""
    if fmt == "json":
        return json_array([asdict(entry) for entry in found])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        fields = list(asdict(found[0])) if found else list(JournalEntry.__dataclass_fields__)
        writer.writerow(fields)
        for entry in found:
            writer.writerow([_csv(value) for value in asdict(entry).values()])
        return buffer.getvalue().rstrip("\n")
    rows = [[safe_text(get(entry)) for _name, get in COLUMNS] for entry in found]
    if fmt == "value":
        # One token per time (ISO, as the file has it); empty cells are "-".
        for row, entry in zip(rows, found, strict=True):
            row[0] = safe_text(entry.time)
        return "\n".join(" ".join(cell or "-" for cell in row) for row in rows)
    header = [name for name, _get in COLUMNS]
    keep = _fitting_columns(header, rows, max_width)
    header = [header[i] for i in keep]
    rows = [[row[i] for i in keep] for row in rows]
    return table.render(header, rows, right=[False] * len(header), max_width=max_width)


#: What a narrow terminal loses first, so the columns a reader scans (time, how, image, change,
#: outcome) stay readable instead of every column being cut to a few cells. ``--wide``, a pipe
#: or ``-f json`` keep them all.
_DROP_FIRST = ("Request ID", "Operation", "ID", "Region", "Member")


def _fitting_columns(header: list[str], rows: list[list[str]], max_width: int) -> list[int]:
    keep = list(range(len(header)))
    if max_width <= 0:
        return keep
    natural = [max(cell_width(line[i]) for line in (header, *rows)) for i in keep]

    def width() -> int:
        return sum(natural[i] for i in keep) + len(table.GAP) * (len(keep) - 1)

    for name in _DROP_FIRST:
        if width() <= max_width:
            break
        keep.remove(header.index(name))
    return keep


def run(
    args: argparse.Namespace,
    out: Callable[[str], None],
    err: Callable[[str], None],
    *,
    max_width: int = 0,
) -> int:
    """Print the history; 0, or 1 when the journal cannot be read at all."""
    try:
        since = parse_since(args.since) if args.since else None
    except HistoryUsage as problem:
        err(str(problem))
        return 2
    journal = Journal()
    skipped: list[str] = []
    try:
        found = entries(journal.records(skipped))
    except OSError as error:
        err(f"cannot read the journal: {error}")
        return 1
    if skipped:
        shown = ", ".join(skipped[:5]) + (
            f" and {len(skipped) - 5} more" if len(skipped) > 5 else ""
        )
        err(
            f"warning: skipped {len(skipped)} unreadable line(s) of the journal in "
            f"{journal.path.parent}: {shown}"
        )
    chosen = select(found, image=args.image or "", operation=args.operation or "", since=since)
    fmt = "json" if getattr(args, "json", False) else args.format
    if chosen or fmt in ("json", "csv"):
        out(render(chosen, fmt, max_width=max_width if fmt == "table" else 0))
    if not chosen and fmt == "table":
        what = "no decisions" if not found else "no decisions match"
        err(f"{what} in the journal {journal.path}")
    return 0
