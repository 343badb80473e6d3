"""What ``imshare list`` and ``imshare show`` print: table, JSON, CSV or bare values.

Column names follow python-openstackclient's image commands where one exists (``ID``,
``Name``, ``Status``, ``Disk Format``, ``Container Format``, ``Size``, ``Visibility``,
``Project``, ``Tags``, ``Created At``, ``Updated At``); ``Status`` is *your member status*
(what this tool is about); the image's own status is ``Image Status``. ``-c`` matches names
case-insensitively and also takes the JSON keys (``disk_format``) and a few aliases
(``Owner``, ``Member Status``).

Every value from the cloud passes ``tui.formatting.safe_text`` (or ``safe_json``) on its way
out, whatever the format: another project chooses an image's name, description and properties,
and they must not act on the reader's terminal. The table measures terminal cells, so wide
(CJK) names keep the columns aligned.

No Textual here: the CLI must start fast.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tui.cloud.models import Member, SharedImage, iso_utc
from tui.formatting import (
    cell_width,
    human_size,
    pad_cells,
    safe_json,
    safe_text,
    short_id,
    table_time,
)

FORMATS = ("table", "json", "csv", "value")


@dataclass(frozen=True, slots=True)
class Row:
    image: SharedImage
    member: Member | None = None

    @property
    def status(self) -> str | None:
        if self.member is not None:
            return self.member.status.value
        return self.image.status.value if self.image.status else None


def _size(size: int | None) -> str:
    return human_size(size, unknown="-")


def _owner(project_id: str) -> str:
    return short_id(project_id, unknown="-")


def os_type(image: SharedImage) -> str:
    parts = [image.os_type, f"{image.os_bit}-bit" if image.os_bit else ""]
    return " ".join(p for p in parts if p) or "-"


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column: its display name, JSON key, compact table header and two renderings."""

    name: str
    key: str
    label: str
    human: Callable[[Row], str]
    raw: Callable[[Row], Any]
    aliases: tuple[str, ...] = ()
    right: bool = False


def _text(get: Callable[[Row], str]) -> Callable[[Row], str]:
    return lambda row: get(row) or "-"


COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn("ID", "id", "ID", lambda r: r.image.id, lambda r: r.image.id),
    OutputColumn("Name", "name", "NAME", _text(lambda r: r.image.name), lambda r: r.image.name),
    OutputColumn(
        "Status",
        "status",
        "STATUS",
        lambda r: r.status or "-",
        lambda r: r.status,
        aliases=("Member Status",),
    ),
    OutputColumn(
        "OS Version",
        "os_version",
        "OS",
        _text(lambda r: r.image.os_version),
        lambda r: r.image.os_version,
    ),
    OutputColumn(
        "OS Type", "os_type", "OS TYPE", lambda r: os_type(r.image), lambda r: r.image.os_type
    ),
    OutputColumn(
        "Platform",
        "platform",
        "PLATFORM",
        _text(lambda r: r.image.platform),
        lambda r: r.image.platform,
    ),
    OutputColumn(
        "Size",
        "size_bytes",
        "SIZE",
        lambda r: _size(r.image.size_bytes),
        lambda r: r.image.size_bytes,
        right=True,
    ),
    OutputColumn(
        "Disk Format",
        "disk_format",
        "FORMAT",
        lambda r: r.image.disk_format or "-",
        lambda r: r.image.disk_format,
    ),
    OutputColumn(
        "Container Format",
        "container_format",
        "CONTAINER",
        lambda r: r.image.container_format or "-",
        lambda r: r.image.container_format,
    ),
    OutputColumn(
        "Project",
        "owner",
        "OWNER",
        lambda r: _owner(r.image.owner),
        lambda r: r.image.owner,
        aliases=("Owner",),
    ),
    OutputColumn(
        "Min Disk",
        "min_disk_gb",
        "MIN DISK",
        lambda r: f"{r.image.min_disk_gb} GB" if r.image.min_disk_gb is not None else "-",
        lambda r: r.image.min_disk_gb,
        right=True,
    ),
    OutputColumn(
        "Min RAM",
        "min_ram_mb",
        "MIN RAM",
        lambda r: f"{r.image.min_ram_mb} MB" if r.image.min_ram_mb is not None else "-",
        lambda r: r.image.min_ram_mb,
        right=True,
    ),
    OutputColumn(
        "Image Status",
        "image_status",
        "IMAGE STATUS",
        lambda r: r.image.image_status or "-",
        lambda r: r.image.image_status,
    ),
    OutputColumn(
        "Visibility",
        "visibility",
        "VISIBILITY",
        lambda r: r.image.visibility or "-",
        lambda r: r.image.visibility,
    ),
    OutputColumn(
        "Full-ECS",
        "whole_image",
        "FULL-ECS",
        lambda r: "yes" if r.image.whole_image else "no",
        lambda r: r.image.whole_image,
        aliases=("Whole Image",),
    ),
    OutputColumn(
        "Tags",
        "tags",
        "TAGS",
        lambda r: ", ".join(r.image.tags) or "-",
        lambda r: list(r.image.tags),
    ),
    OutputColumn(
        "Created At",
        "created_at",
        "CREATED",
        lambda r: table_time(r.image.created_at),
        lambda r: iso_utc(r.image.created_at),
    ),
    OutputColumn(
        "Updated At",
        "updated_at",
        "UPDATED",
        lambda r: table_time(r.image.updated_at),
        lambda r: iso_utc(r.image.updated_at),
    ),
    OutputColumn(
        "Shared At",
        "shared_at",
        "SHARED",
        lambda r: table_time(r.member.created_at) if r.member else "-",
        lambda r: iso_utc(r.member.created_at) if r.member else None,
    ),
    OutputColumn(
        "Decided At",
        "decided_at",
        "DECIDED",
        lambda r: table_time(r.member.updated_at) if r.member else "-",
        lambda r: iso_utc(r.member.updated_at) if r.member else None,
    ),
    OutputColumn(
        "Description",
        "description",
        "DESCRIPTION",
        _text(lambda r: r.image.description),
        lambda r: r.image.description,
    ),
)

DEFAULT_LIST = (
    "ID",
    "Name",
    "Status",
    "OS Version",
    "Size",
    "Disk Format",
    "Project",
    "Created At",
)


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_NAME: dict[str, OutputColumn] = {}
for _column in COLUMNS:
    for _alias in (_column.name, _column.key, _column.label, *_column.aliases):
        _BY_NAME.setdefault(_norm(_alias), _column)


class UnknownColumn(ValueError):
    """A ``-c`` name that is not a column; the message lists the ones that are."""


def column_names() -> list[str]:
    return [column.name for column in COLUMNS]


def resolve(
    names: Sequence[str] | None, default: Sequence[str] = DEFAULT_LIST
) -> list[OutputColumn]:
    """The columns ``-c`` asked for, in that order (default: ``default``)."""
    wanted = list(names) if names else list(default)
    columns: list[OutputColumn] = []
    for name in wanted:
        column = _BY_NAME.get(_norm(name))
        if column is None:
            raise UnknownColumn(
                f"unknown column {name!r}; columns: {', '.join(repr(n) for n in column_names())}"
            )
        if column not in columns:
            columns.append(column)
    return columns


# ----------------------------------------------------------------------------- rendering


def _plain(value: Any) -> str:
    """A raw value for csv/value output: one line, lists comma-joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(safe_text(str(v)) for v in value)
    return safe_text(str(value))


def _human(column: OutputColumn, row: Row) -> str:
    """A column's one-line display text, safe for the terminal."""
    return safe_text(column.human(row))


def render_table(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    """An aligned table, one image per line, under a header; widths in terminal cells."""
    header = [column.label for column in columns]
    body = [[_human(column, row) for column in columns] for row in rows]
    widths = [max(cell_width(line[i]) for line in (header, *body)) for i in range(len(columns))]
    lines = []
    for line in (header, *body):
        cells = [pad_cells(cell, widths[i], right=columns[i].right) for i, cell in enumerate(line)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def render_json(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    return json_array([{column.key: column.raw(row) for column in columns} for row in rows])


def _csv_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _plain(value)


def render_csv(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow([_csv_value(column.raw(row)) for column in columns])
    return buffer.getvalue().rstrip("\n")


def render_value(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    """Space-separated values, one row per line, no header (like ``openstack -f value``)."""
    return "\n".join(" ".join(_plain(column.raw(row)) for column in columns) for row in rows)


def json_array(items: Sequence[object]) -> str:
    """A JSON array with one compact object per line.

    Readable and greppable, and produced by the C encoder: ``indent=`` would switch json to its
    pure-Python encoder, which was a quarter of ``imshare list --json`` at 10,000 images.
    """
    if not items:
        return "[]"
    body = ",\n".join(safe_json(item) for item in items)
    return f"[\n{body}\n]"


def render_list(rows: Sequence[Row], fmt: str, names: Sequence[str] | None) -> str:
    """``imshare list`` output; JSON without ``-c`` keeps the documented full objects."""
    if fmt == "json" and not names:
        return json_array([row.image.to_json() for row in rows])
    columns = resolve(names)
    if fmt == "json":
        return render_json(rows, columns)
    if fmt == "csv":
        return render_csv(rows, columns)
    if fmt == "value":
        return render_value(rows, columns)
    return render_table(rows, columns)


def render_show(row: Row, fmt: str, names: Sequence[str] | None) -> str:
    """``imshare show`` output: every column by default, or those ``-c`` names."""
    if fmt == "json" and not names:
        payload = {
            "image": row.image.to_json(),
            "member": row.member.to_json() if row.member else None,
        }
        return safe_json(payload, indent=2)
    if fmt == "table" and not names:
        return format_details(row.image, row.member)
    columns = resolve(names, default=column_names())
    if fmt == "json":
        return safe_json({column.key: column.raw(row) for column in columns}, indent=2)
    if fmt == "csv":
        return render_csv([row], columns)
    if fmt == "value":
        return "\n".join(_plain(column.raw(row)) for column in columns)
    width = max(len(column.name) for column in columns)
    return "\n".join(
        f"{column.name + ':':<{width + 1}} {_human(column, row)}" for column in columns
    )


def format_details(image: SharedImage, member: Member | None) -> str:
    """The default ``imshare show`` view: every field a reviewer wants, one per line.

    The description keeps its own line breaks, each further line indented under the first, so
    a multi-line description reads as written and cannot pose as another field.
    """
    status = member.status.value if member else (image.status.value if image.status else "-")
    pairs: list[tuple[str, str]] = [
        ("id", image.id),
        ("name", image.name),
        ("status", status),
        ("owner", image.owner or "-"),
        ("os", image.os_version or "-"),
        ("os type", os_type(image)),
        ("platform", image.platform or "-"),
        ("size", _size(image.size_bytes)),
        ("disk format", image.disk_format or "-"),
        ("container format", image.container_format or "-"),
        ("min disk", f"{image.min_disk_gb} GB" if image.min_disk_gb is not None else "-"),
        ("min ram", f"{image.min_ram_mb} MB" if image.min_ram_mb is not None else "-"),
        ("image status", image.image_status or "-"),
        ("visibility", image.visibility or "-"),
        ("full-ECS image", "yes (accepting needs --vault-id)" if image.whole_image else "no"),
        ("encrypted", "yes" if image.encrypted else "no"),
        ("features", ", ".join(image.features) or "-"),
        ("tags", ", ".join(image.tags) or "-"),
        ("description", ""),
        ("created", table_time(image.created_at, seconds=True)),
        ("updated", table_time(image.updated_at, seconds=True)),
        ("shared with you", table_time(member.created_at, seconds=True) if member else "-"),
        ("last decided", table_time(member.updated_at, seconds=True) if member else "-"),
    ]
    width = max(len(key) for key, _ in pairs)
    lines = []
    for key, value in pairs:
        if key == "description":
            value = _description(image.description, indent=width + 2)
        else:
            value = safe_text(value)
        lines.append(f"{key + ':':<{width + 1}} {value}")
    return "\n".join(lines)


def _description(text: str, *, indent: int) -> str:
    """A description's lines, tabs expanded, the second and later ones indented by ``indent``."""
    lines = safe_text(text, multiline=True).expandtabs(4).strip("\n").split("\n")
    return ("\n" + " " * indent).join(line.rstrip() for line in lines) or "-"
