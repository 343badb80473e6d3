"""imshare's own files: created private, never chmodded when they were already there, never
written through a symbolic link, never another user's; the token cache locked and bounded.

These run as root on the project machine, where permission checks are bypassed: they assert
modes, links, owners and contents, never that an access was denied.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui import files, logsetup
from tui.cli.main import main
from tui.cloud import Token, TokenCache

OTHER_UID = 54321  # a user that owns nothing on this machine


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def make_token(value: str = "tok-value-123") -> Token:
    return Token(
        value=value,
        expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=24),
        project_id="p1",
        project_name="eu-de_demo",
        user_id="u1",
        user_name="alice",
        domain_name="OTC1",
        image_endpoint="https://ims.example.test",
        auth_url="https://iam.example.test/v3",
        region="eu-de",
    )


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that would leave new files and directories open to everybody."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def precious(tmp_path: Path, name: str = "precious.txt") -> Path:
    """A file of the user's that imshare has no business changing."""
    target = tmp_path / name
    target.write_text("the user's own words\n")
    target.chmod(0o644)
    return target


# ----------------------------------------------------------------------------- directories


def test_directories_imshare_creates_are_0700_parents_too(tmp_path, loose_umask):
    directory = tmp_path / "a" / "b" / "imshare"
    TokenCache(directory / "tokens.json").put("key", make_token())
    for created in (tmp_path / "a", tmp_path / "a" / "b", directory):
        assert mode(created) == 0o700, created
    assert mode(directory / "tokens.json") == 0o600


def test_a_shared_config_dir_is_used_reported_once_and_never_chmodded(
    tmp_path, monkeypatch, cloud_env, capsys
):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    monkeypatch.setenv("IMSHARE_CONFIG_DIR", str(shared))
    assert main(["--debug", "list", "-f", "value", "-c", "ID"]) == 0
    err = capsys.readouterr().err
    assert mode(shared) == 0o1777
    assert mode(shared / "tokens.json") == 0o600
    assert mode(shared / "imshare.log") == 0o600
    warning = f"directory {shared} (a shared directory) is open to other users (mode 1777)"
    assert err.count(warning) == 1
    assert f"chmod 700 {shared}" in err


# ----------------------------------------------------------------------------- token cache


def test_symlink_at_the_token_cache_is_refused_and_its_target_untouched(tmp_path, config_dir):
    config_dir.mkdir(mode=0o700)
    target = precious(tmp_path)
    link = config_dir / "tokens.json"
    link.symlink_to(target)
    cache = TokenCache(link)
    assert cache.get("key") is None
    cache.put("key", make_token())
    assert link.is_symlink() and link.readlink() == target
    assert target.read_text() == "the user's own words\n"
    assert mode(target) == 0o644  # not chmodded through the link
    assert cache.warnings == [
        f"token cache {link} is a symbolic link; imshare does not follow links for files "
        f"that hold secrets: remove it (`rm {link}`); tokens are not cached in this run"
    ]
    assert not [p for p in config_dir.iterdir() if p.name.endswith(".tmp")]


def test_symlink_at_the_lock_file_is_refused(tmp_path, config_dir):
    config_dir.mkdir(mode=0o700)
    target = precious(tmp_path)
    (config_dir / "tokens.json.lock").symlink_to(target)
    cache = TokenCache(config_dir / "tokens.json")
    cache.put("key", make_token())
    assert not (config_dir / "tokens.json").exists()
    assert target.read_text() == "the user's own words\n" and mode(target) == 0o644
    assert "is a symbolic link" in cache.refused


def test_a_cache_of_another_user_is_neither_read_nor_replaced(config_dir):
    path = config_dir / "tokens.json"
    TokenCache(path).put("key", make_token("theirs"))
    os.chown(path, OTHER_UID, -1)
    before = path.read_bytes()
    cache = TokenCache(path)
    assert cache.get("key") is None  # a planted token is not used
    cache.put("key", make_token("mine"))
    assert path.read_bytes() == before and path.stat().st_uid == OTHER_UID
    assert f"belongs to another user (uid {OTHER_UID})" in cache.warnings[0]


def test_nested_cache_is_ignored_and_replaced(config_dir):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "tokens.json"
    depth = 100_000
    path.write_text('{"version": 1, "tokens": ' + "[" * depth + "]" * depth + "}")
    path.chmod(0o600)
    cache = TokenCache(path)
    assert cache.get("key") is None
    cache.put("key", make_token())
    assert json.loads(path.read_text())["tokens"]["key"]["token"] == "tok-value-123"
    assert any("is corrupt; it is ignored and will be replaced" in w for w in cache.warnings)


def test_cache_nested_below_the_recursion_limit_is_ignored_too(config_dir):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "tokens.json"
    entry = "[" * 50 + "]" * 50
    path.write_text('{"version": 1, "tokens": {"key": ' + entry + "}}")
    path.chmod(0o600)
    cache = TokenCache(path)
    assert cache.get("key") is None
    assert cache.warnings == [
        f"token cache {path} nests deeper than {files.MAX_DEPTH} levels; it is ignored and "
        "will be replaced"
    ]


def test_login_and_logout_work_with_an_absurdly_nested_cache(cloud_env, config_dir, capsys):
    config_dir.mkdir(mode=0o700)
    path = config_dir / "tokens.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    assert main(["logout"]) == 0
    assert main(["login"]) == 0
    out = capsys.readouterr().out
    assert "logged in as demo@" in out
    assert main(["logout"]) == 0
    assert "logged out: dropped the cached token" in capsys.readouterr().out
    assert json.loads(path.read_text()) == {"version": 1, "tokens": {}}


def test_an_oversized_cache_is_ignored_and_replaced(config_dir):
    path = config_dir / "tokens.json"
    TokenCache(path).put("key", make_token())
    data = json.loads(path.read_text())
    data["tokens"]["padding"] = {"token": "x" * (1024 * 1024)}  # over the 1 MiB limit
    path.write_text(json.dumps(data))
    cache = TokenCache(path)
    assert cache.get("key") is None  # not read at all
    assert cache.warnings == [
        f"token cache {path} is larger than 1024 KiB; it is ignored and will be replaced"
    ]
    fresh = make_token("fresh")
    cache.put("key", fresh)
    assert json.loads(path.read_text())["tokens"] == {"key": fresh.to_cache()}


def test_threads_writing_different_keys_keep_every_entry(config_dir):
    path = config_dir / "tokens.json"
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def writer(n: int) -> None:
        try:
            start.wait()
            for i in range(25):
                TokenCache(path).put(f"thread-{n}-{i}", make_token(f"tok-{n}-{i}"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    kept = json.loads(path.read_text())["tokens"]
    assert sorted(kept) == sorted(f"thread-{n}-{i}" for n in range(4) for i in range(25))


_HAMMER = """
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tui.cloud import Token, TokenCache

path, name, ready, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
ready.touch()
while not go.exists():
    time.sleep(0.001)
for i in range(40):
    token = Token(
        value=f"{name}-{i}", expires_at=datetime.now(UTC) + timedelta(hours=1),
        project_id=name, project_name=name, user_id="u", user_name="u", domain_name="d",
        image_endpoint="https://ims.example.test", auth_url="https://iam.example.test/v3",
        region="eu-de",
    )
    TokenCache(path).put(f"{name}-{i}", token)
"""


def test_two_processes_logging_in_at_once_keep_each_others_entries(tmp_path, config_dir):
    path = config_dir / "tokens.json"
    go = tmp_path / "go"
    names = ("project-a", "project-b")
    readies = [tmp_path / f"ready-{name}" for name in names]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _HAMMER, str(path), name, str(ready), str(go)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for name, ready in zip(names, readies, strict=True)
    ]
    try:
        for ready in readies:  # both started: now they write at the same moment
            for _ in range(6000):
                if ready.exists():
                    break
                time.sleep(0.01)
        go.touch()
        for proc in procs:
            assert proc.wait(timeout=120) == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    kept = json.loads(path.read_text())["tokens"]
    assert sorted(kept) == sorted(f"{name}-{i}" for name in names for i in range(40))
    assert mode(path) == 0o600 and mode(files.lock_file(path)) == 0o600


# ----------------------------------------------------------------------------- debug log


def test_debug_log_is_created_0600(config_dir, loose_umask):
    path = logsetup.configure(True, stderr=False)
    assert path == config_dir / "imshare.log"
    assert mode(path) == 0o600 and mode(config_dir) == 0o700


def test_symlink_at_the_debug_log_is_refused_and_its_target_untouched(tmp_path, config_dir, capsys):
    config_dir.mkdir(mode=0o700)
    target = precious(tmp_path)
    (config_dir / "imshare.log").symlink_to(target)
    assert main(["--debug", "locate"]) == 0
    err = capsys.readouterr().err
    assert target.read_text() == "the user's own words\n"
    assert mode(target) == 0o644
    link = config_dir / "imshare.log"
    assert err.count(f"debug log {link} is a symbolic link") == 1
    assert "not logging in this run" in err
    assert logsetup.problems and "symbolic link" in logsetup.problems[0]


def test_loose_debug_log_is_appended_to_reported_and_not_chmodded(config_dir, capsys):
    config_dir.mkdir(mode=0o700)
    log = config_dir / "imshare.log"
    log.write_text("earlier run\n")
    log.chmod(0o644)
    assert main(["--debug", "locate"]) == 0
    logsetup.reset()  # closes the log
    assert mode(log) == 0o644
    assert log.read_text().startswith("earlier run\n") and "imshare" in log.read_text()
    err = capsys.readouterr().err
    assert err.count(f"debug log {log} is readable by other users (mode 0644)") == 1


def test_a_debug_log_of_another_user_is_not_appended_to(config_dir, capsys):
    config_dir.mkdir(mode=0o700)
    log = config_dir / "imshare.log"
    log.write_text("theirs\n")
    log.chmod(0o600)
    os.chown(log, OTHER_UID, -1)
    assert main(["--debug", "locate"]) == 0
    assert log.read_text() == "theirs\n"
    assert f"belongs to another user (uid {OTHER_UID})" in capsys.readouterr().err
