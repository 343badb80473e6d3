"""``imshare serve``: its command line and its logging.

The checks of token, Host and Origin are in ``test_serve_auth.py``; the server itself, end to
end, in ``test_serve_server.py``.
"""

from __future__ import annotations

import logging
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tui.app import serve
from tui.app.serve_auth import new_token
from tui.cli.main import build_parser, main


def test_serve_binds_to_loopback_only() -> None:
    assert serve.HOST == "127.0.0.1"


def test_each_browser_session_runs_the_app_with_the_given_options() -> None:
    args = build_parser().parse_args(["serve", "--demo", "--read-only", "--port", "8123"])
    command = shlex.split(serve.app_command(args))
    assert command[:3] == [sys.executable, "-m", "tui"]
    assert "--demo" in command and "--read-only" in command
    assert "serve" not in command  # the browser gets the app, not another server
    assert "--debug" not in command


@pytest.mark.parametrize("argv", [["--debug", "serve"], ["serve", "--debug"]])
def test_debug_reaches_the_app_in_each_session(argv: list[str]) -> None:
    command = shlex.split(serve.app_command(build_parser().parse_args([*argv, "--demo"])))
    assert "--debug" in command


def test_port_zero_means_any_free_port_and_other_values_are_refused(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert build_parser().parse_args(["serve", "--port", "0"]).port == 0
    assert build_parser().parse_args(["serve"]).port == 8000
    for wrong in ("65536", "-1", "http"):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["serve", "--port", wrong])
    assert "65535" in capsys.readouterr().err


def test_a_port_in_use_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--demo", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port 0" in err


def test_without_the_extra_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # import fails
    assert main(["serve", "--demo"]) == 2
    assert "pip install 'imshare[serve]'" in capsys.readouterr().err


# --------------------------------------------------------------------------- logging


@pytest.fixture
def server_loggers() -> Iterator[None]:
    """Put the server's loggers (and the root logger) back as they were."""
    names = ("textual-serve", "aiohttp", "asyncio", "")
    saved = {
        name: (list(logging.getLogger(name).handlers), logging.getLogger(name).propagate)
        for name in names
    }
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for name, (handlers, propagate) in saved.items():
        logger = logging.getLogger(name)
        logger.handlers[:] = handlers
        logger.propagate = propagate
        logger.setLevel(levels[name])


def test_the_server_logs_plain_tracebacks_without_locals(
    server_loggers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from rich.logging import RichHandler

    from tui.app.serve_server import ImshareServer

    root_handlers = list(logging.getLogger().handlers)
    server = ImshareServer("true", token=new_token(), host=serve.HOST, port=0)
    server.initialize_logging()
    assert logging.getLogger().handlers == root_handlers  # upstream's basicConfig is not run

    def crash(password: str) -> None:
        raise RuntimeError("the session failed")

    secret = "-".join(("hunter2", "s3cret"))  # so no source line shows the value itself
    try:
        crash(secret)
    except RuntimeError as error:
        logging.getLogger("textual-serve").exception(error)
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "Traceback" in printed and "the session failed" in printed
    assert secret not in printed  # rich's show_locals would print ``password = 'hunter2-…'``
    for name in ("textual-serve", "aiohttp", "asyncio"):
        handlers = logging.getLogger(name).handlers
        assert handlers and not any(isinstance(h, RichHandler) for h in handlers)


def test_serve_s_module_imports_no_textual_serve() -> None:
    """``imshare --help`` and the parser must not pay for aiohttp and textual-serve."""
    code = (
        "import sys, tui.cli.main as m; m.build_parser(); import tui.app.serve; "
        "heavy = ('textual_serve', 'aiohttp', 'textual'); "
        "print(any(n.split('.')[0] in heavy for n in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == "False"
