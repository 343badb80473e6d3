"""The command line: export lines, per-request log, clean exit on signals."""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import httpx
import pytest

from tui.democloud import cli

ROOT = Path(__file__).resolve().parents[2]


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
    return subprocess.Popen(
        [sys.executable, "-m", "tui.democloud", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_exports_serves_logs_and_exits_cleanly_on_sigterm() -> None:
    proc = _spawn("--images", "20", "--seed", "3")
    try:
        assert proc.stdout is not None
        exports = dict(
            proc.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(7)
        )
        assert set(exports) == {
            "OS_AUTH_URL",
            "OS_USERNAME",
            "OS_PASSWORD",
            "OS_USER_DOMAIN_NAME",
            "OS_PROJECT_NAME",
            "OS_PROJECT_DOMAIN_NAME",
            "OS_REGION_NAME",
        }
        assert exports["OS_USERNAME"] == "demo"
        resp = httpx.get(exports["OS_AUTH_URL"], trust_env=False)
        assert resp.status_code == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "GET /identity/v3 200 " in err
    assert "Traceback" not in err
    assert "demo-password" not in err


def test_sigint_exits_zero() -> None:
    proc = _spawn("--images", "5")
    assert proc.stdout is not None
    proc.stdout.readline()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err


def test_refuses_non_loopback_without_allow_remote(capsys: object) -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    assert cli.run(parser.parse_args(["--host", "0.0.0.0"])) == 2


def test_fault_options_map_to_faults() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        ["--error-rate", "0.1", "--revoke-after", "5", "--faults-on-writes", "--fault-seed", "9"]
    )
    faults = cli.faults_from_args(args)
    assert faults is not None
    assert faults.error_rate == 0.1 and faults.revoke_after == 5
    assert faults.apply_to_writes and faults.fault_seed == 9
    assert cli.faults_from_args(parser.parse_args([])) is None


def _lines(stream: IO[str], count: int, timeout: float = 10) -> list[str]:
    """``count`` lines from a pipe, failing (not hanging) if they do not come in time."""
    got: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [got.put(stream.readline().rstrip("\n")) for _ in range(count)],
        daemon=True,
    ).start()
    try:
        return [got.get(timeout=timeout) for _ in range(count)]
    except queue.Empty:
        raise AssertionError(f"expected {count} lines within {timeout} s") from None


def test_projects_and_regions_are_printed_and_served() -> None:
    proc = _spawn("--images", "12", "--projects", "3", "--regions", "eu-de,eu-nl")
    try:
        assert proc.stdout is not None and proc.stderr is not None
        exports = dict(
            proc.stdout.readline().strip().removeprefix("export ").split("=", 1) for _ in range(7)
        )
        assert exports["OS_PROJECT_NAME"] == "eu-de_demo"  # the export lines stay project 0's
        assert exports["OS_REGION_NAME"] == "eu-de"
        lines = _lines(proc.stderr, 7)
        assert lines[0].startswith("demo cloud on http://127.0.0.1:")
        regions = {}
        for line in lines[1:3]:
            words = line.split()
            assert words[0] == "region" and words[2:4] == ["image", "API"]
            regions[words[1].rstrip(":")] = (words[4], int(words[-1].rstrip(")")))
        assert set(regions) == {"eu-de", "eu-nl"}
        assert regions["eu-de"][0] == exports["OS_AUTH_URL"].removesuffix("/identity/v3") + "/image"
        for url, port in regions.values():
            assert url.endswith(f":{port}/image")
            assert httpx.get(url, trust_env=False).status_code == 300
        assert lines[3].startswith("projects of user demo")
        projects = [line.split()[:2] for line in lines[4:7]]
        assert projects == [
            ["eu-de_demo", "eu-de"],
            ["eu-nl_demo_staging", "eu-nl"],
            ["eu-de_team02", "eu-de"],
        ]
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "GET /image 300 " in err and " eu-nl" in err
    assert "Traceback" not in err


def test_project_options_map_to_the_cloud() -> None:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    args = parser.parse_args(
        ["--projects", "4", "--regions", " eu-de , eu-nl ", "--error-rate", "0.2",
         "--fault-projects", "eu-nl_team03,eu-de_team02", "--fail-project", "eu-de_demo",
         "--fail-project", "eu-nl_demo_staging=503"]
    )  # fmt: skip
    assert args.projects == 4 and args.regions == ("eu-de", "eu-nl")
    faults = cli.faults_from_args(args)
    assert faults is not None and faults.projects == {"eu-nl_team03", "eu-de_team02"}
    assert args.fail_project == [("eu-de_demo", 403), ("eu-nl_demo_staging", 503)]
    defaults = parser.parse_args([])
    assert defaults.projects == 2 and defaults.regions == ("eu-de",)
    assert defaults.foreign_region_error == "unauthorized"
    for bad in (["--projects", "0"], ["--regions", "eu-de,eu-de"], ["--regions", "EU"],
                ["--fail-project", "x=200"], ["--fail-project", "=403"]):  # fmt: skip
        with pytest.raises(SystemExit):
            parser.parse_args(bad)
    assert cli.run(parser.parse_args(["--fail-project", "eu-xx_nowhere"])) == 2
