"""Undo: put the images of a journalled operation back to the status they had before it.

Only operations of this user on this cloud are candidates (auth URL, user and domain in the
journal must match), so one person's undo never reverses another identity's decisions or rule
runs sharing the same journal. Each image is read fresh from the cloud (its member record)
first: one that is no longer what the operation left it at (someone decided since), and one
whose decision failed or whose outcome is unknown, is not touched, and the plan names it with
why. The undo itself is an operation of its own (``how`` = ``undo OPID``), so it can be undone.

No Textual here: the app's ``z`` and ``imshare undo`` both build a plan, show it, and run it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tui import journaled
from tui.cloud.errors import ApiError
from tui.cloud.models import Decision, MemberStatus
from tui.cloud.session import CloudSession
from tui.journal import Journal, JournalEntry, Subject, Who, entries

#: Member records read at once while planning.
READ_CONCURRENCY = 8
#: HTTP statuses with which a cloud refuses a status it does not accept as a new one.
_REFUSED = (400, 403, 405, 409, 422)


@dataclass(frozen=True, slots=True)
class UndoItem:
    """One image of the operation: where it goes back to, or why it is left alone."""

    entry: JournalEntry
    target: MemberStatus | None
    skip: str = ""

    @property
    def label(self) -> str:
        """``name (id) in project``, for stderr and the log (callers sanitise)."""
        return self.named(ids=True, project=True)

    def named(self, *, ids: bool, project: bool) -> str:
        """The image's name, with its id and its project when asked for."""
        entry = self.entry
        text = entry.image_name or entry.image_id
        if ids and entry.image_name:
            text += f" ({entry.image_id})"
        where = entry.member_name or entry.member_id
        return f"{text} in {where}" if project and where else text


@dataclass(slots=True)
class UndoPlan:
    """What undoing one operation would do."""

    operation: str
    how: str
    time: str
    items: list[UndoItem] = field(default_factory=list)

    @property
    def todo(self) -> list[UndoItem]:
        return [item for item in self.items if not item.skip]

    @property
    def skipped(self) -> list[UndoItem]:
        return [item for item in self.items if item.skip]

    def describe(self, limit: int = 0, *, ids: bool = True) -> list[str]:
        """Lines naming every image with its target status, then those left alone and why
        (``limit``: at most this many of each, then "… and N more"; the project is named
        when the operation spans several)."""
        lines = [f"Undo {self.operation} ({self.how}, {_when(self.time)}):"]
        projects = len({item.entry.member_id for item in self.items}) > 1

        def some(items: list[UndoItem]) -> list[UndoItem]:
            return items[:limit] if limit else items

        todo, skipped = self.todo, self.skipped
        for item in some(todo):
            assert item.target is not None
            name = item.named(ids=ids, project=projects)
            lines.append(f"  {name}: {item.entry.after} → {item.target.value}")
        if limit and len(todo) > limit:
            lines.append(f"  … and {len(todo) - limit} more")
        if skipped:
            lines.append("Not touched:")
            for item in some(skipped):
                lines.append(f"  {item.named(ids=ids, project=projects)}: {item.skip}")
            if limit and len(skipped) > limit:
                lines.append(f"  … and {len(skipped) - limit} more")
        return lines


def _when(stamp: str) -> str:
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return stamp
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def last_operations(
    found: Sequence[JournalEntry], who: Who, count: int = 1
) -> list[list[JournalEntry]]:
    """The ``count`` newest operations of ``who``'s user on ``who``'s cloud, newest first,
    each as its entries in journal order."""
    ops: dict[str, list[JournalEntry]] = {}
    for entry in found:
        if journaled.same_identity(who, entry.auth_url, entry.user, entry.domain):
            ops.setdefault(entry.op, []).append(entry)
    newest_first = list(reversed(ops.values()))
    return newest_first[:count]


SessionFor = Callable[[JournalEntry], CloudSession]


def sessions_from(home: CloudSession) -> SessionFor:
    """The session that decides in an entry's project: ``home`` for its own project, else a
    re-scoped one (``for_project``, sharing ``home``'s connections), one per project."""
    made: dict[tuple[str, str], CloudSession] = {}

    def session_for(entry: JournalEntry) -> CloudSession:
        token = home.current_token
        own_project = token.project_id if token else home.settings.project_id
        own_region = (token.region if token else "") or home.settings.region
        region = entry.region or own_region
        if entry.member_id in ("", own_project) and region == own_region:
            return home
        key = (entry.member_id, region)
        if key not in made:
            made[key] = home.for_project(entry.member_id, region=region, share_client=True)
        return made[key]

    return session_for


async def plan(
    operations: Sequence[Sequence[JournalEntry]], session_for: SessionFor
) -> list[UndoPlan]:
    """Plans for ``operations`` (newest first), from member records read fresh.

    Undone one after another, an older operation meets its images as the newer undos leave
    them: that is the status its check expects, not the one read now.
    """
    wanted = {
        (e.member_id, e.image_id): e
        for op in operations
        for e in op
        if e.outcome == "done" and _status(e.before) and _status(e.after)
    }
    current: dict[tuple[str, str], str] = {}
    unreadable: dict[tuple[str, str], str] = {}
    gate = asyncio.Semaphore(READ_CONCURRENCY)

    async def read(key: tuple[str, str], entry: JournalEntry) -> None:
        async with gate:
            try:
                member = await session_for(entry).get_member(entry.image_id)
            except ApiError as error:
                unreadable[key] = error.reason
            else:
                current[key] = member.status.value

    await asyncio.gather(*(read(key, entry) for key, entry in wanted.items()))
    plans = []
    for op in operations:
        first = op[0]
        result = UndoPlan(first.op, first.how, first.time)
        for entry in op:
            key = (entry.member_id, entry.image_id)
            item = _item(entry, current.get(key), unreadable.get(key))
            if item.target is not None and not item.skip:
                current[key] = item.target.value  # what the undo will leave it at
            result.items.append(item)
        plans.append(result)
    return plans


def _status(word: str) -> MemberStatus | None:
    try:
        return MemberStatus(word)
    except ValueError:
        return None


def _item(entry: JournalEntry, now: str | None, unreadable: str | None) -> UndoItem:
    target = _status(entry.before)
    if entry.outcome == "failed":
        return UndoItem(entry, None, "its decision failed, so there is nothing to undo")
    if entry.outcome != "done":
        return UndoItem(
            entry,
            None,
            f"the outcome of its decision is unknown (check: imshare show {entry.image_id})",
        )
    if target is None:
        return UndoItem(entry, None, "its status before is not in the journal")
    if _status(entry.after) is None:
        return UndoItem(entry, None, "the journal does not say what it was set to")
    if unreadable is not None:
        return UndoItem(entry, None, f"its status could not be read: {unreadable}")
    if now != entry.after:
        return UndoItem(entry, None, f"it is {now} now, not {entry.after}: changed since")
    if target.value == entry.after:
        return UndoItem(entry, None, f"it was already {entry.after} before")
    return UndoItem(entry, target)


def explain(decision: Decision) -> str:
    """Why an undo decision failed, in words that say what to do; the cloud's reason after."""
    error = decision.error
    reason = error.reason if error is not None else "not confirmed by the cloud"
    if (
        decision.status is MemberStatus.PENDING
        and error is not None
        and error.status in _REFUSED
        and not error.login
    ):
        return (
            "this cloud refuses pending as a new status (a decision cannot go back to "
            f"pending here; reject the image instead if you do not want it) — {reason}"
        )
    return reason


async def run(
    undo: UndoPlan,
    session_for: SessionFor,
    *,
    who: Who,
    warn: journaled.Warn,
    journal: Journal | None = None,
    concurrency: int = 8,
    on_progress: Callable[[Decision], None] | None = None,
) -> journaled.Recorded:
    """Send the plan's decisions as one journalled operation, ``undo OPID``."""
    journal = journal or Journal()
    how = f"undo {undo.operation}"
    recorder = journaled.Recorder(journal, Who(who.auth_url, who.user, who.domain, how), warn)
    # One call per target status and project (a bulk accept may have had pending and
    # rejected images); all under the one recorder, so one operation id.
    batches: dict[tuple[MemberStatus, int], tuple[CloudSession, list[Subject]]] = {}
    for item in undo.todo:
        assert item.target is not None
        entry = item.entry
        session = session_for(entry)
        subject = Subject(
            image_id=entry.image_id,
            image_name=entry.image_name,
            owner=entry.owner,
            member_id=entry.member_id,
            member_name=entry.member_name,
            region=entry.region,
            before=entry.after,
        )
        group = batches.setdefault((item.target, id(session)), (session, []))
        group[1].append(subject)
    by_status: dict[MemberStatus, list[tuple[CloudSession, list[Subject]]]] = {}
    for (status, _), group in batches.items():
        by_status.setdefault(status, []).append(group)
    decisions: list[Decision] = []
    for status, groups in by_status.items():
        recorded = await journaled.decide(
            groups,
            status,
            how=how,
            warn=warn,
            journal=journal,
            concurrency=concurrency,
            on_progress=on_progress,
            recorder=recorder,
        )
        decisions.extend(recorded.decisions)
    return journaled.Recorded(recorder.id, decisions, recorder.problem)


def journal_entries(
    journal: Journal | None = None, skipped: list[str] | None = None
) -> list[JournalEntry]:
    """Every entry of the journal (reads the file; raises ``OSError`` when it cannot)."""
    return entries((journal or Journal()).records(skipped))
