"""Errors nobody handled: a toast and a working app, or one line and a redacted log.

``FaultyApp`` is the real ImshareApp against a real demo cloud, plus keys whose code fails the
ways the error handling has to deal with. The password in every test's settings is the demo
cloud's own; a crash must write it nowhere.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from app_support import visible_ids, wait_for, wait_loaded, wait_screen
from support import cloud_settings
from textual import work
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Static

from tui import logsetup
from tui.app.app import ImshareApp
from tui.app.messages import ListingFinished
from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen
from tui.cloud.token_cache import TokenCache
from tui.settings.model import ConfigError, Settings

SIZE = (120, 36)
CRASH_LINE = re.compile(r"imshare: crashed \((\w+)\); details in (\S+)")


class BrokenScreen(ModalScreen[None]):
    """A screen that cannot be shown: its on_mount raises with the settings in its locals."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> Any:
        yield Static("never shown")

    def on_mount(self) -> None:
        settings = self.settings  # a local holding the password, as in the clouds.yaml crash
        raise RuntimeError(f"cannot show the screen for {settings.username}:{settings.password}")


class FaultyApp(ImshareApp):
    """ImshareApp with keys that fail: in an action, a callback, a timer, a worker, for good."""

    CSS_PATH = str(Path(sys.modules[ImshareApp.__module__].__file__ or "").parent / "imshare.tcss")
    BINDINGS = [
        Binding("f6", "fail_in_action", "fail"),
        Binding("f7", "fail_in_callback", "fail"),
        Binding("f8", "fail_in_timer", "fail"),
        Binding("f9", "fail_fatally", "fail"),
        Binding("f10", "run_out_of_memory", "fail"),
        Binding("f11", "fail_in_worker", "fail"),
    ]

    def action_fail_in_action(self) -> None:
        raise OSError(f"cannot write /nowhere for {self.settings.password}")

    def action_fail_in_callback(self) -> None:
        def saved(answer: bool | None) -> None:
            raise ConfigError(f"config.toml is broken (password {self.settings.password})")

        self.push_screen(ConfirmScreen("Save?"), callback=saved)

    def action_fail_in_timer(self) -> None:
        def tick() -> None:
            raise KeyError("no such image")

        self.set_timer(0.01, tick)

    @work(exit_on_error=False)
    async def action_fail_in_worker(self) -> None:
        raise ValueError("the app's own worker failed")

    def action_fail_fatally(self) -> None:
        self.push_screen(BrokenScreen(self.settings))

    def action_run_out_of_memory(self) -> None:
        raise MemoryError


def faulty_app(cloud: Any, tmp_path: Path, **kwargs: Any) -> FaultyApp:
    return FaultyApp(
        cloud_settings(cloud),
        cache=TokenCache(tmp_path / "tokens.json"),
        config_path=tmp_path / "config.toml",
        **kwargs,
    )


def unexpected_toasts(app: ImshareApp) -> list[str]:
    return [n.message for n in app._notifications if n.title == "Unexpected error"]


def everything_written(*roots: Path) -> str:
    """Every file under ``roots``, as text: what a crash may have left behind."""
    texts = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
    return "\n".join(texts)


async def test_an_action_that_raises_is_a_toast_and_every_key_still_works(
    cloud: Any, tmp_path: Path
) -> None:
    password = cloud.credentials["OS_PASSWORD"]
    app = faulty_app(cloud, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: unexpected_toasts(app), what="the toast")
        assert [type(e) for e in app.unexpected_errors] == [OSError]
        (toast,) = unexpected_toasts(app)
        assert toast.startswith("OSError: cannot write /nowhere for ")
        assert "The app keeps running" in toast
        assert password not in toast
        # Keys still reach the app and its screen: the Accepted view, then the Pending one.
        await pilot.press("2")
        await wait_for(pilot, lambda: main.store.view.value == "accepted", what="view 2")
        assert set(visible_ids(app)) == set(cloud.shared_image_ids("accepted"))
        await pilot.press("1")
        await wait_for(pilot, lambda: main.store.view.value == "pending", what="view 1")
        assert app.is_running and app.crash_line is None
    assert not app.return_code


@pytest.mark.parametrize(
    ("key", "expected"),
    [("f7", ConfigError), ("f8", KeyError), ("f11", ValueError)],
    ids=["screen-callback", "timer", "app-worker"],
)
async def test_a_callback_timer_or_worker_that_raises_is_a_toast_and_the_app_stays_up(
    cloud: Any, tmp_path: Path, key: str, expected: type[Exception]
) -> None:
    app = faulty_app(cloud, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await wait_loaded(pilot)
        await pilot.press(key)
        if key == "f7":
            await wait_screen(pilot, ConfirmScreen)
            await pilot.press("y")
        await wait_for(pilot, lambda: unexpected_toasts(app), what="the toast")
        assert [type(e) for e in app.unexpected_errors] == [expected]
        assert cloud.credentials["OS_PASSWORD"] not in "".join(unexpected_toasts(app))
        # The app still answers keys and the main screen still handles its workers' messages.
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), what="main screen")
        assert cloud.unshare(cloud.shared_image_ids("pending")[0])
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: set(visible_ids(app)) == set(cloud.shared_image_ids("pending")),
            what="the reload",
        )
        assert app.is_running and app.crash_line is None
    assert not app.return_code


async def test_a_screen_handler_that_raises_leaves_the_screen_handling_messages(
    cloud: Any, tmp_path: Path
) -> None:
    app = faulty_app(cloud, tmp_path)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        main = await wait_loaded(pilot)
        shown = set(visible_ids(app))
        # A listing result the handler chokes on (not an image), for the current listing.
        main.post_message(ListingFinished(main._generation, ("not an image",), None, None))  # type: ignore[arg-type]
        await wait_for(pilot, lambda: unexpected_toasts(app), what="the toast")
        assert [type(e) for e in app.unexpected_errors] == [AttributeError]
        assert set(visible_ids(app)) == shown  # the list on screen is still the real one
        # Textual would have stopped MainScreen's message loop: a reload would never show.
        withdrawn = cloud.shared_image_ids("pending")[0]
        assert cloud.unshare(withdrawn)
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: withdrawn not in visible_ids(app), what="the reload")
        assert set(visible_ids(app)) == set(cloud.shared_image_ids("pending"))
    assert not app.return_code


def assert_one_crash_line(stderr: str, kind: str) -> Path:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    match = CRASH_LINE.fullmatch(lines[0])
    assert match, lines[0]
    assert match.group(1) == kind
    return Path(match.group(2))


async def test_a_crash_prints_one_line_and_logs_the_traceback_without_secrets(
    cloud: Any, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = cloud.credentials["OS_PASSWORD"]
    app = faulty_app(cloud, tmp_path)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await wait_loaded(pilot)
            await pilot.press("f9")
            await wait_for(pilot, lambda: not app.is_running, what="the app to end")
    assert app.return_code == 1
    captured = capsys.readouterr()
    log = assert_one_crash_line(captured.err, "RuntimeError")
    assert captured.out == ""
    assert log == config_dir / "crash.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    details = log.read_text(encoding="utf-8")
    # The whole traceback, down to the line that raised, with the message redacted...
    assert "Traceback (most recent call last)" in details
    assert "in on_mount" in details
    assert "RuntimeError: cannot show the screen for demo:***" in details
    # ...and no locals: Rich's locals panel shows "settings = Settings(...)" per frame.
    assert "settings = " not in details.replace("settings = self.settings", "")
    assert "locals" not in details
    for where in (captured.err, captured.out, everything_written(tmp_path, config_dir)):
        assert password not in where


async def test_a_crash_with_debug_goes_to_the_debug_log(
    cloud: Any, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    password = cloud.credentials["OS_PASSWORD"]
    debug_log = logsetup.configure(True, stderr=False)
    assert debug_log is not None
    app = faulty_app(cloud, tmp_path)
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            await wait_loaded(pilot)
            await pilot.press("f9")
            await wait_for(pilot, lambda: not app.is_running, what="the app to end")
    logsetup.reset()
    assert assert_one_crash_line(capsys.readouterr().err, "RuntimeError") == debug_log
    details = debug_log.read_text(encoding="utf-8")
    assert "CRITICAL imshare.crash: crashed (RuntimeError):" in details
    assert "in on_mount" in details
    # The requests that led to the crash are in the same file, before it.
    assert details.index("GET") < details.index("crashed (RuntimeError)")
    assert not (config_dir / "crash.log").exists()
    assert password not in everything_written(tmp_path, config_dir)


async def test_memory_error_ends_the_app_even_from_an_action(
    cloud: Any, tmp_path: Path, config_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = faulty_app(cloud, tmp_path)
    with pytest.raises(MemoryError):
        async with app.run_test(size=SIZE) as pilot:
            await wait_loaded(pilot)
            await pilot.press("f10")
            await wait_for(pilot, lambda: not app.is_running, what="the app to end")
    assert app.return_code == 1
    log = assert_one_crash_line(capsys.readouterr().err, "MemoryError")
    assert "action_run_out_of_memory" in log.read_text(encoding="utf-8")
    assert not app.unexpected_errors


async def test_an_unwritable_crash_log_still_gives_one_line(
    cloud: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the config directory should be\n")
    app = faulty_app(cloud, tmp_path, crash_log=blocker / "crash.log")
    with pytest.raises(RuntimeError):
        async with app.run_test(size=SIZE) as pilot:
            await wait_loaded(pilot)
            await pilot.press("f9")
            await wait_for(pilot, lambda: not app.is_running, what="the app to end")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("imshare: crashed (RuntimeError); no details written: cannot ")
    assert str(blocker) in lines[0]


CRASHING_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
sys.path.insert(0, {app_tests!r})
from pathlib import Path
from test_app_crash import FaultyApp
from tui.cloud.token_cache import TokenCache
from tui.settings.model import Settings

settings = Settings(
    auth_url="http://127.0.0.1:9/v3", username="demo", password={password!r},
    user_domain_name="Default", project_name="demo",
)
class CrashAtStart(FaultyApp):
    async def on_mount(self):
        await super().on_mount()
        self.action_fail_fatally()

app = CrashAtStart(settings, cache=TokenCache(Path({tmp!r}) / "tokens.json"))
app.run()
sys.exit(app.return_code)
"""


def test_in_a_real_terminal_the_line_comes_after_the_terminal_is_restored(
    tmp_path: Path, config_dir: Path
) -> None:
    """The app on a pseudo-terminal, as a user runs it: screen restored, then one line."""
    import pty
    import select
    import subprocess
    import time

    password = "pty-crash-secret-31337"
    script = tmp_path / "crash_at_start.py"
    tests = Path(__file__).resolve().parent
    script.write_text(
        CRASHING_SCRIPT.format(
            tests=str(tests.parent),
            app_tests=str(tests),
            password=password,
            tmp=str(tmp_path),
        )
    )
    leader, follower = pty.openpty()
    env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=env,
        close_fds=True,
    )
    os.close(follower)
    output = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 1)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    assert proc.wait(timeout=30) == 1
    text = output.decode("utf-8", "replace")
    leave_alt_screen = text.rfind("\x1b[?1049l")
    assert leave_alt_screen != -1, "the terminal was never restored"
    after = text[leave_alt_screen + len("\x1b[?1049l") :]
    # After the restore: only terminal-mode resets, then the one line.
    plain = re.sub(r"\x1b\[[0-9;?<>=]*[a-zA-Z]", "", after)
    lines = [line for line in plain.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert CRASH_LINE.fullmatch(lines[0].strip()), lines
    assert "Traceback" not in text and "locals" not in text
    assert password not in text
    assert password not in everything_written(config_dir)
