"""The main screen's keys: one list, each with an id (for ``[ui.keymap]``) and a longer text.

The footer shows the short description, the help screen the tooltip, and users remap a key by
its id in config.toml (``[ui.keymap] accept = "a,A"``).
"""

from __future__ import annotations

from textual.binding import Binding, BindingType

from tui.app.store import COLUMNS

#: What rejecting means, said in the help and in every reject confirmation.
REJECT_NOTE = (
    "A rejected image disappears from your image list but is not revoked: anyone who knows "
    "its id can still boot it. Rejecting is not a security control."
)

MAIN_BINDINGS: list[BindingType] = [
    Binding(
        "a",
        "decide('accepted')",
        "Accept",
        tooltip="Accept the marked images, or the highlighted one",
        id="accept",
    ),
    Binding("r", "decide('rejected')", "Reject", tooltip="Reject (asks first)", id="reject"),
    Binding("p", "decide('pending')", "Pending", tooltip="Reset to pending", id="pending"),
    Binding(
        "z",
        "undo",
        "Undo",
        show=False,
        tooltip="Undo your last decision on this cloud (from the journal; asks first)",
        id="undo",
    ),
    Binding(
        "space",
        "toggle_mark",
        "Mark",
        key_display="space",
        tooltip="Mark / unmark and move down",
        id="mark",
    ),
    Binding(
        "asterisk",
        "mark_all",
        "Mark all",
        show=False,
        key_display="*",
        tooltip="Mark every visible image",
        id="mark_all",
    ),
    Binding(
        "u",
        "clear_marks",
        "Unmark all",
        show=False,
        tooltip="Clear all marks",
        id="clear_marks",
    ),
    Binding(
        "slash",
        "filter",
        "Filter",
        key_display="/",
        tooltip="Filter by name, id, owner or OS",
        id="filter",
    ),
    Binding(
        "escape",
        "clear_filter",
        "Clear filter",
        show=False,
        tooltip="Clear the filter (in the details: back to the table)",
        id="clear_filter",
    ),
    Binding(
        "enter,d",
        "describe",
        "Describe",
        show=False,
        tooltip="Describe the image: every field, the share, the raw JSON (escape: back)",
        id="describe",
    ),
    Binding(
        "w",
        "toggle_detail",
        "Details pane",
        show=False,
        tooltip="Hide / show the detail pane (a wider table)",
        id="toggle_detail",
    ),
    Binding(
        "ctrl+r,f5",
        "refresh",
        "Refresh",
        tooltip="Reload from the cloud (and owners.toml, rules.toml)",
        id="refresh",
    ),
    Binding(
        "o",
        "name_owner",
        "Name owner",
        show=False,
        tooltip="Name the highlighted image's owner and set its trust (owners.toml)",
        id="name_owner",
    ),
    Binding(
        "X",
        "apply_rules",
        "Apply rules",
        show=False,
        tooltip="Apply the rules of rules.toml to the pending shares (lists them, asks first)",
        id="apply_rules",
    ),
    Binding(
        "y",
        "copy_id",
        "Copy ID",
        show=False,
        tooltip="Copy the image id to the clipboard",
        id="copy_id",
    ),
    Binding("c", "app.config", "Config", show=False, tooltip="Open the config screen", id="config"),
    Binding(
        "P",
        "app.switch_context",
        "Profile/project",
        show=False,
        tooltip="Switch config profile, clouds.yaml cloud or project",
        id="switch_context",
    ),
    Binding(
        "m",
        "project_counts",
        "Projects",
        tooltip="All projects: each project's pending / accepted / rejected counts (enter filters)",
        id="project_counts",
    ),
    Binding("q", "app.quit", "Quit", id="quit"),
    Binding("1", "show_view(0)", "Pending view", show=False, id="view_pending"),
    Binding("2", "show_view(1)", "Accepted view", show=False, id="view_accepted"),
    Binding("3", "show_view(2)", "Rejected view", show=False, id="view_rejected"),
    Binding("4", "show_view(3)", "All view", show=False, id="view_all"),
    *(
        Binding(
            column.sort_letter,
            f"sort('{column.key}')",
            f"Sort by {column.label.lower()}",
            show=False,
            id=f"sort_{column.key}",
        )
        for column in COLUMNS
    ),
]
