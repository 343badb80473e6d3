"""The CLI against a real DemoCloud: mostly in-process via main() (fast), a few subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tui.cli import commands
from tui.cli.main import main
from tui.democloud import Faults


def out_err(capsys) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_list_json_is_exactly_the_pending_shares(cloud_env, capsys):
    assert main(["list", "--json"]) == 0
    out, err = out_err(capsys)
    rows = json.loads(out)
    assert sorted(r["id"] for r in rows) == sorted(cloud_env.shared_image_ids("pending"))
    assert all(r["status"] == "pending" for r in rows)
    # By name, ignoring case (as the app sorts), then id: "openSUSE" is among the O's.
    pairs = [(r["name"], r["id"]) for r in rows]
    assert pairs == sorted(pairs, key=lambda pair: (pair[0].lower(), pair[1]))
    assert any(name[0].islower() for name, _ in pairs)  # the demo has such names
    for key in ("id", "name", "status", "owner", "os_version", "disk_format", "size_bytes",
                "created_at"):  # fmt: skip
        assert key in rows[0]
    assert err == ""


def test_list_all_statuses(cloud_env, capsys):
    assert main(["list", "--status", "all", "--json"]) == 0
    rows = json.loads(out_err(capsys)[0])
    assert sorted(r["id"] for r in rows) == sorted(cloud_env.shared_image_ids())
    by_status = {r["id"]: r["status"] for r in rows}
    assert all(by_status[i] == cloud_env.member_status(i) for i in by_status)
    assert not set(cloud_env.own_image_ids()) & set(by_status)


def test_list_table(cloud_env, capsys):
    assert main(["list", "--status", "accepted"]) == 0
    out, _ = out_err(capsys)
    lines = out.splitlines()
    # The headers are the -c names, as openstackclient's.
    assert [h.strip() for h in lines[0].split("  ") if h.strip()] == [
        "ID", "Name", "Status", "OS Version", "Size", "Disk Format", "Owner", "Created At"
    ]  # fmt: skip
    accepted = cloud_env.shared_image_ids("accepted")
    assert len(lines) == 1 + len(accepted)
    assert all(" accepted " in line for line in lines[1:])
    assert any("GiB" in line for line in lines[1:])
    # Aligned: every row starts its NAME column where the header does.
    column = lines[0].index("Name")
    assert all(line[column - 2 : column] == "  " for line in lines[1:])
    assert {line.split()[0] for line in lines[1:]} == set(accepted)


def test_empty_list(cloud_env, capsys):
    for image_id in cloud_env.shared_image_ids("rejected"):
        cloud_env.set_member_status(image_id, "accepted")
    assert main(["list", "--status", "rejected"]) == 0
    out, err = out_err(capsys)
    assert out == "" and "no rejected shares" in err
    assert main(["list", "--status", "rejected", "--json"]) == 0
    assert json.loads(out_err(capsys)[0]) == []


def test_accept_one(cloud_env, capsys):
    image_id = cloud_env.shared_image_ids("pending")[0]
    assert main(["accept", image_id]) == 0
    out, err = out_err(capsys)
    assert out == f"accepted {image_id}\n" and err == ""
    assert cloud_env.member_status(image_id) == "accepted"
    assert main(["list", "--json"]) == 0
    assert image_id not in {r["id"] for r in json.loads(out_err(capsys)[0])}


def test_reject_and_reset_to_pending(cloud_env, capsys):
    ids = cloud_env.shared_image_ids("accepted")[:2]
    assert main(["reject", *ids]) == 0
    assert sorted(out_err(capsys)[0].splitlines()) == sorted(f"rejected {i}" for i in ids)
    assert all(cloud_env.member_status(i) == "rejected" for i in ids)
    assert main(["pending", ids[0]]) == 0
    assert out_err(capsys)[0] == f"pending {ids[0]}\n"
    assert cloud_env.member_status(ids[0]) == "pending"


def test_several_ids_one_bad_exit_1_with_one_line_per_failure(cloud_env, capsys):
    good = cloud_env.shared_image_ids("pending")[:2]
    missing = "00000000-0000-0000-0000-000000000000"
    foreign = cloud_env.foreign_image_ids()[0]
    assert main(["accept", good[0], missing, good[1], foreign]) == 1
    out, err = out_err(capsys)
    assert sorted(out.splitlines()) == sorted(f"accepted {i}" for i in good)
    failures = [
        line
        for line in err.splitlines()
        if line.startswith(("imshare: 0000", f"imshare: {foreign}"))
    ]
    assert len(failures) == 2
    assert any(line.startswith(f"imshare: {missing}: 404") for line in failures)
    assert any(line.startswith(f"imshare: {foreign}: 404") for line in failures)
    assert "2 of 4 failed" in err
    assert all(cloud_env.member_status(i) == "accepted" for i in good)


def test_full_ecs_accept_needs_vault(make_cloud, monkeypatch, capsys):
    cloud = make_cloud(images=300)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    image_id = cloud.whole_image_ids()[0]
    cloud.set_member_status(image_id, "pending")
    assert main(["accept", image_id]) == 1
    _out, err = out_err(capsys)
    # What to do first, then the cloud's own words; never "the vault was not found".
    assert err.startswith(f"imshare: {image_id}: needs --vault-id V: it is a full-ECS image")
    assert "IMG.0184: The vault_id parameter is required" in err
    assert "not found" not in err
    assert main(["accept", image_id, "--vault-id", cloud.vault_ids[0]]) == 0
    assert cloud.member_status(image_id) == "accepted"


def test_show(cloud_env, capsys):
    image_id = cloud_env.shared_image_ids("rejected")[0]
    assert main(["show", image_id, "--json"]) == 0
    payload = json.loads(out_err(capsys)[0])
    assert payload["image"]["id"] == image_id
    assert payload["image"]["status"] == "rejected"
    assert payload["member"]["status"] == "rejected"
    assert payload["member"]["member_id"] == cloud_env.project_id
    assert main(["show", image_id]) == 0
    out, _ = out_err(capsys)
    lines = out.splitlines()
    assert lines[0].split() == ["ID:", image_id]
    assert "Status:" in out and "rejected" in out and "Shared At:" in out


def test_show_unknown_image_exit_1(cloud_env, capsys):
    assert main(["show", "00000000-0000-0000-0000-000000000000"]) == 1
    _out, err = out_err(capsys)
    assert err.startswith("imshare: reading image 0000")
    assert ": 404 Not Found: No image found with ID" in err
    assert "Traceback" not in err


def test_wrong_password_exit_1_without_leaking_it(cloud_env, monkeypatch, capsys):
    monkeypatch.setenv("OS_PASSWORD", "wrong-pass-xyz")
    assert main(["list"]) == 1
    out, err = out_err(capsys)
    assert "401" in err and "password" in err
    assert "wrong-pass-xyz" not in out + err


def test_login_logout_with_password_from_env(cloud_env, config_dir, capsys):
    assert main(["login"]) == 0
    out, _ = out_err(capsys)
    assert cloud_env.project_id in out and "eu-de_demo" in out
    assert "token expires:" in out
    assert cloud_env.stats.token_requests == 1
    token_file = (config_dir / "tokens.json").read_text()
    token_value = next(iter(json.loads(token_file)["tokens"].values()))["token"]
    assert token_value not in out
    assert main(["login"]) == 0  # forces a new token
    assert cloud_env.stats.token_requests == 2
    out_err(capsys)
    assert main(["logout"]) == 0
    assert "logged out" in out_err(capsys)[0]
    assert main(["logout"]) == 0
    assert "no cached token" in out_err(capsys)[0]


def test_logout_drops_only_the_token_of_its_own_project(cloud_env, config_dir, monkeypatch, capsys):
    """Two projects' tokens share one cache file: logging out of one keeps the other."""
    assert main(["login"]) == 0
    monkeypatch.setenv("OS_PROJECT_NAME", "eu-de_demo_staging")
    assert main(["login"]) == 0
    assert cloud_env.stats.token_requests == 2
    cache = config_dir / "tokens.json"
    assert len(json.loads(cache.read_text())["tokens"]) == 2
    monkeypatch.setenv("OS_PROJECT_NAME", "eu-de_demo")
    out_err(capsys)
    assert main(["logout"]) == 0
    assert "logged out" in out_err(capsys)[0]
    left = json.loads(cache.read_text())["tokens"]
    assert len(left) == 1 and "eu-de_demo_staging" in next(iter(left))
    monkeypatch.setenv("OS_PROJECT_NAME", "eu-de_demo_staging")
    assert main(["list", "--json"]) == 0  # still logged in there: no new token
    assert cloud_env.stats.token_requests == 2
    monkeypatch.setenv("OS_PROJECT_NAME", "eu-de_demo")
    assert main(["list", "--json"]) == 0  # logged out here: a new token
    assert cloud_env.stats.token_requests == 3


def test_short_lived_tokens_mean_one_login_per_run(make_cloud, monkeypatch, capsys):
    """Keystone tokens valid 60 s: one login serves a whole `list --status all`, the next
    command reuses the cached token, and `login` says such tokens are hardly worth caching."""
    cloud = make_cloud(token_ttl_seconds=60)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    assert main(["list", "--status", "all", "--json"]) == 0
    assert cloud.stats.token_requests == 1
    assert main(["list", "--json"]) == 0  # within the minute: the cached token
    assert cloud.stats.token_requests == 1
    out_err(capsys)
    assert main(["login"]) == 0
    out, err = out_err(capsys)
    assert "60 s" in out + err and "log in again" in out + err
    assert cloud.stats.token_requests == 2


def test_cached_token_works_without_password(cloud_env, monkeypatch, capsys):
    assert main(["login"]) == 0
    monkeypatch.delenv("OS_PASSWORD")
    assert main(["list", "--json"]) == 0
    assert cloud_env.stats.token_requests == 1
    assert main(["logout"]) == 0
    out_err(capsys)
    assert main(["list"]) == 2
    assert "OS_PASSWORD" in out_err(capsys)[1]


def test_password_prompt_on_a_terminal(cloud_env, monkeypatch, capsys):
    password = cloud_env.credentials["OS_PASSWORD"]
    monkeypatch.delenv("OS_PASSWORD")
    asked = []
    monkeypatch.setattr(commands, "_stdin_is_tty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: asked.append(prompt) or password)
    assert main(["login"]) == 0
    assert len(asked) == 1 and "demo@" in asked[0]
    out, err = out_err(capsys)
    assert password not in out + err
    assert main(["list", "--json"]) == 0  # the token is cached now: no second prompt
    assert len(asked) == 1


def test_debug_log_has_no_secrets(cloud_env, config_dir, capsys):
    assert main(["--debug", "list", "--json"]) == 0
    assert main(["accept", cloud_env.shared_image_ids("pending")[0], "--debug"]) == 0
    log_text = (config_dir / "imshare.log").read_text()
    assert "GET /image/v2/images 200" in log_text
    assert "PUT /image/v2/images/" in log_text
    token = next(iter(json.loads((config_dir / "tokens.json").read_text())["tokens"].values()))
    assert token["token"] not in log_text
    assert cloud_env.credentials["OS_PASSWORD"] not in log_text
    assert oct((config_dir / "imshare.log").stat().st_mode & 0o777) == "0o600"


def test_settings_problem_exit_2(cloud_env, monkeypatch, capsys):
    monkeypatch.setenv("OS_AUTH_URL", "ftp://example.com/v3")
    assert main(["list"]) == 2
    assert "must start with https://" in out_err(capsys)[1]


# ---------------------------------------------------------------------- real processes


def _env(cloud) -> dict[str, str]:
    return {**os.environ, **cloud.credentials}


def test_done_when_scenario_in_subprocesses(demo_cloud):
    """list pending --json, accept one, list again: the second list asks for no token."""
    env = _env(demo_cloud)
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "tui", *a], capture_output=True, text=True, env=env, timeout=60
    )
    listed = run("list", "--status", "pending", "--json")
    assert listed.returncode == 0, listed.stderr
    ids = [r["id"] for r in json.loads(listed.stdout)]
    assert sorted(ids) == sorted(demo_cloud.shared_image_ids("pending"))
    accepted = run("accept", ids[0])
    assert accepted.returncode == 0 and accepted.stdout == f"accepted {ids[0]}\n"
    assert demo_cloud.member_status(ids[0]) == "accepted"
    before = demo_cloud.stats.token_requests
    again = run("list", "--status", "pending", "--json")
    assert ids[0] not in {r["id"] for r in json.loads(again.stdout)}
    assert demo_cloud.stats.token_requests == before == 1


def test_ctrl_c_exits_130_without_traceback(make_cloud):
    cloud = make_cloud(latency_ms=5000)
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "list"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(cloud),
    )
    deadline = time.monotonic() + 20
    while cloud.stats.token_requests == 0 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # the request is in flight (the server is slow)
    time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130
    assert "Traceback" not in err


@pytest.mark.timeout(60)
def test_demo_server_command_prints_exports():
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "demo-server", "--images", "12", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("OS_")},
    )
    try:
        exports = {}
        while len(exports) < 7:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.poll() is not None else "no output"
            name, _, value = line.strip().removeprefix("export ").partition("=")
            exports[name] = value
        for name in ("OS_AUTH_URL", "OS_USERNAME", "OS_PASSWORD", "OS_USER_DOMAIN_NAME",
                     "OS_PROJECT_NAME", "OS_REGION_NAME"):  # fmt: skip
            assert exports.get(name), name
        assert exports["OS_AUTH_URL"].startswith("http://127.0.0.1:")
        listed = subprocess.run(
            [sys.executable, "-m", "tui", "list", "--status", "all", "--json"],
            capture_output=True,
            text=True,
            env={**os.environ, **exports},
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert len(json.loads(listed.stdout)) > 0
    finally:
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=20)
    assert proc.returncode == 0


def test_show_own_image_has_no_member_record(cloud_env, capsys):
    image_id = cloud_env.own_image_ids()[0]
    assert main(["show", image_id, "--json"]) == 0
    out, err = out_err(capsys)
    payload = json.loads(out)
    assert payload["image"]["id"] == image_id and payload["member"] is None
    assert f"{image_id} is not shared with project {cloud_env.project_id}" in err


def test_a_refused_token_says_log_in_again_alike_in_list_and_accept(
    cloud_env, config_dir, monkeypatch, capsys
):
    """OS_TOKEN revoked on the server: both commands say to log in again (never "the image
    may have been deleted"), with the same exit code, and nothing is decided."""
    assert main(["login"]) == 0
    cache = json.loads((config_dir / "tokens.json").read_text())
    token = next(iter(cache["tokens"].values()))["token"]
    cloud_env.revoke_tokens()
    monkeypatch.delenv("OS_PASSWORD")
    monkeypatch.setenv("OS_AUTH_TYPE", "v3token")
    monkeypatch.setenv("OS_TOKEN", token)
    out_err(capsys)
    image_id = cloud_env.shared_image_ids("pending")[0]
    codes = []
    for argv in (["list"], ["accept", image_id]):
        codes.append(main(argv))
        _out, err = out_err(capsys)
        assert "log in again" in err, argv
        assert "deleted" not in err and token not in err, argv
    assert codes[0] == codes[1] != 0
    assert cloud_env.member_status(image_id) == "pending"


def test_a_revoked_cached_token_without_a_password_exits_alike(cloud_env, monkeypatch, capsys):
    assert main(["login"]) == 0
    cloud_env.revoke_tokens()
    monkeypatch.delenv("OS_PASSWORD")
    out_err(capsys)
    image_id = cloud_env.shared_image_ids("pending")[0]
    assert main(["list"]) == 2
    assert "OS_PASSWORD" in out_err(capsys)[1]
    assert main(["accept", image_id]) == 2
    assert "OS_PASSWORD" in out_err(capsys)[1]
    assert cloud_env.member_status(image_id) == "pending"


def test_a_stalled_cloud_ends_a_decision_at_the_deadline_and_reports_unknowns(cloud_env, capsys):
    """Every image request takes 5 s; `--timeout 1`: the command ends within seconds, says
    why, and names each image whose outcome it cannot know — never as accepted."""
    ids = cloud_env.shared_image_ids("pending")[:2]
    assert main(["list"]) == 0  # logged in and cached before the cloud stalls
    out_err(capsys)
    cloud_env.set_faults(Faults(slow_ms=5000, apply_to_writes=True))
    started = time.monotonic()
    assert main(["accept", *ids, "--no-batch", "--timeout", "1"]) == 1
    elapsed = time.monotonic() - started
    out, err = out_err(capsys)
    assert elapsed < 4.5, elapsed  # well before the first answer would have come
    assert "gave up after 1 s" in err
    for image_id in ids:
        assert f"{image_id}: unknown" in err and f"imshare show {image_id}" in err
        assert image_id not in out


def test_the_timeout_comes_from_the_config_and_the_flag_wins(cloud_env, config_dir, capsys):
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text("timeout = 1\n")
    assert main(["list"]) == 0
    out_err(capsys)
    cloud_env.set_faults(Faults(slow_ms=3000))
    assert main(["list"]) == 1
    assert "gave up after 1 s" in out_err(capsys)[1]
    assert main(["list", "--timeout", "0"]) == 0  # no limit: the slow answer arrives
    (config_dir / "config.toml").write_text('timeout = "soon"\n')
    assert main(["list"]) == 2
    assert "timeout must be a number of seconds" in out_err(capsys)[1]


def test_time_spent_typing_the_password_does_not_count(cloud_env, monkeypatch, capsys):
    password = cloud_env.credentials["OS_PASSWORD"]
    monkeypatch.delenv("OS_PASSWORD")
    monkeypatch.setattr(commands, "_stdin_is_tty", lambda: True)

    def slow_typist(prompt: str) -> str:
        time.sleep(1.5)
        return password

    monkeypatch.setattr("getpass.getpass", slow_typist)
    assert main(["list", "--timeout", "1"]) == 0


def test_a_listing_that_fails_for_one_status_is_shown_as_incomplete(cloud_env, capsys):
    """The accepted listing fails; the pending and rejected rows are printed, the missing
    status is named on stderr, and the exit code is 1 — even with --exit-code."""
    cloud_env.fail_listing("accepted", status=503)
    assert main(["list", "--status", "all", "--json", "--exit-code"]) == 1
    out, err = out_err(capsys)
    got = {row["id"] for row in json.loads(out)}
    expected = set(cloud_env.shared_image_ids("pending")) | set(
        cloud_env.shared_image_ids("rejected")
    )
    assert got == expected
    assert "could not list the accepted shares" in err and "incomplete" in err
    cloud_env.heal_listing("accepted")
    assert main(["list", "--status", "all", "--json"]) == 0
