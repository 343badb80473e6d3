"""The ``imshare`` command: argument parsing and the entry point; the TUI by default.

Scripts must start fast, so nothing here imports Textual, asyncio or httpx at module level: the
app (``tui.app.launch``), the demo cloud (``tui.democloud.cli``) and the commands that talk to a
cloud (:mod:`tui.cli.commands`, where the exit codes are listed) are imported only when their
command runs, so `imshare --version`, `--help` and `locate` cost little more than Python's own
start-up; they load no settings model, filter language or logging either
(`tests/cli/test_cli_startup.py` checks what they import).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from tui import __version__
from tui.cli import watch_args
from tui.cli.stdio import (
    EXIT_CLOSED_PIPE,
    EXIT_PENDING,
    FORMATS,
    PROG,
    CliExit,
    StdoutFailed,
    err,
)

if TYPE_CHECKING:
    from tui.cli.commands import CommandFn

STATUS_CHOICES = ("pending", "accepted", "rejected", "all")
#: The decision commands and the member status each sets (``MemberStatus`` values: the
#: models are imported only when a command runs).
DECISIONS = {
    "accept": "accepted",
    "reject": "rejected",
    "pending": "pending",
}
#: The demo world of `imshare --demo`: several projects in two regions, so the all-projects
#: scope has something to show (the current project keeps shares of its own).
DEMO_PROJECTS = 6
DEMO_REGIONS = ("eu-de", "eu-nl")
#: The fields a filter term can name (``tui.filter_language.FIELDS``), as the help pages list
#: them: a constant, so `imshare --help` does not import the filter language and the models
#: under it (tests/cli/test_cli_startup.py checks that it says what the filter language does).
FILTER_FIELDS = "name: id: owner: os: status: format: member: region:"


# ----------------------------------------------------------------------------- parsing


class _OnHelp:
    """Text that only a help page shows, made when the page is printed: the column names live
    in modules (the output columns, the models under them) that `imshare --version`, `--help`
    and every command that never prints a subcommand's help must not import."""

    def __init__(self, make: Callable[[], str]) -> None:
        self._make = make

    def __str__(self) -> str:
        return self._make()


def _on_help(action: argparse.Action, **texts: Callable[[], str]) -> argparse.Action:
    """``%(name)s`` in ``action``'s help becomes ``texts[name]()`` when help is printed
    (argparse fills a help text from the action's attributes)."""
    for name, make in texts.items():
        setattr(action, name, _OnHelp(make))
    return action


def _column_list() -> str:
    from tui.cli.output import column_names

    return ", ".join(column_names())


def _default_columns() -> str:
    from tui.cli.output import DEFAULT_LIST

    return ", ".join(DEFAULT_LIST)


def _project_columns() -> str:
    from tui.cli.projects_output import PROJECT_COLUMNS

    return ", ".join(column.name for column in PROJECT_COLUMNS)


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
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        default=default,
        help="give up a command after SECONDS in all, retries and batch jobs included "
        "(default: the config's timeout, else 120; 0: no limit)",
    )


def _add_scope_options(
    parser: argparse.ArgumentParser, *, in_subcommand: bool, all_projects: bool = True
) -> None:
    """``--all-projects`` and ``--region``; in a subcommand they do not undo the same
    option given before it (``imshare --region eu-nl list --all-projects``)."""
    if all_projects:
        parser.add_argument(
            "--all-projects",
            action="store_const",
            const=True,
            default=argparse.SUPPRESS if in_subcommand else None,
            help="every project (and region) you may use, not only the current one",
        )
    parser.add_argument(
        "--region",
        type=_regions,
        metavar="R1[,R2...]",
        default=argparse.SUPPRESS if in_subcommand else None,
        help="only these regions of the all-projects scope (default: the config's regions, "
        "else all); one project's own region stays OS_REGION_NAME / region_name",
    )


def _add_output_options(parser: argparse.ArgumentParser, *, listing: bool) -> None:
    parser.add_argument(
        "-f",
        "--format",
        choices=FORMATS,
        default="table",
        help="output format (default: table)",
    )
    column = parser.add_argument(
        "-c",
        "--column",
        action="append",
        dest="columns",
        metavar="NAME",
        help="show only this column (repeatable; default: %(default_columns)s); "
        "columns: %(column_list)s",
    )
    _on_help(
        column,
        default_columns=_default_columns if listing else lambda: "all",
        column_list=_column_list,
    )
    parser.add_argument(
        "--json", action="store_true", help="same as -f json (the documented JSON objects)"
    )


class _LazySubcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Sub-commands whose options are added only when that command is parsed.

    Building every sub-command's options (~100 of them) took ~10 ms of each run, more than a
    `list` that needs one of them can spare. The top-level help lists only names and help
    texts, which ``add_parser`` has; a sub-command's own help and parsing run its builder
    first (``build_all`` builds every one, as the tests compare the pages with)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.builders: dict[str, Callable[[argparse.ArgumentParser], None]] = {}

    def build(self, name: str) -> None:
        builder = self.builders.pop(name, None)
        if builder is not None:
            builder(self._name_parser_map[name])

    def build_all(self) -> None:
        for name in list(self.builders):
            self.build(name)

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        self.build(values[0])  # argparse has checked that it names a command
        super().__call__(parser, namespace, values, option_string)


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
            "or failed or the output could not be written, 2 usage or configuration error, "
            "3 list --exit-code found pending shares (apply: found something to do), 4 apply "
            "(or watch --once --apply) would decide more than max_per_run, 141 the output's "
            "reader left (| head)."
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
        "--demo-projects",
        type=_positive_int,
        default=DEMO_PROJECTS,
        metavar="N",
        help=f"projects of the demo user, spread over the demo regions (default {DEMO_PROJECTS})",
    )
    tui_options.add_argument(
        "--demo-regions",
        type=_regions,
        default=DEMO_REGIONS,
        metavar="R1[,R2...]",
        help=f"regions of the demo cloud (default {','.join(DEMO_REGIONS)})",
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
        "--filter",
        metavar="TEXT",
        help=f"start filtered, as if TEXT was typed after / (fields: {FILTER_FIELDS})",
    )
    tui_options.add_argument(
        "--refresh",
        type=_non_negative_int,
        default=None,
        metavar="SECONDS",
        help="reload every SECONDS (min 5) and announce new shares (default: off)",
    )
    tui_options.add_argument(
        "--notify",
        choices=("off", "bell", "desktop"),
        default=None,
        help="on new shares also ring the bell, or send a desktop notification where the "
        "terminal shows one (OSC 9/777); default: [ui] notify, else off",
    )
    _add_scope_options(parser, in_subcommand=False)

    parser.register("action", "parsers", _LazySubcommands)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    assert isinstance(commands, _LazySubcommands)

    def command(
        name: str,
        help_text: str,
        build: Callable[[argparse.ArgumentParser], None] | None = None,
        **kwargs: Any,
    ) -> None:
        commands.add_parser(name, help=help_text, description=help_text, **kwargs)

        def populate(sub: argparse.ArgumentParser) -> None:
            _add_global_options(sub, in_subcommand=True)
            if build is not None:
                build(sub)

        commands.builders[name] = populate

    command("list", "list images shared with your project", _list_options)
    command("show", "show one image and your member record for it", _show_options)
    for name, what in (
        ("accept", "accept shared images"),
        ("reject", "reject shared images"),
        ("pending", "reset shared images to pending"),
    ):
        command(name, what, functools.partial(_decision_options, name=name))
    command(
        "projects",
        "list the projects you may use, with their region and how many shares each holds",
        _projects_options,
    )
    command(
        "history",
        "show the decision journal: every accept, reject and reset imshare sent, newest last",
        _history_options,
    )
    command(
        "undo",
        "set the images of your last decision(s) back to the status they had (from the journal)",
        _undo_options,
    )
    command("owners", "list the owner names of owners.toml (owners set: name one)", _owners_options)
    command(
        "apply",
        "show what the rules of rules.toml would decide (a dry run); --yes decides it",
        _apply_options,
    )
    command("watch", watch_args.HELP, watch_args.add_arguments)
    command("login", "log in now (asks for the password if none is configured)")
    command("logout", "forget the cached token")
    command("locate", "print where the config, token cache and log file live")
    command(
        "serve",
        "serve the app to a browser on localhost (needs imshare[serve]); prints the URL to "
        "open, which carries a secret token",
        _serve_options,
    )
    # Its options belong to tui.democloud.cli, which is imported only when it runs.
    commands.add_parser(
        "demo-server",
        help="run the demo cloud in the foreground (prints export lines)",
        add_help=False,
    )
    return parser


def build_every_command(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``parser`` with every sub-command's options added now, as before they were added on
    demand (the tests compare each help page with this one's)."""
    for action in parser._subparsers._group_actions if parser._subparsers else ():
        if isinstance(action, _LazySubcommands):
            action.build_all()
    return parser


def _list_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--status",
        choices=STATUS_CHOICES,
        default=None,
        help="member status to list (default: pending; with a status: filter term, the "
        "statuses it can match)",
    )
    sub.add_argument(
        "--filter",
        metavar="TEXT",
        default=argparse.SUPPRESS,  # `imshare --filter X list` keeps X
        help="only images matching TEXT: words that must all match the name, id, owner "
        f"or OS; field:text for one field ({FILTER_FIELDS}); !term negates; "
        '"quoted words" are one term; case-insensitive',
    )
    _add_output_options(sub, listing=True)
    _add_scope_options(sub, in_subcommand=True)
    sub.add_argument(
        "--wide",
        action="store_true",
        help="never cut the table to the terminal's width",
    )
    sub.add_argument(
        "--max-width",
        type=_non_negative_int,
        metavar="N",
        help="cut the table to N columns, even into a pipe (default: the terminal's width "
        "when printing to one; 0: never)",
    )
    sub.add_argument(
        "--exit-code",
        action="store_true",
        help=f"exit {EXIT_PENDING} when the listing holds pending shares (for cron/monitoring)",
    )


def _show_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "image", metavar="IMAGE", help="image id, or the exact name of one shared image"
    )
    _add_output_options(sub, listing=False)


def _decision_options(sub: argparse.ArgumentParser, *, name: str) -> None:
    sub.add_argument("image_ids", metavar="ID", nargs="+")
    _add_scope_options(sub, in_subcommand=True)
    sub.add_argument(
        "--project",
        metavar="NAME|ID",
        help="decide in this project of yours instead of the current one",
    )
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


def _projects_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("-f", "--format", choices=FORMATS, default="table", help="output format")
    _on_help(
        sub.add_argument(
            "-c",
            "--column",
            action="append",
            dest="columns",
            metavar="NAME",
            help="show only this column (repeatable); columns: %(project_columns)s",
        ),
        project_columns=_project_columns,
    )
    sub.add_argument("--json", action="store_true", help="same as -f json")
    sub.add_argument(
        "--wide", action="store_true", help="never cut the table to the terminal's width"
    )
    sub.add_argument(
        "--max-width", type=_non_negative_int, metavar="N", help="cut the table to N columns"
    )
    _add_scope_options(sub, in_subcommand=True, all_projects=False)


def _history_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--image", metavar="ID", help="only this image")
    sub.add_argument(
        "--since",
        metavar="WHEN",
        help="only decisions since an age (30m, 24h, 7d, 2w) or a date (2026-12-01, UTC)",
    )
    sub.add_argument("--operation", metavar="OPID", help="only this operation")
    sub.add_argument(
        "-f", "--format", choices=FORMATS, default="table", help="output format (default: table)"
    )
    sub.add_argument("--json", action="store_true", help="same as -f json (every field)")
    sub.add_argument("--wide", action="store_true", help="never cut the table to the terminal")
    sub.add_argument(
        "--max-width", type=_non_negative_int, metavar="N", help="cut the table to N columns"
    )


def _undo_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument(
        "--last",
        type=_positive_int,
        default=1,
        metavar="N",
        help="undo your last N operations, newest first (default 1)",
    )
    sub.add_argument("--yes", action="store_true", help="do not ask (needed without a terminal)")
    sub.add_argument(
        "--concurrency",
        type=_positive_int,
        default=8,
        metavar="N",
        help="requests in flight at once (default 8)",
    )


def _port(text: str) -> int:
    value = _non_negative_int(text)  # 0: the kernel picks a free port, the URL names it
    if value > 65535:
        raise argparse.ArgumentTypeError(f"must be 0 to 65535, not {value}")
    return value


def _serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--port", type=_port, default=8000, help="port on 127.0.0.1 (default 8000; 0: any free)"
    )
    serve.add_argument("--demo", action="store_true", help="serve the app on the demo cloud")
    serve.add_argument("--read-only", action="store_true", help="browse only")


def _owners_options(sub: argparse.ArgumentParser) -> None:
    """``owners`` (names of owners.toml)."""
    sub.add_argument("-f", "--format", choices=("table", "json"), default="table")
    actions = sub.add_subparsers(dest="owners_command", metavar="set")
    named = actions.add_parser(
        "set",
        help="name an owner and set its trust",
        description="Name the sharing project ID (an empty --name with --trust unknown "
        "forgets it).",
    )
    named.add_argument("owner_id", metavar="ID", help="the owner's project id")
    named.add_argument("--name", default=None, help="the name to show for it")
    named.add_argument(
        "--trust",
        default=None,
        help="trusted, unknown (the default) or blocked (flagged, asks twice, never ruled)",
    )


def _apply_options(sub: argparse.ArgumentParser) -> None:
    """``apply`` (the rules of rules.toml)."""
    sub.add_argument("--yes", action="store_true", help="send the decisions (default: dry run)")
    sub.add_argument(
        "--force",
        action="store_true",
        help="decide even when the rules would decide more than max_per_run images",
    )
    _add_scope_options(sub, in_subcommand=True)
    sub.add_argument("-f", "--format", choices=("table", "json"), default="table")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text}")
    return value


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


def _regions(text: str) -> tuple[str, ...]:
    # Imported only when --region is given: the settings model is no part of `--help`.
    from tui.settings.model import ConfigError, parse_regions

    try:
        regions = parse_regions(text, "region")
    except ConfigError as error:
        message = str(error).removeprefix("region: ").removeprefix("regions: ")
        raise argparse.ArgumentTypeError(message) from None
    if not regions:
        raise argparse.ArgumentTypeError("needs at least one region name, e.g. eu-de,eu-nl")
    return regions


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None


# ----------------------------------------------------------------------------- entry


def _run_tui(args: argparse.Namespace) -> int:
    from tui.cli import commands

    commands.compiled_filter(args.filter)  # a filter it cannot read: exit 2 before the app

    from tui.app.launch import run

    return int(run(args) or 0)


def _run_demo_server(extra: list[str]) -> int:
    from tui.democloud import cli as demo_cli

    parser = argparse.ArgumentParser(
        prog=f"{PROG} demo-server",
        description="Run the demo cloud (Keystone v3 + Glance v2) on loopback in the foreground.",
    )
    demo_cli.add_arguments(parser)
    return int(demo_cli.run(parser.parse_args(extra)) or 0)


def scope_problem(args: argparse.Namespace) -> str:
    """Why ``--all-projects``, ``--region`` and ``--project`` do not go together with this
    command (``""`` when they do): an option that would be ignored is a usage error."""
    command = args.command
    all_projects = bool(getattr(args, "all_projects", None))
    project = getattr(args, "project", None)
    region = getattr(args, "region", None) is not None
    if all_projects and command not in (None, "list", "apply", "watch", *DECISIONS):
        return (
            "--all-projects works with the app, list, accept, reject, pending, apply and watch, "
            f"not {command}"
        )
    if project is not None and all_projects:
        return "--project names one project and --all-projects means every one: choose one"
    if project is not None and not project.strip():
        return "--project needs a project name or id"
    if region and command not in (None, "projects") and not (all_projects or project):
        return (
            "--region chooses regions of --all-projects (or of --project); one project's own "
            "region is OS_REGION_NAME or region_name in the config"
        )
    return ""


def _command_fn(args: argparse.Namespace) -> CommandFn:
    """The command to run; the every-project commands (and the inbox under them) are
    imported only when asked for, so one project's `imshare list` does not load them."""
    from tui.cli import commands

    all_projects = bool(getattr(args, "all_projects", None))
    status = DECISIONS.get(args.command)
    every = status is not None and (all_projects or getattr(args, "project", None))
    if args.command == "projects" or (args.command == "list" and all_projects) or every:
        from tui.cli import everywhere
        from tui.cloud.models import MemberStatus

        if args.command == "projects":
            return everywhere.projects
        if args.command == "list":
            return everywhere.list_everywhere
        return everywhere.decide_in_projects(MemberStatus(status))
    return commands.COMMANDS[args.command]


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "locate":
        from tui.cli.locate import locate

        return locate(args)
    from tui.cli import commands

    if args.command == "history":
        from tui.cli import history

        return history.run(args, commands.out, commands.err, max_width=commands.table_width(args))
    if args.command == "serve":
        from tui.app import serve

        return serve.run(args)
    if args.command == "owners":
        from tui.cli import owners_cmd

        return owners_cmd.run(args)
    context = commands.load_context(args)
    if args.command == "apply":
        from tui.cli.apply import apply

        return commands.with_session(context, apply)
    if args.command == "watch":
        from tui.cli import watch

        return watch.run(context)
    if args.command == "logout":
        return commands.logout(context)
    if args.command == "undo":
        from tui.cli import undo

        return commands.with_session(context, undo.run)
    return commands.with_session(context, _command_fn(args))


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
    problem = scope_problem(args)
    if problem:
        _usage_error(parser, problem)

    is_tui = args.command is None
    try:
        # `locate` logs nothing, so without --debug it sets up no logging and answers as
        # fast as `--version`; everything else has its log (and warnings) from here on.
        if args.debug or args.command != "locate":
            _start_logging(bool(args.debug), is_tui, arguments)
        if is_tui:
            return _run_tui(args)
        return _dispatch(args)
    except CliExit as stop:
        if stop.message:
            err(stop.message)
        return stop.code
    except StdoutFailed as failure:
        if failure.closed_pipe:
            # `imshare list | head -1`: the reader left; say nothing, as Unix tools do.
            return EXIT_CLOSED_PIPE
        err(f"cannot write to standard output: {failure.reason}")
        return 1
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # A closed pipe that surfaced outside ``out()``: the reader left all the same.
        _silence_stdout()
        return EXIT_CLOSED_PIPE
    except Exception as error:  # last: StdoutFailed and BrokenPipeError are handled above
        code = _cloud_failure(error)
        if code is None:
            raise
        return code


def _start_logging(debug: bool, is_tui: bool, arguments: list[str]) -> None:
    """Imported here: `--version` and `--help` have exited before, without logging."""
    import logging

    from tui import logsetup

    logsetup.configure(debug, stderr=not is_tui)
    if not is_tui:  # the app shows them itself, as toasts
        for problem in logsetup.problems:
            err(f"warning: {problem}")
    logging.getLogger("imshare.cli").debug("imshare %s: %s", __version__, " ".join(arguments))


def _cloud_failure(error: Exception) -> int | None:
    """The exit code of a failure of the cloud layer, said on stderr; None for anything else.

    Imported here, not at the top: only a command that talked to a cloud can raise these, and
    the commands that do not must not pay for importing httpx.
    """
    import logging

    from tui.cloud.errors import ApiError
    from tui.cloud.session import PasswordRequired
    from tui.formatting import safe_text

    if isinstance(error, PasswordRequired):
        err(f"{error.message}: set OS_PASSWORD, or run `imshare login` in a terminal")
        return 2
    if isinstance(error, ApiError):
        logging.getLogger("imshare.cli").debug("failed: %r", error)
        err(safe_text(error.summary))  # the cloud's words: one line, inert
        return 1
    return None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":
    sys.exit(main())
