"""The decision journal: private, append-only, rotated, and readable after a crash."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tui import journal as journal_module
from tui.journal import Journal, Subject, Who, entries, journal_file

WHO = Who("https://iam.example.test/v3", "alice", "OTC1", "cli accept")


def _subject(n: int) -> Subject:
    return Subject(f"img-{n}", f"Image {n}", "owner-1", "proj-1", "eu-de_demo", "eu-de", "pending")


def test_intent_then_outcome_joined_per_image_and_private(config_dir: Path) -> None:
    journal = Journal()
    assert journal.path == journal_file() == config_dir / "journal.jsonl"
    op = journal.operation(WHO)
    op.intent([_subject(1), _subject(2)], "accepted", batch=True)
    op.outcome(_subject(1), "accepted", "done", request_id="req-1")
    op.outcome(_subject(2), "accepted", "failed", code="IMG.0027", message="gone")
    assert stat.S_IMODE(journal.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(journal.path.parent.stat().st_mode) == 0o700
    lines = [json.loads(line) for line in journal.path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["intent", "intent", "outcome", "outcome"]
    assert {line["op"] for line in lines} == {op.id}
    joined = {entry.image_id: entry for entry in entries(journal.records())}
    assert joined["img-1"].outcome == "done" and joined["img-1"].request_id == "req-1"
    assert joined["img-2"].outcome == "failed" and joined["img-2"].code == "IMG.0027"
    assert joined["img-1"].before == "pending" and joined["img-1"].after == "accepted"
    assert joined["img-1"].user == "alice" and joined["img-1"].how == "cli accept"


def test_a_process_killed_after_sending_leaves_intents_without_outcomes(
    config_dir: Path,
) -> None:
    """kill -9 between intent and answer: the journal says it was sent, outcome unknown."""
    code = (
        "import os, signal\n"
        "from tui.journal import Journal, Subject, Who\n"
        "op = Journal().operation(Who('u', 'alice', 'd', 'key a'))\n"
        "s = Subject('img-9', 'n', 'o', 'p', 'pn', 'eu-de', 'pending')\n"
        "op.intent([s], 'accepted')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = dict(os.environ, IMSHARE_CONFIG_DIR=str(config_dir))
    done = subprocess.run([sys.executable, "-c", code], env=env, timeout=60)
    assert done.returncode == -9
    (entry,) = entries(Journal().records())
    assert entry.image_id == "img-9" and entry.outcome == "unknown"


def test_a_full_journal_is_rotated_never_rewritten(config_dir: Path, monkeypatch) -> None:
    monkeypatch.setattr(journal_module, "MAX_BYTES", 2000)
    journal = Journal()
    for n in range(40):
        journal.operation(WHO).intent([_subject(n)], "accepted")
    rotated = journal.paths()
    assert len(rotated) == journal_module.KEEP + 1  # the oldest went
    kept = [entry.image_id for entry in entries(journal.records())]
    assert kept[-1] == "img-39" and kept == sorted(kept, key=lambda i: int(i.split("-")[1]))
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in rotated)


def test_a_link_at_the_journal_is_refused(config_dir: Path, tmp_path: Path) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    target = tmp_path / "elsewhere"
    target.write_text("keep me\n")
    (config_dir / "journal.jsonl").symlink_to(target)
    with pytest.raises(OSError, match="journal"):
        Journal().operation(WHO).intent([_subject(1)], "accepted")
    assert target.read_text() == "keep me\n"
