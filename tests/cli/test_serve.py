"""``imshare serve``: localhost only, the same options per browser session, a clear hint."""

from __future__ import annotations

import shlex
import sys

import pytest

from tui.app import serve
from tui.cli.main import build_parser, main


def test_serve_binds_to_loopback_only() -> None:
    assert serve.HOST == "127.0.0.1"


def test_each_browser_session_runs_the_app_with_the_given_options() -> None:
    args = build_parser().parse_args(["serve", "--demo", "--read-only", "--port", "8123"])
    command = shlex.split(serve.app_command(args))
    assert command[:3] == [sys.executable, "-m", "tui"]
    assert "--demo" in command and "--read-only" in command
    assert "serve" not in command  # the browser gets the app, not another server


def test_without_the_extra_it_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)  # import fails
    assert main(["serve", "--demo"]) == 2
    assert "pip install 'imshare[serve]'" in capsys.readouterr().err
