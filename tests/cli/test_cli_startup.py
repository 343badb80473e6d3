"""`imshare --version`, `--help` and `locate` start without the network stack or the UI.

A script that asks for the version or where the files live must not wait for httpx, asyncio
and Textual to load (together they are most of a CLI start-up). What a fresh interpreter
imports is read from ``python -X importtime``, which names every module it loads, so the test
does not time anything: it fails on an import, not on a slow machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tui import __version__

HEAVY = ("httpx", "asyncio", "textual")


def _imported(
    args: list[str], config_dir: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "IMSHARE_CONFIG_DIR": str(config_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                modules.add(name)
    return proc, modules


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--version"], f"imshare {__version__}"),
        (["--help"], "usage: imshare"),
        (["locate"], "token cache:"),
    ],
)
def test_quick_commands_import_no_network_stack_and_no_ui(
    args: list[str], says: str, config_dir: Path
) -> None:
    proc, modules = _imported(args, config_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert says in proc.stdout
    assert "tui.cli.main" in modules  # the listing is real: the entry point was loaded
    loaded = sorted(name for name in modules if name.split(".")[0] in HEAVY)
    assert loaded == [], f"imshare {' '.join(args)} imported {loaded[:8]}"


def test_a_command_that_talks_to_a_cloud_still_loads_it(config_dir: Path) -> None:
    """The other side: the lazy imports really happen when a command needs them (a cloud that
    is not configured is then said as a configuration error, exit 2, as before)."""
    proc, modules = _imported(["list"], config_dir)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert {"httpx", "asyncio"} <= modules
    assert "textual" not in modules
