"""owners.toml: names and trust levels the user gave to the projects that share images.

Glance names the sharer only by its project id (``907a70c3…``), which nobody recognises; the
receiving project cannot even look the name up. So the user names owners once, in a file of
imshare's own beside config.toml (global to every profile: a project id is unique across a
cloud)::

    [owners."907a70c3b1d84fd6a5c1f1e5c3e4d2a1"]
    name = "Platform team"
    trust = "trusted"        # trusted | unknown (the default) | blocked

imshare writes it like config.toml: a new 0600 file renamed over the old one, through a link
only into a regular file of the user's. Reading is bounded, and a file that cannot be read or
does not parse is a message, never a crash: imshare then goes on with no names (and never
overwrites it on a save, which could lose a hand edit). Names are the user's text, but they
are still passed through ``safe_text`` wherever they are shown: the file may come from
anywhere.

No Textual and no network here: the CLI, the rules and the app use it alike.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import tomli_w

from tui import files
from tui.formatting import short_id

FILE_NAME = "owners.toml"
#: Longest owner name imshare writes; a table column or a toast shows far less anyway.
MAX_NAME = 64
#: Longest project id accepted (Keystone's ids are at most 64 characters).
MAX_ID = 64


class Trust(StrEnum):
    """How far the user trusts an owner: ``blocked`` owners are flagged, are never decided by
    a rule, and accepting one of their images asks twice."""

    TRUSTED = "trusted"
    UNKNOWN = "unknown"
    BLOCKED = "blocked"


TRUST_WORDS = ", ".join(trust.value for trust in Trust)


class OwnersError(ValueError):
    """owners.toml cannot be read or written; the message names the file and what to do."""


@dataclass(frozen=True, slots=True)
class Owner:
    """One owner the user named: its project id, the name given, and the trust level."""

    id: str
    name: str = ""
    trust: Trust = Trust.UNKNOWN


@dataclass(frozen=True, slots=True)
class OwnerBook:
    """Every named owner, by project id. Lookups of an unnamed owner give the defaults."""

    entries: Mapping[str, Owner] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def of(cls, owners: Iterable[Owner]) -> OwnerBook:
        return cls(MappingProxyType({owner.id: owner for owner in owners}))

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, owner_id: str) -> Owner | None:
        return self.entries.get(owner_id)

    def name_of(self, owner_id: str) -> str:
        """The name the user gave ``owner_id`` ("" when none)."""
        owner = self.entries.get(owner_id)
        return owner.name if owner is not None else ""

    def trust_of(self, owner_id: str) -> Trust:
        owner = self.entries.get(owner_id)
        return owner.trust if owner is not None else Trust.UNKNOWN

    def is_blocked(self, owner_id: str) -> bool:
        return self.trust_of(owner_id) is Trust.BLOCKED

    @property
    def any_blocked(self) -> bool:
        return any(owner.trust is Trust.BLOCKED for owner in self.entries.values())

    def label(self, owner_id: str, *, unknown: str = "—") -> str:
        """What a narrow cell shows: the name when there is one, else the short id."""
        return self.name_of(owner_id) or short_id(owner_id, unknown=unknown)

    def sort_text(self, owner_id: str) -> str:
        """Sorting by owner sorts by name; unnamed owners come after, by id."""
        name = self.name_of(owner_id)
        return f"0{name.casefold()}" if name else f"1{owner_id}"

    def matches(self, owner_id: str, name_or_id: str) -> bool:
        """Whether ``name_or_id`` (a rule's ``owner``) is this owner: its id exactly, or its
        name ignoring case."""
        if not name_or_id:
            return False
        if owner_id == name_or_id:
            return True
        name = self.name_of(owner_id)
        return bool(name) and name.casefold() == name_or_id.casefold()

    def with_owner(self, owner_id: str, name: str, trust: Trust) -> OwnerBook:
        """A book with ``owner_id`` named (an empty name and ``unknown`` trust remove it)."""
        entries = dict(self.entries)
        if not name and trust is Trust.UNKNOWN:
            entries.pop(owner_id, None)
        else:
            entries[owner_id] = Owner(owner_id, name, trust)
        return OwnerBook(MappingProxyType(entries))


def owners_file() -> Path:
    """Beside config.toml; ``IMSHARE_CONFIG_DIR`` moves it with the rest."""
    return files.config_dir() / FILE_NAME


# ----------------------------------------------------------------------------- validation


def _control(text: str) -> str:
    """The first character of ``text`` a user would not want in a name ("" when none)."""
    for char in text:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            return char
    return ""


def name_problem(name: str) -> str:
    """Why ``name`` cannot be saved as an owner's name ("" when it can)."""
    if len(name) > MAX_NAME:
        return f"an owner name is at most {MAX_NAME} characters (this one has {len(name)})"
    bad = _control(name)
    if bad:
        return f"an owner name cannot hold control or formatting characters (U+{ord(bad):04X})"
    return ""


def id_problem(owner_id: str) -> str:
    """Why ``owner_id`` is not a project id imshare writes ("" when it is one)."""
    if not owner_id:
        return "an owner's project id cannot be empty"
    if len(owner_id) > MAX_ID:
        return f"a project id is at most {MAX_ID} characters, not {len(owner_id)}"
    if _control(owner_id) or any(char.isspace() for char in owner_id):
        return f"{owner_id!r} is not a project id (it holds spaces or control characters)"
    return ""


def parse_trust(value: str) -> Trust:
    try:
        return Trust(value.strip().lower())
    except ValueError:
        raise OwnersError(f"trust must be one of {TRUST_WORDS}, not {value!r}") from None


# ----------------------------------------------------------------------------- reading


def _document(path: Path) -> dict[str, Any] | None:
    try:
        raw = files.read_user_file(path, "owners file")
    except OSError as error:
        raise OwnersError(f"cannot read {path}: {files.reason(error)}") from None
    if raw is None:
        return None
    try:
        data = files.parse_toml(raw)
    except files.BadDocument as problem:
        raise OwnersError(f"owners file {path} {problem}; fix or remove it") from None
    return data


def _owner(path: Path, owner_id: str, table: Any) -> Owner:
    where = f"owners file {path}: [owners.{owner_id!r}]"
    if not isinstance(table, dict):
        raise OwnersError(f'{where} must be a table, e.g. name = "Platform team"')
    unknown = set(table) - {"name", "trust"}
    if unknown:
        raise OwnersError(f"{where}: unknown key {sorted(unknown)[0]!r}; the keys are name, trust")
    name = table.get("name", "")
    if not isinstance(name, str):
        raise OwnersError(f"{where}: name must be a string, not {name!r}")
    trust = table.get("trust", Trust.UNKNOWN.value)
    if not isinstance(trust, str):
        raise OwnersError(f"{where}: trust must be one of {TRUST_WORDS}, not {trust!r}")
    try:
        level = parse_trust(trust)
    except OwnersError as error:
        raise OwnersError(f"{where}: {error}") from None
    return Owner(owner_id, name.strip(), level)


def load(path: Path | None = None) -> OwnerBook:
    """The book in ``path`` (default: owners.toml in the config directory); empty when there
    is no file. Raises ``OwnersError`` naming the file, the owner and the key."""
    path = path or owners_file()
    data = _document(path)
    if data is None:
        return OwnerBook()
    unknown = set(data) - {"owners"}
    if unknown:
        raise OwnersError(
            f"owners file {path}: unknown table or key {sorted(unknown)[0]!r}; it holds only "
            '[owners."PROJECT_ID"] tables'
        )
    table = data.get("owners", {})
    if not isinstance(table, dict):
        raise OwnersError(f'owners file {path}: owners must be tables: [owners."PROJECT_ID"]')
    return OwnerBook.of(_owner(path, str(owner_id), value) for owner_id, value in table.items())


def load_or_empty(path: Path | None = None) -> tuple[OwnerBook, str]:
    """The book, or an empty one and the message saying why (the app and the CLI go on
    without names rather than stopping over a broken file)."""
    try:
        return load(path), ""
    except OwnersError as error:
        return OwnerBook(), f"{error} (going on without owner names)"


# ----------------------------------------------------------------------------- writing


def _text(book: OwnerBook) -> bytes:
    owners: dict[str, dict[str, str]] = {}
    for owner_id in sorted(book.entries):
        owner = book.entries[owner_id]
        entry: dict[str, str] = {}
        if owner.name:
            entry["name"] = owner.name
        entry["trust"] = owner.trust.value
        owners[owner_id] = entry
    head = (
        "# Owner names and trust levels for imshare (trust: trusted, unknown, blocked).\n"
        "# imshare rewrites this file when you name an owner with `o` or `imshare owners set`.\n"
    )
    return (head + tomli_w.dumps({"owners": owners})).encode("utf-8")


def set_owner(owner_id: str, name: str, trust: Trust, path: Path | None = None) -> OwnerBook:
    """Name (or, with an empty name and ``unknown`` trust, forget) one owner, and save.

    The file is read again first, so an entry another imshare process wrote meanwhile is
    kept; a file that does not parse is never overwritten (``OwnersError``).
    """
    path = path or owners_file()
    name = name.strip()
    owner_id = owner_id.strip()
    problem = id_problem(owner_id) or name_problem(name)
    if problem:
        raise OwnersError(problem)
    try:
        with files.locked(path):
            book = load(path).with_owner(owner_id, name, trust)
            files.write_user_file(path, _text(book), "owners file")
    except OwnersError:
        raise
    except OSError as error:
        raise OwnersError(f"cannot save {path}: {files.reason(error)}") from None
    return book
