"""Decisions with a record: every accept, reject or reset imshare sends goes through here.

The CLI, the app's keys (one image or a bulk, in one project or across all of them), undo and
rules all call :func:`decide`, so every one of them leaves the same trail in the journal
(:mod:`tui.journal`): an intent line for each image just before its request — or its OTC batch
job — goes out, an outcome line when the answer is known, all under one operation id.

Outcomes: ``done`` (the cloud confirmed it), ``failed`` (the cloud refused, with its code and
words, or the image read back unchanged), ``unknown`` (no answer, and reading the image back
could not tell; or the run was stopped before the answer came).

A journal that cannot be written never stops or changes a decision. The decision is sent all
the same — refusing to act because a log file is full would turn a disk problem into an
outage, and the cloud's own state stays the truth — and the caller's ``warn`` hears of it once
per operation, so the user knows this one is not on record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession, ProgressCallback
from tui.journal import Journal, JournalError, Operation, Subject, Who

#: Hears, once per operation, that the journal could not be written (the message names it).
Warn = Callable[[str], None]


def who_for(session: CloudSession, how: str) -> Who:
    """The identity a decision is made as: Keystone's names where a token is known (a token
    login has no user name in its settings), else the settings'."""
    token = session.current_token
    settings = session.settings
    user = (token.user_name if token else "") or settings.username
    domain = (
        (token.domain_name if token else "") or settings.user_domain_name or settings.user_domain_id
    )
    return Who(settings.auth_url.rstrip("/"), user, domain, how)


def same_identity(who: Who, auth_url: str, user: str, domain: str) -> bool:
    """Whether a journal entry was written by this user on this cloud."""
    return (who.auth_url, who.user, who.domain) == (auth_url.rstrip("/"), user, domain)


def subject_of(image: SharedImage, session: CloudSession) -> Subject:
    """An image as the listing the decision is made on shows it; the receiving project
    defaults to the session's (a row listed by one project's session belongs to it)."""
    token = session.current_token
    settings = session.settings
    return Subject(
        image_id=image.id,
        image_name=image.name,
        owner=image.owner,
        member_id=image.member_id or (token.project_id if token else settings.project_id),
        member_name=image.member_name or (token.project_name if token else settings.project_name),
        region=image.region or (token.region if token else settings.region),
        before=image.status.value if image.status is not None else "",
    )


async def subjects_from_listing(
    session: CloudSession, image_ids: Sequence[str], warn: Warn, *, within: float | None = None
) -> list[Subject]:
    """Subjects for ids given on a command line: one listing of the shares says each
    image's name, owner and status before. An id it does not show (not shared, or its
    status could not be listed) gets an empty status before, which undo will not touch.

    The listing is for the record only, so it may take at most ``within`` seconds: a slow
    cloud delays the decisions by that much at most, never makes them miss their deadline.
    """
    found: dict[str, SharedImage] = {}
    try:
        async with asyncio.timeout(within):
            listing = await session.list_shares(ALL_STATUSES)
    except (ApiError, TimeoutError) as error:
        why = error.reason if isinstance(error, ApiError) else f"no answer within {within:g} s"
        warn(
            "could not list the shares to record each image's status before the decision "
            f"({why}); the journal will not know what to undo to"
        )
    else:
        found = {image.id: image for image in listing.images}
        missing = [image_id for image_id in image_ids if image_id not in found]
        if listing.failed and missing:
            statuses = " and ".join(status.value for status in listing.failed)
            warn(
                f"could not list the {statuses} shares, so the journal does not know the "
                f"status before of {len(missing)} image(s); undo will not touch those"
            )
    return [
        subject_of(found.get(image_id) or SharedImage(image_id, "", "", None), session)
        for image_id in image_ids
    ]


def outcome_of(decision: Decision) -> tuple[str, str, str]:
    """``(outcome, code, message)`` of a decision, as the journal writes it."""
    error = decision.error
    if decision.ok or error is None:
        return ("done", "", "") if decision.ok else ("unknown", "", "not confirmed")
    code = error.code or (str(error.status) if error.status else "")
    return ("unknown" if error.unconfirmed else "failed"), code, error.message


class Recorder:
    """One operation's journal lines; a write that fails is said once and never raises."""

    def __init__(self, journal: Journal, who: Who, warn: Warn) -> None:
        self.operation: Operation = journal.operation(who)
        self.problem = ""
        self._warn = warn
        self._open: dict[tuple[str, str], Subject] = {}

    @property
    def id(self) -> str:
        return self.operation.id

    def _write(self, write: Callable[[], None]) -> None:
        try:
            write()
        except JournalError as error:
            if not self.problem:
                self.problem = str(error)
                self._warn(
                    f"{error}; decisions are sent all the same, but this operation "
                    f"({self.id}) is not fully on record"
                )

    def intent(
        self, subjects: Sequence[Subject], after: MemberStatus, vault_id: str, batch: bool
    ) -> None:
        for subject in subjects:
            self._open[(subject.member_id, subject.image_id)] = subject
        self._write(
            lambda: self.operation.intent(subjects, after.value, vault_id=vault_id, batch=batch)
        )

    def outcome(self, subject: Subject, decision: Decision) -> None:
        self._open.pop((subject.member_id, subject.image_id), None)
        outcome, code, message = outcome_of(decision)
        self._write(
            lambda: self.operation.outcome(
                subject,
                decision.status.value,
                outcome,
                code=code,
                message=message,
                request_id=decision.request_id,
            )
        )

    def unanswered(self, after: MemberStatus, why: str) -> None:
        """Every image sent and not answered yet is ``unknown``: the run is being stopped."""
        for subject in list(self._open.values()):
            self._write(
                lambda subject=subject: self.operation.outcome(
                    subject, after.value, "unknown", message=why
                )
            )
        self._open.clear()


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a journalled run decided: one ``Decision`` per subject, in the order given."""

    operation: str
    decisions: list[Decision]
    journal_problem: str = ""


async def decide(
    groups: Sequence[tuple[CloudSession, Sequence[Subject]]],
    status: MemberStatus,
    *,
    how: str,
    warn: Warn,
    journal: Journal | None = None,
    vault_id: str = "",
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
    use_batch: bool | None = None,
    recorder: Recorder | None = None,
) -> Recorded:
    """Decide every subject, each in its own project's session, as one journalled operation.

    ``groups`` pairs a session with the subjects of its project (all projects: one group per
    project, each with its own token and batch job). ``how`` says who or what decided:
    ``key accept``, ``cli reject``, ``undo OPID``, ``rule NAME`` (see :func:`decide_by_rule`).
    """
    if recorder is None:
        first = groups[0][0] if groups else None
        who = who_for(first, how) if first is not None else Who("", "", "", how)
        recorder = Recorder(journal or Journal(), who, warn)
    rec = recorder

    async def run(session: CloudSession, subjects: Sequence[Subject]) -> list[Decision]:
        by_id = {subject.image_id: subject for subject in subjects}

        def sent(image_ids: list[str], batch: bool) -> None:
            rec.intent([by_id[i] for i in image_ids if i in by_id], status, vault_id, batch)

        def answered(decision: Decision) -> None:
            subject = by_id.get(decision.image_id)
            if subject is not None:
                rec.outcome(subject, decision)
            if on_progress is not None:
                on_progress(decision)

        return await session.set_status_many(
            list(by_id),
            status,
            vault_id=vault_id,
            concurrency=concurrency,
            on_progress=answered,
            on_send=sent,
            use_batch=use_batch,
        )

    try:
        results = await asyncio.gather(*(run(session, subjects) for session, subjects in groups))
    except asyncio.CancelledError:
        rec.unanswered(status, "no answer before imshare stopped waiting")
        raise
    decisions = [decision for result in results for decision in result]
    return Recorded(rec.id, decisions, rec.problem)


async def decide_by_rule(
    rule_name: str,
    groups: Sequence[tuple[CloudSession, Sequence[Subject]]],
    status: MemberStatus,
    *,
    warn: Warn,
    journal: Journal | None = None,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
) -> Recorded:
    """What a rule run calls: the decisions are journalled as made by ``rule NAME``."""
    return await decide(
        groups,
        status,
        how=f"rule {rule_name}",
        warn=warn,
        journal=journal,
        concurrency=concurrency,
        on_progress=on_progress,
    )
