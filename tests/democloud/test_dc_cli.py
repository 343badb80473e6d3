"""The command line: export lines, per-request log, clean exit on signals."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx

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
