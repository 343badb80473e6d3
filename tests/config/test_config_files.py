"""config.toml as the user keeps it: a path given with --config, a symbolic link into dotfiles,
something that is not a file at all, or a document nested past reason.

imshare reads such paths but never chmods them; a path that is not a regular file is refused
before it is opened, with exit 2 and a message naming it.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.settings.config_file import save, save_ui_prefs
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load

OTHER_UID = 54321


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def dotfile(tmp_path: Path, text: str = 'username = "alice"\n') -> Path:
    """A config kept in a dotfiles checkout, the way users keep it: mode 0644, their own."""
    repo = tmp_path / "dotfiles"
    repo.mkdir(exist_ok=True)
    target = repo / "imshare.toml"
    target.write_text(text)
    target.chmod(0o644)
    return target


# ----------------------------------------------------------------------------- --config


def test_config_that_is_not_toml_is_reported_and_never_chmodded(tmp_path, capsys):
    path = tmp_path / "notes.txt"
    path.write_text("these are my notes, not TOML [\n")
    path.chmod(0o644)
    assert main(["--config", str(path), "logout"]) == 2
    err = capsys.readouterr().err
    assert f"config file {path} is not valid TOML" in err
    assert mode(path) == 0o644
    assert path.read_text() == "these are my notes, not TOML [\n"


def test_config_that_is_a_directory_is_refused_and_never_chmodded(tmp_path, capsys):
    directory = tmp_path / "confdir"
    directory.mkdir()
    directory.chmod(0o755)
    assert main(["--config", str(directory), "logout"]) == 2
    err = capsys.readouterr().err
    assert f"config file {directory} is a directory, not a regular file" in err
    assert mode(directory) == 0o755


def test_config_that_is_a_device_is_refused_unopened_and_never_chmodded(tmp_path, capsys):
    device = tmp_path / "null"
    try:
        os.mknod(device, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
    except (PermissionError, OSError) as error:
        pytest.skip(f"cannot make a device node here: {error}")
    device.chmod(0o666)
    assert main(["--config", str(device), "logout"]) == 2
    assert f"config file {device} is a device, not a regular file" in capsys.readouterr().err
    assert mode(device) == 0o666


def test_config_that_is_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o644)
    # A separate process: reading a FIFO nobody writes would block the test itself forever.
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--config", str(fifo), "logout"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"config file {fifo} is a FIFO, not a regular file" in result.stderr
    assert "Traceback" not in result.stderr
    assert mode(fifo) == 0o644


def test_app_start_refuses_a_config_that_is_not_a_file(tmp_path):
    directory = tmp_path / "confdir"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--config", str(directory)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert f"config file {directory} is a directory, not a regular file" in result.stderr
    assert mode(directory) == 0o755


def test_saving_to_a_config_that_is_not_a_file_is_refused(tmp_path):
    directory = tmp_path / "confdir"
    directory.mkdir(mode=0o755)
    with pytest.raises(ConfigError, match="is a directory, not a regular file"):
        save(Settings(username="alice"), directory)
    assert save_ui_prefs(directory, {"theme": "ansi-dark"}) is False
    assert directory.is_dir() and not list(directory.iterdir())


def test_readable_given_config_is_reported_once_with_what_to_do(tmp_path, capsys):
    path = dotfile(tmp_path)
    assert main(["--config", str(path), "logout"]) == 0
    err = capsys.readouterr().err
    warning = f"config file {path} is readable by other users (mode 0644)"
    assert err.count(warning) == 1
    assert "imshare leaves its mode alone" in err and f"`chmod 600 {path}`" in err
    assert mode(path) == 0o644


# ----------------------------------------------------------------------------- symlinks


def test_symlinked_config_is_read_through_the_link(tmp_path):
    target = dotfile(tmp_path, 'username = "dotfile-user"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    assert load(link).settings.username == "dotfile-user"
    assert mode(target) == 0o644


def test_saving_a_symlinked_config_replaces_the_target_and_keeps_the_link(tmp_path):
    target = dotfile(tmp_path, 'username = "old"\n[ui]\ntheme = "ansi-dark"\n')
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    before = target.stat().st_ino
    written = save(Settings(username="new", project_name="p"), link)
    assert link.is_symlink() and link.readlink() == target
    assert written == link
    data = tomllib.loads(target.read_text())
    assert data == {"username": "new", "project_name": "p", "ui": {"theme": "ansi-dark"}}
    assert target.stat().st_ino != before  # replaced whole (rename), not rewritten in place
    assert mode(target) == 0o600  # the new file imshare wrote
    assert not [p for p in target.parent.iterdir() if p.name.endswith(".tmp")]


def test_saving_through_a_link_to_another_users_file_is_refused(tmp_path):
    target = dotfile(tmp_path, 'username = "theirs"\n')
    os.chown(target, OTHER_UID, -1)
    link = tmp_path / "config.toml"
    link.symlink_to(target)
    with pytest.raises(OSError, match=f"belongs to another user \\(uid {OTHER_UID}\\)"):
        save(Settings(username="mine"), link)
    assert target.read_text() == 'username = "theirs"\n'
    assert target.stat().st_uid == OTHER_UID and link.is_symlink()


def test_saving_through_a_link_to_a_directory_is_refused(tmp_path):
    directory = tmp_path / "somewhere"
    directory.mkdir()
    link = tmp_path / "config.toml"
    link.symlink_to(directory)
    with pytest.raises(ConfigError, match="is a directory, not a regular file"):
        save(Settings(username="mine"), link)
    assert link.is_symlink() and not list(directory.iterdir())


def test_a_dangling_config_link_is_a_clear_error_and_is_not_replaced(tmp_path, capsys):
    link = tmp_path / "config.toml"
    link.symlink_to(tmp_path / "gone.toml")
    assert main(["--config", str(link), "logout"]) == 2
    assert "is a symbolic link to a file that does not exist" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="symbolic link to a file that does not exist"):
        save(Settings(username="mine"), link)
    assert link.is_symlink() and not (tmp_path / "gone.toml").exists()


def test_a_config_owned_by_another_user_is_not_replaced(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text('username = "theirs"\n')
    os.chown(path, OTHER_UID, -1)
    with pytest.raises(OSError, match="belongs to another user"):
        save(Settings(username="mine"), path)
    assert path.read_text() == 'username = "theirs"\n' and path.stat().st_uid == OTHER_UID


# ----------------------------------------------------------------------------- limits


@pytest.mark.parametrize(
    "document",
    [
        "[ui]\nx = " + "[" * 50_000 + "]" * 50_000 + "\n",
        "[ui]\nx = " + "{a = " * 5_000 + "1" + "}" * 5_000 + "\n",
        "[ui." + ".".join(["x"] * 200) + "]\ny = 1\n",
    ],
    ids=["arrays", "inline-tables", "dotted-tables"],
)
def test_config_nested_too_deeply_is_a_clear_error(config_dir, document, capsys):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "config.toml"
    path.write_text(document)
    path.chmod(0o600)
    with pytest.raises(ConfigError) as caught:
        load()
    assert str(caught.value) == (
        f"config file {path} nests tables or arrays more than 20 levels deep; imshare's "
        "settings nest three: fix or remove it"
    )
    assert main(["logout"]) == 2
    assert "nests tables or arrays more than 20 levels deep" in capsys.readouterr().err
    assert path.read_text() == document  # never overwritten


def test_a_huge_config_is_refused_without_reading_it_all(config_dir):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "config.toml"
    with path.open("wb") as handle:
        handle.write(b"# " + b"x" * (2 * 1024 * 1024) + b"\n")
    with pytest.raises(ConfigError, match="is larger than 1024 KiB"):
        load()
