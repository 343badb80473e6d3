"""``imshare owners`` (list the names of owners.toml) and ``imshare owners set`` (name one).

For scripts that know who shares what: ``imshare owners set 907a… --name "Platform team"
--trust trusted``. No cloud is asked: the file is the user's notebook of owners, read and
written exactly as the app's ``o`` does.
"""

from __future__ import annotations

import argparse

from tui.cli.commands import CliExit, err, out
from tui.cli.output import json_array
from tui.cli.table import render as render_table
from tui.formatting import safe_text
from tui.settings import owners


def run(args: argparse.Namespace) -> int:
    if getattr(args, "owners_command", None) == "set":
        return _set(args)
    return _list(args)


def _list(args: argparse.Namespace) -> int:
    try:
        book = owners.load()
    except owners.OwnersError as error:
        raise CliExit(2, str(error)) from None
    entries = sorted(book.entries.values(), key=lambda o: (o.name.casefold(), o.id))
    if args.format == "json":
        out(
            json_array(
                [
                    {"owner": o.id, "owner_name": o.name, "owner_trust": o.trust.value}
                    for o in entries
                ]
            )
        )
        return 0
    if not entries:
        err(
            f"no owners named yet ({owners.owners_file()}); `o` in the app or "
            "`imshare owners set ID --name N` names one"
        )
        return 0
    body = [[o.id, safe_text(o.name) or "-", o.trust.value] for o in entries]
    out(render_table(["Owner ID", "Owner Name", "Owner Trust"], body, right=[False] * 3))
    return 0


def _set(args: argparse.Namespace) -> int:
    try:
        book = owners.load()
        current = book.get(args.owner_id.strip())
        name = args.name if args.name is not None else (current.name if current else "")
        if args.trust is not None:
            trust = owners.parse_trust(args.trust)
        else:
            trust = current.trust if current else owners.Trust.UNKNOWN
        book = owners.set_owner(args.owner_id, name, trust)
    except owners.OwnersError as error:
        raise CliExit(2, str(error)) from None
    owner = book.get(args.owner_id.strip())
    if owner is None:
        out(f"forgot owner {args.owner_id.strip()}")
    else:
        out(f"owner {owner.id}: {safe_text(owner.name) or '(no name)'}, {owner.trust.value}")
    return 0
