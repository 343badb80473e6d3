"""What each ``imshare`` sub-command does, given its parsed arguments.

Nothing here imports Textual. A command returns its exit code or raises ``CliExit``; the session
it gets owns logging in (it asks for the password on the terminal through ``ask_password``
when none is configured, and again after a wrong one).

Exit codes: 0 success; 1 the cloud refused or failed (one stderr line per failed image), or
standard output could not be written (a full disk); 2 usage or configuration errors (including
"no password and nobody to ask"); 3 ``list --exit-code`` found pending shares; 130 Ctrl-C; 141
the reader of standard output went away (``| head -1``), what a shell reports for a tool that
SIGPIPE ended.

Standard output is where results go, and it can fail under a command: a full disk
(``> /dev/full``) or a reader that left (a closed pipe). Neither may stop decisions already on
their way or leave one unreported, so a result line that cannot be written goes to stderr
instead, and nothing more is tried on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import getpass
import logging
import re
import shutil
import sys
import time
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tui import files, logsetup
from tui.cli.output import (
    Row,
    UnknownColumn,
    json_array,
    needs_members,
    render_list,
    render_show,
    resolve,
)
from tui.cli.stdio import (
    EXIT_CLOSED_PIPE,
    EXIT_PENDING,
    CliExit,
    StdoutFailed,
    err,
    out,
)
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage
from tui.cloud.session import AskPassword, CloudSession
from tui.cloud.token_cache import TokenCache
from tui.formatting import countdown, safe_text
from tui.settings import owners
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import LoadedConfig, load

if TYPE_CHECKING:
    # Only the decisions use them: `imshare list` does not load the journal or the inbox;
    # nor the filter language without --filter.
    from tui import journaled
    from tui.cloud.inbox import Scope
    from tui.filter_language import Filter

log = logging.getLogger("imshare.cli")

#: Wrong passwords typed at the terminal before a command gives up, as sudo does.
PASSWORD_TRIES = 3
_VAULT_CODES = {"IMG.0182", "IMG.0184", "IMG.0188", "IMG.0193"}
#: At most this long (and a quarter of what --timeout leaves) is spent listing the shares
#: before a decision, to record each image's status before in the journal.
LISTING_FOR_JOURNAL = 15.0
#: Member records read at once when ``list`` shows Shared At or Decided At.
MEMBER_CONCURRENCY = 8


# ----------------------------------------------------------------------------- context


@dataclass(slots=True)
class Context:
    args: argparse.Namespace
    loaded: LoadedConfig
    cache: TokenCache
    warned: set[str] = field(default_factory=set)
    #: The event-loop time by which the command must be done (None: no limit).
    deadline: float | None = None

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    @property
    def timeout(self) -> float:
        """``--timeout``, else the config's ``timeout``; 0 means no limit."""
        given = getattr(self.args, "timeout", None)
        return self.settings.timeout if given is None else float(given)

    def flush_warnings(self) -> None:
        """Print each warning not printed yet; called at start and after the command, so a
        problem met while it ran (the cache could not be written) is heard exactly once."""
        for warning in (*self.loaded.warnings, *self.cache.warnings):
            if warning not in self.warned:
                self.warned.add(warning)
                err(f"warning: {warning}")


def load_context(args: argparse.Namespace) -> Context:
    try:
        loaded = load(
            args.config,
            profile=getattr(args, "profile", None),
            cloud=getattr(args, "os_cloud", None),
        )
    except ConfigError as exc:
        raise CliExit(2, str(exc)) from None
    logsetup.add_secret(loaded.settings.password)
    log.debug("config %s: %r", loaded.path, loaded.settings)
    context = Context(args=args, loaded=loaded, cache=TokenCache(files.token_cache_file()))
    context.cache.check()
    context.flush_warnings()
    return context


def require_usable(context: Context) -> None:
    problems = context.settings.problems()
    if problems:
        lines = "\n".join(f"  - {problem}" for problem in problems)
        source = context.loaded.source or f"config file {context.loaded.path}"
        raise CliExit(
            2,
            f"the configuration cannot be used ({source}, then OS_* variables):\n{lines}",
        )


def _stdin_is_tty() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_password_prompt(
    settings: Settings, waited: Callable[[float], None] | None = None
) -> AskPassword:
    """The session's ``ask_password`` for a terminal: getpass, at most ``PASSWORD_TRIES`` times.

    Without a terminal nobody can be asked: the session then raises ``PasswordRequired``,
    which ends the command with exit 2 and a line naming OS_PASSWORD and ``imshare login``.
    ``waited`` hears how long the user took, so that time does not count against a deadline.
    """
    tries = 0

    async def ask(problem: str) -> str | None:
        nonlocal tries
        if not _stdin_is_tty() or tries >= PASSWORD_TRIES:
            return None
        tries += 1
        if problem:
            err(problem)
        who = f"{settings.username}@{settings.user_domain_name or settings.user_domain_id}"
        started = time.monotonic()
        try:
            return getpass.getpass(f"Password for {who} ({settings.project_label}): ") or None
        except EOFError:
            return None
        finally:
            if waited is not None:
                waited(time.monotonic() - started)

    return ask


CommandFn = Callable[[CloudSession, Context], Coroutine[Any, Any, int]]


def with_session(context: Context, body: CommandFn) -> int:
    """Run ``body`` with a session for the context's settings, in a fresh event loop, within
    the command's deadline (``--timeout``); time spent typing a password does not count."""
    require_usable(context)
    timeout = context.timeout

    async def run() -> int:
        loop = asyncio.get_running_loop()
        context.deadline = loop.time() + timeout if timeout else None
        async with asyncio.timeout_at(context.deadline) as limit:

            def waited(seconds: float) -> None:
                if context.deadline is not None:
                    context.deadline += seconds
                    limit.reschedule(context.deadline)

            session = CloudSession(
                context.settings,
                context.cache,
                ask_password=terminal_password_prompt(context.settings, waited),
            )
            async with session:
                try:
                    return await body(session, context)
                finally:
                    context.flush_warnings()

    try:
        return asyncio.run(run())
    except TimeoutError:
        raise CliExit(
            1,
            f"gave up after {timeout:g} s: the cloud did not finish answering in time "
            "(--timeout SECONDS, or timeout in the config, sets the limit; 0 means none)",
        ) from None


# ----------------------------------------------------------------------------- commands


def owner_book() -> owners.OwnerBook:
    """owners.toml's names for the output and the filter; a file that cannot be read is a
    warning on stderr and no names, never a failed command."""
    book, problem = owners.load_or_empty()
    if problem:
        err(f"warning: {problem}")
    return book


def _statuses(choice: str) -> tuple[MemberStatus, ...]:
    return ALL_STATUSES if choice == "all" else (MemberStatus(choice),)


def output_format(args: argparse.Namespace) -> str:
    fmt = "json" if args.json else args.format
    try:
        resolve(args.columns)  # a typo is a usage error before any network call
    except UnknownColumn as error:
        raise CliExit(2, str(error)) from None
    return fmt


def compiled_filter(text: str | None) -> Filter:
    """``--filter TEXT``; a term it cannot understand is a usage error (exit 2) that names
    the fields, before any network call."""
    from tui.filter_language import compile_filter  # only when there is a filter to read

    compiled = compile_filter(text or "")
    if compiled.problems:
        raise CliExit(2, f"--filter {text!r}: {compiled.error}")
    return compiled


def sort_images(images: list[SharedImage]) -> list[SharedImage]:
    """By name, then id; case-insensitive, as the app sorts its Name column; the same image
    in several projects by the receiving project's name and region."""
    return sorted(
        images,
        key=lambda image: (
            image.name.lower(),
            image.id,
            image.member_name.lower(),
            image.region,
            image.member_id,
        ),
    )


def _stdout_is_tty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def table_width(args: argparse.Namespace) -> int:
    """How wide ``list``'s table may be: the terminal's width when stdout is one (as
    openstackclient fits its tables), ``--max-width`` when given, 0 (no limit) with
    ``--wide`` or when the output goes to a pipe or a file."""
    if getattr(args, "wide", False):
        return 0
    given = getattr(args, "max_width", None)
    if given is not None:
        return max(0, given)
    if not _stdout_is_tty():
        return 0
    return shutil.get_terminal_size().columns


async def read_members(
    images: Sequence[SharedImage], session_of: Callable[[SharedImage], CloudSession]
) -> tuple[dict[str, Member], dict[str, ApiError]]:
    """The member record of each row (``image.key``), read with the session of the project
    it was listed in, ``MEMBER_CONCURRENCY`` requests at a time; the records read, and the
    errors of those that could not be."""
    gate = asyncio.Semaphore(MEMBER_CONCURRENCY)
    members: dict[str, Member] = {}
    failed: dict[str, ApiError] = {}

    async def one(image: SharedImage) -> None:
        async with gate:
            try:
                members[image.key] = await session_of(image).get_member(image.id)
            except ApiError as error:
                failed[image.key] = error

    await asyncio.gather(*(one(image) for image in images))
    return members, failed


def report_member_failures(failed: dict[str, ApiError]) -> None:
    """One line per distinct reason, naming the images (the first few) it kept empty."""
    by_reason: dict[str, list[str]] = {}
    for key, error in failed.items():
        by_reason.setdefault(error.reason, []).append(key.rpartition("/")[2])
    for reason, ids in by_reason.items():
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        what = "image" if len(ids) == 1 else f"{len(ids)} images"
        err(
            f"could not read the member record of {what} ({shown}), so Shared At and "
            f"Decided At are empty there: {reason}"
        )


@dataclass(frozen=True, slots=True)
class ListingPlan:
    """What ``list`` asks for: the filter as typed and compiled, and the statuses to list."""

    text: str
    wanted: Filter
    choice: str
    statuses: tuple[MemberStatus, ...]

    def summary(self, shown: int, listed: int) -> str:
        """The table's line on stderr: how many matched the filter, or that there are none;
        "" when there is nothing to say."""
        which = (
            ""
            if self.choice == "all" or len(self.statuses) != 1
            else (f"{self.statuses[0].value} ")
        )
        if not self.wanted.empty:
            counted = f"{shown} of {listed}" if shown else f"none of the {listed}"
            return f"{counted} {which}shares match {self.text!r}"
        return "" if shown else f"no {which}shares"


def listing_plan(args: argparse.Namespace) -> ListingPlan:
    text = getattr(args, "filter", None) or ""
    wanted = compiled_filter(text)
    choice = args.status or ("all" if wanted.names_status else "pending")
    statuses = _statuses(choice)
    if args.status is None and wanted.names_status:
        # `--filter status:accepted` alone lists what the filter can match, not pending.
        statuses = tuple(s for s in ALL_STATUSES if s in wanted.statuses)
    return ListingPlan(text, wanted, choice, statuses)


def wants_members(args: argparse.Namespace, fmt: str) -> bool:
    """Whether the columns asked for need each row's member record (read separately)."""
    return needs_members(args.columns) and not (fmt == "json" and not args.columns)


def pending_exit(args: argparse.Namespace, images: Sequence[SharedImage]) -> int:
    """``--exit-code``: 3 when the listing holds pending shares, else 0."""
    if args.exit_code and any(image.status is MemberStatus.PENDING for image in images):
        return EXIT_PENDING
    return 0


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a listing builds its rows.

    Ten thousand images are some 400,000 objects (the decoded pages, the models, the output),
    all alive until the output is written, so each of the collector's passes over them finds
    nothing to free; at 10,000 shares they cost ~0.2 s of CPU, a fifth of the command.
    Reference counting still frees everything as usual; the collector resumes afterwards.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def list_shares(session: CloudSession, context: Context) -> int:
    """Print what could be listed; a status that could not be listed is named on stderr and
    makes the exit code 1 (it wins over ``--exit-code``'s 3: the answer is incomplete)."""
    with cyclic_gc_paused():
        return await _list_shares(session, context)


async def _list_shares(session: CloudSession, context: Context) -> int:
    args = context.args
    fmt = output_format(args)
    if fmt == "json" and not args.columns and not getattr(args, "filter", None):
        # No filter, so no filter language to load: the statuses are --status's, or pending.
        return await _list_json(session, args, _statuses(args.status or "pending"))
    plan = listing_plan(args)
    wanted, statuses = plan.wanted, plan.statuses
    failed: dict[MemberStatus, ApiError] = {}
    listed: list[SharedImage] = []
    if statuses:
        listing = await session.list_shares(statuses)
        if len(listing.failed) == len(statuses):
            raise next(iter(listing.failed.values()))  # nothing listed at all: one plain error
        listed, failed = listing.images, listing.failed
    book = owner_book()
    images = sort_images(wanted.select(listed, owner_names=book.name_of))
    rows = [Row(image, owners=book) for image in images]
    member_failures: dict[str, ApiError] = {}
    if images and wants_members(args, fmt):
        members, member_failures = await read_members(images, lambda image: session)
        rows = [Row(image, members.get(image.key), book) for image in images]
    if images or fmt in ("json", "csv"):
        width = table_width(args) if fmt == "table" else 0
        out(render_list(rows, fmt, args.columns, max_width=width))
    report_unlisted(failed)
    report_member_failures(member_failures)
    if failed or member_failures:
        return 1
    summary = plan.summary(len(images), len(listed))
    if fmt == "table" and summary:
        err(summary)
    return pending_exit(args, images)


async def _list_json(
    session: CloudSession, args: argparse.Namespace, statuses: Sequence[MemberStatus]
) -> int:
    """``list --json`` without ``-c`` and ``--filter``: the documented objects made straight
    from the cloud's (``SharedImage.json_from_api``), no model between, which at 10,000 images
    saves a fifth of the command. The same rows, order, bytes, failures and exit code as
    ``_list_shares`` (tests/cli/test_cli_list_json.py compares the two)."""
    listing = await session.list_share_documents(statuses)
    if len(listing.failed) == len(statuses):
        raise next(iter(listing.failed.values()))  # nothing listed at all: one plain error
    book = owner_book()
    rows = listing.images
    # sort_images' order: within one project the receiving project and region are the same.
    rows.sort(key=lambda row: (row["name"].lower(), row["id"]))
    name_of, trust_of = book.name_of, book.trust_of
    for row in rows:
        owner = row["owner"]
        row["owner_name"] = name_of(owner) or None
        row["owner_trust"] = trust_of(owner).value
    out(json_array(rows))
    report_unlisted(listing.failed)
    if listing.failed:
        return 1
    pending = MemberStatus.PENDING.value
    if args.exit_code and any(row["status"] == pending for row in rows):
        return EXIT_PENDING
    return 0


def report_unlisted(failed: dict[MemberStatus, ApiError]) -> None:
    """One stderr line per status that could not be listed: the list printed is incomplete."""
    for status, error in failed.items():
        err(f"could not list the {status.value} shares, so this list is incomplete: {error.reason}")


_UUID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


async def _image_by_id(session: CloudSession, image_id: str) -> tuple[SharedImage, Member | None]:
    """The image and our member record for it, read at the same time."""
    image_task = asyncio.ensure_future(session.get_image(image_id))
    member_task = asyncio.ensure_future(session.get_member(image_id))
    try:
        image = await image_task
    except BaseException:
        member_task.cancel()
        await asyncio.gather(member_task, return_exceptions=True)
        raise
    try:
        member: Member | None = await member_task
    except ApiError as error:
        if error.status != 404:
            raise
        member = None
        token = session.current_token
        project = token.project_id if token else "?"
        err(f"warning: {image_id} is not shared with project {safe_text(project)}")
    return image, member


async def _image_by_name(session: CloudSession, name: str) -> tuple[SharedImage, Member | None]:
    """The one image shared with us under exactly this name (as ``openstack image show NAME``
    finds it): the shares are listed once; several matches are a usage error listing them."""
    listing = await session.list_shares(ALL_STATUSES)
    matches = sort_images([image for image in listing.images if image.name == name])
    if len(matches) > 1:
        lines = "\n".join(
            f"  {image.id}  {image.status.value if image.status else '-'}  "
            f"owner {image.owner or '-'}"
            for image in matches
        )
        raise CliExit(
            2, f"{len(matches)} images shared with you are named {name!r}; show one by id:\n{lines}"
        )
    if listing.failed:
        # An unlisted status may hold this name (again): no answer is better than a wrong one.
        status, error = next(iter(listing.failed.items()))
        raise CliExit(
            1,
            f"could not list the {status.value} shares, so an image named {name!r} cannot be "
            f"looked up: {error.reason}",
        )
    if matches:
        image = matches[0]
        return image, await session.get_member(image.id)
    try:
        return await _image_by_id(session, name)  # not a UUID, but ids are the cloud's to pick
    except ApiError as error:
        if error.status != 404:
            raise
    raise CliExit(
        1,
        f"no image named {name!r} (or with that id) is shared with you; names must match "
        f"exactly: imshare list --status all --filter 'name:\"{name}\"' finds parts of names",
    )


async def show(session: CloudSession, context: Context) -> int:
    """One image by id, or by its exact name when that is unique among the shares."""
    args = context.args
    fmt = output_format(args)
    wanted = args.image
    if not wanted.strip():
        raise CliExit(2, "show needs an image id or name, not an empty one")
    await session.token()  # one login (or prompt) before the reads start
    if _UUID.fullmatch(wanted):
        image, member = await _image_by_id(session, wanted)
    else:
        image, member = await _image_by_name(session, wanted)
    token = session.current_token
    if member is not None:
        image = image.with_status(member.status)
        if token is not None:
            # The member record is the current project's: say whose share this is.
            image = replace(
                image,
                member_id=member.member_id or token.project_id,
                member_name=token.project_name,
                region=token.region,
            )
    out(render_show(Row(image, member, owner_book()), fmt, args.columns))
    return 0


class InOrder:
    """Prints decisions in the order the ids were given, each as soon as every id before it
    has its answer: a script reading stdout gets its own order, and a long run still shows
    progress (answers arrive in any order, and a batch job answers all at once)."""

    def __init__(self, image_ids: Sequence[str], say: Callable[[Decision], None]) -> None:
        self._ids = list(image_ids)
        self._say = say
        self._known: dict[str, Decision] = {}
        self._next = 0

    def add(self, decision: Decision) -> None:
        self._known.setdefault(decision.image_id, decision)
        while self._next < len(self._ids) and self._ids[self._next] in self._known:
            self._say(self._known[self._ids[self._next]])
            self._next += 1

    def rest(self, unknown: Callable[[str], None]) -> None:
        """The deadline passed: what is known is said in order, the rest as unknown."""
        for image_id in self._ids[self._next :]:
            decision = self._known.get(image_id)
            if decision is None:
                unknown(image_id)
            else:
                self._say(decision)
        self._next = len(self._ids)


def journal_warning() -> journaled.Warn:
    """How the CLI says that the journal could not be written: one stderr line per problem."""
    said: set[str] = set()

    def warn(problem: str) -> None:
        if problem not in said:
            said.add(problem)
            err(f"warning: {problem}")

    return warn


def _needs_vault(decision: Decision, vault_id: str) -> bool:
    error = decision.error
    return (
        not vault_id
        and decision.status is MemberStatus.ACCEPTED
        and error is not None
        and error.code in _VAULT_CODES
    )


class Results:
    """Where a decision command's confirmations go: stdout while it takes them.

    A confirmation is written while other decisions are still in flight, so it never raises:
    once stdout fails, the rest go to stderr (after a closed pipe nowhere: the reader asked for
    no more), and the summary and exit code say that not everything reached stdout.
    """

    def __init__(self) -> None:
        self.lost: StdoutFailed | None = None

    def confirm(self, line: str) -> None:
        if self.lost is None:
            try:
                out(line)
                return
            except StdoutFailed as failure:
                self.lost = failure
                if not failure.closed_pipe:
                    err(
                        f"cannot write to standard output ({failure.reason}); "
                        "the results from here on follow on stderr"
                    )
        if not self.lost.closed_pipe:
            err(line)

    @property
    def incomplete(self) -> bool:
        """Results that should have reached stdout went to stderr (a full disk, not a pipe
        whose reader left)."""
        return self.lost is not None and not self.lost.closed_pipe


def say_decision(
    decision: Decision, status: MemberStatus, vault_id: str, results: Results, where: str = ""
) -> None:
    """One decision's line: done on stdout, failed on stderr. ``where`` names the project
    when the command decides in more than the current one (`` in eu-de_x (eu-de)``)."""
    if decision.ok:
        results.confirm(f"{status.value} {decision.image_id}{where}")
    elif _needs_vault(decision, vault_id):
        # Without a vault the cloud says "vault not found" (batch) or "vault_id is
        # required": the one thing to do comes first, the cloud's words after.
        cloud = decision.error
        said = f"{cloud.code}: {cloud.message}" if cloud else ""
        err(
            f"{decision.image_id}{where}: needs --vault-id V: it is a full-ECS image, and "
            "accepting one needs the id of a CBR server-backup vault with enough "
            f"capacity (the cloud said {safe_text(said)})"
        )
    else:
        reason = decision.error.reason if decision.error else "not confirmed by the cloud"
        err(f"{decision.image_id}{where}: {safe_text(reason)}")


def say_unknown(image_id: str, where: str = "") -> None:
    err(
        f"{image_id}{where}: unknown: no answer before the deadline; the cloud may "
        f"still apply it (check with: imshare show {image_id})"
    )


def decision_exit(
    status: MemberStatus,
    decisions: Sequence[Decision],
    vault_id: str,
    results: Results,
    *,
    count: int,
) -> int:
    """What a decision command ends with, once every line is out: the login error that
    stopped everything is raised (as ``list`` would end); else 1 when any failed or a result
    could not reach stdout, 141 when its reader left, 0."""
    failed = [d for d in decisions if not d.ok]
    login = next((d.error for d in failed if d.error is not None and d.error.login), None)
    if login is not None and len(failed) == len(decisions):
        # Nothing was decided because the login failed: end as `list` would, so scripts
        # see the same exit code for "log in again" whatever the command.
        raise login
    if results.incomplete and results.lost is not None:
        err(
            f"{sum(1 for d in decisions if d.ok)} of {count} {status.done}, "
            f"{len(failed)} failed; standard output could not be written "
            f"({results.lost.reason})"
        )
    elif failed and count > 1:
        err(f"{len(failed)} of {count} failed")
    vault_codes = {d.error.code for d in failed if d.error} & _VAULT_CODES
    if vault_codes and status is MemberStatus.ACCEPTED and vault_id:
        err(
            f"the vault given with --vault-id ({vault_id}) was refused: pass the "
            "id of an existing CBR server-backup vault with enough capacity, in this "
            "project and region"
        )
    if failed or results.incomplete:
        return 1
    return EXIT_CLOSED_PIPE if results.lost is not None else 0


def journal_within(context: Context) -> float:
    """How long the listing for the journal's "status before" may take: at most
    ``LISTING_FOR_JOURNAL``, and a quarter of what ``--timeout`` leaves."""
    within = LISTING_FOR_JOURNAL
    if context.deadline is not None:
        left = context.deadline - asyncio.get_running_loop().time()
        within = max(0.1, min(within, left / 4))
    return within


def regions_of(context: Context) -> tuple[str, ...]:
    """The regions of the all-projects scope: ``--region``, else the config's ``regions``."""
    given = getattr(context.args, "region", None)
    return tuple(given) if given is not None else context.settings.regions


def _unshared(decision: Decision) -> bool:
    return decision.error is not None and decision.error.status == 404


async def _shared_elsewhere(
    session: CloudSession, context: Context, image_ids: Sequence[str]
) -> dict[str, list[Scope]]:
    """The user's other projects (and regions) each image is shared with, for images the
    current project does not have: a hint, so any failure to find out is no hint."""
    token = session.current_token
    if token is None or not image_ids:
        return {}

    def current(scope: Scope) -> bool:
        return scope.project.id == token.project_id and (
            not token.region or scope.region == token.region
        )

    from tui.cli import scopes

    try:
        inbox = await scopes.open_inbox(session, regions_of(context))
        try:
            others = [scope for scope in inbox.scopes if not current(scope)]
            return await scopes.shared_with(others, image_ids)
        finally:
            await inbox.aclose()
    except ApiError as error:
        log.info("could not look for the images in other projects: %s", error.summary)
        return {}


def decide(status: MemberStatus) -> CommandFn:
    """``accept``, ``reject`` or ``pending`` in the current project: every image gets a
    line, stdout or stderr, in the order the ids were given (see ``Results`` for a stdout
    that fails on the way).

    An image the current project does not have (404) but another project of the user does
    is never decided there: the line says where it is shared and how to decide it there
    (``--project``, ``--all-projects``), and the exit code is 2.
    """

    async def run(session: CloudSession, context: Context) -> int:
        from tui import journaled  # decisions only: `imshare list` does not load the journal
        from tui.cli import scopes

        args = context.args
        image_ids = list(dict.fromkeys(args.image_ids))
        vault_id = getattr(args, "vault_id", "") or ""
        await session.token()  # one login (or prompt) before the decisions start
        results = Results()
        elsewhere: dict[str, list[Scope]] = {}

        def say(decision: Decision) -> None:
            found = elsewhere.get(decision.image_id)
            if not found:
                say_decision(decision, status, vault_id, results)
                return
            token = session.current_token
            here = scopes.label(token.project_name, token.region) if token else "?"
            there = ", ".join(scopes.distinct_labels(found).values())
            err(
                f"{decision.image_id}: not shared with your project {here}, but with "
                f"{there}: nothing was decided; add --project NAME to decide it in one of "
                "them, or --all-projects for every project that has it"
            )

        in_order = InOrder(image_ids, say)
        #: Images the current project does not have: said once it is known where they are.
        unshared: dict[str, Decision] = {}

        def progress(decision: Decision) -> None:
            if _unshared(decision):
                unshared[decision.image_id] = decision
            else:
                in_order.add(decision)

        if context.deadline is not None:
            # Stop waiting for a batch job in time to read its images back before the end.
            left = context.deadline - asyncio.get_running_loop().time()
            session.batch_timeout = max(1.0, min(session.batch_timeout, left - 10))
        warn = journal_warning()
        subjects = await journaled.subjects_from_listing(
            session, image_ids, warn, within=journal_within(context)
        )
        try:
            recorded = await journaled.decide(
                [(session, subjects)],
                status,
                how=f"cli {getattr(args, 'command', None) or status.value}",
                warn=warn,
                vault_id=vault_id,
                concurrency=args.concurrency,
                on_progress=progress,
                use_batch=None if getattr(args, "batch", True) else False,
            )
            decisions = recorded.decisions
            for decision in decisions:
                progress(decision)  # any the progress callback did not hear of
            elsewhere.update(
                (image_id, found)
                for image_id, found in (
                    await _shared_elsewhere(session, context, list(unshared))
                ).items()
                if found
            )
        except asyncio.CancelledError:
            # The deadline passed: what was sent may still be applied. Say so, per image.
            for decision in unshared.values():
                in_order.add(decision)
            in_order.rest(say_unknown)
            raise
        for decision in unshared.values():
            in_order.add(decision)
        context.flush_warnings()  # met on the way (a cache write): before the summary
        code = decision_exit(status, decisions, vault_id, results, count=len(image_ids))
        return 2 if elsewhere else code

    return run


async def login(session: CloudSession, context: Context) -> int:
    token = await session.token(force_new=True)
    # Names, ids and the endpoint all come from Keystone's answer: one line each, safely.
    project = (
        f"{token.project_name} ({token.project_id})" if token.project_name else token.project_id
    )
    expires = token.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    out(f"logged in as {safe_text(token.user_name)}@{safe_text(token.domain_name)}")
    out(f"project: {safe_text(project)}")
    out(f"image endpoint: {safe_text(token.image_endpoint)}")
    out(f"token expires: {expires} (in {countdown(token.seconds_left())})")
    lifetime = token.lifetime
    if not token.worth_caching and lifetime is not None:
        err(
            f"note: this cloud's tokens are valid for only {lifetime:.0f} s, so later commands "
            "will mostly log in again; keep OS_PASSWORD (or a saved password) at hand"
        )
    return 0


def _configured(settings: Settings) -> bool:
    """Whether any connection setting is there at all (a token needs some to be cached)."""
    return any(
        (
            settings.auth_url,
            settings.username,
            settings.project_name,
            settings.project_id,
            settings.token,
        )
    )


def logout(context: Context) -> int:
    settings = context.settings
    if not _configured(settings):
        loaded = context.loaded
        if loaded.cloud or loaded.path.exists():
            where = f"{loaded.source or loaded.path} has no connection settings"
        else:
            where = f"no config file at {loaded.path}"
        out(f"nothing to log out of: no cloud is configured ({where}, and no OS_* variables)")
        return 0
    dropped = context.cache.drop(settings.cache_key())
    context.flush_warnings()
    domain = settings.user_domain_name or settings.user_domain_id or "?"
    who = "the OS_TOKEN user" if settings.uses_token else f"{settings.username or '?'}@{domain}"
    where = settings.project_label or "?"
    if dropped:
        out(f"logged out: dropped the cached token of {who} for project {where}")
    else:
        out(f"no cached token for {who} in project {where}")
    return 0


COMMANDS: dict[str, CommandFn] = {
    "list": list_shares,
    "show": show,
    "accept": decide(MemberStatus.ACCEPTED),
    "reject": decide(MemberStatus.REJECTED),
    "pending": decide(MemberStatus.PENDING),
    "login": login,
}
