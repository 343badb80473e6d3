"""The Textual application: it owns the settings, the session and the store, and applies what
its screens return.

Screens get their inputs in their constructors and hand results back with ``dismiss``: the
config screen returns settings to save, the picker a profile, cloud or project to switch to. The
app turns those into files and sessions, and gives the main screen the new session. The session
asks for a password through the app (a dialog); nothing else here logs in.

All network work runs in workers with ``exit_on_error=False``; anything a worker did not handle
itself reaches ``on_worker_failed`` as a toast, so a bad response never takes the app down or
leaves the terminal dirty. So does an error raised in an action, a handler, a callback or a
timer; an error the app cannot survive (see :mod:`tui.app.crash`) ends it with one line on
stderr naming a redacted log, never with Textual's traceback and its locals. Every toast passes
``notify`` here, which applies ``safe_text``: a toast quotes image names, project ids and the
cloud's error messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from textual import events, on, work
from textual.app import App
from textual.binding import Binding
from textual.content import Content
from textual.filter import Monochrome, NoColor
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input
from textual.worker import WorkerFailed as TextualWorkerFailed

from tui.app import crash, notify
from tui.app.commands import ImshareCommands
from tui.app.message_log import Level, MessageLog
from tui.app.messages import ReportsWorkerFailures, WorkerFailed
from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen, PasswordScreen
from tui.app.store import ImageStore
from tui.app.widgets.context_bar import ContextBar
from tui.cloud.auth import host_of
from tui.cloud.errors import ApiError
from tui.cloud.models import Token
from tui.cloud.session import CloudSession
from tui.cloud.token_cache import TokenCache
from tui.formatting import safe_text
from tui.journal import Journal
from tui.settings import config_file, sources
from tui.settings.model import ConfigError, Settings

if TYPE_CHECKING:
    from tui.app.screens.picker import PickerChoice, PickerContext
    from tui.cloud.inbox import Inbox

# The screens a key opens (log, help, config, picker), clouds.yaml and the all-projects inbox
# are imported when first used: the first rows do not need them, and importing them at start
# (rich.pretty and attrs come with the log screen) is time before the first frame.

log = logging.getLogger("imshare.app")

DEFAULT_THEME = "textual-dark"
# How long quitting waits for decisions in flight (each request has its own deadline too).
QUIT_WAIT = 30.0
# Keys whose destination is remembered until they reach the app (a burst is a few dozen).
_KEY_ORIGINS = 256


def _refresh_seconds(explicit: float | None, prefs: dict[str, Any]) -> float:
    """The auto-refresh interval: off (0) unless the command line or [ui] sets one (min 5 s)."""
    value: Any = explicit if explicit is not None else prefs.get("refresh_seconds", 0)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return max(seconds, 5.0) if seconds > 0 else 0.0


def _notify_mode(explicit: str | None, prefs: dict[str, Any]) -> tuple[str, str]:
    """``--notify``, else ``[ui] notify``, else off; and the warning for a value it cannot use."""
    if explicit is not None:
        return notify.parse_mode(explicit, "--notify"), ""
    try:
        return notify.parse_mode(prefs.get("notify", "off"), "config [ui]"), ""
    except notify.NotifyModeError as error:
        return "off", f"{error}; new shares are announced in a toast only"


def context_hint(settings: Settings) -> str:
    """What the context bar says before a token tells the real project."""
    if not settings.auth_url:
        return "not configured — press c"
    return f"{host_of(settings.auth_url)} │ {settings.project_label or '?'} │ not logged in"


class ImshareApp(ReportsWorkerFailures, App[int]):
    """Review images shared with your project; accept or reject them with one key."""

    TITLE = "imshare"
    CSS_PATH = "imshare.tcss"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ImshareCommands}

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit_app"),
        Binding(
            "question_mark,f1",
            "help",
            "Help",
            tooltip="Every key of this screen",
            id="help",
        ),
        Binding(
            "at",
            "show_log",
            "Log",
            show=False,
            tooltip="Message log: every failure, decision and warning of this run, with times",
            id="log",
        ),
    ]

    def __init__(
        self,
        settings: Settings,
        *,
        cache: TokenCache | None,
        config_path: Path | None = None,
        ui_prefs: dict[str, Any] | None = None,
        read_only: bool = False,
        theme: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        demo: bool = False,
        startup_warnings: list[str] | None = None,
        refresh_seconds: float | None = None,
        notify_mode: str | None = None,
        profile: str = config_file.DEFAULT_PROFILE,
        cloud: str = "",
        all_projects: bool | None = None,
        regions: tuple[str, ...] = (),
        initial_filter: str = "",
        crash_log: Path | None = None,
    ) -> None:
        super().__init__()
        #: Where a crash's details go without --debug (default: crash.log in the config dir).
        self.crash_log = crash_log
        #: The line a crash prints once the terminal is restored; None while all is well.
        self.crash_line: str | None = None
        self._crash_line_printed = False
        #: Errors the funnel reported that were not the cloud's (tests assert on these).
        self.unexpected_errors: list[BaseException] = []
        self.cache = cache
        self.config_path = config_path
        self.ui_prefs: dict[str, Any] = dict(ui_prefs or {})
        self.read_only = read_only
        self.refresh_seconds = _refresh_seconds(refresh_seconds, self.ui_prefs)
        #: Bell or desktop notification on new shares (``[ui] notify``, ``--notify``).
        self.notify_mode, notify_problem = _notify_mode(notify_mode, self.ui_prefs)
        #: The config profile the settings came from ("" with a clouds.yaml cloud), and the
        #: clouds.yaml cloud ("" with a profile): what the picker marks as current.
        self.profile = profile
        self.cloud = cloud
        #: Every project of the user at once (``--all-projects`` or the picker); None: as the
        #: user last chose for this profile or cloud.
        self.all_projects = all_projects
        self.regions = regions
        self.demo = demo
        self._transport = transport
        self._startup_warnings = list(startup_warnings or [])
        if notify_problem:
            self._startup_warnings.append(notify_problem)
        self._key_origins: dict[int, tuple[events.Key, Screen[Any], Widget | None]] = {}
        self.store = ImageStore()
        #: Everything this run said (``@``): toasts, failures, decisions with their outcome.
        self.message_log = MessageLog()
        #: The decision journal (``IMSHARE_CONFIG_DIR`` moves it; ``--demo`` has its own).
        self.journal = Journal()
        #: Lines for stderr once the terminal is given back: the outcome of every decision
        #: that was still running when the user quit (or the terminal went away).
        self.exit_report: list[str] = []
        self.store.set_filter(initial_filter)  # `imshare --filter TEXT`
        self.session = CloudSession(
            settings, cache, ask_password=self._ask_password, transport=transport
        )
        wanted = theme or self.ui_prefs.get("theme") or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        self._sync_no_color_filter()
        keymap = self.ui_prefs.get("keymap")
        if isinstance(keymap, dict):
            self.set_keymap({str(k): str(v) for k, v in keymap.items()})

    @property
    def settings(self) -> Settings:
        return self.session.settings

    # ------------------------------------------------------------ key bursts

    async def on_event(self, event: events.Event) -> None:
        # Where each key was sent when it arrived. Over SSH a burst like "/ubuntu" arrives at
        # once and every key is forwarded before the first one has moved the focus.
        if isinstance(event, events.Key) and not event.is_forwarded:
            self._key_origins[id(event)] = (event, self.screen, self.focused)
            while len(self._key_origins) > _KEY_ORIGINS:
                self._key_origins.pop(next(iter(self._key_origins)))
        await super().on_event(event)

    async def _on_key(self, event: events.Key) -> None:
        """A key that reached the app unhandled, before Textual checks the bindings.

        Typed before a dialog was shown, it must not answer that dialog ("ry" typed fast
        never rejects): it is dropped. Typed before "/" moved the focus to the filter, it
        belongs in the filter: it is sent there, in order.
        """
        origin = self._key_origins.pop(id(event), None)
        if origin is None or origin[0] is not event:
            return
        _event, screen, focused = origin
        if screen is not self.screen:
            event.prevent_default()
            return
        current = self.focused
        if focused is not current and isinstance(current, Input):
            event.prevent_default()
            current._forward_event(events.Key(event.key, event.character))

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Every toast of every screen comes here: none may carry a control character.

        Screens call this through ``Widget.notify``, and their toasts quote cloud text (new
        shares' names, error messages, project ids); one guard here covers them all.
        """
        super().notify(
            safe_text(message, multiline=True),
            title=safe_text(title),
            severity=severity,
            timeout=timeout,
            markup=markup,
        )
        # A toast fades; the log keeps what it said (with markup as the plain words).
        words = message if not markup else Content.from_markup(message).plain
        level = {"error": Level.ERROR, "warning": Level.WARNING}.get(severity, Level.INFO)
        self.message_log.add(level, f"{title}: {words}" if title else words)

    async def on_mount(self) -> None:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            # A lost terminal (closed SSH session) ends the app cleanly instead of spinning.
            # Decisions already sent still finish, and their outcome is printed on stderr.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)
        notifier = notify.Notifier.for_terminal(self.notify_mode, os.environ, self._write_raw)
        if notifier.unsupported:
            self._startup_warnings.append(notifier.unsupported)
        for warning in self._startup_warnings:
            self.notify(warning, severity="warning", markup=False)
        settings = self.settings
        usable = not settings.problems() or self.session.cached_token() is not None
        if self.all_projects is None:  # not given: as the user left it for this profile/cloud
            self.all_projects = bool(self._scope_prefs().get(self._scope_key(), False))
        await self.push_screen(
            MainScreen(
                self.store,
                self.session,
                read_only=self.read_only,
                refresh_seconds=self.refresh_seconds,
                announce=notifier.announce,
                context_hint=context_hint(settings),
                load_at_start=usable,
                message_log=self.message_log,
                inbox=self._new_inbox() if self.all_projects else None,
                journal=self.journal,
            )
        )
        if settings.problems():
            self._open_config(first_run=True)

    def _write_raw(self, text: str) -> None:
        """Write to the terminal through the driver, in order with what the app draws (as
        ``App.bell`` does); nothing in a browser (textual-serve) or headless."""
        driver = self._driver
        if driver is not None and not self.is_headless and not self.is_web:
            driver.write(text)

    async def on_unmount(self) -> None:
        await self.session.aclose()

    def _main_screen(self) -> MainScreen | None:
        return next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)

    async def _switch(self, session: CloudSession) -> None:
        """Use ``session`` from now on; the main screen lists anew (in the scope the user
        last chose for that profile or cloud)."""
        old, self.session = self.session, session
        self.all_projects = bool(self._scope_prefs().get(self._scope_key(), False))
        main = self._main_screen()
        if main is not None:
            inbox = self._new_inbox() if self.all_projects else None
            main.use_session(session, context_hint(session.settings), inbox=inbox)
        await old.aclose()

    # ----------------------------------------------------------- the scope

    def _new_inbox(self) -> Inbox:
        from tui.cloud.inbox import Inbox

        return Inbox(self.session, regions=self.regions)

    def _scope_key(self) -> str:
        """Which choice of scope is remembered: per config profile, or per clouds.yaml cloud."""
        return f"cloud:{self.cloud}" if self.cloud else f"profile:{self.profile}"

    def _scope_prefs(self) -> dict[str, Any]:
        prefs = self.ui_prefs.get("all_projects")
        return prefs if isinstance(prefs, dict) else {}

    async def _set_scope(self, all_projects: bool) -> None:
        """One project or every project: the main screen lists anew; the choice is remembered
        for this profile or cloud (in [ui]; the CLI never follows it: scripts say so)."""
        self._remember_scope(all_projects)
        main = self._main_screen()
        if main is not None:
            inbox = self._new_inbox() if all_projects else None
            main.use_session(self.session, context_hint(self.settings), inbox=inbox)

    def _remember_scope(self, all_projects: bool) -> None:
        self.all_projects = all_projects
        prefs = dict(self._scope_prefs())
        prefs[self._scope_key()] = all_projects
        self.ui_prefs["all_projects"] = prefs
        if self.config_path is not None and not self.demo:
            config_file.save_ui_prefs(self.config_path, self.ui_prefs)

    def _sync_no_color_filter(self) -> None:
        """Under NO_COLOR, the filter that suits the theme in use.

        Textual chooses it once, for the default theme, before ours is set: with an ANSI theme
        (``ansi-dark``) its Monochrome filter turned the terminal's own colours into black on
        black. An ANSI theme needs NoColor, which keeps the terminal's default colours.
        """
        if not self.no_color:
            return
        wanted = NoColor if self.native_ansi_color else Monochrome
        kept = [f for f in self._filters if not isinstance(f, NoColor | Monochrome)]
        self._filters = [*kept, wanted()]

    def watch_theme(self, theme: str) -> None:
        """Remember a theme picked in the command palette for the next start."""
        self._sync_no_color_filter()
        if not self.is_running or self.ui_prefs.get("theme") == theme:
            return
        self.ui_prefs["theme"] = theme
        if self.config_path is not None:
            config_file.save_ui_prefs(self.config_path, self.ui_prefs)

    # ----------------------------------------------------------------- login

    async def _ask_password(self, problem: str) -> str | None:
        """The session's ``ask_password``: a dialog, answered with the password or None."""
        settings = self.settings
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def done(value: str | None) -> None:
            if not answer.done():
                answer.set_result(value)

        screen = PasswordScreen(
            settings.username,
            settings.user_domain_name or settings.user_domain_id,
            settings.project_label,
            problem=problem,
        )
        await self.push_screen(screen, callback=done)
        return await answer

    async def test_login(self, settings: Settings) -> Token:
        """Log in with ``settings`` without caching or keeping anything (Test connection)."""
        async with CloudSession(settings, None, transport=self._transport) as session:
            return await session.token(force_new=True)

    # -------------------------------------------------------------- actions

    # -------------------------------------------------------------- quitting

    def _hang_up(self) -> None:
        self._finish_and_exit()

    async def action_quit(self) -> None:
        """Quit; with decisions in flight, ask first, then let them finish and say how."""
        main = self._main_screen()
        running = main.decisions_running() if main is not None else 0
        if not running:
            self.exit()
            return
        self._confirm_quit(running)

    @work(exclusive=True, group="quit", exit_on_error=False, description="Quitting")
    async def _confirm_quit(self, running: int) -> None:
        screen = ConfirmScreen(self._quit_question(running))
        main = self._main_screen()

        def follow() -> None:
            # The decisions may end while the user reads: the question must not go on
            # saying they are running.
            if screen.is_attached:
                screen.set_question(self._quit_question(main.decisions_running() if main else 0))

        timer = self.set_interval(0.25, follow)
        try:
            answer = await self.push_screen_wait(screen)
        finally:
            timer.stop()
        if answer:
            self._finish_and_exit()

    @staticmethod
    def _quit_question(running: int) -> str:
        if not running:
            return (
                "The decisions have finished — quit?\n\n"
                "The table shows where each one ended; @ lists every outcome of this run."
            )
        noun = "decision is" if running == 1 else "decisions are"
        return (
            f"{running} {noun} still running — quit anyway?\n\nWhat was sent finishes first, "
            "and the outcome of each is printed when imshare has quit."
        )

    @work(exclusive=True, group="exit", exit_on_error=False, description="Finishing")
    async def _finish_and_exit(self) -> None:
        main = self._main_screen()
        if main is not None and main.decisions_running():
            main.query_one(ContextBar).set_activity("finishing the decisions in flight…")
            self.exit_report = await main.finish_decisions(QUIT_WAIT)
        self.exit()

    def action_show_log(self) -> None:
        from tui.app.screens.log import LogScreen

        if not isinstance(self.screen, LogScreen):
            self.push_screen(LogScreen(self.message_log, journal_path=self.journal.path))

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen, read_only=self.read_only))

    def action_config(self) -> None:
        from tui.app.screens.config import ConfigScreen

        if not isinstance(self.screen, ConfigScreen):
            self._open_config()

    def _open_config(
        self, settings: Settings | None = None, *, first_run: bool = False, status: str = ""
    ) -> None:
        from tui.app.screens.config import ConfigScreen
        from tui.settings import clouds_yaml

        clouds: list[str] = []
        with contextlib.suppress(ConfigError):  # a broken clouds.yaml keeps nobody out
            clouds = clouds_yaml.list_clouds()
        screen = ConfigScreen(
            settings or self.settings,
            test_login=self.test_login,
            clouds=clouds,
            import_cloud=clouds_yaml.settings_from_cloud,
            environment=[name for name in os.environ if name.startswith("OS_")],
            first_run=first_run,
            status=status,
        )
        self.push_screen(screen, callback=self._config_saved)

    async def _config_saved(self, settings: Settings | None) -> None:
        """Write what the config screen returned, then use it; a failed write reopens it."""
        if settings is None:
            return
        profile = self.profile or config_file.DEFAULT_PROFILE
        try:
            path = config_file.save(settings, self.config_path, profile=profile)
        except (ConfigError, OSError) as error:
            reason = error if isinstance(error, ConfigError) else f"cannot write it: {error}"
            self._open_config(settings, status=f"Not saved: {reason}")
            return
        self.profile, self.cloud = profile, ""
        self.notify(f"Saved {path}", timeout=3, markup=False)
        await self._switch(self.session.with_settings(settings))

    @work(exclusive=True, group="switch", exit_on_error=False, description="Switching")
    async def action_switch_context(self) -> None:
        from tui.app.screens.picker import ContextPicker

        choice = await self.push_screen_wait(
            ContextPicker(self._picker_context(), self.session.list_projects)
        )
        if choice is not None:
            await self._apply_choice(choice)

    def _picker_context(self) -> PickerContext:
        from tui.app.screens.picker import PickerContext
        from tui.settings import clouds_yaml

        problem = ""
        profiles: list[str] = []
        clouds: list[str] = []
        if not self.demo:  # the demo cloud has no config file or clouds of its own
            try:
                profiles = config_file.list_profiles(self.config_path)
            except ConfigError as error:
                problem = str(error)
            try:
                clouds = clouds_yaml.list_clouds()
            except ConfigError as error:
                problem = problem or str(error)
        token = self.session.current_token
        return PickerContext(
            profiles=profiles,
            clouds=clouds,
            current_profile=self.profile if not self.cloud else "",
            current_cloud=self.cloud,
            current_project_id="" if self.all_projects else (token.project_id if token else ""),
            user=token.user_name if token else self.settings.username,
            problem=problem,
            all_projects=bool(self.all_projects),
        )

    async def _apply_choice(self, choice: PickerChoice) -> None:
        current = self._picker_context()
        if choice.kind == "scope":
            if current.all_projects:
                self.notify("Already on all projects", timeout=3)
            else:
                await self._set_scope(True)
                self.notify("Showing every project you can reach", timeout=3)
            return
        if choice.kind == "project" and current.all_projects:
            # One project again: the one picked (the session's own, or another).
            token = self.session.current_token
            if token is not None and choice.value == token.project_id:
                await self._set_scope(False)
                self.notify(f"Showing project {choice.label or choice.value}", timeout=3)
                return
            self._remember_scope(False)
        unchanged = (
            (choice.kind == "project" and choice.value == current.current_project_id)
            or (choice.kind == "profile" and choice.value == current.current_profile)
            or (choice.kind == "cloud" and choice.value == current.current_cloud)
        )
        if unchanged:
            self.notify(f"Already on {choice.kind} {choice.label or choice.value}", timeout=3)
            return
        if choice.kind == "project":
            await self._switch(self.session.for_project(choice.value))
            name = choice.label or choice.value
            self.notify(f"Switched to project {name}", timeout=3, markup=False)
            return
        try:
            # An explicit switch means exactly that profile or cloud: the OS_* variables of
            # the shell that started the app do not apply to it.
            loaded = sources.load(
                self.config_path,
                environ={},
                profile=choice.value if choice.kind == "profile" else None,
                cloud=choice.value if choice.kind == "cloud" else None,
            )
        except ConfigError as error:
            self.notify(str(error), title="Cannot switch", severity="error", markup=False)
            return
        self.profile, self.cloud = loaded.profile, loaded.cloud
        await self._switch(self.session.with_settings(loaded.settings))
        self.notify(f"Switched to {loaded.source}", timeout=3, markup=False)

    # --------------------------------------------------------- error funnel

    @on(WorkerFailed)
    def on_worker_failed(self, message: WorkerFailed) -> None:
        """The last line of defence: a worker, handler or callback raised what it did not handle."""
        error = message.error
        if isinstance(error, ApiError):
            self.notify(error.summary, title="Cloud error", severity="error", markup=False)
            return
        self.unexpected_errors.append(error)
        log.error("%s failed", message.worker_name, exc_info=error)
        text = crash.redact_text(f"{type(error).__name__}: {error}")
        self.notify(
            f"{text}. The app keeps running; see the log with --debug.",
            title="Unexpected error",
            severity="error",
            markup=False,
        )

    def _survive(self, error: BaseException, where: str) -> None:
        """Report an error the app outlives through the funnel, like a failed worker."""
        if isinstance(error, TextualWorkerFailed):
            error = error.error
        self.post_message(WorkerFailed(where, error))

    def _handle_exception(self, error: Exception) -> None:
        """Textual's report of an error nobody caught: survive it, or end the app cleanly.

        Textual's own version ends the app and prints a traceback with every frame's locals
        (settings, passwords). Whether Textual carries on after reporting depends on where it
        reported from, so that decides (see :mod:`tui.app.crash`).
        """
        caller = sys._getframe(1).f_code
        if self.crash_line is None and crash.survivable_at(error, caller):
            self._survive(error, caller.co_name.strip("_"))
            return
        self._crash(error)

    def _fatal_error(self) -> None:
        """Never Textual's traceback with locals, whoever asks for it."""
        error = sys.exc_info()[1] or self._exception or RuntimeError("fatal error")
        self._crash(error)

    def _crash(self, error: BaseException) -> None:
        """End the app: the details to a redacted log, one line once the terminal is back."""
        if self.crash_line is None:
            shown = error.error if isinstance(error, TextualWorkerFailed) else error
            token = self.session.current_token
            secrets = [self.settings.password, token.value if token else ""]
            self.crash_line = crash.report_line(
                shown, secrets=[s for s in secrets if s], crash_log=self.crash_log
            )
        self._return_code = 1
        if self._exception is None and isinstance(error, Exception):
            # run_test raises this when the test ends, so a crash still fails its test.
            self._exception = error
            self._exception_event.set()
        self._close_messages_no_wait()

    def _print_error_renderables(self) -> None:
        """After the terminal is restored: the crash's one line, nothing else."""
        if self.crash_line is None:
            super()._print_error_renderables()
            return
        self._exit_renderables.clear()
        if not self._crash_line_printed:
            self._crash_line_printed = True
            with contextlib.suppress(OSError, ValueError):
                print(self.crash_line, file=sys.stderr, flush=True)
