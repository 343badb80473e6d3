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
import errno
import getpass
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from tui import files, logsetup
from tui.cli.output import Row, UnknownColumn, render_list, render_show, resolve
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Decision, Member, MemberStatus, SharedImage
from tui.cloud.session import AskPassword, CloudSession
from tui.cloud.token_cache import TokenCache
from tui.formatting import countdown
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import LoadedConfig, load

log = logging.getLogger("imshare.cli")

PROG = "imshare"
EXIT_PENDING = 3
#: 128 + SIGPIPE: what a shell reports for a tool whose reader left, as ``yes | head -1``.
EXIT_CLOSED_PIPE = 141
#: Wrong passwords typed at the terminal before a command gives up, as sudo does.
PASSWORD_TRIES = 3
_VAULT_CODES = {"IMG.0182", "IMG.0184", "IMG.0188", "IMG.0193"}


class CliExit(Exception):
    """Stop with ``code`` after printing ``message`` (if any) to stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StdoutFailed(Exception):
    """Standard output cannot be written: a closed pipe, a full disk, a closed descriptor."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error

    @property
    def closed_pipe(self) -> bool:
        """The reader left (EPIPE): nobody wants the rest, which is not a failure of ours."""
        return isinstance(self.error, BrokenPipeError)

    @property
    def reason(self) -> str:
        return self.error.strerror or str(self.error)


def out(text: str = "") -> None:
    """Write one result to stdout, at once; raises ``StdoutFailed`` when stdout cannot take it.

    Straight to the descriptor, not through Python's buffer: a write that fails after a short
    one (a pipe closed mid-way, a file size limit) must fail *this* call, so the caller knows
    which result did not arrive, and no half-written rest waits in a buffer.
    """
    stream = sys.stdout
    try:
        if stream is None:  # started with stdout closed (`>&-`)
            raise OSError(errno.EBADF, "standard output is closed")
        data = text + "\n"
        fd = _descriptor(stream)
        if fd is None:  # a stand-in without a descriptor (a test's capture)
            stream.write(data)
            stream.flush()
            return
        stream.flush()  # whatever was printed before comes first
        _write_all(fd, data.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    except OSError as error:
        _discard_stdout(stream)
        raise StdoutFailed(error) from None


def _descriptor(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _discard_stdout(stream: Any) -> None:
    """Point stdout's descriptor at /dev/null.

    What stdout still buffers is flushed again when Python exits; written to a closed pipe or a
    full disk, that flush would print "Exception ignored" and make the exit status 120.
    """
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def err(text: str) -> None:
    """One line on stderr; if even stderr cannot be written, there is nowhere left to say it."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(f"{PROG}: {text}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- context


@dataclass(slots=True)
class Context:
    args: argparse.Namespace
    loaded: LoadedConfig
    cache: TokenCache
    warned: set[str] = field(default_factory=set)

    @property
    def settings(self) -> Settings:
        return self.loaded.settings

    def flush_warnings(self) -> None:
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


def terminal_password_prompt(settings: Settings) -> AskPassword:
    """The session's ``ask_password`` for a terminal: getpass, at most ``PASSWORD_TRIES`` times.

    Without a terminal nobody can be asked: the session then raises ``PasswordRequired``,
    which ends the command with exit 2 and a line naming OS_PASSWORD and ``imshare login``.
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
        try:
            return getpass.getpass(f"Password for {who} ({settings.project_label}): ") or None
        except EOFError:
            return None

    return ask


CommandFn = Callable[[CloudSession, Context], Coroutine[Any, Any, int]]


def with_session(context: Context, body: CommandFn) -> int:
    """Run ``body`` with a session for the context's settings, in a fresh event loop."""
    _require_usable(context)

    async def run() -> int:
        session = CloudSession(
            context.settings,
            context.cache,
            ask_password=terminal_password_prompt(context.settings),
        )
        async with session:
            try:
                return await body(session, context)
            finally:
                context.flush_warnings()

    return asyncio.run(run())


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
    args = context.args
    fmt = _output_format(args)
    images = _sorted(await session.list_shared(_statuses(args.status)))
    if images or fmt in ("json", "csv"):
        out(render_list([Row(image) for image in images], fmt, args.columns))
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
        err(f"warning: {args.image_id} is not shared with project {project}")
    if member is not None:
        image = image.with_status(member.status)
    out(render_show(Row(image, member), fmt, args.columns))
    return 0


def decide(status: MemberStatus) -> CommandFn:
    """``accept``, ``reject`` or ``pending``: every image gets a line, stdout or stderr.

    ``report`` runs while other decisions are still in flight, so it must never raise: once
    stdout fails, the remaining confirmations go to stderr (after a closed pipe nowhere: the
    reader asked for no more), and the exit code says that not everything reached stdout.
    """

    async def run(session: CloudSession, context: Context) -> int:
        args = context.args
        image_ids = list(dict.fromkeys(args.image_ids))
        await session.token()  # one login (or prompt) before the decisions start
        lost: list[StdoutFailed] = []

        def report(decision: Decision) -> None:
            if not decision.ok:
                reason = decision.error.reason if decision.error else "not confirmed by the cloud"
                err(f"{decision.image_id}: {reason}")
                return
            line = f"{status.value} {decision.image_id}"
            if not lost:
                try:
                    out(line)
                    return
                except StdoutFailed as failure:
                    lost.append(failure)
                    if not failure.closed_pipe:
                        err(
                            f"cannot write to standard output ({failure.reason}); "
                            "the results from here on follow on stderr"
                        )
            if not lost[0].closed_pipe:
                err(line)

        decisions = await session.set_status_many(
            image_ids,
            status,
            vault_id=getattr(args, "vault_id", "") or "",
            concurrency=args.concurrency,
            on_progress=report,
            use_batch=None if getattr(args, "batch", True) else False,
        )
        failed = [d for d in decisions if not d.ok]
        if lost and not lost[0].closed_pipe:
            err(
                f"{sum(1 for d in decisions if d.ok)} of {len(image_ids)} {status.done}, "
                f"{len(failed)} failed; standard output could not be written "
                f"({lost[0].reason})"
            )
        elif failed and len(image_ids) > 1:
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
        if failed or (lost and not lost[0].closed_pipe):
            return 1
        return EXIT_CLOSED_PIPE if lost else 0

    return run


async def login(session: CloudSession, context: Context) -> int:
    token = await session.token(force_new=True)
    project = (
        f"{token.project_name} ({token.project_id})" if token.project_name else token.project_id
    )
    expires = token.expires_at.strftime("%Y-%m-%d %H:%M:%S UTC")
    out(f"logged in as {token.user_name}@{token.domain_name}")
    out(f"project: {project}")
    out(f"image endpoint: {token.image_endpoint}")
    out(f"token expires: {expires} (in {countdown(token.seconds_left())})")
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
    return 0


COMMANDS: dict[str, CommandFn] = {
    "list": list_shares,
    "show": show,
    "accept": decide(MemberStatus.ACCEPTED),
    "reject": decide(MemberStatus.REJECTED),
    "pending": decide(MemberStatus.PENDING),
    "login": login,
}
