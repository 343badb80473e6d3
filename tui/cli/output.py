"""What ``imshare list`` and ``imshare show`` print: table, JSON, CSV or bare values.

Column names follow python-openstackclient's image commands where one exists (``ID``,
``Name``, ``Status``, ``Disk Format``, ``Container Format``, ``Size``, ``Visibility``,
``Tags``, ``Created At``, ``Updated At``); ``Status`` is *your member status* (what this tool
is about); the image's own status is ``Image Status``. ``Owner`` (also: ``Project``) shows the
name the user gave the sharing project in owners.toml, else its short id; its JSON value stays
the id. ``-c`` matches names case-insensitively and also takes the JSON keys
(``disk_format``) and a few aliases (``Project``, ``Member Status``).

Every value from the cloud passes ``tui.formatting.safe_text`` (or ``safe_json``) on its way
out, whatever the format: another project chooses an image's name, description and properties,
and they must not act on the reader's terminal. The table measures terminal cells, so wide
(CJK) names keep the columns aligned.

No Textual here: the CLI must start fast.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui.cli import table
from tui.cli.stdio import FORMATS  # noqa: F401 (re-exported: output formats are named here too)
from tui.cloud.models import Member, SharedImage, iso_utc
from tui.formatting import human_size, safe_json, safe_json_lines, safe_text, short_id, table_time
from tui.settings.owners import OwnerBook

_NO_OWNERS = OwnerBook()


@dataclass(frozen=True, slots=True)
class Row:
    image: SharedImage
    member: Member | None = None
    #: The names and trust levels of owners.toml.
    owners: OwnerBook = _NO_OWNERS

    @property
    def owner_name(self) -> str | None:
        return self.owners.name_of(self.image.owner) or None

    @property
    def owner_trust(self) -> str:
        return self.owners.trust_of(self.image.owner).value

    @property
    def status(self) -> str | None:
        if self.member is not None:
            return self.member.status.value
        return self.image.status.value if self.image.status else None


def _size(size: int | None) -> str:
    return human_size(size, unknown="-")


def _owner(project_id: str) -> str:
    return short_id(project_id, unknown="-")


def _owner_label(row: Row) -> str:
    """The name the user gave the owner, else its short id."""
    return row.owner_name or _owner(row.image.owner)


def _owner_detail(row: Row) -> str:
    """``show``: ``Platform team (907a…full id), trusted`` — the id always, the name when known."""
    owner = row.image.owner or "-"
    if not row.owner_name:
        return owner
    return f"{row.owner_name} ({owner}), {row.owner_trust}"


def os_type(image: SharedImage) -> str:
    parts = [image.os_type, f"{image.os_bit}-bit" if image.os_bit else ""]
    return " ".join(p for p in parts if p) or "-"


# ----------------------------------------------------------------------------- columns


@dataclass(frozen=True, slots=True)
class OutputColumn:
    """One column: its name (the ``-c`` name and the table header, as openstackclient's),
    its JSON key, and its renderings: ``human`` for a table cell, ``raw`` for json, csv and
    value, and ``detail`` for ``show`` (default: ``human``; times there carry their zone)."""

    name: str
    key: str
    human: Callable[[Row], str]
    raw: Callable[[Row], Any]
    aliases: tuple[str, ...] = ()
    right: bool = False
    detail: Callable[[Row], str] | None = None
    #: Filled from the member record, which a listing does not carry.
    from_member: bool = False


def _text(get: Callable[[Row], str]) -> Callable[[Row], str]:
    return lambda row: get(row) or "-"


def decided_at(member: Member | None) -> datetime | None:
    """When the receiving project last decided, as the app's detail pane says it.

    Glance sets a member record's ``updated_at`` to its ``created_at`` when the image is
    shared; only a later ``updated_at`` is a decision. A record without both times shows
    none (it cannot tell).
    """
    if member is None or member.created_at is None or member.updated_at is None:
        return None
    return member.updated_at if member.updated_at > member.created_at else None


def _shared_at(row: Row) -> datetime | None:
    return row.member.created_at if row.member else None


def _utc(moment: datetime | None) -> str:
    """A time for ``show``: with seconds, and saying it is UTC."""
    return f"{table_time(moment, seconds=True)} UTC" if moment else "-"


def _full_ecs(row: Row) -> str:
    return "yes (accepting needs --vault-id)" if row.image.whole_image else "no"


COLUMNS: tuple[OutputColumn, ...] = (
    OutputColumn("ID", "id", lambda r: r.image.id, lambda r: r.image.id),
    OutputColumn("Name", "name", _text(lambda r: r.image.name), lambda r: r.image.name),
    OutputColumn(
        "Status",
        "status",
        lambda r: r.status or "-",
        lambda r: r.status,
        aliases=("Member Status",),
    ),
    OutputColumn(
        "OS Version",
        "os_version",
        _text(lambda r: r.image.os_version),
        lambda r: r.image.os_version,
        aliases=("OS",),
    ),
    OutputColumn("OS Type", "os_type", lambda r: os_type(r.image), lambda r: r.image.os_type),
    OutputColumn(
        "Platform", "platform", _text(lambda r: r.image.platform), lambda r: r.image.platform
    ),
    OutputColumn(
        "Size",
        "size_bytes",
        lambda r: _size(r.image.size_bytes),
        lambda r: r.image.size_bytes,
        right=True,
    ),
    OutputColumn(
        "Disk Format",
        "disk_format",
        lambda r: r.image.disk_format or "-",
        lambda r: r.image.disk_format,
        aliases=("Format",),
    ),
    OutputColumn(
        "Container Format",
        "container_format",
        lambda r: r.image.container_format or "-",
        lambda r: r.image.container_format,
        aliases=("Container",),
    ),
    OutputColumn(
        "Owner",
        "owner",
        _owner_label,
        lambda r: r.image.owner,
        aliases=("Project",),
        detail=_owner_detail,
    ),
    OutputColumn(
        "Owner ID",
        "owner_id",
        lambda r: r.image.owner or "-",
        lambda r: r.image.owner,
    ),
    OutputColumn(
        "Owner Name",
        "owner_name",
        lambda r: r.owner_name or "-",
        lambda r: r.owner_name,
    ),
    OutputColumn(
        "Owner Trust",
        "owner_trust",
        lambda r: r.owner_trust,
        lambda r: r.owner_trust,
    ),
    OutputColumn(
        "Min Disk",
        "min_disk_gb",
        lambda r: f"{r.image.min_disk_gb} GB" if r.image.min_disk_gb is not None else "-",
        lambda r: r.image.min_disk_gb,
        right=True,
    ),
    OutputColumn(
        "Min RAM",
        "min_ram_mb",
        lambda r: f"{r.image.min_ram_mb} MB" if r.image.min_ram_mb is not None else "-",
        lambda r: r.image.min_ram_mb,
        right=True,
    ),
    OutputColumn(
        "Image Status",
        "image_status",
        lambda r: r.image.image_status or "-",
        lambda r: r.image.image_status,
    ),
    OutputColumn(
        "Visibility",
        "visibility",
        lambda r: r.image.visibility or "-",
        lambda r: r.image.visibility,
    ),
    OutputColumn(
        "Full-ECS",
        "whole_image",
        lambda r: "yes" if r.image.whole_image else "no",
        lambda r: r.image.whole_image,
        aliases=("Whole Image",),
        detail=_full_ecs,
    ),
    OutputColumn(
        "Encrypted",
        "encrypted",
        lambda r: "yes" if r.image.encrypted else "no",
        lambda r: r.image.encrypted,
    ),
    OutputColumn(
        "Features",
        "features",
        lambda r: ", ".join(r.image.features) or "-",
        lambda r: list(r.image.features),
    ),
    OutputColumn(
        "Tags",
        "tags",
        lambda r: ", ".join(r.image.tags) or "-",
        lambda r: list(r.image.tags),
    ),
    OutputColumn(
        "Description",
        "description",
        _text(lambda r: r.image.description),
        lambda r: r.image.description,
    ),
    OutputColumn(
        "Created At",
        "created_at",
        lambda r: table_time(r.image.created_at),
        lambda r: iso_utc(r.image.created_at),
        aliases=("Created",),
        detail=lambda r: _utc(r.image.created_at),
    ),
    OutputColumn(
        "Updated At",
        "updated_at",
        lambda r: table_time(r.image.updated_at),
        lambda r: iso_utc(r.image.updated_at),
        aliases=("Updated",),
        detail=lambda r: _utc(r.image.updated_at),
    ),
    OutputColumn(
        "Shared At",
        "shared_at",
        lambda r: table_time(_shared_at(r)),
        lambda r: iso_utc(_shared_at(r)),
        aliases=("Shared",),
        detail=lambda r: _utc(_shared_at(r)),
        from_member=True,
    ),
    OutputColumn(
        "Decided At",
        "decided_at",
        lambda r: table_time(decided_at(r.member)),
        lambda r: iso_utc(decided_at(r.member)),
        aliases=("Decided",),
        detail=lambda r: _utc(decided_at(r.member)),
        from_member=True,
    ),
    # Whose share a row is: the receiving project (Glance's member) and its region. The
    # Project column stays the owner, as in python-openstackclient.
    OutputColumn(
        "Member",
        "member_name",
        _text(lambda r: r.image.member_name),
        lambda r: r.image.member_name,
        aliases=("Member Name",),
    ),
    OutputColumn(
        "Member ID",
        "member_id",
        lambda r: short_id(r.image.member_id, unknown="-"),
        lambda r: r.image.member_id,
        detail=lambda r: r.image.member_id or "-",
    ),
    OutputColumn("Region", "region", _text(lambda r: r.image.region), lambda r: r.image.region),
)

DEFAULT_LIST = (
    "ID",
    "Name",
    "Status",
    "OS Version",
    "Size",
    "Disk Format",
    "Owner",
    "Created At",
)
#: ``list --all-projects``: the same, and whose share each row is.
DEFAULT_SCOPED_LIST = (*DEFAULT_LIST, "Member", "Member ID", "Region")
#: The JSON keys ``list --all-projects`` adds to each image object.
SCOPE_KEYS = ("member_name", "member_id", "region")


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


_BY_NAME: dict[str, OutputColumn] = {}
for _column in COLUMNS:
    for _alias in (_column.name, _column.key, *_column.aliases):
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


def render_table(
    rows: Sequence[Row], columns: Sequence[OutputColumn], *, max_width: int = 0
) -> str:
    """An aligned table under the ``-c`` names, one image per line, cut to ``max_width``
    terminal cells (0: as wide as it takes)."""
    header = [column.name for column in columns]
    body = [[_human(column, row) for column in columns] for row in rows]
    return table.render(
        header, body, right=[column.right for column in columns], max_width=max_width
    )


def needs_members(names: Sequence[str] | None) -> bool:
    """Whether the columns asked for are filled from member records (fetched separately)."""
    return bool(names) and any(column.from_member for column in resolve(names))


def render_json(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    return json_array([{column.key: column.raw(row) for column in columns} for row in rows])


def _csv_value(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _plain(value)


def render_csv(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    import csv  # here: only -f csv writes CSV

    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerow([column.name for column in columns])
    for row in rows:
        writer.writerow([_csv_value(column.raw(row)) for column in columns])
    return buffer.getvalue().rstrip("\n")


def render_value(rows: Sequence[Row], columns: Sequence[OutputColumn]) -> str:
    """Space-separated values, one row per line, no header (like ``openstack -f value``)."""
    return "\n".join(" ".join(_plain(column.raw(row)) for column in columns) for row in rows)


def full_json(row: Row) -> dict[str, Any]:
    """The documented JSON object of an image, with the owner's name and trust beside its id."""
    data = row.image.to_json()
    data["owner_name"] = row.owner_name
    data["owner_trust"] = row.owner_trust
    return data


def json_array(items: Sequence[object]) -> str:
    """A JSON array with one compact object per line.

    Readable and greppable, and produced by the C encoder: ``indent=`` would switch json to its
    pure-Python encoder, which was a quarter of ``imshare list --json`` at 10,000 images.
    """
    if not items:
        return "[]"
    return f"[\n{safe_json_lines(items)}\n]"


def _scoped_json(row: Row) -> dict[str, Any]:
    image = row.image
    data = full_json(row)
    data.update(member_name=image.member_name, member_id=image.member_id, region=image.region)
    return data


def render_list(
    rows: Sequence[Row],
    fmt: str,
    names: Sequence[str] | None,
    *,
    max_width: int = 0,
    scoped: bool = False,
) -> str:
    """``imshare list`` output; JSON without ``-c`` keeps the documented full objects; a
    table is cut to ``max_width`` cells (0: not cut). ``scoped`` (``--all-projects``) adds
    whose share each row is: the Member, Member ID and Region columns, and their JSON keys."""
    if fmt == "json" and not names:
        if scoped:
            return json_array([_scoped_json(row) for row in rows])
        return json_array([full_json(row) for row in rows])
    columns = resolve(names, DEFAULT_SCOPED_LIST if scoped else DEFAULT_LIST)
    if fmt == "json":
        return render_json(rows, columns)
    if fmt == "csv":
        return render_csv(rows, columns)
    if fmt == "value":
        return render_value(rows, columns)
    return render_table(rows, columns, max_width=max_width)


def render_show(row: Row, fmt: str, names: Sequence[str] | None) -> str:
    """``imshare show`` output: every column by default, or those ``-c`` names.

    The table is one ``Name: value`` line per column, labelled with the ``-c`` names, times
    with seconds and ``UTC``; the description keeps its own line breaks, each further line
    indented under the first, so it reads as written and cannot pose as another field.
    """
    if fmt == "json" and not names:
        payload = {
            "image": full_json(row),
            "member": row.member.to_json() if row.member else None,
        }
        return safe_json(payload, indent=2)
    columns = resolve(names, default=column_names())
    if fmt == "json":
        return safe_json({column.key: column.raw(row) for column in columns}, indent=2)
    if fmt == "csv":
        return render_csv([row], columns)
    if fmt == "value":
        return "\n".join(_plain(column.raw(row)) for column in columns)
    width = max(len(column.name) for column in columns) + 1
    lines = []
    for column in columns:
        if column.key == "description":
            value = _description(row.image.description, indent=width + 1)
        else:
            value = safe_text((column.detail or column.human)(row))
        lines.append(f"{column.name + ':':<{width}} {value}")
    return "\n".join(lines)


def _description(text: str, *, indent: int) -> str:
    """A description's lines, tabs expanded, the second and later ones indented by ``indent``."""
    lines = safe_text(text, multiline=True).expandtabs(4).strip("\n").split("\n")
    return ("\n" + " " * indent).join(line.rstrip() for line in lines) or "-"
