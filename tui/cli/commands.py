"""What each ``imshare`` sub-command does, given its parsed arguments.

Nothing here imports Textual. A command returns its exit code or raises ``CliExit``; the session
it gets owns logging in (it asks for the password on the terminal through ``ask_password``
when none is configured, and again after a wrong one).

Exit codes: 0 success; 1 the cloud refused or failed (one stderr line per failed image);
2 usage or configuration errors (including "no password and nobody to ask"); 3 ``list
--exit-code`` found pending shares; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from tui import files, logsetup
from tui.cli.output import Row, UnknownColumn, render_list, render_show, resolve
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage
from tui.cloud.session import AskPassword, CloudSession
from tui.cloud.token_cache import TokenCache
from tui.formatting import countdown, safe_text
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import LoadedConfig, load

log = logging.getLogger("imshare.cli")

PROG = "imshare"
EXIT_PENDING = 3
#: Wrong passwords typed at the terminal before a command gives up, as sudo does.
PASSWORD_TRIES = 3
_VAULT_CODES = {"IMG.0182", "IMG.0184", "IMG.0188", "IMG.0193"}


class CliExit(Exception):
    """Stop with ``code`` after printing ``message`` (if any) to stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def out(text: str = "") -> None:
    """Print to stdout; the last guard before the terminal: no control character passes.

    Callers lay out lines themselves (a table, a JSON array), so line breaks stay.
    """
    print(safe_text(text, multiline=True), flush=True)


def err(text: str) -> None:
    """One message on stderr; it may quote the cloud (an error body, a project name)."""
    print(f"{PROG}: {safe_text(text, multiline=True)}", file=sys.stderr, flush=True)


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


def _require_usable(context: Context) -> None:
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
    _require_usable(context)
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


def _statuses(choice: str) -> tuple[MemberStatus, ...]:
    return ALL_STATUSES if choice == "all" else (MemberStatus(choice),)


def _output_format(args: argparse.Namespace) -> str:
    fmt = "json" if args.json else args.format
    try:
        resolve(args.columns)  # a typo is a usage error before any network call
    except UnknownColumn as error:
        raise CliExit(2, str(error)) from None
    return fmt


def _sorted(images: list[SharedImage]) -> list[SharedImage]:
    return sorted(images, key=lambda image: (image.name, image.id))


async def list_shares(session: CloudSession, context: Context) -> int:
    """Print what could be listed; a status that could not be listed is named on stderr and
    makes the exit code 1 (it wins over ``--exit-code``'s 3: the answer is incomplete)."""
    args = context.args
    fmt = _output_format(args)
    listing = await session.list_shares(_statuses(args.status))
    if len(listing.failed) == len(_statuses(args.status)):
        raise next(iter(listing.failed.values()))  # nothing listed at all: one plain error
    images = _sorted(listing.images)
    if images or fmt in ("json", "csv"):
        out(render_list([Row(image) for image in images], fmt, args.columns))
    for status, error in listing.failed.items():
        err(f"could not list the {status.value} shares, so this list is incomplete: {error.reason}")
    if listing.failed:
        return 1
    if not images and fmt == "table":
        which = "" if args.status == "all" else f"{args.status} "
        err(f"no {which}shares")
    if args.exit_code and any(image.status is MemberStatus.PENDING for image in images):
        return EXIT_PENDING
    return 0


async def show(session: CloudSession, context: Context) -> int:
    args = context.args
    fmt = _output_format(args)
    await session.token()  # one login (or prompt) before the two reads start
    image_task = asyncio.ensure_future(session.get_image(args.image_id))
    member_task = asyncio.ensure_future(session.get_member(args.image_id))
    try:
        image = await image_task
    except BaseException:
        member_task.cancel()
        await asyncio.gather(member_task, return_exceptions=True)
        raise
    member: Member | None
    try:
        member = await member_task
    except ApiError as error:
        if error.status != 404:
            raise
        member = None
        token = session.current_token
        project = token.project_id if token else "?"
        err(f"warning: {args.image_id} is not shared with project {safe_text(project)}")
    if member is not None:
        image = image.with_status(member.status)
    out(render_show(Row(image, member), fmt, args.columns))
    return 0


def decide(status: MemberStatus) -> CommandFn:
    """``accept``, ``reject`` or ``pending``: every image gets a line, stdout or stderr."""

    async def run(session: CloudSession, context: Context) -> int:
        args = context.args
        image_ids = list(dict.fromkeys(args.image_ids))
        await session.token()  # one login (or prompt) before the decisions start

        outcomes: set[str] = set()

        def report(decision: Decision) -> None:
            outcomes.add(decision.image_id)
            if decision.ok:
                out(f"{status.value} {decision.image_id}")
            else:
                reason = decision.error.reason if decision.error else "not confirmed by the cloud"
                err(f"{decision.image_id}: {safe_text(reason)}")

        if context.deadline is not None:
            # Stop waiting for a batch job in time to read its images back before the end.
            left = context.deadline - asyncio.get_running_loop().time()
            session.batch_timeout = max(1.0, min(session.batch_timeout, left - 10))
        try:
            decisions = await session.set_status_many(
                image_ids,
                status,
                vault_id=getattr(args, "vault_id", "") or "",
                concurrency=args.concurrency,
                on_progress=report,
                use_batch=None if getattr(args, "batch", True) else False,
            )
        except asyncio.CancelledError:
            # The deadline passed: what was sent may still be applied. Say so, per image.
            for image_id in image_ids:
                if image_id not in outcomes:
                    err(
                        f"{image_id}: unknown: no answer before the deadline; the cloud may "
                        f"still apply it (check with: imshare show {image_id})"
                    )
            raise
        failed = [d for d in decisions if not d.ok]
        login = next((d.error for d in failed if d.error is not None and d.error.login), None)
        if login is not None and len(failed) == len(decisions):
            # Nothing was decided because the login failed: end as `list` would, so scripts
            # see the same exit code for "log in again" whatever the command.
            raise login
        if failed and len(image_ids) > 1:
            err(f"{len(failed)} of {len(image_ids)} failed")
        vault_codes = {d.error.code for d in failed if d.error} & _VAULT_CODES
        if vault_codes and status is MemberStatus.ACCEPTED:
            if args.vault_id:
                err(
                    f"the vault given with --vault-id ({args.vault_id}) was refused: pass the "
                    "id of an existing CBR server-backup vault with enough capacity, in this "
                    "project and region"
                )
            else:
                err(
                    "full-ECS images can only be accepted with --vault-id V, the id of a CBR "
                    "server-backup vault with enough capacity"
                )
        return 1 if failed else 0

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


def logout(context: Context) -> int:
    settings = context.settings
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


def locate(args: argparse.Namespace) -> int:
    from tui.settings import clouds_yaml

    config = args.config or files.config_file()
    out(f"config:      {config}")
    out(f"token cache: {files.token_cache_file()}")
    out(f"log file:    {files.log_file()}")
    try:
        found = clouds_yaml.read_files()
    except ConfigError as error:
        err(f"warning: {error}")
    else:
        out(f"clouds.yaml: {found.clouds_path or '(none found)'}")
        if found.secure_path:
            out(f"secure.yaml: {found.secure_path}")
        for warning in found.warnings:
            err(f"warning: {warning}")
    return 0


COMMANDS: dict[str, CommandFn] = {
    "list": list_shares,
    "show": show,
    "accept": decide(MemberStatus.ACCEPTED),
    "reject": decide(MemberStatus.REJECTED),
    "pending": decide(MemberStatus.PENDING),
    "login": login,
}
