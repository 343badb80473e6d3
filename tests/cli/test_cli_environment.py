"""The environment a command starts in: values a user pasted wrong are configuration problems
(exit 2, a message naming the variable), never tracebacks; TLS verification switched off is
said once; every warning is printed once per run."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tui.cli.main import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(
    ("spoil", "what"),
    [
        (lambda url: url + "\nX-Injected: 1", "a line break (U+000A)"),
        (lambda url: url.replace("/v3", "/\r/v3"), "a line break (U+000D)"),
        (lambda url: url.replace("127.0.0.1", "127.0.\x1b0.1"), "a control character (U+001B)"),
        (lambda url: url.replace("/v3", "/ v3"), "a space (U+0020)"),
    ],
    ids=["newline", "carriage-return", "escape", "space"],
)
def test_auth_url_with_a_bad_character_is_a_configuration_problem(
    cloud_env, monkeypatch, capsys, spoil, what
):
    url = spoil(cloud_env.credentials["OS_AUTH_URL"])
    monkeypatch.setenv("OS_AUTH_URL", url)
    code, out, err = run(capsys, "list")
    assert code == 2
    assert f"auth URL: {url!r} contains {what}; remove it" in err
    assert out == "" and "Traceback" not in err
    assert cloud_env.stats.token_requests == 0


def test_project_id_with_a_newline_is_a_configuration_problem(cloud_env, monkeypatch, capsys):
    monkeypatch.delenv("OS_PROJECT_NAME")
    monkeypatch.setenv("OS_PROJECT_ID", "abc\ndef")
    code, _, err = run(capsys, "list")
    assert code == 2
    assert "project id (OS_PROJECT_ID) contains a line break (U+000A); remove it" in err


@pytest.mark.parametrize(
    ("variable", "value", "shown"),
    [
        ("HTTPS_PROXY", "::::", "'::::'"),
        ("https_proxy", "http://proxy:port", "'http://proxy:port'"),
        ("HTTP_PROXY", "ftp://proxy.example.com", "'ftp://proxy.example.com'"),
        ("ALL_PROXY", "http://bob:s3cret-pw@proxy:port", "'http://***@proxy:port'"),
        ("NO_PROXY", "localhost,a://b:c", "'a://b:c'"),
    ],
)
def test_unusable_proxy_variable_exits_2_naming_it(
    cloud_env, monkeypatch, capsys, variable, value, shown
):
    monkeypatch.setenv(variable, value)
    code, _, err = run(capsys, "list")
    assert code == 2
    assert err.startswith(f"imshare: {variable}={shown} cannot be used (")
    assert "or unset it" in err
    assert "s3cret-pw" not in err and "Traceback" not in err
    assert cloud_env.stats.token_requests == 0


def test_ordinary_no_proxy_lists_are_accepted(cloud_env, monkeypatch, capsys):
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1,::1,10.0.0.0/8,.internal,example.com")
    code, out, err = run(capsys, "list", "-f", "value", "-c", "ID")
    assert code == 0, err
    assert sorted(out.split()) == sorted(cloud_env.shared_image_ids("pending"))


def test_unusable_proxy_stops_the_demo_app_before_it_starts():
    env = {"HTTPS_PROXY": "::::", "PATH": "/usr/bin:/bin", "TERM": "dumb"}
    result = subprocess.run(
        [sys.executable, "-m", "tui", "--demo"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "HTTPS_PROXY='::::' cannot be used" in result.stderr
    assert "Traceback" not in result.stderr


def test_insecure_tls_is_warned_about_once(cloud_env, monkeypatch, capsys):
    monkeypatch.setenv("OS_INSECURE", "true")
    code, out, err = run(capsys, "list", "-f", "value", "-c", "ID")
    assert code == 0
    warning = "warning: TLS certificate verification is off (OS_INSECURE)"
    assert err.count(warning) == 1
    assert "set OS_CACERT to your CA bundle instead" in err
    assert out.split()  # the listing itself is unaffected


def test_verification_on_says_nothing(cloud_env, monkeypatch, capsys):
    monkeypatch.setenv("OS_INSECURE", "false")
    code, _, err = run(capsys, "list", "-f", "value", "-c", "ID")
    assert code == 0 and err == ""


def test_a_broken_token_cache_is_reported_once_per_run(cloud_env, config_dir, capsys):
    config_dir.mkdir(mode=0o700)
    (config_dir / "tokens.json").mkdir()  # read at start, at login, and at the write
    code, out, err = run(capsys, "list", "-f", "value", "-c", "ID")
    assert code == 0
    assert sorted(out.split()) == sorted(cloud_env.shared_image_ids("pending"))
    path = config_dir / "tokens.json"
    assert err == (
        f"imshare: warning: token cache {path} is a directory, not a regular file: remove it; "
        "tokens are not cached in this run\n"
    )
