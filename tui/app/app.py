"""The Textual application: screens, global keys, the session, and the one error funnel.

All network work runs in workers with ``exit_on_error=False``; anything a worker did not handle
itself ends up in ``report_worker_failure`` as a toast, so a bad response never takes the app
down or leaves the terminal dirty.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from pathlib import Path
from typing import Any

import httpx
from textual.app import App
from textual.binding import Binding
from textual.worker import Worker, WorkerState

from tui.cloud.errors import ApiError
from tui.cloud.session import CloudSession
from tui.cloud.token_cache import TokenCache
from tui.settings.model import Settings

log = logging.getLogger("imshare.app")

DEFAULT_THEME = "textual-dark"


def _refresh_seconds(explicit: float | None, prefs: dict[str, Any]) -> float:
    """The auto-refresh interval: off (0) unless the command line or [ui] sets one (min 5 s)."""
    value: Any = explicit if explicit is not None else prefs.get("refresh_seconds", 0)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 0.0
    return max(seconds, 5.0) if seconds > 0 else 0.0


class ImshareApp(App[int]):
    """Review images shared with your project; accept or reject them with one key."""

    TITLE = "imshare"
    CSS_PATH = "imshare.tcss"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True, id="quit_app"),
        Binding("question_mark,f1", "help", "Help", id="help"),
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
        profile: str = "default",
        source: str = "",
    ) -> None:
        super().__init__()
        self.settings = settings
        self.cache = cache
        self.config_path = config_path
        self.ui_prefs: dict[str, Any] = dict(ui_prefs or {})
        self.read_only = read_only
        self.refresh_seconds = _refresh_seconds(refresh_seconds, self.ui_prefs)
        self.password_from_prompt = False
        #: The config profile the settings came from ("" for a clouds.yaml cloud), and a
        #: readable name of their origin, for the picker and the config screen.
        self.profile = profile
        self.source = source
        self.demo = demo
        self._transport = transport
        self._startup_warnings = list(startup_warnings or [])
        self.session = self._new_session()
        wanted = theme or self.ui_prefs.get("theme") or DEFAULT_THEME
        self.theme = wanted if wanted in self.available_themes else DEFAULT_THEME
        keymap = self.ui_prefs.get("keymap")
        if isinstance(keymap, dict):
            self.set_keymap({str(k): str(v) for k, v in keymap.items()})

    def _new_session(self) -> CloudSession:
        return CloudSession(self.settings, self.cache, transport=self._transport)

    async def on_mount(self) -> None:
        from tui.app.screens.config import ConfigScreen
        from tui.app.screens.main import MainScreen

        with contextlib.suppress(NotImplementedError, RuntimeError):
            # A lost terminal (closed SSH session) ends the app cleanly instead of spinning.
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self.exit)
        for warning in self._startup_warnings:
            self.notify(warning, severity="warning", markup=False)
        await self.push_screen(MainScreen())
        if self.settings.problems():
            await self.push_screen(ConfigScreen(first_run=True))

    async def on_unmount(self) -> None:
        await self.session.aclose()

    # ------------------------------------------------------------ settings

    async def apply_settings(self, settings: Settings) -> None:
        """Switch to new settings: a new session; the main screen reloads."""
        old = self.session
        self.settings = settings
        self.session = self._new_session()
        await old.aclose()
        from tui.app.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                screen.settings_changed()

    def watch_theme(self, theme: str) -> None:
        """Remember a theme picked in the command palette for the next start."""
        if not self.is_running or self.ui_prefs.get("theme") == theme:
            return
        self.ui_prefs["theme"] = theme
        if self.config_path is not None:
            from tui.settings.config_file import save_ui_prefs

            save_ui_prefs(self.config_path, self.ui_prefs)

    # -------------------------------------------------------------- actions

    def action_help(self) -> None:
        from tui.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_config(self) -> None:
        from tui.app.screens.config import ConfigScreen

        if not isinstance(self.screen, ConfigScreen):
            self.push_screen(ConfigScreen())

    async def ask_password(self, problem: str = "") -> bool:
        """Ask for the password (from a worker); ``True`` once one is set for this session."""
        from tui import logsetup
        from tui.app.screens.prompts import PasswordScreen

        if self.settings.uses_token:
            # A password cannot help a token login: the token itself must be renewed.
            self.notify(
                (problem + " — " if problem else "")
                + "The token given with OS_TOKEN / clouds.yaml was refused; get a new one.",
                title="Login failed",
                severity="error",
                markup=False,
                timeout=10,
            )
            return False

        password = await self.push_screen_wait(PasswordScreen(self.settings, problem=problem))
        if not password:
            return False
        logsetup.add_secret(password)
        self.settings.password = password
        self.password_from_prompt = True
        return True

    # --------------------------------------------------------- error funnel

    def report_worker_failure(self, worker: Worker[Any]) -> None:
        """The last line of defence: a worker raised something it did not handle."""
        if worker.state != WorkerState.ERROR:
            return
        error = worker.error
        if isinstance(error, ApiError):
            self.notify(error.summary, title="Cloud error", severity="error", markup=False)
            return
        log.error("worker %s failed", worker.name, exc_info=error)
        self.notify(
            f"{type(error).__name__}: {error}. The app keeps running; see the log with --debug.",
            title="Unexpected error",
            severity="error",
            markup=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        self.report_worker_failure(event.worker)
