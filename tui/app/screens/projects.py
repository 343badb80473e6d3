"""``m``: where the shares are, project by project (all-projects scope only).

With fifty projects the table's ``Member`` column cannot tell at a glance which project has
work waiting. This list can: one row per project and region, its pending / accepted / rejected
counts, and the projects that failed or were skipped with why. Enter narrows the table to the
highlighted project (a ``member:`` term in the filter, so it reads and edits like any filter);
the first row, "All projects", takes that term away again.

Project names come from Keystone, chosen by whoever administers the domain: they pass
``safe_text`` like any cloud text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Label, Static

from tui.cloud.errors import ApiError
from tui.cloud.inbox import Scope, Unreached
from tui.cloud.models import ALL_STATUSES, MemberStatus, SharedImage
from tui.formatting import safe_text

#: The row that clears the project filter.
ALL_ROW = "*all*"


@dataclass(frozen=True, slots=True)
class ProjectCount:
    """One project in one region, as the list shows it."""

    project_id: str
    name: str
    region: str
    counts: Mapping[MemberStatus, int]
    #: "" when listed; else why it is not ("failed: …", "skipped: …").
    problem: str = ""

    @property
    def pending(self) -> int:
        return self.counts.get(MemberStatus.PENDING, 0)


def project_counts(
    scopes: Sequence[Scope],
    unreached: Iterable[Unreached],
    images: Iterable[SharedImage],
    failed: Mapping[str, ApiError],
) -> list[ProjectCount]:
    """Every project of the inbox with its counts, those with pending shares first.

    ``failed`` is keyed by scope label (how the listing names a project that failed); such a
    project's counts are what was known before, and it says so.
    """
    counted: Counter[tuple[str, str, MemberStatus]] = Counter(
        (image.member_id, image.region, image.status) for image in images
    )
    rows: list[ProjectCount] = []
    for scope in scopes:
        project = scope.project
        counts = {s: counted[(project.id, scope.region, s)] for s in ALL_STATUSES}
        error = failed.get(scope.label)
        problem = f"failed: {error.reason}" if error is not None else ""
        rows.append(ProjectCount(project.id, project.name, scope.region, counts, problem))
    for gone in unreached:
        kind = "skipped" if gone.skipped else "failed"
        rows.append(
            ProjectCount(
                gone.project.id, gone.project.name, gone.region, {}, f"{kind}: {gone.reason}"
            )
        )
    rows.sort(key=lambda row: (-row.pending, bool(row.problem), row.name.casefold(), row.region))
    return rows


def _counts_shown(row: ProjectCount, kind: str) -> list[str]:
    """A failed project's counts are what was known before, not a count: ``+?`` / ``?``."""
    if kind == "skipped":
        return ["", "", ""]
    counts = [row.counts.get(status, 0) for status in ALL_STATUSES]
    if kind == "failed":
        return [f"{count}+?" if count else "?" for count in counts]
    return [str(count) for count in counts]


def where_pending(rows: Sequence[ProjectCount]) -> str:
    """``Pending 37 in 9 of 52 projects``: the headline of the list."""
    projects = {row.project_id for row in rows if not row.problem.startswith("skipped")}
    waiting = {row.project_id for row in rows if row.pending}
    pending = sum(row.pending for row in rows)
    failed = {row.project_id for row in rows if row.problem.startswith("failed")}
    if not failed:
        return f"Pending {pending} in {len(waiting)} of {len(projects)} projects"
    # Shares of a project that could not be listed are unknown: never a complete-looking sum.
    return (
        f"Pending {pending}+? in {len(waiting)} of {len(projects)} projects "
        f"({len(failed)} could not be listed)"
    )


class ProjectsScreen(ModalScreen[str | None]):
    """The list; dismissed with a project id, ``""`` for every project, or None (escape)."""

    BINDINGS = [
        Binding("escape,q,m", "cancel", "Back", id="projects_close"),
        # DataTable's own home/end only scroll; these move the cursor, as in the main table.
        Binding("g,home", "first", "First", show=False, priority=True, id="projects_first"),
        Binding("G,end", "last", "Last", show=False, priority=True, id="projects_last"),
        Binding("j", "move(1)", "Down", show=False, id="projects_down"),
        Binding("k", "move(-1)", "Up", show=False, id="projects_up"),
    ]

    def __init__(self, rows: Sequence[ProjectCount], current: str = "") -> None:
        super().__init__()
        self.rows = list(rows)
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog projects-dialog"):
            yield Label(Text(where_pending(self.rows), style="bold"), id="projects-title")
            yield DataTable(id="projects", cursor_type="row", zebra_stripes=False)
            yield Static("", id="projects-reason", classes="problem")
            yield Static(Text("enter shows that project's shares · escape goes back", style="dim"))

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_column("Project", key="project")
        table.add_column("Region", key="region")
        for status in ALL_STATUSES:
            table.add_column(status.value.capitalize(), key=status.value)
        table.add_column("", key="problem")  # "failed" or "skipped"
        totals = Counter[MemberStatus]()
        for row in self.rows:
            totals.update(row.counts)
        table.add_row(
            Text("All projects", style="bold"),
            "",
            *(Text(str(totals[s]), justify="right") for s in ALL_STATUSES),
            "",
            key=ALL_ROW,
        )
        for row in self.rows:
            mark = "● " if row.project_id == self.current else "  "
            kind = row.problem.split(":", 1)[0]  # the reason shows under the table
            table.add_row(
                Text(mark + safe_text(row.name)),
                Text(safe_text(row.region)),
                *(Text(count, justify="right") for count in _counts_shown(row, kind)),
                Text(kind, style="bold red" if kind == "failed" else "dim"),
                key=f"{row.project_id}@{row.region}",
            )
        if self.current:
            index = next(
                (i + 1 for i, row in enumerate(self.rows) if row.project_id == self.current), 0
            )
            table.move_cursor(row=index)
        table.focus()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """A failed or skipped project's reason, in full, under the table."""
        index = event.cursor_row - 1  # row 0 is "All projects"
        problem = self.rows[index].problem if 0 <= index < len(self.rows) else ""
        self.query_one("#projects-reason", Static).update(Text(safe_text(problem)))

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value or ""
        self.dismiss("" if key == ALL_ROW else key.split("@", 1)[0])

    def action_first(self) -> None:
        self.query_one(DataTable).move_cursor(row=0)

    def action_last(self) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.row_count - 1)

    def action_move(self, step: int) -> None:
        table = self.query_one(DataTable)
        table.move_cursor(row=table.cursor_row + step)

    def action_cancel(self) -> None:
        self.dismiss(None)
