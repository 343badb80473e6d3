"""``imshare watch`` against a real DemoCloud: new shares said once, rule decisions as
``apply --yes`` makes them, max_per_run, faults that pass, signals, and the seen state.

The long-running cases run ``imshare watch`` as a process of its own (as systemd or cron
would), read its stdout line by line and signal it; the minimum interval is lowered to 1 s
through ``IMSHARE_WATCH_MIN_INTERVAL`` so no test waits 30 s.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hostile import HOSTILE, forbidden

from tui.cli.main import main
from tui.cli.watch import backoff
from tui.journal import Journal, entries
from tui.watch_state import SeenState

DEADLINE = 120.0  # generous: the machine is shared and slow


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    got = main(list(argv))
    captured = capsys.readouterr()
    assert got == code, (got, captured.out, captured.err)
    return captured.out, captured.err


def events(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def write_rules(config_dir: Path, rules: list[dict[str, Any]], **top: Any) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "rules.toml"
    path.write_text(tomli_w.dumps({**top, "rules": rules}), encoding="utf-8")
    path.chmod(0o600)


def pending_doc(cloud: Any, name: str) -> dict[str, Any]:
    """A new image document like an existing pending one, under another id and name."""
    doc = dict(cloud.image(cloud.shared_image_ids("pending")[0]))
    doc["id"] = str(uuid.uuid4())
    doc["name"] = name
    return doc


def owner_with_shares(cloud: Any, at_least: int) -> tuple[str, list[str]]:
    """An owner with at least ``at_least`` pending shares that are not full-ECS images (a
    rule accepts those only with a vault), and those shares."""
    by_owner: dict[str, list[str]] = {}
    for image_id in cloud.shared_image_ids("pending"):
        doc = cloud.image(image_id)
        if str(doc.get("__whole_image", "false")).lower() != "true":
            by_owner.setdefault(doc["owner"], []).append(image_id)
    owner, ids = max(by_owner.items(), key=lambda item: len(item[1]))
    assert len(ids) >= at_least, "the demo world changed: pick other images"
    return owner, ids


# ----------------------------------------------------------------------------- --once


def test_run_twice_reports_new_shares_once(cloud_env, config_dir, capsys):
    pending = set(cloud_env.shared_image_ids("pending"))
    owner = cloud_env.image(next(iter(pending)))["owner"]
    (config_dir).mkdir(parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(
        tomli_w.dumps({"owners": {owner: {"name": "Platform team"}}}), encoding="utf-8"
    )
    out, _ = run(capsys, "watch", "--once")
    first = events(out)
    assert {e["event"] for e in first} == {"new_share"}
    assert sorted(e["image_id"] for e in first) == sorted(pending)
    for event in first:
        doc = cloud_env.image(event["image_id"])
        assert event["member_id"] == cloud_env.project_id
        assert event["region"] == cloud_env.region_of()
        assert event["image_name"] == doc["name"] and event["owner"] == doc["owner"]
        assert event["owner_name"] == ("Platform team" if doc["owner"] == owner else None)
        assert event["time"].endswith("Z")
    state = config_dir / "watch-seen.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600

    out, _ = run(capsys, "watch", "--once")
    assert out == ""  # nothing new: nothing said

    # A new share is new; a decided one is not; one reset to pending is pending again.
    new_id = cloud_env.add_image(pending_doc(cloud_env, "fresh-image"), {cloud_env.project_id:
                                                                         "pending"})  # fmt: skip
    decided = sorted(pending)[0]
    cloud_env.set_member_status(decided, "accepted")
    out, _ = run(capsys, "watch", "--once")
    assert [(e["event"], e["image_id"]) for e in events(out)] == [("new_share", new_id)]
    cloud_env.set_member_status(decided, "pending")
    out, _ = run(capsys, "watch", "--once")
    assert [e["image_id"] for e in events(out)] == [decided]


def test_a_corrupt_state_file_is_said_once_and_everything_is_new_again(
    cloud_env, config_dir, capsys
):
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    state = config_dir / "watch-seen.json"
    state.write_bytes(b'{"scopes": [not json')
    state.chmod(0o600)
    out, err = run(capsys, "watch", "--once")
    assert sorted(e["image_id"] for e in events(out)) == sorted(
        cloud_env.shared_image_ids("pending")
    )
    assert err.count("watch-seen.json is not valid JSON") == 1
    assert "reported as new this time" in err
    json.loads(state.read_text())  # replaced by a good one
    out, err = run(capsys, "watch", "--once")
    assert out == "" and err == ""


def test_hostile_names_stay_escaped_json(cloud_env, config_dir, capsys):
    name = f"!x {HOSTILE}"
    new_id = cloud_env.add_image(pending_doc(cloud_env, name), {cloud_env.project_id: "pending"})
    out, _ = run(capsys, "watch", "--once")
    assert forbidden(out) == []
    (event,) = [e for e in events(out) if e["image_id"] == new_id]
    assert event["image_name"] == name  # escaped on the wire, the very text once decoded


def test_state_is_bounded_by_scopes(config_dir, monkeypatch):
    monkeypatch.setattr("tui.watch_state.MAX_SCOPES", 2)
    for n in range(3):
        state = SeenState()
        state.load()
        state.new_ids(f"https://iam.example|project-{n}|eu-de", [f"image-{n}"])
        state.save()
        time.sleep(0.01)  # distinct "checked" stamps: the oldest scope must go
    kept = json.loads((config_dir / "watch-seen.json").read_text())["scopes"]
    assert sorted(kept) == [
        "https://iam.example|project-1|eu-de",
        "https://iam.example|project-2|eu-de",
    ]


def test_backoff_doubles_and_is_capped():
    assert [backoff(300, n) for n in (1, 2, 3, 4, 9)] == [300, 600, 900, 900, 900]
    assert [backoff(30, n) for n in (1, 2, 3, 4)] == [30, 60, 120, 120]
    assert [backoff(1800, n) for n in (1, 2)] == [1800, 1800]


def test_interval_below_the_minimum_is_a_usage_error(cloud_env, capsys, monkeypatch):
    monkeypatch.delenv("IMSHARE_WATCH_MIN_INTERVAL", raising=False)
    with pytest.raises(SystemExit) as stop:
        main(["watch", "--interval", "5"])
    assert stop.value.code == 2
    assert "must be at least 30 seconds" in capsys.readouterr().err


# ----------------------------------------------------------------------------- --apply


def test_apply_decides_what_apply_lists_and_journals_it(cloud_env, config_dir, capsys):
    owner, _ids = owner_with_shares(cloud_env, 2)
    run(capsys, "watch", "--once")  # every share seen: rules act on all pending ones, as apply
    write_rules(config_dir, [{"name": "trusted owner", "owner": owner, "action": "accept"}])
    out, _ = run(capsys, "apply", "-f", "json", code=3)
    planned = {(r["image_id"], r["rule"]) for r in json.loads(out) if r["action"] == "accept"}
    assert planned

    out, _ = run(capsys, "watch", "--once", "--apply")
    said = events(out)
    assert not [e for e in said if e["event"] == "new_share"]
    decided = [e for e in said if e["event"] == "decision"]
    assert {(e["image_id"], e["rule"]) for e in decided} == planned
    assert all(e["status"] == "accepted" and e["outcome"] == "done" for e in decided)
    assert all(cloud_env.member_status(image_id) == "accepted" for image_id, _ in planned)
    journalled = {
        entry.image_id
        for entry in entries(Journal().records())
        if entry.how == "rule trusted owner" and entry.outcome == "done"
    }
    assert journalled == {image_id for image_id, _ in planned}
    assert len({e["operation"] for e in decided}) == 1  # one operation per rule and run

    out, _ = run(capsys, "watch", "--once", "--apply")  # a second run: nothing at all
    assert out == ""


def test_apply_over_max_per_run_decides_none_unless_forced(cloud_env, config_dir, capsys):
    owner, ids = owner_with_shares(cloud_env, 3)
    write_rules(config_dir, [{"name": "lots", "owner": owner, "action": "reject"}], max_per_run=2)
    out, _ = run(capsys, "watch", "--once", "--apply", code=4)
    said = events(out)
    (limit,) = [e for e in said if e["event"] == "over_limit"]
    assert limit["count"] == len(ids) and limit["max_per_run"] == 2
    assert "nothing was decided" in limit["message"]
    assert not [e for e in said if e["event"] == "decision"]
    assert all(cloud_env.member_status(i) == "pending" for i in ids)

    out, _ = run(capsys, "watch", "--once", "--apply", "--force")
    assert sorted(e["image_id"] for e in events(out) if e["event"] == "decision") == sorted(ids)
    assert all(cloud_env.member_status(i) == "rejected" for i in ids)


# ----------------------------------------------------------------------------- long-running


class WatchProcess:
    """``imshare watch`` in a process of its own; its stdout read line by line."""

    def __init__(self, *argv: str, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui", "watch", *argv],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def until(self, done: Callable[[list[dict[str, Any]]], bool]) -> list[dict[str, Any]]:
        """Every event so far, once ``done(events)`` holds (fails after a generous wait)."""
        deadline = time.monotonic() + DEADLINE
        while not done(self.seen):
            left = deadline - time.monotonic()
            if left <= 0 or (self.proc.poll() is not None and self.lines.empty()):
                raise AssertionError(
                    f"watch did not get there (exit {self.proc.poll()}): {self.seen}"
                )
            try:
                self.seen.append(self.lines.get(timeout=min(left, 1.0)))
            except queue.Empty:
                continue
        return self.seen

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=DEADLINE)
        assert self.proc.stderr is not None
        return code, self.proc.stderr.read()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def watch_process(cloud_env: Any) -> Iterator[Callable[..., WatchProcess]]:
    started: list[WatchProcess] = []

    def start(*argv: str, **env: str) -> WatchProcess:
        merged = dict(os.environ, IMSHARE_WATCH_MIN_INTERVAL="1", **env)
        process = WatchProcess(*argv, env=merged)
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()


def count(kind: str, n: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda seen: sum(1 for e in seen if e["event"] == kind) >= n


def test_a_transient_fault_is_an_error_line_and_the_watch_goes_on(
    cloud_env, config_dir, watch_process
):
    owner, ids = owner_with_shares(cloud_env, 2)
    write_rules(config_dir, [{"name": "lots", "owner": owner, "action": "accept"}], max_per_run=1)
    pending = cloud_env.shared_image_ids("pending")
    cloud_env.fail_listing("pending", 503)
    started = time.monotonic()
    watch = watch_process("--interval", "1", "--apply", "--timeout", "5")
    seen = watch.until(count("error", 1))
    error = next(e for e in seen if e["event"] == "error")
    assert "503" in error["message"] or "unavailable" in error["message"].lower()
    assert error["retry_in"] >= 1
    cloud_env.heal_listing("pending")
    seen = watch.until(lambda s: count("new_share", len(pending))(s) and count("over_limit", 1)(s))
    limit = next(e for e in seen if e["event"] == "over_limit")
    assert limit["count"] == len(ids)
    # --timeout limits each cycle, not the run: still watching well after 5 s.
    while time.monotonic() - started < 7:
        assert watch.proc.poll() is None
        time.sleep(0.2)
    new_id = cloud_env.add_image(pending_doc(cloud_env, "later"), {cloud_env.project_id:
                                                                   "pending"})  # fmt: skip
    watch.until(lambda s: any(e.get("image_id") == new_id for e in s))
    code, err = watch.stop()
    assert code == 0, err
    assert not [e for e in watch.seen if e["event"] == "decision"]
    assert all(cloud_env.member_status(i) == "pending" for i in ids)  # over the limit: none


def test_sigterm_mid_decision_finishes_and_prints_them(make_cloud, config_dir, monkeypatch):
    cloud = make_cloud(latency_ms=700)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    owner, _ids = owner_with_shares(cloud, 2)
    write_rules(config_dir, [{"name": "slow", "owner": owner, "action": "accept"}])
    env = dict(os.environ, IMSHARE_WATCH_MIN_INTERVAL="1")
    watch = WatchProcess("--interval", "1", "--apply", env=env)
    try:
        journal = config_dir / "journal.jsonl"
        deadline = time.monotonic() + DEADLINE
        while not (journal.exists() and '"kind":"intent"' in journal.read_text()):
            assert time.monotonic() < deadline and watch.proc.poll() is None, "no decision sent"
            time.sleep(0.05)
        code, err = watch.stop()  # the decisions are in flight now
    finally:
        watch.kill()
    assert code == 0, err
    while not watch.lines.empty():
        watch.seen.append(watch.lines.get())
    decided = {e["image_id"]: e["outcome"] for e in watch.seen if e["event"] == "decision"}
    sent = [entry for entry in entries(Journal().records()) if entry.how == "rule slow"]
    assert sent and {entry.image_id for entry in sent} == set(decided)
    assert all(entry.outcome == "done" for entry in sent)
    assert set(decided.values()) == {"done"}
    assert all(cloud.member_status(image_id) == "accepted" for image_id in decided)


def test_a_refused_login_ends_the_watch(cloud_env, watch_process):
    watch = watch_process("--interval", "1", OS_PASSWORD="not-the-password")
    code = watch.proc.wait(timeout=DEADLINE)
    assert code == 1
    assert watch.proc.stderr is not None
    err = watch.proc.stderr.read()
    assert "login failed: 401" in err and "Check the user name, password" in err
    assert watch.lines.empty()  # not an "error" line to retry on: the end
