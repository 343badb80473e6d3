"""Token cache and config files: modes, atomic replacement, corrupt files, what is stored."""

from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tui import files
from tui.cloud import Token, TokenCache
from tui.settings.config_file import read_config_file, save
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def make_token(value: str = "tok-value-123", *, hours: float = 24) -> Token:
    return Token(
        value=value,
        expires_at=datetime.now(UTC).replace(microsecond=0) + timedelta(hours=hours),
        project_id="p1",
        project_name="eu-de_demo",
        user_id="u1",
        user_name="alice",
        domain_name="OTC1",
        image_endpoint="https://ims.example.test",
        auth_url="https://iam.example.test/v3",
        region="eu-de",
    )


def test_paths_follow_imshare_config_dir(config_dir):
    assert files.config_dir() == config_dir
    assert files.token_cache_file() == config_dir / "tokens.json"
    assert files.config_file().parent == files.log_file().parent == config_dir


def test_paths_follow_xdg_config_home(monkeypatch, tmp_path):
    monkeypatch.delenv("IMSHARE_CONFIG_DIR")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert files.config_dir() == tmp_path / "xdg" / "imshare"


def test_cache_round_trip_with_private_modes(config_dir):
    cache = TokenCache(config_dir / "tokens.json")
    token = make_token()
    cache.put("key", token)
    assert mode(config_dir / "tokens.json") == 0o600
    assert mode(config_dir) == 0o700
    again = TokenCache(config_dir / "tokens.json").get("key")
    assert again == token
    assert cache.get("other") is None
    assert cache.drop("key") is True
    assert cache.drop("key") is False
    assert cache.get("key") is None


def test_cache_never_holds_a_password(config_dir):
    cache = TokenCache(config_dir / "tokens.json")
    cache.put(Settings(username="alice", password="pw-secret").cache_key(), make_token())
    text = (config_dir / "tokens.json").read_text()
    assert "pw-secret" not in text
    assert "password" not in text


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\xff\xfe garbage \x80",
        b"{not json",
        b"[1, 2, 3]",
        b'{"version": 1, "tokens": []}',
        b'{"version": 99, "tokens": {}}',
        b'{"version": 1, "tokens": {"key": "a string"}}',
        b'{"version": 1, "tokens": {"key": {"token": 5, "expires_at": []}}}',
        b"",
    ],
)
def test_corrupt_cache_is_ignored_and_replaced(config_dir, content):
    path = config_dir / "tokens.json"
    config_dir.mkdir(mode=0o700)
    path.write_bytes(content)
    path.chmod(0o600)
    cache = TokenCache(path)
    assert cache.get("key") is None
    cache.put("key", make_token())
    assert json.loads(path.read_text())["version"] == 1
    replaced = TokenCache(path).get("key")
    assert replaced is not None and replaced.value == "tok-value-123"
    assert mode(path) == 0o600


def test_a_directory_at_the_cache_path_is_refused_once(config_dir):
    path = config_dir / "tokens.json"
    path.mkdir(parents=True)  # a directory where the file should be
    cache = TokenCache(path)
    assert cache.get("key") is None
    cache.put("key", make_token())  # not a crash: the run goes on without caching
    assert cache.get("key") is None
    assert path.is_dir() and not list(path.iterdir())
    assert cache.warnings == [
        f"token cache {path} is a directory, not a regular file: remove it; tokens are not "
        "cached in this run"
    ]


def test_readable_cache_is_reported_and_replaced_private_at_the_next_login(config_dir):
    cache = TokenCache(config_dir / "tokens.json")
    cache.put("key", make_token())
    (config_dir / "tokens.json").chmod(0o644)
    fresh = TokenCache(config_dir / "tokens.json")
    assert fresh.get("key") is not None
    assert mode(config_dir / "tokens.json") == 0o644  # read, reported, not chmodded
    (warning,) = fresh.warnings
    assert f"token cache {config_dir / 'tokens.json'} is readable by other users" in warning
    assert "mode 0644" in warning
    fresh.put("other", make_token())  # a new file replaces it, created 0600
    assert mode(config_dir / "tokens.json") == 0o600


def test_loose_existing_directory_is_reported_not_chmodded(config_dir):
    config_dir.mkdir(mode=0o755)
    config_dir.chmod(0o755)
    cache = TokenCache(config_dir / "tokens.json")
    cache.check()
    cache.put("key", make_token())
    assert mode(config_dir) == 0o755
    assert mode(config_dir / "tokens.json") == 0o600
    (warning,) = cache.warnings
    assert f"directory {config_dir} is open to other users (mode 0755)" in warning
    assert f"chmod 700 {config_dir}" in warning


def test_concurrent_writers_leave_a_valid_file(config_dir):
    path = config_dir / "tokens.json"
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            for i in range(25):
                TokenCache(path).put(f"key-{n}", make_token(f"tok-{n}-{i}"))
                data = json.loads(path.read_text())  # never a half-written file
                assert data["version"] == 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert mode(path) == 0o600
    assert not [p for p in config_dir.iterdir() if p.name.endswith(".tmp")]


# ----------------------------------------------------------------------------- config


def test_config_saved_0600_without_password_unless_asked(config_dir):
    settings = Settings(
        auth_url="https://iam.eu-de.otc.t-systems.com/v3",
        username="alice",
        password="pw-secret",
        user_domain_name="OTC1",
        project_name="eu-de",
    )
    path = save(settings)
    assert path == config_dir / "config.toml"
    assert mode(path) == 0o600 and mode(config_dir) == 0o700
    assert "pw-secret" not in path.read_text()
    loaded = load()
    assert loaded.settings.username == "alice"
    assert loaded.settings.password == ""
    settings = replace(settings, remember_password=True)
    save(settings)
    assert load().settings.password == "pw-secret"


def test_environment_wins_over_the_file(config_dir):
    save(Settings(auth_url="https://file.example/v3", username="file-user", project_name="p"))
    loaded = load(
        environ={
            "OS_AUTH_URL": "https://env.example/v3",
            "OS_PROJECT_ID": "pid",
            "OS_INSECURE": "true",
        }
    )
    assert loaded.settings.auth_url == "https://env.example/v3"
    assert loaded.settings.username == "file-user"
    assert loaded.settings.project_id == "pid" and loaded.settings.project_name == ""
    assert loaded.settings.verify is False


def test_corrupt_config_names_file_and_line(config_dir):
    path = config_dir / "config.toml"
    config_dir.mkdir()
    path.write_text('username = "alice"\nauth_url = \n')
    with pytest.raises(ConfigError) as caught:
        read_config_file(path)
    assert str(path) in str(caught.value)
    assert "line 2" in str(caught.value)
    assert path.read_text() == 'username = "alice"\nauth_url = \n'  # never overwritten


def test_readable_config_is_reported_not_chmodded(config_dir):
    path = save(Settings(username="alice"))
    os.chmod(path, 0o644)
    loaded = load()
    assert mode(path) == 0o644
    (warning,) = loaded.warnings
    assert f"config file {path} is readable by other users (mode 0644)" in warning
    assert f"chmod 600 {path}" in warning


def test_unknown_setting_is_named(config_dir):
    config_dir.mkdir()
    (config_dir / "config.toml").write_text('usernme = "alice"\n')
    with pytest.raises(ConfigError, match="unknown setting 'usernme'"):
        load()


def test_problems_name_what_is_missing():
    problems = Settings().problems()
    text = "\n".join(problems)
    for needle in ("OS_AUTH_URL", "OS_USERNAME", "OS_USER_DOMAIN_NAME", "OS_PROJECT_NAME"):
        assert needle in text


def test_password_over_plain_http_to_a_remote_host_is_a_problem():
    settings = Settings(
        auth_url="http://iam.example.com/v3", username="u", user_domain_name="d", project_id="p"
    )
    assert any("unencrypted" in p for p in settings.problems())
    settings = replace(settings, allow_insecure_http=True)
    assert settings.problems() == []
    settings = Settings(
        auth_url="http://127.0.0.1:5000/v3", username="u", user_domain_name="d", project_id="p"
    )
    assert settings.problems() == []
