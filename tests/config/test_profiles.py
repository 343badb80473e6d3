"""Named profiles in config.toml: selection, listing, saving, errors, and a token per profile
against a real DemoCloud."""

from __future__ import annotations

import json
import stat
import tomllib

import pytest
import tomli_w

from tui.cli.main import main
from tui.settings.config_file import list_profiles, save, save_ui_prefs
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load


def write_config(path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data))


def settings_table(cloud, owner: int | None = None) -> dict:
    creds = cloud.credentials if owner is None else cloud.owner_credentials(owner)
    return {
        "auth_url": creds["OS_AUTH_URL"],
        "username": creds["OS_USERNAME"],
        "password": creds["OS_PASSWORD"],
        "remember_password": True,
        "user_domain_name": creds["OS_USER_DOMAIN_NAME"],
        "project_name": creds["OS_PROJECT_NAME"],
        "region": creds["OS_REGION_NAME"],
    }


def test_top_level_is_the_default_profile(tmp_path):
    path = tmp_path / "config.toml"
    write_config(
        path,
        {
            "auth_url": "https://top/v3",
            "username": "top-user",
            "ui": {"theme": "nord"},
            "profiles": {
                "work": {"auth_url": "https://work/v3", "project_name": "eu-de_work"},
                "home": {"auth_url": "https://home/v3"},
            },
        },
    )
    assert list_profiles(path) == ["default", "home", "work"]
    top = load(path, environ={})
    assert top.settings.auth_url == "https://top/v3" and top.profile == "default"
    assert top.ui == {"theme": "nord"}
    work = load(path, environ={}, profile="work")
    assert work.profile == "work" and "[profiles.work]" in work.source
    # Profiles do not inherit the top level: each is complete on its own.
    assert work.settings.auth_url == "https://work/v3" and work.settings.username == ""
    assert work.ui == {"theme": "nord"}
    assert load(path, environ={"IMSHARE_PROFILE": "home"}).settings.auth_url == "https://home/v3"
    # OS_* still win over a profile.
    assert load(path, environ={"OS_USERNAME": "env"}, profile="work").settings.username == "env"


def test_missing_profile_lists_those_that_exist(tmp_path):
    path = tmp_path / "config.toml"
    write_config(path, {"profiles": {"b": {}, "a": {}}})
    with pytest.raises(ConfigError, match=r"'nope' is not in .*profiles there: default, a, b"):
        load(path, environ={}, profile="nope")
    with pytest.raises(ConfigError, match="does not exist yet"):
        load(tmp_path / "absent.toml", environ={}, profile="nope")
    assert list_profiles(tmp_path / "absent.toml") == ["default"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"profiles": {"default": {}}}, "reserved"),
        ({"profiles": {"x": {"colour": "red"}}}, r"\[profiles.x\]: unknown setting 'colour'"),
        ({"profiles": {"x": {"token": "t"}}}, "never stored"),
        ({"auth_type": "token"}, "not read from the config file"),
        ({"profiles": "x"}, "must hold tables"),
    ],
)
def test_bad_profiles_are_config_errors(tmp_path, data, message):
    path = tmp_path / "config.toml"
    write_config(path, data)
    with pytest.raises(ConfigError, match=message):
        load(path, environ={}, profile="x" if "x" in str(data) else None)


def test_save_keeps_other_profiles_and_never_writes_a_token(tmp_path):
    path = tmp_path / "config.toml"
    write_config(path, {"username": "top", "ui": {"theme": "nord"}, "profiles": {"a": {}}})
    settings = Settings(
        auth_url="https://b/v3", username="bee", token="secret-token", auth_type="token"
    )
    save(settings, path=path, profile="b")
    data = tomllib.loads(path.read_text())
    assert data["username"] == "top" and data["ui"] == {"theme": "nord"}
    assert data["profiles"]["b"] == {"auth_url": "https://b/v3", "username": "bee"}
    assert "a" in data["profiles"]
    assert "secret-token" not in path.read_text()
    save(Settings(username="new-top"), path)
    assert save_ui_prefs(path, {"theme": "x"})
    data = tomllib.loads(path.read_text())
    assert data["username"] == "new-top" and data["ui"] == {"theme": "x"}
    assert set(data["profiles"]) == {"a", "b"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    path.write_text("not [valid")
    with pytest.raises(ConfigError, match="not valid TOML"):
        save(Settings(), path=path)
    assert path.read_text() == "not [valid"


def test_each_profile_has_its_own_token(demo_cloud, config_dir, capsys):
    """Two profiles, two projects: each logs in once, and each listing uses its own token."""
    config = config_dir / "config.toml"
    write_config(
        config,
        {**settings_table(demo_cloud), "profiles": {"owner": settings_table(demo_cloud, 0)}},
    )
    assert main(["login"]) == 0
    assert main(["login", "--profile", "owner"]) == 0
    out = capsys.readouterr().out
    assert demo_cloud.project_id in out and demo_cloud.owner_project_ids[0] in out
    assert demo_cloud.stats.token_requests == 2
    tokens = json.loads((config_dir / "tokens.json").read_text())["tokens"]
    assert len(tokens) == 2
    assert main(["list", "--status", "all", "-f", "json"]) == 0
    demo_rows = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in demo_rows) == sorted(demo_cloud.shared_image_ids())
    assert main(["--profile", "owner", "list", "--status", "all", "-f", "json"]) == 0
    owner_rows = json.loads(capsys.readouterr().out)
    # The owner project's own images are never in its listing; the demo project's are not its.
    assert all(r["owner"] != demo_cloud.owner_project_ids[0] for r in owner_rows)
    assert sorted(r["id"] for r in owner_rows) != sorted(r["id"] for r in demo_rows)
    assert demo_cloud.stats.token_requests == 2  # both cached, neither mixed up
    assert main(["logout", "--profile", "owner"]) == 0
    assert len(json.loads((config_dir / "tokens.json").read_text())["tokens"]) == 1


def test_cli_missing_profile_exit_2(config_dir, capsys):
    write_config(config_dir / "config.toml", {"profiles": {"work": {}}})
    assert main(["list", "--profile", "home"]) == 2
    assert "profiles there: default, work" in capsys.readouterr().err
    assert main(["--profile", "a", "--os-cloud", "b", "list"]) == 2
    assert "not both" in capsys.readouterr().err


def test_tui_flags_reach_the_app_settings(config_dir, capsys, monkeypatch):
    """`imshare --profile X` / `--os-cloud X` without a command: the app's load() sees them."""
    write_config(config_dir / "config.toml", {"profiles": {"work": {}}})
    monkeypatch.setenv("OS_CLOUD", "stale")  # the flag beats the variable
    monkeypatch.setenv("IMSHARE_PROFILE", "stale")  # (and restored after the test)
    assert main(["--profile", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "default, work" in err
    monkeypatch.chdir(config_dir)
    (config_dir / "clouds.yaml").write_text("clouds: {demo: {}}\n")
    assert main(["--os-cloud", "missing"]) == 2
    assert "clouds there: demo" in capsys.readouterr().err
