"""What ``imshare watch`` has already seen pending, so each new share is reported once.

A share is new when its (receiving project, image id) is pending now and was not pending at
the last complete listing of that project (and region) on that cloud. So the state of a
scope is simply the set of image ids that were pending there last time: it is bounded by
what is pending (and by ``MAX_PER_SCOPE`` / ``MAX_SCOPES`` on top), and a share that stopped
being pending (decided, unshared) and comes back pending is new again — someone shared it
again or reset it, and that is worth a line.

One file, ``watch-seen.json``, in the state directory where the journal lives (so
``IMSHARE_CONFIG_DIR`` moves it too): private (0600 in a 0700 directory), replaced by rename
under a lock, never opened through a link, never written over a file of someone else's. Two
watches (two profiles, a cron job beside a service) share the file: each read-merge-write keeps
the other scopes as they are.

A file that cannot be read (corrupt JSON, the wrong shape, too large, a link) is treated as
empty: every pending share is reported as new once more — a duplicate alert is better than a
missed one — and it is replaced by a good file at the end of the cycle.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tui import files, journal

FILE_NAME = "watch-seen.json"
STATE_VERSION = 1
#: At most this many image ids are kept per scope (a project in a region)...
MAX_PER_SCOPE = 20_000
#: ...and this many scopes; the scopes not looked at for the longest go first.
MAX_SCOPES = 500
#: The state file is never larger than this (MAX_SCOPES x MAX_PER_SCOPE would not fit).
MAX_BYTES = 16 * 1024 * 1024


def state_file() -> Path:
    return journal.journal_dir() / FILE_NAME


def scope_key(auth_url: str, member_id: str, region: str) -> str:
    """Which cloud, which receiving project, which region: one set of seen shares each."""
    return f"{auth_url.rstrip('/')}|{member_id}|{region}"


class StateUnreadable(Exception):
    """The state file is there but cannot be used; the message says why and what happens."""


class SeenState:
    """The pending image ids each scope had at its last complete listing."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or state_file()
        self._scopes: dict[str, dict[str, Any]] = {}
        self._dirty: set[str] = set()

    # ------------------------------------------------------------------ reading

    def load(self) -> None:
        """Read the file; raises ``StateUnreadable`` (and keeps nothing) when it cannot."""
        self._scopes = self._read()

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            data = files.read_secret_file(self.path, "watch state", limit=MAX_BYTES)
        except OSError as error:
            raise StateUnreadable(f"cannot read {files.reason(error)}") from None
        if data is None:
            return {}
        try:
            document = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise StateUnreadable(f"watch state {self.path} is not valid JSON") from None
        scopes = document.get("scopes") if isinstance(document, dict) else None
        if not isinstance(scopes, dict) or files.nesting_depth(document) > 4:
            raise StateUnreadable(f"watch state {self.path} is not an imshare watch state")
        kept: dict[str, dict[str, Any]] = {}
        for key, entry in scopes.items():
            if not isinstance(entry, dict):
                continue
            seen = entry.get("pending")
            stamp = entry.get("checked")
            if not isinstance(seen, list) or not all(isinstance(i, str) for i in seen):
                continue
            kept[str(key)] = {
                "pending": seen[:MAX_PER_SCOPE],
                "checked": stamp if isinstance(stamp, int | float) else 0,
            }
        return kept

    def known(self, key: str) -> bool:
        """Whether this scope was ever listed completely (a first look announces everything)."""
        return key in self._scopes

    def pending(self, key: str) -> set[str]:
        entry = self._scopes.get(key)
        return set(entry["pending"]) if entry else set()

    # ------------------------------------------------------------------ changing

    def new_ids(self, key: str, pending_now: Iterable[str]) -> list[str]:
        """The ids pending now that were not pending at the scope's last complete listing,
        in the order given; remembers ``pending_now`` as the scope's state."""
        ids = list(dict.fromkeys(pending_now))
        before = self.pending(key)
        self._scopes[key] = {"pending": ids[:MAX_PER_SCOPE], "checked": time.time()}
        self._dirty.add(key)
        return [image_id for image_id in ids if image_id not in before]

    def save(self) -> None:
        """Merge this run's scopes into the file as it is now (another watch may have
        written other scopes meanwhile) and replace it; raises ``OSError`` when it cannot."""
        if not self._dirty:
            return
        with files.locked(self.path):
            try:
                merged = self._read()
            except StateUnreadable:
                merged = {}  # said when it was loaded; replaced by a good file now
            for key in self._dirty:
                merged[key] = self._scopes[key]
            if len(merged) > MAX_SCOPES:
                newest = sorted(merged, key=lambda k: merged[k]["checked"], reverse=True)
                merged = {k: merged[k] for k in newest[:MAX_SCOPES]}
            document = {"version": STATE_VERSION, "scopes": merged}
            data = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
            files.write_private(self.path, data)
        self._scopes.update(merged)
        self._dirty.clear()
