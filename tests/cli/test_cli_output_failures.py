"""Standard output that fails under a command: a full disk, a file size limit, a closed pipe.

Real ``python -m tui`` processes against a real demo cloud. What the cloud ends up holding is
the truth every test compares the output with: each decision made is reported exactly once
(stdout or stderr), none is reported that was not made, and none in flight is abandoned.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

DEV_FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not DEV_FULL.exists(), reason="no /dev/full here")
TIMEOUT = 120
ERROR_LINE = re.compile(r"imshare: ([0-9a-f-]{36}): (.+)")


def imshare(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui", *args],
        env=os.environ,
        text=True,
        timeout=TIMEOUT,
        check=False,
        **kwargs,
    )


def closed_pipe_run(*args: str) -> tuple[int, str]:
    """Run with stdout a pipe whose reader is gone before the first write (EPIPE)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", *args],
        env=os.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=TIMEOUT)
    return proc.returncode, stderr


def pick_with_one_doomed(cloud: Any, count: int = 20) -> tuple[list[str], str]:
    """``count`` pending images; one of them is deleted, so its decision fails (404)."""
    ids = cloud.shared_image_ids("pending")[:count]
    assert len(ids) == count
    doomed = ids[count // 2]
    assert cloud.delete_image(doomed)
    return ids, doomed


def outcome_lines(stderr: str, status: str) -> tuple[list[str], dict[str, str]]:
    """The ids stderr reports as ``status`` and those it reports failed (with why)."""
    done, failed = [], {}
    for line in stderr.splitlines():
        if line.startswith(f"imshare: {status} "):
            done.append(line.split()[-1])
        elif match := ERROR_LINE.fullmatch(line):
            failed[match.group(1)] = match.group(2)
    return done, failed


@needs_dev_full
@pytest.mark.parametrize("batch", [True, False], ids=["batch-api", "one-request-each"])
def test_accept_to_a_full_disk_reports_every_decision_on_stderr_and_exits_1(
    cloud_env: Any, batch: bool
) -> None:
    cloud = cloud_env
    ids, doomed = pick_with_one_doomed(cloud)
    with DEV_FULL.open("w") as full:
        proc = imshare("accept", *ids, *([] if batch else ["--no-batch"]), stdout=full,
                       stderr=subprocess.PIPE)  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    accepted = {i for i in ids if cloud.member_status(i) == "accepted"}
    assert accepted == set(ids) - {doomed}  # every decision was made, not just the first few
    done, failed = outcome_lines(proc.stderr, "accepted")
    assert sorted(done) == sorted(accepted)  # each exactly once, none that was not made
    assert set(failed) == {doomed}
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        "imshare: cannot write to standard output (No space left on device); "
        "the results from here on follow on stderr"
    )
    assert lines[-1] == (
        f"imshare: {len(accepted)} of {len(ids)} accepted, 1 failed; "
        "standard output could not be written (No space left on device)"
    )


def test_a_file_size_limit_mid_way_sends_the_rest_to_stderr(cloud_env: Any, tmp_path: Path) -> None:
    """The first results reach the file; at the limit (EFBIG) the rest follow on stderr."""
    cloud = cloud_env
    ids, doomed = pick_with_one_doomed(cloud)
    assert imshare("login", capture_output=True).returncode == 0  # the token cache, unlimited
    limit = 150  # three result lines and a bit

    def limit_file_size() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    result_file = tmp_path / "results.txt"
    with result_file.open("w") as results:
        proc = imshare("accept", "--no-batch", *ids, stdout=results, stderr=subprocess.PIPE,
                       preexec_fn=limit_file_size)  # fmt: skip
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    accepted = {i for i in ids if cloud.member_status(i) == "accepted"}
    assert accepted == set(ids) - {doomed}
    written = result_file.read_text()
    assert len(written) == limit
    on_stdout = [line.split()[-1] for line in written.splitlines(keepends=True)
                 if line.endswith("\n")]  # fmt: skip
    on_stderr, failed = outcome_lines(proc.stderr, "accepted")
    assert on_stdout and on_stderr
    # The line cut off at the limit is repeated in full on stderr: nothing lost.
    assert sorted(on_stdout + on_stderr) == sorted(accepted)
    assert set(failed) == {doomed}
    assert proc.stderr.splitlines()[-1] == (
        f"imshare: {len(accepted)} of {len(ids)} accepted, 1 failed; "
        "standard output could not be written (File too large)"
    )


def test_reject_into_a_closed_pipe_finishes_every_decision_quietly(cloud_env: Any) -> None:
    cloud = cloud_env
    ids = cloud.shared_image_ids("pending")[:20]
    code, stderr = closed_pipe_run("reject", "--no-batch", *ids)
    assert (code, stderr) == (141, "")
    assert all(cloud.member_status(i) == "rejected" for i in ids)


def test_a_closed_pipe_still_gets_failures_on_stderr_and_exit_1(cloud_env: Any) -> None:
    cloud = cloud_env
    ids, doomed = pick_with_one_doomed(cloud, count=5)
    code, stderr = closed_pipe_run("accept", *ids)
    assert code == 1
    assert "Traceback" not in stderr
    assert [i for i in ids if cloud.member_status(i) != "accepted"] == [doomed]
    done, failed = outcome_lines(stderr, "accepted")
    assert done == [] and set(failed) == {doomed}
    assert stderr.splitlines()[-1] == "imshare: 1 of 5 failed"


@pytest.mark.parametrize(
    "command",
    [["list", "--status", "all"], ["list", "-f", "json"], ["show", "IMAGE"]],
    ids=["list", "list-json", "show"],
)
def test_list_and_show_into_a_closed_pipe_end_quietly_with_141(
    cloud_env: Any, command: list[str]
) -> None:
    image = cloud_env.shared_image_ids("pending")[0]
    code, stderr = closed_pipe_run(*(image if part == "IMAGE" else part for part in command))
    assert (code, stderr) == (141, "")


@needs_dev_full
@pytest.mark.parametrize(
    "command",
    [["list", "--status", "all"], ["show", "IMAGE"], ["locate"]],
    ids=["list", "show", "locate"],
)
def test_list_and_show_to_a_full_disk_say_so_and_exit_1(cloud_env: Any, command: list[str]) -> None:
    image = cloud_env.shared_image_ids("pending")[0]
    with DEV_FULL.open("w") as full:
        proc = imshare(*(image if part == "IMAGE" else part for part in command), stdout=full,
                       stderr=subprocess.PIPE)  # fmt: skip
    assert proc.returncode == 1
    assert proc.stderr == "imshare: cannot write to standard output: No space left on device\n"


def test_list_piped_into_head_gives_one_line_and_a_sigpipe_status(
    make_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``imshare list | head -1`` in a shell with pipefail, as a cron job would run it."""
    cloud = make_cloud(images=800)  # more than a pipe buffer of table, so head leaves early
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    script = f"set -o pipefail; {sys.executable} -m tui list --status all | head -1"
    proc = subprocess.run(
        ["bash", "-c", script], env=os.environ, capture_output=True, text=True, timeout=TIMEOUT
    )
    # One line: the table's header, nothing after it and no traceback.
    assert proc.stdout.count("\n") == 1
    assert proc.stdout.split()[:2] == ["ID", "Name"]
    assert proc.stderr == ""
    assert proc.returncode == 141
