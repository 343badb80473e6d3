"""The decision journal: who decided what, when, why, and what the cloud said — on disk.

Glance keeps no such record for the receiving project, so imshare writes one: a JSON line of
intent before each request (or batch job) is sent, and a line of outcome when its answer is
known, both naming the operation (one key press, one command, one rule run) they belong to.
A crash or ``kill -9`` in the middle of a bulk decision leaves a journal that says what was
sent and what came back; an intent without an outcome is what nobody knows.

The file is private (0600 in a 0700 directory, never opened through a link), lines are only
ever appended, and it is rotated when it grows past ``MAX_BYTES`` (the oldest of ``KEEP``
rotated files goes). ``IMSHARE_CONFIG_DIR`` moves it with the rest of imshare's files;
otherwise it lives in the user's state directory.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tui import files

JOURNAL_VERSION = 1
#: A journal file is rotated when it grows past this...
MAX_BYTES = 8 * 1024 * 1024
#: ...and this many rotated files are kept (journal.jsonl.1 the newest of them).
KEEP = 4
FILE_NAME = "journal.jsonl"


def journal_dir() -> Path:
    return files.state_dir()


def journal_file() -> Path:
    return journal_dir() / FILE_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Who:
    """Which identity made the decisions, and how (``key a``, ``cli accept``, ``rule NAME``)."""

    auth_url: str
    user: str
    domain: str
    how: str


@dataclass(frozen=True, slots=True)
class Subject:
    """One image in one receiving project, as the listing the decision was made on showed it."""

    image_id: str
    image_name: str
    owner: str
    member_id: str
    member_name: str
    region: str
    before: str  # the member status before ("" when not known)


class JournalError(OSError):
    """The journal cannot be written; the message names the file and why."""


class Journal:
    """Appends operations to the journal file; reads it back across rotations."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or journal_file()

    # ------------------------------------------------------------------ writing

    def operation(self, who: Who) -> Operation:
        """A new operation: every line it writes carries the same id."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        return Operation(self, f"{stamp}-{secrets.token_hex(3)}", who)

    def append(self, records: Iterable[dict[str, Any]]) -> None:
        """Write whole lines at the end (one ``write`` each: never half a line after a crash)."""
        lines = [
            (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
            for record in records
        ]
        if not lines:
            return
        try:
            with files.locked(self.path):
                self._rotate_if_full()
                fd, _warning = files.open_private_log(self.path, what="journal")
                try:
                    for line in lines:
                        os.write(fd, line)
                finally:
                    os.close(fd)
        except OSError as error:
            raise JournalError(
                f"cannot write the journal {self.path}: {files.reason(error)}"
            ) from None

    def _rotate_if_full(self) -> None:
        try:
            size = os.lstat(self.path).st_size
        except FileNotFoundError:
            return
        if size < MAX_BYTES:
            return
        oldest = self.path.with_name(f"{self.path.name}.{KEEP}")
        oldest.unlink(missing_ok=True)
        for number in range(KEEP - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{number}")
            if older.exists():
                older.rename(self.path.with_name(f"{self.path.name}.{number + 1}"))
        self.path.rename(self.path.with_name(f"{self.path.name}.1"))

    # ------------------------------------------------------------------ reading

    def paths(self) -> list[Path]:
        """The journal files, oldest first."""
        rotated = [self.path.with_name(f"{self.path.name}.{n}") for n in range(KEEP, 0, -1)]
        return [path for path in (*rotated, self.path) if path.exists()]

    def records(self, skipped: list[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every line, oldest first.

        A line that is not a journal record of this version (a crash mid-write, a hand edit,
        a newer imshare) is skipped; ``skipped`` hears where (``journal.jsonl line 7``), so
        a reader can say so once instead of failing or staying silent.
        """
        for path in self.paths():
            data = files.read_secret_file(path, "journal", limit=MAX_BYTES * 2)
            if data is None:
                continue
            for number, raw in enumerate(data.splitlines(), start=1):
                if not raw.strip():
                    continue
                try:
                    record = json.loads(raw)
                except ValueError:
                    record = None
                if isinstance(record, dict) and record.get("v") == JOURNAL_VERSION:
                    yield record
                elif skipped is not None:
                    skipped.append(f"{path.name} line {number}")


class Operation:
    """The lines of one operation: an intent before each request, an outcome after."""

    def __init__(self, journal: Journal, op_id: str, who: Who) -> None:
        self.journal = journal
        self.id = op_id
        self.who = who
        self._subjects: dict[tuple[str, str], Subject] = {}

    def _base(self, kind: str, subject: Subject, after: str) -> dict[str, Any]:
        return {
            "v": JOURNAL_VERSION,
            "time": _now(),
            "op": self.id,
            "kind": kind,
            "how": self.who.how,
            "auth_url": self.who.auth_url,
            "user": self.who.user,
            "domain": self.who.domain,
            "member_id": subject.member_id,
            "member_name": subject.member_name,
            "region": subject.region,
            "image_id": subject.image_id,
            "image_name": subject.image_name,
            "owner": subject.owner,
            "before": subject.before,
            "after": after,
        }

    def intent(
        self, subjects: Sequence[Subject], after: str, *, vault_id: str = "", batch: bool = False
    ) -> None:
        """Before sending: these images are about to be set to ``after``."""
        records = []
        for subject in subjects:
            self._subjects[(subject.member_id, subject.image_id)] = subject
            record = self._base("intent", subject, after)
            record["batch"] = batch
            if vault_id:
                record["vault_id"] = vault_id
            records.append(record)
        self.journal.append(records)

    def outcome(
        self,
        subject: Subject,
        after: str,
        outcome: str,
        *,
        code: str = "",
        message: str = "",
        request_id: str = "",
    ) -> None:
        """What came of one image: ``done``, ``failed`` (with the cloud's code and words) or
        ``unknown`` (no answer: the cloud may still have applied it)."""
        record = self._base("outcome", subject, after)
        record["outcome"] = outcome
        if code:
            record["code"] = code
        if message:
            record["message"] = message
        if request_id:
            record["request_id"] = request_id
        self.journal.append([record])

    def subject(self, member_id: str, image_id: str) -> Subject | None:
        return self._subjects.get((member_id, image_id))


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One image of one operation, its intent and outcome joined.

    Every field is text as the file holds it: the file may have been written by another
    version or edited by hand, so whoever shows it treats it as text from the cloud.
    """

    op: str
    time: str
    how: str
    auth_url: str
    user: str
    member_id: str
    member_name: str
    region: str
    image_id: str
    image_name: str
    owner: str
    before: str
    after: str
    outcome: str  # done | failed | unknown (an intent without an outcome)
    code: str = ""
    message: str = ""
    request_id: str = ""
    vault_id: str = ""
    domain: str = ""
    batch: bool = False


def _text(value: Any) -> str:
    """A field as text; ``None``, lists and objects (an edited line) count as empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, list | dict):
        return ""
    return str(value)


OUTCOMES = ("done", "failed", "unknown")


def entries(records: Iterable[dict[str, Any]]) -> list[JournalEntry]:
    """Intents joined with their outcomes, in the order the intents were written.

    An outcome without an intent (the intent's line was lost) still counts; an outcome word
    this version does not know reads ``unknown``, never ``done``.
    """
    joined: dict[tuple[str, str, str], dict[str, Any]] = {}
    for record in records:
        key = (
            _text(record.get("op")),
            _text(record.get("member_id")),
            _text(record.get("image_id")),
        )
        if record.get("kind") == "intent":
            joined.pop(key, None)  # sent again (a refused batch, then one by one): the last
            joined[key] = dict(record, outcome="unknown")
        elif record.get("kind") == "outcome":
            base = joined.setdefault(key, dict(record))
            base.update(
                {k: record[k] for k in ("outcome", "code", "message", "request_id") if k in record}
            )
    result = []
    for record in joined.values():
        outcome = _text(record.get("outcome"))
        result.append(
            JournalEntry(
                op=_text(record.get("op")),
                time=_text(record.get("time")),
                how=_text(record.get("how")),
                auth_url=_text(record.get("auth_url")),
                user=_text(record.get("user")),
                member_id=_text(record.get("member_id")),
                member_name=_text(record.get("member_name")),
                region=_text(record.get("region")),
                image_id=_text(record.get("image_id")),
                image_name=_text(record.get("image_name")),
                owner=_text(record.get("owner")),
                before=_text(record.get("before")),
                after=_text(record.get("after")),
                outcome=outcome if outcome in OUTCOMES else "unknown",
                code=_text(record.get("code")),
                message=_text(record.get("message")),
                request_id=_text(record.get("request_id")),
                vault_id=_text(record.get("vault_id")),
                domain=_text(record.get("domain")),
                batch=record.get("batch") is True,
            )
        )
    return result
