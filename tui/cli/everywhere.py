"""The commands that reach every project (and region) of the user, or one other than the
current: ``list --all-projects``, ``projects``, and ``accept|reject|pending`` with
``--all-projects`` or ``--project``.

One identity, one cloud: the inbox (:mod:`tui.cloud.inbox`) logs in once and re-scopes to
each project. A project that fails is one line on stderr and exit 1, never a reason to hide
the others' rows; a project without an image service in the wanted regions is skipped quietly
(``projects`` lists it). A decision always names its project: it is sent with that project's
token and member id, and printed as ``accepted ID in NAME (REGION)``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from tui import journal, journaled
from tui.cli import scopes
from tui.cli.commands import (
    CliExit,
    CommandFn,
    Context,
    Results,
    decision_exit,
    err,
    journal_warning,
    journal_within,
    listing_plan,
    out,
    output_format,
    owner_book,
    pending_exit,
    read_members,
    regions_of,
    report_member_failures,
    say_decision,
    say_unknown,
    sort_images,
    table_width,
    wants_members,
)
from tui.cli.output import Row, UnknownColumn, render_list
from tui.cli.projects_output import (
    FAILED,
    LISTED,
    SKIPPED,
    ProjectRow,
    render_projects,
    resolve_project_columns,
)
from tui.cloud.inbox import Inbox, InboxListing, Project, Scope
from tui.cloud.models import ALL_STATUSES, Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession
from tui.formatting import safe_text
from tui.journal import Subject

# ----------------------------------------------------------------------------- list


def _say_unreached(listing: InboxListing) -> None:
    for unreached in listing.failed:
        err(
            f"project {scopes.unreached_label(unreached)} could not be listed: "
            f"{safe_text(unreached.reason)}"
        )


def _no_scope_note(inbox: Inbox, regions: Sequence[str]) -> str:
    where = f"in {', '.join(regions)}" if regions else "in any region"
    return (
        f"none of your {len(inbox.projects)} projects has an image service {where} "
        "(imshare projects lists them)"
    )


async def list_everywhere(session: CloudSession, context: Context) -> int:
    """``list --all-projects``: every share of every project, with whose share it is."""
    args = context.args
    fmt = output_format(args)
    plan = listing_plan(args)
    regions = regions_of(context)
    book = owner_book()
    inbox = await scopes.open_inbox(session, regions)
    try:
        if plan.statuses:
            listing = await inbox.list_all(plan.statuses)
        else:
            listing = InboxListing(list(inbox.scopes), [], list(inbox.unreached))
        images = sort_images(plan.wanted.select(listing.images, owner_names=book.name_of))
        rows = [Row(image, owners=book) for image in images]
        member_failures = {}
        if images and wants_members(args, fmt):

            def session_of(image: SharedImage) -> CloudSession:
                scope = inbox.scope_of(image)
                return scope.session if scope is not None else session

            members, member_failures = await read_members(images, session_of)
            rows = [Row(image, members.get(image.key), book) for image in images]
    finally:
        await inbox.aclose()
    if images or fmt in ("json", "csv"):
        width = table_width(args) if fmt == "table" else 0
        out(render_list(rows, fmt, args.columns, max_width=width, scoped=True))
    _say_unreached(listing)
    report_member_failures(member_failures)
    if not inbox.scopes and not listing.failed:
        err(_no_scope_note(inbox, regions))
        return 0
    if listing.failed or member_failures:
        return 1
    summary = plan.summary(len(images), len(listing.images))
    if fmt == "table" and summary:
        err(f"{summary} in {_count_projects(listing)}")
    return pending_exit(args, images)


def _count_projects(listing: InboxListing) -> str:
    count = len({scope.key for scope in listing.scopes})
    return f"{count} project" + ("" if count == 1 else "s")


# ----------------------------------------------------------------------------- projects


def project_rows(inbox: Inbox, listing: InboxListing) -> list[ProjectRow]:
    """One row per scope (project and region) and per project that was not reached."""
    counts: dict[str, Counter[MemberStatus]] = {}
    for image in listing.images:
        if image.status is not None:
            counts.setdefault(f"{image.member_id}@{image.region}", Counter())[image.status] += 1
    failed_scopes = {f"{u.project.id}@{u.region}" for u in listing.failed if u.region}
    rows: list[ProjectRow] = []
    for scope in listing.scopes:
        if scope.key in failed_scopes:
            continue
        found = counts.get(scope.key, Counter())
        rows.append(
            ProjectRow(
                scope.project.name,
                scope.project.id,
                scope.region,
                LISTED,
                pending=found[MemberStatus.PENDING],
                accepted=found[MemberStatus.ACCEPTED],
                rejected=found[MemberStatus.REJECTED],
            )
        )
    for unreached in listing.unreached:
        rows.append(
            ProjectRow(
                unreached.project.name,
                unreached.project.id,
                unreached.region,
                SKIPPED if unreached.skipped else FAILED,
                reason=unreached.reason,
            )
        )
    return sorted(rows, key=lambda row: (row.name.lower(), row.region, row.id))


async def projects(session: CloudSession, context: Context) -> int:
    """``imshare projects``: the projects the user may use, each with its region and how
    many shares it holds by status; skipped ones with why, failed ones too (exit 1)."""
    args = context.args
    fmt = "json" if args.json else args.format
    try:
        resolve_project_columns(args.columns)
    except UnknownColumn as error:
        raise CliExit(2, str(error)) from None
    inbox = await scopes.open_inbox(session, regions_of(context))
    try:
        listing = await inbox.list_all(ALL_STATUSES)
    finally:
        await inbox.aclose()
    rows = project_rows(inbox, listing)
    if rows or fmt in ("json", "csv"):
        width = table_width(args) if fmt == "table" else 0
        out(render_projects(rows, fmt, args.columns, max_width=width))
    _say_unreached(listing)
    if fmt == "table" and not rows:
        err("Keystone lists no project for this user")
    return 1 if listing.failed else 0


# ----------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True)
class Pair:
    """One image in one project: what a decision is about."""

    image_id: str
    scope: Scope

    @property
    def key(self) -> tuple[str, str]:
        return self.scope.key, self.image_id


class PairsInOrder:
    """Prints each pair's outcome in the order of the ids given (and, per id, of the
    projects), each as soon as every pair before it is known."""

    def __init__(self, pairs: Sequence[Pair], say: Callable[[Pair, Decision], None]) -> None:
        self._pairs = list(pairs)
        self._say = say
        self._known: dict[tuple[str, str], Decision] = {}
        self._next = 0

    def add(self, scope: Scope, decision: Decision) -> None:
        self._known.setdefault((scope.key, decision.image_id), decision)
        while self._next < len(self._pairs) and self._pairs[self._next].key in self._known:
            pair = self._pairs[self._next]
            self._say(pair, self._known[pair.key])
            self._next += 1

    def rest(self, unknown: Callable[[Pair], None]) -> None:
        for pair in self._pairs[self._next :]:
            decision = self._known.get(pair.key)
            if decision is None:
                unknown(pair)
            else:
                self._say(pair, decision)
        self._next = len(self._pairs)


def _matches(wanted: str) -> Callable[[Project], bool]:
    return lambda project: wanted in (project.id, project.name)


async def _pairs_in_project(
    inbox: Inbox, wanted: str, image_ids: Sequence[str], regions: Sequence[str]
) -> list[Pair]:
    """``--project NAME|ID``: where each image is decided, or ``CliExit(2)`` when the name
    is unknown or names several projects (or one project in several regions that all have
    the image) and ``--region`` does not narrow it to one."""
    found = inbox.find_project(wanted)
    if not found:
        unreached = [u for u in inbox.unreached if wanted in (u.project.id, u.project.name)]
        if unreached and not unreached[0].skipped:
            raise CliExit(
                1, f"project {scopes.unreached_label(unreached[0])}: {unreached[0].reason}"
            )
        if unreached:
            raise CliExit(
                2,
                f"project {scopes.unreached_label(unreached[0])} has no image service "
                + (f"in {', '.join(regions)}" if regions else "")
                + f" ({unreached[0].reason})",
            )
        raise CliExit(
            2,
            f"no project {safe_text(wanted)!r} among yours; your projects: "
            f"{scopes.project_names(inbox.projects)} (give a name or an id)",
        )
    ids = {scope.project.id for scope in found}
    if len(ids) > 1:
        listed = "; ".join(
            f"{scopes.scope_label(scope)} id {safe_text(scope.project.id)}" for scope in found
        )
        hint = "--project ID" + (
            " or --region" if len({scope.region for scope in found}) > 1 else ""
        )
        raise CliExit(
            2,
            f"{safe_text(wanted)!r} names {len(ids)} of your projects: {listed}; "
            f"choose one with {hint}",
        )
    if len(found) == 1:
        return [Pair(image_id, found[0]) for image_id in image_ids]
    # One project reached in several regions: the image lives in one region's image service.
    where = await scopes.shared_with(found, image_ids)
    twice = {image_id: there for image_id, there in where.items() if len(there) > 1}
    if twice:
        lines = "\n".join(
            f"  {image_id}: " + ", ".join(scopes.scope_label(scope) for scope in there)
            for image_id, there in twice.items()
        )
        raise CliExit(
            2,
            f"project {safe_text(wanted)!r} has these images in more than one region; "
            f"choose one with --region:\n{lines}",
        )
    return [Pair(image_id, (where[image_id] or found)[0]) for image_id in image_ids]


def _wanted_now(status: MemberStatus, current: MemberStatus | None) -> bool:
    """Whether ``--all-projects`` decides a share that has ``current`` status: accept and
    reject decide what is pending; pending resets what was decided."""
    if status is MemberStatus.PENDING:
        return current is not MemberStatus.PENDING
    return current is MemberStatus.PENDING


@dataclass(slots=True)
class Plan:
    pairs: list[Pair]
    #: Images shared with none of the projects that could be listed.
    missing: list[str]
    #: Images with nothing to decide and a share left in another decision.
    undecided: list[str]


def _pairs_everywhere(
    listing: InboxListing, image_ids: Sequence[str], status: MemberStatus, labels: dict[str, str]
) -> Plan:
    """``--all-projects``: each image in every project where it is shared and waits for
    this decision; shares already decided otherwise are left alone and said so."""
    scope_by_key = {scope.key: scope for scope in listing.scopes}
    shares: dict[str, list[tuple[Scope, MemberStatus | None]]] = {}
    for image in listing.images:
        scope = scope_by_key.get(f"{image.member_id}@{image.region}")
        if scope is not None:
            shares.setdefault(image.id, []).append((scope, image.status))
    plan = Plan([], [], [])
    for image_id in image_ids:
        found = sorted(shares.get(image_id, []), key=lambda item: labels[item[0].key])
        if not found:
            plan.missing.append(image_id)
            continue
        chosen = [scope for scope, current in found if _wanted_now(status, current)]
        plan.pairs.extend(Pair(image_id, scope) for scope in chosen)
        for scope, current in found:
            if scope in chosen or current is None:
                continue
            where = labels[scope.key]
            if current is status:
                err(f"{image_id} in {where}: already {status.value}")
            else:
                err(
                    f"{image_id} in {where}: left {current.value} (decided before, not "
                    f"pending); --project {safe_text(scope.project.name)} changes it there"
                )
        if not chosen and all(current is not status for _scope, current in found):
            plan.undecided.append(image_id)
    return plan


def decide_in_projects(status: MemberStatus) -> CommandFn:
    """``accept|reject|pending ID... --project NAME|ID`` or ``--all-projects``: each pair
    of image and project decided with that project's token and member id, OTC's batch API
    per project where the cloud offers it; one line per pair, in the order given."""

    async def run(session: CloudSession, context: Context) -> int:
        args = context.args
        image_ids = list(dict.fromkeys(args.image_ids))
        vault_id = getattr(args, "vault_id", "") or ""
        regions = regions_of(context)
        wanted = getattr(args, "project", None)
        inbox = await scopes.open_inbox(session, regions, only=_matches(wanted) if wanted else None)
        try:
            return await _decide(inbox, status, image_ids, vault_id, wanted, regions, context)
        finally:
            await inbox.aclose()

    return run


async def _decide(
    inbox: Inbox,
    status: MemberStatus,
    image_ids: list[str],
    vault_id: str,
    wanted: str | None,
    regions: Sequence[str],
    context: Context,
) -> int:
    args = context.args
    failed_listing = False
    missing: list[str] = []
    undecided: list[str] = []
    #: The rows the decisions are made on (``--all-projects``), by scope and image: what
    #: the journal records as each share's status before.
    rows: dict[tuple[str, str], SharedImage] = {}
    if wanted:
        pairs = await _pairs_in_project(inbox, wanted, image_ids, regions)
    else:
        listing = await inbox.list_all(ALL_STATUSES)
        _say_unreached(listing)
        failed_listing = bool(listing.failed)
        plan = _pairs_everywhere(listing, image_ids, status, scopes.distinct_labels(listing.scopes))
        pairs, missing, undecided = plan.pairs, plan.missing, plan.undecided
        rows = {(f"{image.member_id}@{image.region}", image.id): image for image in listing.images}
    labels = scopes.distinct_labels([pair.scope for pair in pairs])
    for image_id in missing:
        err(
            f"{image_id}: not shared with any of your projects"
            + (f" in {', '.join(regions)}" if regions else "")
            + (" that could be listed" if failed_listing else "")
        )
    for image_id in undecided:
        err(f"{image_id}: nothing to {status.verb}: every share of it was decided otherwise")
    results = Results()

    def say(pair: Pair, decision: Decision) -> None:
        say_decision(decision, status, vault_id, results, f" in {labels[pair.scope.key]}")

    def unknown(pair: Pair) -> None:
        say_unknown(pair.image_id, f" in {labels[pair.scope.key]}")

    in_order = PairsInOrder(pairs, say)
    by_scope: dict[str, list[str]] = {}
    scope_of: dict[str, Scope] = {}
    for pair in pairs:
        by_scope.setdefault(pair.scope.key, []).append(pair.image_id)
        scope_of[pair.scope.key] = pair.scope
    if context.deadline is not None:
        left = context.deadline - asyncio.get_running_loop().time()
        for scope in scope_of.values():
            scope.session.batch_timeout = max(1.0, min(scope.session.batch_timeout, left - 10))
    warn = journal_warning()
    within = journal_within(context)

    async def subjects(key: str) -> list[Subject]:
        scope = scope_of[key]
        if rows:
            return [journaled.subject_of(rows[(key, i)], scope.session) for i in by_scope[key]]
        # --project: one listing of that project says each image's status before, as for a
        # decision in the current project.
        ids = by_scope[key]
        return await journaled.subjects_from_listing(scope.session, ids, warn, within=within)

    found = await asyncio.gather(*(subjects(key) for key in by_scope))
    subjects_of = dict(zip(by_scope, found, strict=True))
    # One operation in the journal for the whole command, each project in its own group.
    how = f"cli {getattr(args, 'command', None) or status.value}"
    recorder = journaled.Recorder(journal.Journal(), journaled.who_for(inbox.base, how), warn)

    async def in_scope(key: str) -> list[Decision]:
        scope = scope_of[key]
        recorded = await journaled.decide(
            [(scope.session, subjects_of[key])],
            status,
            how=how,
            warn=warn,
            vault_id=vault_id,
            concurrency=args.concurrency,
            on_progress=lambda decision: in_order.add(scope, decision),
            use_batch=None if getattr(args, "batch", True) else False,
            recorder=recorder,
        )
        for decision in recorded.decisions:
            in_order.add(scope, decision)
        return recorded.decisions

    try:
        decided = await asyncio.gather(*(in_scope(key) for key in by_scope))
    except asyncio.CancelledError:
        in_order.rest(unknown)
        raise
    decisions = [decision for found in decided for decision in found]
    context.flush_warnings()  # met on the way (a cache write): before the summary
    code = decision_exit(status, decisions, vault_id, results, count=len(pairs)) if pairs else 0
    if missing or undecided or failed_listing:
        return 1
    return code
