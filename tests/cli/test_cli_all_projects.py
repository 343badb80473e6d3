"""One inbox on the command line (issue 12): ``list --all-projects``, ``projects``, and
decisions in another project (``--project``) or in all of them (``--all-projects``), against a
real demo cloud where the user has six projects in two regions.

Expected values come from the server: each project's own listing (the CLI run with that
project's ``OS_PROJECT_NAME``, as a user switching ``OS_CLOUD`` would) or the demo cloud's
member tables, never from the inbox under test.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tui.cli.main import main

REGIONS = ("eu-de", "eu-nl")
STATUSES = ("pending", "accepted", "rejected")


@pytest.fixture
def multi(make_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Six projects of the demo user in two regions; the OS_* lines of project 0."""
    cloud = make_cloud(images=120, seed=4, projects=6, regions=REGIONS)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    return cloud


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def own_listing(cloud: Any, project: Any, monkeypatch: Any, capsys: Any) -> list[dict[str, Any]]:
    """What the project lists by itself: `imshare list` with its own OS_PROJECT_NAME."""
    with monkeypatch.context() as env:
        env.setenv("OS_PROJECT_NAME", project.name)
        env.setenv("OS_REGION_NAME", project.region)
        code, out, _ = run(capsys, "list", "--status", "all", "--json")
    assert code == 0
    return json.loads(out)


def server_shares(cloud: Any, projects: Any = None) -> set[tuple[str, str, str]]:
    """(project id, image id, status) of every share the server holds for the projects."""
    found = set()
    for project in projects or cloud.user_projects():
        for image_id in cloud.shared_image_ids(project=project.id):
            found.add((project.id, image_id, cloud.member_status(image_id, project=project.id)))
    return found


def triples(rows: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(row["member_id"], row["id"], row["status"]) for row in rows}


def twice_shared(cloud: Any) -> tuple[str, Any, Any]:
    """An image shared with two of the user's projects (same region): id, both projects."""
    projects = {p.id: p for p in cloud.user_projects()}
    for image_id in sorted(cloud.multi_project_image_ids()):
        holders = [p for pid, p in projects.items() if cloud.member_status(image_id, pid)]
        if len(holders) >= 2:
            return image_id, holders[0], holders[1]
    raise AssertionError("the demo world has no image shared with two projects")


# ------------------------------------------------------------------------------------ list


def test_list_all_projects_is_the_union_of_every_project_s_own_listing(multi, monkeypatch, capsys):
    expected: set[tuple[str, str, str]] = set()
    for project in multi.user_projects():
        expected |= {
            (project.id, r["id"], r["status"])
            for r in own_listing(multi, project, monkeypatch, capsys)
        }
    assert expected == server_shares(multi)  # the yardstick itself agrees with the server

    code, out, err = run(capsys, "list", "--all-projects", "--status", "all", "-f", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert triples(rows) == expected and len(rows) == len(expected)
    projects = {p.id: p for p in multi.user_projects()}
    for row in rows:
        assert row["member_name"] == projects[row["member_id"]].name
        assert row["region"] == projects[row["member_id"]].region
    # The same image shared with two projects is two rows, one per project.
    counts = Counter(row["id"] for row in rows)
    assert any(counts[i] >= 2 for i in multi.multi_project_image_ids())
    assert {row["region"] for row in rows} == set(REGIONS)


def test_every_format_says_whose_share_each_row_is(multi, capsys):
    code, out, _ = run(capsys, "list", "--all-projects", "-f", "json")
    assert code == 0
    rows = json.loads(out)
    pending = {t for t in server_shares(multi) if t[2] == "pending"}
    assert triples(rows) == pending

    code, out, _ = run(capsys, "list", "--all-projects", "-f", "csv")
    header, *lines = list(csv.reader(io.StringIO(out)))
    assert header[-3:] == ["Member", "Member ID", "Region"] and header[0] == "ID"
    by_key = {(r["id"], r["member_id"]): r for r in rows}
    assert len(lines) == len(rows)
    for line in lines:
        row = by_key[(line[0], line[-2])]
        assert line[-3:] == [row["member_name"], row["member_id"], row["region"]]

    code, out, _ = run(
        capsys, "list", "--all-projects", "-f", "value", "-c", "ID", "-c", "Member", "-c", "Region"
    )
    assert sorted(out.split("\n")[:-1]) == sorted(
        f"{r['id']} {r['member_name']} {r['region']}" for r in rows
    )

    code, out, _ = run(capsys, "list", "--all-projects", "--wide")
    head, *body = out.splitlines()
    assert head.split()[-4:] == ["Member", "Member", "ID", "Region"]
    assert len(body) == len(rows)
    # The table shows the member id short, like the owner's (Project).
    assert all(line.split()[-2] in {r["member_id"][:8] for r in rows} for line in body)


def test_region_narrows_the_scope_and_one_project_keeps_its_own_region(multi, config_dir, capsys):
    nl = [p for p in multi.user_projects() if p.region == "eu-nl"]
    expected = server_shares(multi, nl)
    for argv in (
        ["list", "--all-projects", "--status", "all", "--json", "--region", "eu-nl"],
        ["--region", "eu-nl", "list", "--all-projects", "--status", "all", "--json"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 0 and err == ""
        assert triples(json.loads(out)) == expected
    # The config's regions do the same, and --region wins over them.
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('regions = ["eu-nl"]\n')
    code, out, _ = run(capsys, "list", "--all-projects", "--status", "all", "--json")
    assert triples(json.loads(out)) == expected
    de = [p for p in multi.user_projects() if p.region == "eu-de"]
    code, out, _ = run(
        capsys, "list", "--all-projects", "--status", "all", "--json", "--region", "eu-de"
    )
    assert triples(json.loads(out)) == server_shares(multi, de)
    # Without --all-projects the one project lists as before, whatever `regions` says...
    code, out, _ = run(capsys, "list", "--status", "all", "--json")
    assert {r["id"] for r in json.loads(out)} == set(multi.shared_image_ids())
    # ...and --region there is a usage error naming where one project's region is set.
    code, _, err = run_usage(capsys, ["list", "--region", "eu-nl"])
    assert code == 2 and "OS_REGION_NAME" in err


def test_a_failing_project_is_one_stderr_line_and_exit_1_while_the_others_list(multi, capsys):
    victim = multi.user_projects()[3]
    multi.fail_project(victim.name, 403)
    code, out, err = run(capsys, "list", "--all-projects", "--status", "all", "-f", "json")
    assert code == 1
    others = [p for p in multi.user_projects() if p.id != victim.id]
    assert triples(json.loads(out)) == server_shares(multi, others)
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"imshare: project {victim.name} ({victim.region}) ")
    assert "403" in lines[0]
    # --exit-code does not hide it: the answer is incomplete.
    code, _, _ = run(capsys, "list", "--all-projects", "--exit-code", "-f", "value")
    assert code == 1


def test_member_and_region_filters(multi, capsys):
    team = next(p for p in multi.user_projects() if p.region == "eu-nl" and "team" in p.name)
    code, out, _ = run(
        capsys, "list", "--all-projects", "--status", "all", "--json",
        "--filter", f"member:{team.name} region:eu-nl",
    )  # fmt: skip
    assert code == 0
    assert triples(json.loads(out)) == server_shares(multi, [team])
    code, out, _ = run(
        capsys, "list", "--all-projects", "--status", "all", "--json", "--filter", "!region:eu-de"
    )
    nl = [p for p in multi.user_projects() if p.region == "eu-nl"]
    assert triples(json.loads(out)) == server_shares(multi, nl)
    # region: is the region, not a name that mentions one.
    multi.state.projects[team.id].name = "eu-nl_mirror-of-eu-de"
    code, out, _ = run(
        capsys, "list", "--all-projects", "--status", "all", "--json", "--filter", "region:eu-de"
    )
    de = [p for p in multi.user_projects() if p.region == "eu-de"]
    assert triples(json.loads(out)) == server_shares(multi, de)
    code, out, _ = run(
        capsys, "list", "--all-projects", "--status", "all", "--json", "--filter", "member:mirror"
    )
    assert triples(json.loads(out)) == server_shares(multi, [team])


def test_shared_at_is_read_from_each_row_s_own_project(multi, capsys):
    image_id, first, second = twice_shared(multi)
    code, out, err = run(
        capsys, "list", "--all-projects", "--status", "all", "-f", "json",
        "-c", "ID", "-c", "Member ID", "-c", "Shared At", "--filter", f"id:{image_id}",
    )  # fmt: skip
    assert code == 0, err
    rows = {row["member_id"]: row for row in json.loads(out)}
    for project in (first, second):
        record = multi.state.get_member(image_id, project.id).to_json()
        assert rows[project.id]["shared_at"] == record["created_at"]
    assert rows[first.id]["shared_at"] != rows[second.id]["shared_at"]


def test_the_timeout_covers_the_whole_all_projects_command(make_cloud, monkeypatch, capsys):
    """Every step (login, projects, re-scoping, listing) waits 300 ms: 0.5 s cannot do it."""
    cloud = make_cloud(images=30, projects=4, regions=REGIONS, latency_ms=300)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "--timeout", "0.5", "list", "--all-projects")
    assert code == 1 and out == ""
    assert "gave up after 0.5 s" in err


def test_hostile_project_names_are_shown_inert(multi, capsys):
    victim = multi.user_projects()[2]
    # OTC project names start with their region; the rest is Keystone's text, any text.
    hostile = f"{victim.region}_evil\x1b]0;pwned\x07\u202ename\nforged line"
    shown = f"{victim.region}_evil\ufffd]0;pwned\ufffd\ufffdname forged line"
    multi.state.projects[victim.id].name = hostile
    code, out, _ = run(capsys, "list", "--all-projects", "-f", "csv")
    assert code == 0
    assert shown in out
    # A decision names its project on one line, whatever Keystone calls it.
    whole = set(multi.whole_image_ids(project=victim.id))
    image_id = next(i for i in multi.shared_image_ids("pending", victim.id) if i not in whole)
    code, out, err = run(capsys, "accept", image_id, "--project", victim.id)
    assert code == 0, err
    assert out == f"accepted {image_id} in {shown} ({victim.region})\n"
    multi.fail_project(victim.id, 403)
    for fmt in ("table", "value", "csv"):
        code, out, err = run(capsys, "list", "--all-projects", "-f", fmt, "-c", "Member")
        assert code == 1
        assert not any(ch in out + err for ch in "\x1b\x07\u202e")
        assert f"project {shown} (" in err
    code, out, err = run(capsys, "projects", "-f", "json")
    assert code == 1 and "\x1b" not in out + err
    names = {row["name"] for row in json.loads(out)}
    assert hostile in names  # JSON keeps the exact text, escaped


# -------------------------------------------------------------------------------- projects


def test_projects_counts_match_the_server(multi, capsys):
    code, out, err = run(capsys, "projects", "-f", "json")
    assert code == 0 and err == ""
    rows = json.loads(out)
    assert {row["id"] for row in rows} == {p.id for p in multi.user_projects()}
    for project in multi.user_projects():
        row = next(r for r in rows if r["id"] == project.id)
        assert (row["name"], row["region"], row["state"]) == (
            project.name,
            project.region,
            "listed",
        )
        for status in STATUSES:
            assert row[status] == len(multi.shared_image_ids(status, project=project.id))
    code, out, _ = run(capsys, "projects")
    header, *body = out.splitlines()
    assert header.split()[:4] == ["Project", "Project", "ID", "Region"]
    assert len(body) == len(rows)


def test_projects_names_skipped_and_failed_ones(multi, capsys):
    victim = next(p for p in multi.user_projects() if p.region == "eu-nl")
    multi.fail_project(victim.id, 503)
    code, out, err = run(capsys, "projects", "-f", "json", "--region", "eu-nl")
    assert code == 1
    rows = {row["id"]: row for row in json.loads(out)}
    for project in multi.user_projects():
        row = rows[project.id]
        if project.id == victim.id:
            assert row["state"] == "failed" and "503" in row["reason"]
            assert row["pending"] is None
        elif project.region == "eu-de":
            assert row["state"] == "skipped" and "eu-nl" in row["reason"]
        else:
            assert row["state"] == "listed"
    assert err.count("\n") == 1 and f"project {victim.name} (eu-nl)" in err


# ------------------------------------------------------------------------------- decisions


def test_accept_in_another_project_lands_there_and_nowhere_else(multi, capsys):
    image_id, first, second = twice_shared(multi)
    for project in (first, second):
        multi.set_member_status(image_id, "pending", project=project.id)
    code, out, err = run(capsys, "accept", image_id, "--project", second.name)
    assert code == 0, err
    assert out == f"accepted {image_id} in {second.name} ({second.region})\n"
    assert multi.member_status(image_id, project=second.id) == "accepted"
    assert multi.member_status(image_id, project=first.id) == "pending"
    # By id, too; and reject sends that project's member id.
    code, out, _ = run(capsys, "reject", image_id, "--project", first.id)
    assert code == 0 and out == f"rejected {image_id} in {first.name} ({first.region})\n"
    assert multi.member_status(image_id, project=first.id) == "rejected"
    assert multi.member_status(image_id, project=second.id) == "accepted"


def test_an_image_of_other_projects_only_is_never_decided_silently(multi, capsys):
    """Not shared with the current project: exit 2, naming where it is shared."""
    current = multi.user_projects()[0]
    projects = {p.id: p for p in multi.user_projects()}
    image_id, holders = next(
        (i, [p for pid, p in projects.items() if multi.member_status(i, pid)])
        for i in sorted(multi.multi_project_image_ids())
        if not multi.member_status(i, current.id)
    )
    before = {p.id: multi.member_status(image_id, p.id) for p in holders}
    mine = multi.shared_image_ids("pending", project=current.id)[0]
    code, out, err = run(capsys, "accept", mine, image_id)
    assert code == 2
    assert out == f"accepted {mine}\n"  # the current project's own image, as before
    assert {p.id: multi.member_status(image_id, p.id) for p in holders} == before
    line, count = err.splitlines()
    assert count == "imshare: 1 of 2 failed"
    assert line.startswith(f"imshare: {image_id}: not shared with your project {current.name}")
    for project in holders:
        assert f"{project.name} ({project.region})" in line
    assert "--project" in line and "--all-projects" in line


def test_a_renamed_project_goes_by_its_new_name_while_its_token_is_cached(multi, capsys):
    victim = next(p for p in multi.user_projects() if p.region == "eu-nl")
    assert run(capsys, "list", "--all-projects")[0] == 0  # every project's token cached
    renamed = "eu-nl_renamed"
    multi.state.projects[victim.id].name = renamed
    code, out, _ = run(capsys, "list", "--all-projects", "--status", "all", "--json")
    assert code == 0
    names = {row["member_name"] for row in json.loads(out) if row["member_id"] == victim.id}
    assert names == {renamed}
    whole = set(multi.whole_image_ids(project=victim.id))
    image_id = next(i for i in multi.shared_image_ids("pending", victim.id) if i not in whole)
    code, out, err = run(capsys, "accept", image_id, "--project", renamed)
    assert code == 0, err
    assert out == f"accepted {image_id} in {renamed} (eu-nl)\n"
    assert multi.member_status(image_id, victim.id) == "accepted"


def test_a_project_name_nobody_has_or_two_projects_have_is_exit_2(multi, capsys):
    image_id, first, second = twice_shared(multi)
    before = {p.id: multi.member_status(image_id, p.id) for p in (first, second)}
    code, _, err = run(capsys, "accept", image_id, "--project", "eu-de_nonesuch")
    assert code == 2 and "eu-de_nonesuch" in err
    assert all(p.name in err for p in multi.user_projects())  # it names the ones there are
    # Keystone allows two projects of one name (here: a rename); the name alone is ambiguous.
    multi.state.projects[second.id].name = first.name
    code, out, err = run(capsys, "accept", image_id, "--project", first.name)
    assert code == 2 and out == ""
    assert first.id in err and second.id in err and "--project ID" in err
    assert {p.id: multi.member_status(image_id, p.id) for p in (first, second)} == before
    code, out, _ = run(capsys, "accept", image_id, "--project", second.id)
    assert code == 0 and out.startswith(f"accepted {image_id} in {first.name} ")
    assert multi.member_status(image_id, second.id) == "accepted"
    assert multi.member_status(image_id, first.id) == before[first.id]


def test_all_projects_decides_each_pending_share_and_leaves_decided_ones(multi, capsys):
    image_id, first, second = twice_shared(multi)
    other_id = next(i for i in sorted(multi.multi_project_image_ids()) if i != image_id)
    third, fourth = [p for p in multi.user_projects() if multi.member_status(other_id, p.id)][:2]
    # image_id waits in two projects; other_id in one, and was rejected in the other.
    multi.set_member_status(image_id, "pending", project=first.id)
    multi.set_member_status(image_id, "pending", project=second.id)
    multi.set_member_status(other_id, "pending", project=third.id)
    multi.set_member_status(other_id, "rejected", project=fourth.id)
    code, out, err = run(capsys, "accept", "--all-projects", image_id, other_id)
    assert code == 0, err
    lines = out.splitlines()
    assert sorted(lines[:2]) == sorted(
        f"accepted {image_id} in {p.name} ({p.region})" for p in (first, second)
    )
    assert lines[2:] == [f"accepted {other_id} in {third.name} ({third.region})"]
    assert multi.member_status(image_id, first.id) == "accepted"
    assert multi.member_status(image_id, second.id) == "accepted"
    assert multi.member_status(other_id, third.id) == "accepted"
    assert multi.member_status(other_id, fourth.id) == "rejected"  # decided before: left
    assert f"{other_id} in {fourth.name} ({fourth.region}): left rejected" in err
    # Nothing pending any more: the image is already accepted everywhere it was decided.
    code, out, err = run(capsys, "accept", "--all-projects", image_id)
    assert code == 0 and out == "" and err.count("already accepted") == 2
    # An id shared with none of the user's projects: exit 1, named.
    missing = "00000000-0000-4000-8000-000000000000"
    code, _, err = run(capsys, "reject", "--all-projects", missing)
    assert code == 1 and f"{missing}: not shared with any of your projects" in err


BATCH_PUT = ("PUT", "/image/v1/cloudimages/members")
MEMBER_PUT = ("PUT", "/image/v2/images/{image_id}/members/{member_id}")


def test_all_projects_sends_one_batch_per_project_with_its_own_token(multi, capsys):
    """Two pending images in a project of each region: one OTC batch call per project, each
    reaching its own region's image service, and nothing decided in any other project."""
    users = multi.user_projects()
    whole = {i for p in users for i in multi.whole_image_ids(project=p.id)}

    def only_here(project: Any) -> list[str]:
        return [
            i
            for i in multi.shared_image_ids("pending", project=project.id)
            if i not in whole and all(multi.member_status(i, p.id) is None for p in users
                                      if p.id != project.id)
        ][:2]  # fmt: skip

    de = next(p for p in users if p.region == "eu-de" and len(only_here(p)) == 2)
    nl = next(p for p in users if p.region == "eu-nl" and len(only_here(p)) == 2)
    chosen = {de.id: only_here(de), nl.id: only_here(nl)}
    before = {
        (p.id, i): multi.member_status(i, p.id)
        for p in users
        for i in multi.shared_image_ids(project=p.id)
    }
    multi.stats.reset()
    ids = [*chosen[de.id], *chosen[nl.id]]
    code, out, err = run(capsys, "accept", "--all-projects", *ids)
    assert code == 0, err
    assert out.splitlines() == [
        f"accepted {i} in {p.name} ({p.region})" for p in (de, nl) for i in chosen[p.id]
    ]
    assert multi.stats.count(*BATCH_PUT) == 2 and multi.stats.count(*MEMBER_PUT) == 0
    assert {r for r, n in multi.stats.region_requests.items() if n} == {"eu-de", "eu-nl"}
    after = {key: multi.member_status(key[1], key[0]) for key in before}
    changed = {key for key in before if after[key] != before[key]}
    assert changed == {(pid, i) for pid, found in chosen.items() for i in found}
    assert all(after[key] == "accepted" for key in changed)


def test_exit_code_3_means_pending_somewhere(multi, capsys):
    code, out, _ = run(capsys, "list", "--all-projects", "--exit-code", "-f", "value", "-c", "ID")
    assert code == 3 and out
    # Accept everything pending everywhere: then nothing is, and the answer is 0.
    pending = sorted({i for p in multi.user_projects()
                      for i in multi.shared_image_ids("pending", project=p.id)})  # fmt: skip
    vault = ["--vault-id", multi.vault_ids[0]]
    code, _, err = run(capsys, "accept", "--all-projects", *pending, *vault)
    assert code == 0, err
    code, out, _ = run(capsys, "list", "--all-projects", "--exit-code", "-f", "value")
    assert code == 0 and out == ""


def test_scope_options_that_would_be_ignored_are_usage_errors(multi, capsys):
    for argv, says in (
        (["show", "x", "--region", "eu-de"], "--region"),
        (["--all-projects", "show", "x"], "--all-projects works with"),
        (["accept", "x", "--project", "a", "--all-projects"], "choose one"),
        (["accept", "x", "--region", "eu-de"], "--region"),
        (["list", "--all-projects", "--region", "eu de"], "contains a space"),
    ):
        code, _, err = run_usage(capsys, argv)
        assert code == 2 and says in err, (argv, err)


def run_usage(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's usage errors
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------------ app


def test_the_app_flags_and_the_demo_world(monkeypatch, config_dir):
    """`imshare --all-projects --region R` reach the app; plain `--demo` gives the user six
    projects in two regions and the current one still has shares of its own. (Textual's own
    ``App.run`` is replaced by a recorder that looks at the running demo cloud.)"""
    import asyncio

    from tui.app.app import ImshareApp
    from tui.cloud.session import CloudSession

    seen: list[tuple[Any, list[tuple[str, str]], int]] = []

    def record(self: ImshareApp, **_: object) -> None:
        async def look() -> tuple[list[tuple[str, str]], int]:
            async with CloudSession(self.settings) as session:
                return await session.list_projects(), len(await session.list_shared())

        seen.append((self, *asyncio.run(look())))

    monkeypatch.setattr(ImshareApp, "run", record)
    assert main(["--demo", "--all-projects", "--region", "eu-nl"]) == 0
    app, projects, shares = seen.pop()
    assert app.all_projects is True and app.regions == ("eu-nl",)
    assert app.settings.project_name == "eu-de_demo" and app.settings.region == "eu-de"
    names = [name for _id, name in projects]
    assert len(names) == 6 and {name[:5] for name in names} == set(REGIONS)
    assert shares > 0
    assert main(["--demo", "--demo-projects", "3", "--demo-regions", "eu-nl"]) == 0
    app, projects, shares = seen.pop()
    assert app.all_projects is None and app.regions == ()  # None: as last chosen
    assert sorted(name for _id, name in projects) == [
        "eu-nl_demo", "eu-nl_demo_staging", "eu-nl_team02"
    ]  # fmt: skip
    # Without --region the config's regions apply (one project's region stays its own).
    monkeypatch.setenv("IMSHARE_CONFIG_DIR", str(config_dir))
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(
        'auth_url = "https://iam.example.test/v3"\nusername = "a"\nuser_domain_name = "d"\n'
        'project_name = "eu-de_p"\nregion = "eu-de"\nregions = ["eu-nl", "eu-ch2"]\n'
    )
    monkeypatch.setattr(ImshareApp, "run", lambda self, **_: seen.append((self, [], 0)))
    assert main([]) == 0
    assert seen.pop()[0].regions == ("eu-nl", "eu-ch2")
    assert main(["--region", "eu-de"]) == 0
    app = seen.pop()[0]
    assert app.regions == ("eu-de",) and app.settings.region == "eu-de"


# ----------------------------------------------------- journal, undo, a failing stdout


def pending_in_two_projects(cloud: Any) -> dict[str, list[str]]:
    """Two pending images (shared with that project alone, not full-ECS) in a project of
    each region: project id -> image ids."""
    users = cloud.user_projects()
    whole = {i for p in users for i in cloud.whole_image_ids(project=p.id)}

    def only_here(project: Any) -> list[str]:
        others = [p.id for p in users if p.id != project.id]
        return [
            i
            for i in cloud.shared_image_ids("pending", project=project.id)
            if i not in whole and all(cloud.member_status(i, o) is None for o in others)
        ][:2]

    de = next(p for p in users if p.region == "eu-de" and len(only_here(p)) == 2)
    nl = next(p for p in users if p.region == "eu-nl" and len(only_here(p)) == 2)
    return {de.id: only_here(de), nl.id: only_here(nl)}


def test_a_decision_everywhere_is_one_journalled_operation_that_undo_reverts(multi, capsys):
    image_id, first, second = twice_shared(multi)
    for project in (first, second):
        multi.set_member_status(image_id, "pending", project=project.id)
    chosen = pending_in_two_projects(multi)
    ids = [image_id, *(i for found in chosen.values() for i in found)]
    code, out, err = run(capsys, "accept", "--all-projects", *ids)
    assert code == 0, err
    decided = {(first.id, image_id), (second.id, image_id)}
    decided |= {(pid, i) for pid, found in chosen.items() for i in found}
    assert all(multi.member_status(i, pid) == "accepted" for pid, i in decided)
    code, out, _ = run(capsys, "history", "-f", "json")
    assert code == 0
    records = json.loads(out)
    assert len({r["op"] for r in records}) == 1  # one operation for the command
    assert {(r["member_id"], r["image_id"]) for r in records} == decided
    assert {(r["before"], r["after"], r["outcome"]) for r in records} == {
        ("pending", "accepted", "done")
    }
    names = {p.id: (p.name, p.region) for p in multi.user_projects()}
    assert all((r["member_name"], r["region"]) == names[r["member_id"]] for r in records)
    code, out, err = run(capsys, "undo", "--yes")
    assert code == 0, err
    assert all(multi.member_status(i, pid) == "pending" for pid, i in decided)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
def test_a_full_disk_under_accept_all_projects_reports_every_pair_on_stderr(multi):
    chosen = pending_in_two_projects(multi)
    ids = [i for found in chosen.values() for i in found]
    names = {p.id: f"{p.name} ({p.region})" for p in multi.user_projects()}
    with Path("/dev/full").open("w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "tui", "accept", "--all-projects", *ids],
            env=os.environ, stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
            check=False,
        )  # fmt: skip
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert all(multi.member_status(i, pid) == "accepted" for pid, found in chosen.items()
               for i in found)  # fmt: skip
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        "imshare: cannot write to standard output (No space left on device); "
        "the results from here on follow on stderr"
    )
    assert sorted(lines[1:-1]) == sorted(
        f"imshare: accepted {i} in {names[pid]}" for pid, found in chosen.items() for i in found
    )
    assert lines[-1] == (
        f"imshare: {len(ids)} of {len(ids)} accepted, 0 failed; "
        "standard output could not be written (No space left on device)"
    )


def test_a_closed_pipe_under_reject_all_projects_finishes_every_decision_quietly(multi):
    chosen = pending_in_two_projects(multi)
    ids = [i for found in chosen.values() for i in found]
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "reject", "--all-projects", *ids],
        env=os.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.close()
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 141 and stderr == ""
    assert all(multi.member_status(i, pid) == "rejected" for pid, found in chosen.items()
               for i in found)  # fmt: skip


def test_scope_options_before_the_command_reach_apply_and_watch(multi, config_dir, capsys):
    """`imshare --all-projects --region eu-nl watch|apply`: as if given after the command,
    never quietly the current project alone; the regions narrow apply as they narrow list."""
    nl = [p for p in multi.user_projects() if p.region == "eu-nl"]
    waiting = {(p.id, i) for p in nl for i in multi.shared_image_ids("pending", project=p.id)}
    assert waiting
    code, out, err = run(capsys, "--all-projects", "--region", "eu-nl", "watch", "--once")
    assert code == 0, err
    seen = [json.loads(line) for line in out.splitlines()]
    assert {(r["member_id"], r["image_id"]) for r in seen if r["event"] == "new_share"} == waiting
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "rules.toml").write_text(
        'max_per_run = 1000\n[[rules]]\nname = "all"\nimage = "*"\naction = "reject"\n',
        encoding="utf-8",
    )
    for argv in (
        ["--region", "eu-nl", "apply", "--all-projects", "-f", "json"],
        ["apply", "--all-projects", "--region", "eu-nl", "-f", "json"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 3, err  # a dry run with something to do
        planned = {(p["member_id"], p["image_id"]) for p in json.loads(out)}
        assert planned == waiting


def test_watch_all_projects_follows_the_configs_regions(multi, config_dir, capsys):
    """`regions` in the config limits `watch --all-projects` as it limits `list`."""
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text('regions = ["eu-nl"]\n')
    nl = [p for p in multi.user_projects() if p.region == "eu-nl"]
    expected = {(pid, i) for pid, i, status in server_shares(multi, nl) if status == "pending"}
    code, out, err = run(capsys, "watch", "--all-projects", "--once")
    assert code == 0, err
    lines = [json.loads(line) for line in out.splitlines()]
    assert {line["event"] for line in lines} == {"new_share"}
    assert {(line["member_id"], line["image_id"]) for line in lines} == expected
