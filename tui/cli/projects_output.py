"""What ``imshare projects`` prints: each project of the user, its region and its counts.

The formats and ``-c`` work as for ``imshare list``: a table fitted to the terminal, JSON (one
object per line), CSV with a header, or bare values. Project names and reasons come from the
cloud and pass the one sanitiser; JSON keeps them exact, escaped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.cli import table
from tui.cli.output import UnknownColumn, json_array
from tui.formatting import safe_text

#: ``state`` of a project: its shares were listed, it has no image service in the wanted
#: regions (quiet), or it could not be logged in to or listed.
LISTED, SKIPPED, FAILED = "listed", "skipped", "failed"


@dataclass(frozen=True, slots=True)
class ProjectRow:
    name: str
    id: str
    region: str
    state: str
    pending: int | None = None
    accepted: int | None = None
    rejected: int | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ProjectColumn:
    name: str
    key: str
    raw: Callable[[ProjectRow], Any]
    right: bool = False


def _count(value: int | None) -> str:
    return "-" if value is None else str(value)


PROJECT_COLUMNS: tuple[ProjectColumn, ...] = (
    ProjectColumn("Project", "name", lambda r: r.name),
    ProjectColumn("Project ID", "id", lambda r: r.id),
    ProjectColumn("Region", "region", lambda r: r.region),
    ProjectColumn("Pending", "pending", lambda r: r.pending, right=True),
    ProjectColumn("Accepted", "accepted", lambda r: r.accepted, right=True),
    ProjectColumn("Rejected", "rejected", lambda r: r.rejected, right=True),
    ProjectColumn("State", "state", lambda r: r.state),
    ProjectColumn("Reason", "reason", lambda r: r.reason),
)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


def resolve_project_columns(names: Sequence[str] | None) -> list[ProjectColumn]:
    """The ``-c`` columns in that order (names or JSON keys, any case); all by default."""
    if not names:
        return list(PROJECT_COLUMNS)
    by_name = {}
    for column in PROJECT_COLUMNS:
        by_name.setdefault(_norm(column.name), column)
        by_name.setdefault(_norm(column.key), column)
    columns: list[ProjectColumn] = []
    for name in names:
        column = by_name.get(_norm(name))
        if column is None:
            known = ", ".join(repr(c.name) for c in PROJECT_COLUMNS)
            raise UnknownColumn(f"unknown column {name!r}; columns: {known}")
        if column not in columns:
            columns.append(column)
    return columns


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    return safe_text(str(value))


def render_projects(
    rows: Sequence[ProjectRow], fmt: str, names: Sequence[str] | None, *, max_width: int = 0
) -> str:
    columns = resolve_project_columns(names)
    if fmt == "json":
        return json_array([{c.key: c.raw(row) for c in columns} for row in rows])
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        writer.writerow([c.name for c in columns])
        for row in rows:
            writer.writerow(
                [_csv_value(c.raw(row)) for c in columns],
            )
        return buffer.getvalue().rstrip("\n")
    if fmt == "value":
        return "\n".join(
            " ".join("" if c.raw(row) is None else safe_text(str(c.raw(row))) for c in columns)
            for row in rows
        )
    header = [c.name for c in columns]
    body = [[_cell(c.raw(row)) for c in columns] for row in rows]
    return table.render(header, body, right=[c.right for c in columns], max_width=max_width)


def _csv_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return "" if value is None else safe_text(str(value))
