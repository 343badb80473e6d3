"""CLI behaviour that needs no cloud: usage, configuration errors, locate, fast imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui import __version__
from tui.cli.main import build_parser, main
from tui.formatting import human_size


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"imshare {__version__}"


def test_usage_errors_exit_2(capsys):
    for argv in (["list", "--status", "maybe"], ["accept"], ["frobnicate"], ["list", "--nope"]):
        with pytest.raises(SystemExit) as stop:
            main(argv)
        assert stop.value.code == 2, argv
    assert "usage:" in capsys.readouterr().err


def test_locate_prints_labelled_paths(config_dir, capsys):
    assert main(["locate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[:4] == [
        f"config:      {config_dir / 'config.toml'}",
        f"token cache: {config_dir / 'tokens.json'}",
        f"log file:    {config_dir / 'imshare.log'}",
        f"crash log:   {config_dir / 'crash.log'}",
    ]
    assert out[5] == f"watch state: {config_dir / 'watch-seen.json'}"
    assert out[6].startswith("clouds.yaml: ")
    assert out[-2:] == [
        f"owners:      {config_dir / 'owners.toml'}",
        f"rules:       {config_dir / 'rules.toml'}",
    ]


def test_locate_names_the_clouds_yaml_in_use(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "clouds.yaml").write_text("clouds: {}\n")
    (tmp_path / "secure.yaml").write_text("clouds: {}\n")
    assert main(["locate"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert f"clouds.yaml: {tmp_path / 'clouds.yaml'}" in out
    assert f"secure.yaml: {tmp_path / 'secure.yaml'}" in out


def test_locate_honours_config_option(tmp_path, capsys):
    assert main(["locate", "--config", str(tmp_path / "other.toml")]) == 0
    assert capsys.readouterr().out.splitlines()[0].endswith("other.toml")


def test_missing_configuration_exits_2_naming_what_is_missing(capsys):
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    for needle in ("OS_AUTH_URL", "OS_USERNAME", "OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME"):
        assert needle in err
    assert "Traceback" not in err


def test_partly_missing_configuration(monkeypatch, capsys):
    monkeypatch.setenv("OS_AUTH_URL", "https://iam.eu-de.otc.t-systems.com/v3")
    monkeypatch.setenv("OS_USERNAME", "alice")
    assert main(["accept", "abc"]) == 2
    err = capsys.readouterr().err
    assert "OS_AUTH_URL" not in err and "OS_USERNAME" not in err
    assert "OS_USER_DOMAIN_NAME" in err and "OS_PROJECT_NAME" in err


def test_corrupt_config_exits_2_naming_file_and_line(config_dir, capsys):
    config_dir.mkdir()
    path = config_dir / "config.toml"
    path.write_text('auth_url = "https://iam.example/v3"\nusername = alice\n')
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "line 2" in err
    assert "Traceback" not in err
    assert path.read_text().endswith("username = alice\n")  # untouched


def test_config_option_points_at_another_file(tmp_path, capsys):
    path = tmp_path / "elsewhere.toml"
    path.write_text("[broken\n")
    assert main(["--config", str(path), "list"]) == 2
    assert str(path) in capsys.readouterr().err


def test_global_options_work_after_the_subcommand():
    parser = build_parser()
    args = parser.parse_args(["--debug", "list"])
    assert args.debug is True and args.config is None
    args = parser.parse_args(["list", "--debug", "--config", "x.toml"])
    assert args.debug is True and args.config == Path("x.toml")
    args = parser.parse_args(["--config", "a.toml", "list"])
    assert args.config == Path("a.toml")


def test_tui_options_reach_the_app(monkeypatch):
    """Every TUI flag arrives in the app that `imshare` starts (its terminal run is replaced
    by a recorder: Textual's own ``App.run`` is the one thing not exercised here)."""
    from tui.app.app import ImshareApp

    started: list[tuple[ImshareApp, bool]] = []

    def record(self: ImshareApp, *, mouse: bool = True, **_: object) -> None:
        started.append((self, mouse))

    monkeypatch.setattr(ImshareApp, "run", record)
    code = main(
        ["--demo", "--demo-images", "50", "--demo-latency-ms", "20", "--no-mouse", "--read-only",
         "--theme", "nord", "--refresh", "7"]
    )  # fmt: skip
    assert code == 0
    ((app, mouse),) = started
    assert mouse is False
    assert app.read_only is True and app.theme == "nord" and app.refresh_seconds == 7
    assert app.demo is True
    assert app.settings.auth_url.startswith("http://127.0.0.1:")  # the private demo cloud
    assert app.settings.username == "demo"


def test_logout_without_cached_token(monkeypatch, capsys):
    monkeypatch.setenv("OS_USERNAME", "alice")
    assert main(["logout"]) == 0
    assert "no cached token" in capsys.readouterr().out


def test_no_password_and_no_terminal_exits_2(monkeypatch, capsys):
    for name, value in {
        "OS_AUTH_URL": "http://127.0.0.1:9/v3",
        "OS_USERNAME": "alice",
        "OS_USER_DOMAIN_NAME": "OTC1",
        "OS_PROJECT_NAME": "eu-de",
    }.items():
        monkeypatch.setenv(name, value)
    assert main(["list"]) == 2
    err = capsys.readouterr().err
    assert "OS_PASSWORD" in err and "imshare login" in err


@pytest.mark.parametrize(
    ("size", "text"),
    [(None, "-"), (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (40 * 1024**3, "40.0 GiB"),
     (3 * 1024**5, "3.0 PiB")],
)  # fmt: skip
def test_human_size(size, text):
    assert human_size(size, unknown="-") == text


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **env},
    )


def test_script_paths_do_not_import_textual():
    code = (
        "import sys\n"
        "from tui.cli.main import main\n"
        "codes = [main(['locate']), main(['list']), main(['logout'])]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual' "
        "or m in ('tui.app', 'tui.launch') or m.startswith('tui.democloud'))\n"
        "print(codes, bad)\n"
    )
    result = _python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[0, 2, 0] []"


def test_python_dash_m_tui_runs_the_cli():
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0
    assert result.stdout.strip() == f"imshare {__version__}"


def test_config_readable_by_others_is_reported_once_and_left_alone(config_dir, capsys):
    from tui.settings.config_file import save
    from tui.settings.model import Settings

    path = save(Settings(username="alice"))
    path.chmod(0o644)
    assert main(["logout"]) == 0
    err = capsys.readouterr().err
    # The path, its mode, that imshare did not change it, and the command that does.
    assert f"config file {path} is readable by other users (mode 0644)" in err
    assert f"`chmod 600 {path}`" in err
    assert err.count(str(path) + " is readable") == 1
    assert path.stat().st_mode & 0o777 == 0o644
