"""The ``imshare`` command: the TUI by default, subcommands for scripts.

Scripts must start fast, so nothing here imports Textual: the app (``tui.launch``) and the demo
cloud (``tui.democloud.cli``) are imported only when their command runs.

Exit codes: 0 success; 1 the cloud refused or failed (one stderr line per failed image);
2 usage or configuration errors (including "no password and nobody to ask"); 3 ``list
--exit-code`` found pending shares; 130 Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any, NoReturn

from tui import __version__, files, logsetup
from tui.cli.output import (
    DEFAULT_LIST,
    FORMATS,
    Row,
    UnknownColumn,
    column_names,
    render_list,
    render_show,
    resolve,
)
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, Member, MemberStatus, SharedImage, Token
from tui.cloud.session import CloudSession, Decision, PasswordRequired
from tui.cloud.token_cache import TokenCache
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import LoadedConfig, load

log = logging.getLogger("imshare.cli")

PROG = "imshare"
STATUS_CHOICES = ("pending", "accepted", "rejected", "all")
EXIT_PENDING = 3
_VERBS = {
    MemberStatus.ACCEPTED: "accepted",
    MemberStatus.REJECTED: "rejected",
    MemberStatus.PENDING: "pending",
}


class CliExit(Exception):
    """Stop with ``code`` after printing ``message`` (if any) to stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# ----------------------------------------------------------------------------- parsing


def _add_global_options(parser: argparse.ArgumentParser, *, in_subcommand: bool) -> None:
    # In a subcommand the defaults are suppressed, so `imshare --debug list` is not undone by
    # the subparser writing debug=False over it.
    default: Any = argparse.SUPPRESS if in_subcommand else None
    parser.add_argument(
        "--config",
        type=Path,
        metavar="PATH",
        default=default,
        help="config file to use (default: config.toml in the user config directory)",
    )
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS if in_subcommand else False,
        help="write a debug log (secrets redacted); `imshare locate` prints its path",
    )
    parser.add_argument(
        "--os-cloud",
        metavar="NAME",
        default=default,
        help="use cloud NAME from clouds.yaml (default: $OS_CLOUD); OS_* variables still win",
    )
    parser.add_argument(
        "--profile",
        metavar="NAME",
        default=default,
        help="use [profiles.NAME] of the config file (default: $IMSHARE_PROFILE, else the top "
        "level, called 'default')",
    )


def _add_output_options(parser: argparse.ArgumentParser, *, listing: bool) -> None:
    parser.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default: table)",
    )
    default = ", ".join(DEFAULT_LIST) if listing else "all"
    parser.add_argument(
        "-c",
        "--column",
        action="append",
        dest="columns",
        metavar="NAME",
        help=f"show only this column (repeatable; default: {default}); "
        f"columns: {', '.join(column_names())}",
    )
    parser.add_argument(
        "--json", action="store_true", help="same as -f json (the documented JSON objects)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Review, accept and reject images other projects share with your OpenStack / "
            "Open Telekom Cloud project. Without a command, the terminal UI starts."
        ),
        epilog=(
            "Credentials come from the config file (or one of its profiles, or a clouds.yaml "
            "cloud) and the OS_* variables, which win. Exit codes: 0 ok, 1 the cloud refused "
            "or failed, 2 usage or configuration error, 3 list --exit-code found pending shares."
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_global_options(parser, in_subcommand=False)
    tui_options = parser.add_argument_group("terminal UI options")
    tui_options.add_argument(
        "--demo", action="store_true", help="run against a built-in demo cloud (no account needed)"
    )
    tui_options.add_argument(
        "--demo-images",
        type=_positive_int,
        default=300,
        metavar="N",
        help="images in the demo cloud (default 300)",
    )
    tui_options.add_argument(
        "--demo-latency-ms",
        type=_non_negative_int,
        default=0,
        metavar="L",
        help="added latency per demo cloud request, in milliseconds",
    )
    tui_options.add_argument("--no-mouse", action="store_true", help="disable mouse support")
    tui_options.add_argument(
        "--read-only", action="store_true", help="browse only; accepting and rejecting are off"
    )
    tui_options.add_argument("--theme", metavar="NAME", help="colour theme (e.g. ansi-dark)")
    tui_options.add_argument(
        "--refresh",
        type=_non_negative_int,
        default=None,
        metavar="SECONDS",
        help="reload every SECONDS (min 5) and announce new shares (default: off)",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, **kwargs)
        _add_global_options(sub, in_subcommand=True)
        return sub

    sub = command("list", "list images shared with your project")
    sub.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        default="pending",
        help="member status to list (default: pending)",
    )
    _add_output_options(sub, listing=True)
    sub.add_argument(
        "--exit-code",
        action="store_true",
        help=f"exit {EXIT_PENDING} when the listing holds pending shares (for cron/monitoring)",
    )

    sub = command("show", "show one image and your member record for it")
    sub.add_argument("image_id", metavar="ID")
    _add_output_options(sub, listing=False)

    for name, what in (
        ("accept", "accept shared images"),
        ("reject", "reject shared images"),
        ("pending", "reset shared images to pending"),
    ):
        sub = command(name, what)
        sub.add_argument("image_ids", metavar="ID", nargs="+")
        if name == "accept":
            sub.add_argument(
                "--vault-id",
                default="",
                metavar="V",
                help="CBR server-backup vault, needed to accept full-ECS images",
            )
        sub.add_argument(
            "--concurrency",
            type=_positive_int,
            default=8,
            metavar="N",
            help="requests in flight at once (default 8)",
        )
        if name != "pending":
            sub.add_argument(
                "--no-batch",
                dest="batch",
                action="store_false",
                help="one request per image even where the cloud offers OTC's batch API",
            )

    command("login", "log in now (asks for the password if none is configured)")
    command("logout", "forget the cached token")
    command("locate", "print where the config, token cache and log file live")

    def port(text: str) -> int:
        value = _non_negative_int(text)  # 0: the kernel picks a free port, the URL names it
        if value > 65535:
            raise argparse.ArgumentTypeError(f"must be 0 to 65535, not {value}")
        return value

    serve = command(
        "serve",
        "serve the app to a browser on localhost (needs imshare[serve]); prints the URL to "
        "open, which carries a secret token",
    )
    serve.add_argument(
        "--port", type=port, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free)"
    )
    serve.add_argument("--demo", action="store_true", help="serve the app on the demo cloud")
    serve.add_argument("--read-only", action="store_true", help="browse only")
    # Its options belong to tui.democloud.cli, which is imported only when it runs.
    commands.add_parser(
        "demo-server",
        help="run the demo cloud in the foreground (prints export lines)",
        add_help=False,
    )
    return parser


def _positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, not {value}")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


# ----------------------------------------------------------------------------- output


def _sorted(images: list[SharedImage]) -> list[SharedImage]:
    return sorted(images, key=lambda image: (image.name, image.id))


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def _out(text: str = "") -> None:
    print(text, flush=True)


def _err(text: str) -> None:
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
                _err(f"warning: {warning}")


def _load_context(args: argparse.Namespace) -> Context:
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


def _ask_password(context: Context) -> None:
    """Ask on the terminal, or stop with exit 2 when nobody can be asked."""
    settings = context.settings
    if not _stdin_is_tty():
        raise CliExit(
            2,
            "no cached token and no password: set OS_PASSWORD, or run `imshare login` in a "
            "terminal first",
        )
    import getpass

    who = f"{settings.username}@{settings.user_domain_name}"
    try:
        password = getpass.getpass(f"Password for {who} ({settings.project_label}): ")
    except EOFError:
        raise CliExit(2, "no password given") from None
    if not password:
        raise CliExit(2, "no password given")
    logsetup.add_secret(password)
    settings.password = password


async def _ensure_token(session: CloudSession, context: Context, *, force: bool = False) -> Token:
    """A usable token, asking for the password once if the cache has none."""
    if force and context.settings.needs_password:
        _ask_password(context)
    try:
        token = await session.token(force_new=force)
    except PasswordRequired:
        _ask_password(context)
        token = await session.token(force_new=force)
    logsetup.add_secret(token.value)
    return token


_VAULT_CODES = {"IMG.0182", "IMG.0184", "IMG.0188", "IMG.0193"}


def _failure_summary(decision: Decision) -> str:
    """The error's summary without the "accepting <id>: " prefix the line already shows."""
    error = decision.error
    if error is None:
        return "the cloud did not confirm the decision"
    head, sep, rest = error.message.partition(": ")
    if sep and head.endswith(decision.image_id):
        error = copy.copy(error)
        error.message = rest
    return error.summary


CommandFn = Callable[[CloudSession, Context], Coroutine[Any, Any, int]]


def _with_session(context: Context, body: CommandFn) -> int:
    _require_usable(context)

    async def run() -> int:
        async with CloudSession(context.settings, context.cache) as session:
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


async def _cmd_list(session: CloudSession, context: Context) -> int:
    args = context.args
    fmt = _output_format(args)
    await _ensure_token(session, context)
    images = _sorted(await session.list_shared(_statuses(args.status)))
    if images or fmt in ("json", "csv"):
        _out(render_list([Row(image) for image in images], fmt, args.columns))
    if not images and fmt == "table":
        which = "" if args.status == "all" else f"{args.status} "
        _err(f"no {which}shares")
    if args.exit_code and any(image.status is MemberStatus.PENDING for image in images):
        return EXIT_PENDING
    return 0


async def _cmd_show(session: CloudSession, context: Context) -> int:
    args = context.args
    fmt = _output_format(args)
    await _ensure_token(session, context)
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
        _err(f"warning: {args.image_id} is not shared with project {project}")
    if member is not None:
        image = image.with_status(member.status)
    _out(render_show(Row(image, member), fmt, args.columns))
    return 0


def _decide(status: MemberStatus) -> CommandFn:
    async def run(session: CloudSession, context: Context) -> int:
        args = context.args
        await _ensure_token(session, context)
        image_ids = list(dict.fromkeys(args.image_ids))
        verb = _VERBS[status]

        def report(decision: Decision) -> None:
            if decision.ok:
                _out(f"{verb} {decision.image_id}")
            else:
                _err(f"{decision.image_id}: {_failure_summary(decision)}")

        decisions = await session.set_status_many(
            image_ids,
            status,
            vault_id=getattr(args, "vault_id", "") or "",
            concurrency=args.concurrency,
            on_progress=report,
            use_batch=None if getattr(args, "batch", True) else False,
        )
        failed = [d for d in decisions if not d.ok]
        if failed and len(image_ids) > 1:
            _err(f"{len(failed)} of {len(image_ids)} failed")
        vault_codes = {d.error.code for d in failed if d.error} & _VAULT_CODES
        if vault_codes and status is MemberStatus.ACCEPTED:
            if args.vault_id:
                _err(
                    f"the vault given with --vault-id ({args.vault_id}) was refused: pass the "
                    "id of an existing CBR server-backup vault with enough capacity, in this "
                    "project and region"
                )
            else:
                _err(
                    "full-ECS images can only be accepted with --vault-id V, the id of a CBR "
                    "server-backup vault with enough capacity"
                )
        return 1 if failed else 0

    return run


async def _cmd_login(session: CloudSession, context: Context) -> int:
    token = await _ensure_token(session, context, force=True)
    project = (
        f"{token.project_name} ({token.project_id})" if token.project_name else token.project_id
    )
    expires = token.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    _out(f"logged in as {token.user_name}@{token.domain_name}")
    _out(f"project: {project}")
    _out(f"image endpoint: {token.image_endpoint}")
    _out(f"token expires: {expires} (in {_duration(token.seconds_left())})")
    return 0


def _cmd_logout(context: Context) -> int:
    settings = context.settings
    dropped = context.cache.drop(settings.cache_key())
    context.flush_warnings()
    domain = settings.user_domain_name or settings.user_domain_id or "?"
    who = "the OS_TOKEN user" if settings.uses_token else f"{settings.username or '?'}@{domain}"
    where = settings.project_label or "?"
    if dropped:
        _out(f"logged out: dropped the cached token of {who} for project {where}")
    else:
        _out(f"no cached token for {who} in project {where}")
    return 0


def _cmd_locate(args: argparse.Namespace) -> int:
    from tui.settings import clouds_yaml

    config = args.config or files.config_file()
    _out(f"config:      {config}")
    _out(f"token cache: {files.token_cache_file()}")
    _out(f"log file:    {files.log_file()}")
    try:
        found = clouds_yaml.read_files()
    except ConfigError as error:
        _err(f"warning: {error}")
    else:
        _out(f"clouds.yaml: {found.clouds_path or '(none found)'}")
        if found.secure_path:
            _out(f"secure.yaml: {found.secure_path}")
    return 0


# ----------------------------------------------------------------------------- entry


def _run_tui(args: argparse.Namespace) -> int:
    from tui.app.launch import run

    # The app loads its settings through tui.config.load(), which honours these variables;
    # this process is the app's own, so setting them is how the flags reach it.
    if args.os_cloud and args.profile:
        raise CliExit(2, "--os-cloud and --profile cannot be combined")
    if args.os_cloud:
        os.environ.pop("IMSHARE_PROFILE", None)
        os.environ["OS_CLOUD"] = args.os_cloud
    elif args.profile:
        os.environ.pop("OS_CLOUD", None)
        os.environ["IMSHARE_PROFILE"] = args.profile
    return int(run(args) or 0)


def _run_demo_server(extra: list[str]) -> int:
    from tui.democloud import cli as demo_cli

    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo-server",
        description="Run the demo cloud (Keystone v3 + Glance v2) on loopback in the foreground.",
    )
    demo_cli.add_arguments(parser)
    return int(demo_cli.run(parser.parse_args(extra)) or 0)


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "locate":
        return _cmd_locate(args)
    if args.command == "serve":
        from tui.app import serve

        return serve.run(args)
    context = _load_context(args)
    if args.command == "logout":
        return _cmd_logout(context)
    commands: dict[str, CommandFn] = {
        "list": _cmd_list,
        "show": _cmd_show,
        "accept": _decide(MemberStatus.ACCEPTED),
        "reject": _decide(MemberStatus.REJECTED),
        "pending": _decide(MemberStatus.PENDING),
        "login": _cmd_login,
    }
    return _with_session(context, commands[args.command])


def _usage_error(parser: argparse.ArgumentParser, message: str) -> NoReturn:
    parser.error(message)


def main(argv: list[str] | None = None) -> int:
    """Run ``imshare``; returns the exit code (``SystemExit`` only from argparse)."""
    arguments = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args, extra = parser.parse_known_args(arguments)
    if args.command == "demo-server":
        try:
            return _run_demo_server(extra)
        except KeyboardInterrupt:
            return 130
    if extra:
        _usage_error(parser, f"unrecognized arguments: {' '.join(extra)}")

    is_tui = args.command is None
    try:
        logsetup.configure(bool(args.debug), stderr=not is_tui)
        log.debug("imshare %s: %s", __version__, " ".join(arguments))
        if is_tui:
            return _run_tui(args)
        return _dispatch(args)
    except CliExit as stop:
        if stop.message:
            _err(stop.message)
        return stop.code
    except PasswordRequired as error:
        _err(f"{error.message}: set OS_PASSWORD, or run `imshare login` in a terminal")
        return 2
    except ApiError as error:
        log.debug("failed: %r", error)
        _err(error.summary)
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `imshare list | head`: the reader left; say nothing more.
        _silence_stdout()
        return 1


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
