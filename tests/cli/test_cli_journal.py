"""The CLI's decisions leave a journal, and ``imshare history`` reads it back (issue 13).

Everything runs against a real demo cloud; expected values come from the cloud's own state
(``member_status`` before and after), never from the code under test.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from tui.cli.main import main
from tui.democloud.faults import Faults
from tui.formatting import cell_width
from tui.journal import Journal, entries


def out_err(capsys: Any) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def _journal(config_dir: Path) -> list[dict[str, Any]]:
    path = config_dir / "journal.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def _plain_pending(cloud: Any) -> list[str]:
    whole = set(cloud.whole_image_ids())
    return [i for i in cloud.shared_image_ids("pending") if i not in whole]


def test_each_command_is_one_operation_with_intent_before_and_outcome_after(
    cloud_env: Any, config_dir: Path, capsys: Any
) -> None:
    accept_ids = _plain_pending(cloud_env)[:2]
    reject_id = cloud_env.shared_image_ids("accepted")[0]
    before = {i: cloud_env.member_status(i) for i in [*accept_ids, reject_id]}
    names = {i: cloud_env.image(i)["name"] for i in [*accept_ids, reject_id]}
    assert main(["accept", *accept_ids]) == 0
    assert main(["reject", reject_id, "--no-batch"]) == 0
    out_err(capsys)

    lines = _journal(config_dir)
    ops = list(dict.fromkeys(line["op"] for line in lines))
    assert len(ops) == 2  # one per command
    first = [line for line in lines if line["op"] == ops[0]]
    # Both intents are on disk before either outcome.
    assert [line["kind"] for line in first] == ["intent", "intent", "outcome", "outcome"]
    creds = cloud_env.credentials
    for line in lines:
        assert line["auth_url"] == creds["OS_AUTH_URL"].rstrip("/")
        assert line["user"] == creds["OS_USERNAME"]
        assert line["domain"] == creds["OS_USER_DOMAIN_NAME"]
        assert line["member_id"] == cloud_env.project_id
        assert line["member_name"] == creds["OS_PROJECT_NAME"]
        assert line["region"] == creds["OS_REGION_NAME"]
        assert line["before"] == before[line["image_id"]]
        assert line["image_name"] == names[line["image_id"]]
        assert line["owner"] == cloud_env.image(line["image_id"])["owner"]
    joined = {e.image_id: e for e in entries(Journal().records())}
    for image_id in accept_ids:
        entry = joined[image_id]
        assert (entry.how, entry.after, entry.outcome) == ("cli accept", "accepted", "done")
        assert entry.request_id.startswith("req-") and entry.batch
        assert cloud_env.member_status(image_id) == "accepted"
    entry = joined[reject_id]
    assert (entry.how, entry.before, entry.after) == ("cli reject", "accepted", "rejected")
    assert entry.outcome == "done" and entry.request_id and not entry.batch

    assert main(["history", "-f", "json"]) == 0
    shown = json.loads(out_err(capsys)[0])
    assert [item["image_id"] for item in shown] == [*accept_ids, reject_id]  # newest last
    assert main(["history"]) == 0
    rows = out_err(capsys)[0].splitlines()[1:]
    assert len(rows) == 3
    assert "pending → accepted" in rows[0] and "done" in rows[0] and "cli accept" in rows[0]
    assert "accepted → rejected" in rows[2] and joined[reject_id].request_id in rows[2]


def test_a_refused_decision_is_journalled_failed_with_the_clouds_code(
    cloud_env: Any, capsys: Any
) -> None:
    # Shared with no other project of the user: one that is would be named there (exit 2).
    others = [p.id for p in cloud_env.user_projects() if p.id != cloud_env.project_id]
    image_id = next(
        i
        for i in _plain_pending(cloud_env)
        if all(cloud_env.member_status(i, project) is None for project in others)
    )
    assert main(["list"]) == 0
    cloud_env.unshare(image_id)
    assert main(["accept", image_id]) == 1
    out_err(capsys)
    (entry,) = entries(Journal().records())
    assert entry.outcome == "failed" and entry.code.startswith("404")
    assert main(["history", "--image", image_id]) == 0
    out = out_err(capsys)[0]
    assert "failed (404" in out and "done" not in out


def test_no_answer_before_the_deadline_is_journalled_unknown(cloud_env: Any, capsys: Any) -> None:
    """The cloud stalls; --timeout 1 ends the command: what was sent is unknown, not failed."""
    ids = _plain_pending(cloud_env)[:2]
    assert main(["list"]) == 0
    cloud_env.set_faults(Faults(slow_ms=5000, apply_to_writes=True))
    assert main(["accept", *ids, "--no-batch", "--timeout", "1"]) == 1
    err = out_err(capsys)[1]
    assert "could not list the shares to record" in err  # the listing had no time either
    found = {e.image_id: e for e in entries(Journal().records())}
    assert set(found) == set(ids)
    assert all(e.outcome == "unknown" for e in found.values())
    cloud_env.set_faults(None)
    assert main(["history"]) == 0
    out = out_err(capsys)[0]
    assert out.count("unknown (no answer before imshare stopped waiting)") == 2


def test_an_unwritable_journal_warns_once_and_the_decisions_still_go(
    cloud_env: Any, config_dir: Path, capsys: Any
) -> None:
    ids = _plain_pending(cloud_env)[:3]
    config_dir.mkdir(mode=0o700, parents=True)
    (config_dir / "journal.jsonl").mkdir()  # cannot be opened as a file
    assert main(["accept", *ids, "--no-batch"]) == 0
    out, err = out_err(capsys)
    assert out.split() == [word for i in ids for word in ("accepted", i)]
    warnings = [line for line in err.splitlines() if "cannot write the journal" in line]
    assert len(warnings) == 1, err
    assert str(config_dir / "journal.jsonl") in warnings[0] and "sent all the same" in err
    assert all(cloud_env.member_status(i) == "accepted" for i in ids)


def test_history_skips_corrupt_lines_names_them_and_shows_journal_text_safely(
    config_dir: Path, capsys: Any
) -> None:
    config_dir.mkdir(mode=0o700, parents=True)
    good = {
        "v": 1,
        "time": "2026-12-01T10:00:00.000Z",
        "op": "op-1",
        "kind": "intent",
        "how": "cli accept",
        "member_id": "p1",
        "image_id": "img-1",
        "image_name": "evil\x1b]0;owned\x07name\nfake row",
        "before": "pending",
        "after": "accepted",
    }
    later = dict(good, op="op-2", time="2026-12-02T10:00:00Z", image_id="img-2", image_name="b")
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps(dict(good, kind="outcome", outcome="done", request_id="req-9")),
        json.dumps(["a list"]),
        json.dumps(later),
    ]
    (config_dir / "journal.jsonl").write_text("\n".join(lines) + "\n")
    assert main(["history"]) == 0
    out, err = out_err(capsys)
    assert "\x1b" not in out and "\x07" not in out
    assert "evil�]0;owned�name fake row" in out  # one entry, one line
    assert err.count("warning") == 1 and "line 2" in err and "line 4" in err
    header, *body = out.splitlines()
    assert len(body) == 2 and "img-1" in body[0] and "done" in body[0]
    # Measured as shown: the id column starts where its header does, after the hostile name.
    column = cell_width(header[: header.index("ID ")])
    assert cell_width(body[0][: body[0].index("img-1")]) == column
    assert "img-2" in body[1] and "unknown" in body[1]  # an intent without an outcome
    assert main(["history", "-f", "json", "--operation", "op-1"]) == 0
    (item,) = json.loads(out_err(capsys)[0])
    assert item["image_name"] == good["image_name"]  # JSON keeps the exact text, escaped
    assert main(["history", "--since", "2026-12-02", "-f", "value"]) == 0
    assert [row.split()[0] for row in out_err(capsys)[0].splitlines()] == [later["time"]]
    assert main(["history", "--since", "yesterday"]) == 2
    assert "--since" in out_err(capsys)[1]


def test_locate_names_the_journal_where_the_config_dir_override_points(
    config_dir: Path, capsys: Any
) -> None:
    assert main(["locate"]) == 0
    out = out_err(capsys)[0]
    assert f"journal:     {config_dir / 'journal.jsonl'}" in out.splitlines()
    assert f"watch state: {config_dir / 'watch-seen.json'}" in out.splitlines()


def test_kill_9_mid_bulk_leaves_a_journal_that_matches_the_cloud(
    make_cloud: Any, config_dir: Path, capsys: Any
) -> None:
    """`imshare accept` of 24 images, one slow request at a time per slot, killed halfway:
    every image the journal calls done is accepted on the server; every intent without an
    outcome is unknown in `imshare history` and is either state on the server; images the
    journal never names were not touched."""
    cloud = make_cloud(images=120, seed=3)
    ids = _plain_pending(cloud)[:24]
    assert len(ids) == 24
    cloud.set_faults(Faults(slow_ms=250, apply_to_writes=True))
    env = dict(os.environ, **cloud.credentials, IMSHARE_CONFIG_DIR=str(config_dir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "accept", *ids, "--no-batch", "--concurrency", "3"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    path = config_dir / "journal.jsonl"

    def done_count() -> int:
        if not path.exists():
            return 0
        return path.read_text().count('"outcome":"done"')

    deadline = time.monotonic() + 120
    while done_count() < 8 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "the command finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    cloud.set_faults(None)

    found = {e.image_id: e for e in entries(Journal().records())}
    done = [i for i, e in found.items() if e.outcome == "done"]
    unknown = [i for i, e in found.items() if e.outcome == "unknown"]
    assert len(done) >= 8 and unknown, (done, unknown)
    assert len(found) < len(ids)  # halfway: some were never sent
    for image_id in done:
        assert cloud.member_status(image_id) == "accepted"
    for image_id in unknown:
        assert cloud.member_status(image_id) in ("pending", "accepted")
    for image_id in set(ids) - set(found):
        assert cloud.member_status(image_id) == "pending"
    assert all(e.before == "pending" and e.after == "accepted" for e in found.values())

    assert main(["history", "-f", "json"]) == 0
    shown = {item["image_id"]: item["outcome"] for item in json.loads(out_err(capsys)[0])}
    assert {i for i, o in shown.items() if o == "unknown"} == set(unknown)
    assert {i for i, o in shown.items() if o == "done"} == set(done)


def test_history_on_a_narrow_terminal_keeps_what_a_reader_scans_whole(
    cloud_env: Any, capsys: Any
) -> None:
    """At 100 columns the request id, operation and image id give way, so the time, what was
    done, the change and the outcome are read whole rather than every column cut short."""
    ids = _plain_pending(cloud_env)[:2]
    assert main(["accept", *ids]) == 0
    out_err(capsys)
    assert main(["history", "--max-width", "100"]) == 0
    out, _ = out_err(capsys)
    lines = out.splitlines()
    assert len(lines) == 3 and all(cell_width(line) <= 100 for line in lines)
    header = lines[0].split()
    assert "Request" not in header and "Operation" not in header
    for line in lines[1:]:
        assert "pending → accepted" in line and line.rstrip().endswith("done")
        assert "cli accept" in line
