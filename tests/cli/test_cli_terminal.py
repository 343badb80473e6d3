"""The CLI on a real terminal (a pseudo-terminal): `list` fits its width, `login` asks again
after a wrong password. Each runs `python -m tui` in its own session, with a pty as stdin,
stdout and stderr, against a real DemoCloud.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import subprocess
import sys
import termios
import time
from typing import Any

import pytest

from tui.formatting import cell_width

DEADLINE = 90.0  # seconds: generous, the machine is shared


class Terminal:
    """A child process on a pty ``columns`` wide; ``expect`` reads until a text shows."""

    def __init__(self, args: list[str], columns: int, env: dict[str, str]) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
        # No COLUMNS/LINES: the width must come from the terminal itself.
        child_env = {k: v for k, v in env.items() if k not in ("COLUMNS", "LINES")}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=child_env,
            start_new_session=True,  # never the developer's own terminal as /dev/tty
        )
        os.close(slave)
        self.output = b""

    def _read(self, until: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], max(0.0, min(0.5, until)))
        if not ready:
            return True
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.output += chunk
        return True

    def expect(self, text: str, count: int = 1) -> None:
        end = time.monotonic() + DEADLINE
        while self.output.decode(errors="replace").count(text) < count:
            left = end - time.monotonic()
            assert left > 0, f"{text!r} never appeared in {self.output!r}"
            if not self._read(left) and self.proc.poll() is not None:
                raise AssertionError(f"{text!r} never appeared in {self.output!r}")

    def send(self, line: str) -> None:
        os.write(self.master, line.encode() + b"\r")

    def finish(self) -> tuple[int, str]:
        end = time.monotonic() + DEADLINE
        while time.monotonic() < end and self._read(end - time.monotonic()):
            pass
        code = self.proc.wait(timeout=DEADLINE)
        os.close(self.master)
        return code, self.output.decode(errors="replace").replace("\r\n", "\n")


def run(args: list[str], columns: int = 80) -> tuple[int, str]:
    return Terminal(args, columns, dict(os.environ)).finish()


@pytest.mark.parametrize("columns", [80, 120])
def test_list_fits_the_terminal_width(cloud_env: Any, columns: int) -> None:
    code, out = run(["list"], columns)
    assert code == 0, out
    lines = out.splitlines()
    assert [h.strip() for h in lines[0].split("  ") if h.strip()][:2] == ["ID", "Name"]
    rows = lines[1:]
    pending = cloud_env.shared_image_ids("pending")
    assert len(rows) == len(pending)
    assert all(cell_width(line) <= columns for line in lines)
    # The widest columns were cut, marked with "…"; every row still shows the start of its id.
    assert all("…" in row for row in rows)
    cut = [row.split()[0] for row in rows]
    assert sorted(c.rstrip("…") for c in cut) == sorted(i[: len(cut[0]) - 1] for i in pending)


def test_wide_prints_everything_on_a_terminal(cloud_env: Any) -> None:
    code, out = run(["list", "--wide"], 80)
    assert code == 0, out
    rows = out.splitlines()[1:]
    assert sorted(row.split()[0] for row in rows) == sorted(cloud_env.shared_image_ids("pending"))
    assert "…" not in out and max(cell_width(row) for row in rows) > 80


def test_login_asks_again_after_a_wrong_password(cloud_env: Any, monkeypatch) -> None:
    password = cloud_env.credentials["OS_PASSWORD"]
    monkeypatch.delenv("OS_PASSWORD")
    terminal = Terminal(["login"], 100, dict(os.environ))
    terminal.expect("Password for demo@")
    terminal.send("not-the-password")
    terminal.expect("Password for demo@", count=2)  # asked again, saying why
    terminal.send(password)
    code, out = terminal.finish()
    assert code == 0, out
    assert "401" in out and "Check the user name, password" in out
    assert out.index("401") < out.rindex("Password for demo@") < out.index("logged in as demo@")
    assert "not-the-password" not in out and password not in out  # never echoed
    assert cloud_env.stats.token_requests == 2
