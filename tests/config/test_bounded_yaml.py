"""clouds.yaml and secure.yaml read with limits: a "billion laughs" document, a recursive
anchor or absurd nesting is refused at once with a message naming the file (and never the
password in it); the files are never chmodded, and a loose one holding a password is reported."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.settings import clouds_yaml
from tui.settings.model import ConfigError
from tui.settings.sources import load

PASSWORD = "hunter2-in-clouds-yaml"


def laughs(levels: int = 9) -> str:
    """Ten times ten times ... a short list: 10**levels strings once the aliases expand."""
    text = 'l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, levels):
        text += f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]\n"
    return text


def point_at(monkeypatch: pytest.MonkeyPatch, clouds: Path, secure: Path | None = None) -> None:
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    if secure is not None:
        monkeypatch.setenv("OS_CLIENT_SECURE_FILE", str(secure))


def test_billion_laughs_is_refused_naming_the_file(tmp_path, monkeypatch):
    path = tmp_path / "clouds.yaml"
    path.write_text(
        laughs()
        + "clouds:\n  c:\n    region_name: *l8\n    auth:\n"
        + "      auth_url: https://iam.example.com/v3\n"
    )
    point_at(monkeypatch, path)
    with pytest.raises(ConfigError) as caught:
        clouds_yaml.read_files()
    assert str(caught.value).startswith(f"{path} is refused: its aliases (*name) expand to")
    assert "billion laughs" in str(caught.value)


def test_billion_laughs_ends_the_cli_with_exit_2_not_a_hang(tmp_path):
    path = tmp_path / "clouds.yaml"
    path.write_text(
        laughs() + "clouds:\n  c:\n    auth:\n      username: *l8\n      password: *l8\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env["OS_CLIENT_CONFIG_FILE"] = str(path)
    # Its own process, with a generous deadline: the bug this guards against is a hang.
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--os-cloud", "c", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 2
    assert f"{path} is refused: its aliases (*name) expand to" in result.stderr


def test_recursive_anchors_in_clouds_and_secure_yaml_are_refused(tmp_path, monkeypatch):
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  c: &c\n    auth:\n"
        f"      auth_url: https://iam.example.com/v3\n      password: {PASSWORD}\n"
        "      again: *c\n"
    )
    secure = tmp_path / "secure.yaml"
    secure.write_text("clouds:\n  c: &s\n    auth:\n      again: *s\n")
    point_at(monkeypatch, clouds, secure)
    with pytest.raises(ConfigError) as caught:
        load(cloud="c")
    message = str(caught.value)
    assert message == (
        f"{clouds} is refused: the alias *c at line 6 is inside its own anchor &c "
        "(a recursive structure); fix the file"
    )
    assert PASSWORD not in message


def test_recursive_anchor_makes_the_cli_exit_2_without_the_password(tmp_path, monkeypatch, capsys):
    secure = tmp_path / "secure.yaml"
    secure.write_text(f"clouds:\n  c: &s\n    auth:\n      password: {PASSWORD}\n      x: [*s]\n")
    secure.chmod(0o600)
    point_at(monkeypatch, tmp_path / "missing-clouds.yaml", secure)
    assert main(["--os-cloud", "c", "list"]) == 2
    err = capsys.readouterr().err
    assert f"{secure} is refused: the alias *s" in err
    assert PASSWORD not in err and "Traceback" not in err


@pytest.mark.parametrize(
    "body",
    [
        "clouds:\n  c:\n    x: " + "[" * 20_000 + "]" * 20_000 + "\n",
        "clouds:\n  c:\n    x: " + "{a: " * 5_000 + "1" + "}" * 5_000 + "\n",
    ],
    ids=["lists", "mappings"],
)
def test_deeply_nested_yaml_is_refused(tmp_path, monkeypatch, body):
    path = tmp_path / "clouds.yaml"
    path.write_text(body)
    point_at(monkeypatch, path)
    with pytest.raises(ConfigError, match=r"is refused: it nests more than 20 levels deep"):
        clouds_yaml.read_files()


def test_aliases_that_build_depth_are_refused(tmp_path, monkeypatch):
    # Each anchor nests 5 levels; chaining them nests 5 more each time, with no deep text.
    text = "a0: &a0 [[[[[1]]]]]\n"
    for level in range(1, 8):
        text += f"a{level}: &a{level} [[[[[*a{level - 1}]]]]]\n"
    path = tmp_path / "clouds.yaml"
    path.write_text(text + "clouds:\n  c:\n    x: *a7\n")
    point_at(monkeypatch, path)
    with pytest.raises(ConfigError, match="its aliases build a structure more than 20 levels"):
        clouds_yaml.read_files()


def test_ordinary_anchors_and_merge_keys_still_work(tmp_path, monkeypatch):
    path = tmp_path / "clouds.yaml"
    path.write_text(
        "defaults: &defaults\n"
        "  region_name: eu-de\n"
        "  auth: &auth\n"
        "    auth_url: https://iam.eu-de.otc.t-systems.com/v3\n"
        "    user_domain_name: OTC00000000001000000xxx\n"
        "    username: me\n"
        "clouds:\n"
        "  prod:\n"
        "    <<: *defaults\n"
        "    auth:\n"
        "      <<: *auth\n"
        "      project_name: eu-de_prod\n"
        "  test:\n"
        "    <<: *defaults\n"
        "    auth:\n"
        "      <<: *auth\n"
        "      project_name: eu-de_test\n"
    )
    point_at(monkeypatch, path)
    assert clouds_yaml.list_clouds() == ["prod", "test"]
    settings = clouds_yaml.settings_from_cloud("test")
    assert (settings.username, settings.project_name, settings.region) == (
        "me",
        "eu-de_test",
        "eu-de",
    )


def test_an_explicit_clouds_file_that_is_not_a_file_is_refused(tmp_path, monkeypatch):
    fifo = tmp_path / "clouds.yaml"
    os.mkfifo(fifo)
    point_at(monkeypatch, fifo)
    with pytest.raises(ConfigError) as caught:
        clouds_yaml.read_files()
    assert str(caught.value) == (
        f"OS_CLIENT_CONFIG_FILE names {fifo}, which is a FIFO, not a regular file; name a "
        "file or unset OS_CLIENT_CONFIG_FILE"
    )
    monkeypatch.setenv("OS_CLIENT_SECURE_FILE", str(tmp_path))
    monkeypatch.delenv("OS_CLIENT_CONFIG_FILE")
    with pytest.raises(ConfigError, match=f"OS_CLIENT_SECURE_FILE names {tmp_path}, which is a"):
        clouds_yaml.read_files()


def test_loose_secure_yaml_with_a_password_is_reported_never_chmodded(
    tmp_path, monkeypatch, cloud_env, capsys
):
    creds = cloud_env.credentials
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(
        "clouds:\n  demo:\n"
        f"    region_name: {creds['OS_REGION_NAME']}\n"
        "    auth:\n"
        f"      auth_url: {creds['OS_AUTH_URL']}\n"
        f"      username: {creds['OS_USERNAME']}\n"
        f"      project_name: {creds['OS_PROJECT_NAME']}\n"
        f"      user_domain_name: {creds['OS_USER_DOMAIN_NAME']}\n"
    )
    clouds.chmod(0o644)  # no secret in it: no warning
    secure = tmp_path / "secure.yaml"
    secure.write_text(f"clouds:\n  demo:\n    auth:\n      password: {creds['OS_PASSWORD']}\n")
    secure.chmod(0o644)
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    point_at(monkeypatch, clouds, secure)
    assert main(["--os-cloud", "demo", "list", "-f", "value", "-c", "ID"]) == 0
    err = capsys.readouterr().err
    warning = f"{secure} is readable by other users (mode 0644) and holds a password or token"
    assert err.count(warning) == 1
    assert f"`chmod 600 {secure}`" in err
    assert str(clouds) + " is readable" not in err
    assert creds["OS_PASSWORD"] not in err
    assert stat.S_IMODE(secure.stat().st_mode) == 0o644
    assert stat.S_IMODE(clouds.stat().st_mode) == 0o644
