"""``imshare undo``: the last operations of this user on this cloud, set back after asking
(issue 13). The demo cloud's own member records are the judge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tui import journaled
from tui.cli.main import main
from tui.cloud.models import MemberStatus
from tui.journal import Journal, entries


def out_err(capsys: Any) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def _plain(cloud: Any, status: str, project: str | None = None) -> list[str]:
    whole = set(cloud.whole_image_ids(project))
    return [i for i in cloud.shared_image_ids(status, project) if i not in whole]


def test_undo_sets_a_bulk_back_and_is_itself_undoable(cloud_env: Any, capsys: Any) -> None:
    pending = _plain(cloud_env, "pending")[:2]
    rejected = _plain(cloud_env, "rejected")[:1]
    ids = [*pending, *rejected]
    before = {i: cloud_env.member_status(i) for i in ids}
    assert main(["accept", *ids]) == 0
    assert all(cloud_env.member_status(i) == "accepted" for i in ids)
    out_err(capsys)

    assert main(["undo", "--yes"]) == 0
    out, err = out_err(capsys)
    assert all(cloud_env.member_status(i) == before[i] for i in ids)
    for image_id in ids:
        assert f"accepted → {before[image_id]}" in err and image_id in err
        assert f"{before[image_id]} {image_id}" in out.splitlines()
    accept_op, undo_op = list(dict.fromkeys(e.op for e in entries(Journal().records())))
    undone = [e for e in entries(Journal().records()) if e.op == undo_op]
    assert {e.how for e in undone} == {f"undo {accept_op}"}
    assert all(e.before == "accepted" and e.outcome == "done" for e in undone)

    assert main(["undo", "--yes"]) == 0  # the undo was the last operation: accepted again
    assert all(cloud_env.member_status(i) == "accepted" for i in ids)


def test_changed_failed_and_foreign_entries_are_left_alone_and_named(
    cloud_env: Any, capsys: Any
) -> None:
    ids = _plain(cloud_env, "pending")[:4]
    changed, gone = ids[0], ids[1]
    assert main(["list"]) == 0
    cloud_env.unshare(gone)
    assert main(["accept", *ids, "--no-batch"]) == 1  # `gone` fails
    cloud_env.set_member_status(changed, "rejected")  # someone decided since
    out_err(capsys)
    assert main(["undo", "--yes"]) == 0
    out, err = out_err(capsys)
    assert cloud_env.member_status(changed) == "rejected"
    assert f"({changed}): it is rejected now, not accepted: changed since" in err
    assert f"  {gone}: its decision failed" in err  # unshared before the listing: no name
    for image_id in ids[2:]:
        assert cloud_env.member_status(image_id) == "pending"
        assert f"pending {image_id}" in out
    assert changed not in out and gone not in out


def test_last_n_goes_back_newest_first(cloud_env: Any, capsys: Any) -> None:
    image_id = _plain(cloud_env, "pending")[0]
    assert main(["accept", image_id]) == 0
    assert main(["reject", image_id]) == 0
    assert cloud_env.member_status(image_id) == "rejected"
    out_err(capsys)
    assert main(["undo", "--last", "2", "--yes"]) == 0
    assert cloud_env.member_status(image_id) == "pending"
    err = out_err(capsys)[1]
    assert err.index("rejected → accepted") < err.index("accepted → pending")


def test_without_yes_and_without_a_terminal_nothing_is_sent(cloud_env: Any, capsys: Any) -> None:
    image_id = _plain(cloud_env, "pending")[0]
    assert main(["accept", image_id]) == 0
    out_err(capsys)
    assert main(["undo"]) == 2
    err = out_err(capsys)[1]
    assert "--yes" in err and f"{image_id}" in err  # the plan is shown, then refused
    assert cloud_env.member_status(image_id) == "accepted"


def test_another_users_operations_are_not_undone(
    cloud_env: Any, config_dir: Path, capsys: Any
) -> None:
    image_id = _plain(cloud_env, "pending")[0]
    assert main(["accept", image_id]) == 0
    path = config_dir / "journal.jsonl"
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    path.write_text("".join(json.dumps(dict(line, user="someone-else")) + "\n" for line in lines))
    out_err(capsys)
    assert main(["undo", "--yes"]) == 1
    assert "nothing to undo" in out_err(capsys)[1]
    assert cloud_env.member_status(image_id) == "accepted"


async def test_an_operation_across_projects_is_undone_in_each_project(
    make_cloud: Any, make_session: Any, monkeypatch: Any, capsys: Any
) -> None:
    cloud = make_cloud(images=80, seed=5, projects=3)
    projects = cloud.user_projects()[:2]
    home = make_session(cloud)
    await home.token()
    groups, picked = [], {}
    for project in projects:
        session = home.for_project(project.id)
        await session.token()
        image_id = _plain(cloud, "pending", project.id)[0]
        picked[project.id] = image_id
        subjects = await journaled.subjects_from_listing(session, [image_id], print)
        groups.append((session, subjects))
    recorded = await journaled.decide(groups, MemberStatus.ACCEPTED, how="key accept", warn=print)
    assert all(d.ok for d in recorded.decisions)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    # The CLI runs its own event loop: run it in a thread, away from this test's loop.
    import asyncio

    code = await asyncio.to_thread(main, ["undo", "--yes"])
    assert code == 0, out_err(capsys)
    for project_id, image_id in picked.items():
        assert cloud.member_status(image_id, project=project_id) == "pending"
