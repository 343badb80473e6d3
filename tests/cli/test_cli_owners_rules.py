"""Owner names in the CLI's output and filter, ``imshare owners``, and ``imshare apply`` — all
against a real DemoCloud, whose member records say what was really decided."""

from __future__ import annotations

import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tui.cli.main import main

SHOWN_ID = 8  # the table shows an unnamed owner's first 8 characters


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    got = main(list(argv))
    captured = capsys.readouterr()
    assert got == code, (got, captured.out, captured.err)
    return captured.out, captured.err


def pending(cloud: Any) -> list[dict[str, Any]]:
    return [cloud.image(i) for i in cloud.shared_image_ids("pending")]


def busiest_owner(cloud: Any, status: str = "pending") -> str:
    """The owner with the most shares of ``status`` (the demo data decides who)."""
    owners = Counter(cloud.image(i)["owner"] for i in cloud.shared_image_ids(status))
    return owners.most_common(1)[0][0]


def write_owners(config_dir: Path, owners: dict[str, dict[str, str]]) -> None:
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(tomli_w.dumps({"owners": owners}), encoding="utf-8")


def write_rules(config_dir: Path, rules: list[dict[str, Any]], **top: Any) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "rules.toml"
    path.write_text(tomli_w.dumps({**top, "rules": rules}), encoding="utf-8")
    path.chmod(0o644)
    return path


# ----------------------------------------------------------------------------- owners


def test_list_shows_the_owners_name_and_json_keeps_the_id(cloud_env, config_dir, capsys):
    owner = busiest_owner(cloud_env)
    write_owners(config_dir, {owner: {"name": "Platform team", "trust": "trusted"}})
    out, _ = run(capsys, "list", "-f", "json")
    rows = json.loads(out)
    named = [r for r in rows if r["owner"] == owner]
    assert named and all(
        r["owner_name"] == "Platform team" and r["owner_trust"] == "trusted" for r in named
    )
    others = [r for r in rows if r["owner"] != owner]
    assert others and all(r["owner_name"] is None and r["owner_trust"] == "unknown" for r in others)
    out, _ = run(capsys, "list", "--wide")
    header, *lines = out.splitlines()
    assert "Owner" in header.split("  ") and "Project" not in header
    expected = {cloud_env.image(i)["name"]: cloud_env.image(i)["owner"] for i in
                cloud_env.shared_image_ids("pending")}  # fmt: skip
    for line in lines:
        name = next(n for n in expected if f"  {n}  " in line)
        shown = "Platform team" if expected[name] == owner else expected[name][:SHOWN_ID]
        assert f"  {shown}  " in line


def test_owner_columns_by_name(cloud_env, config_dir, capsys):
    owner = busiest_owner(cloud_env)
    write_owners(config_dir, {owner: {"name": "Platform team", "trust": "blocked"}})
    out, _ = run(capsys, "list", "-f", "csv", "-c", "Owner ID", "-c", "Owner Name", "-c",
                 "Owner Trust", "-c", "Project")  # fmt: skip
    lines = out.splitlines()
    assert lines[0] == '"Owner ID","Owner Name","Owner Trust","Owner"'
    assert f'"{owner}","Platform team","blocked","{owner}"' in lines


def test_the_owner_filter_finds_the_name_and_the_id(cloud_env, config_dir, capsys):
    owner = busiest_owner(cloud_env)
    write_owners(config_dir, {owner: {"name": "Platform Team"}})
    expected = sorted(i for i in cloud_env.shared_image_ids("pending")
                      if cloud_env.image(i)["owner"] == owner)  # fmt: skip
    for text in ("owner:platform", "owner:" + owner[:10], "team"):
        out, _ = run(capsys, "list", "--filter", text, "-f", "value", "-c", "ID")
        assert sorted(out.split()) == expected, text
    out, _ = run(capsys, "list", "--filter", "!owner:platform", "-f", "value", "-c", "ID")
    assert not set(out.split()) & set(expected) and out.split()


def test_a_broken_owners_file_warns_and_the_list_goes_on(cloud_env, config_dir, capsys):
    config_dir.mkdir(parents=True)
    (config_dir / "owners.toml").write_text("[owners\n", encoding="utf-8")
    out, err = run(capsys, "list", "-f", "value", "-c", "ID")
    assert sorted(out.split()) == sorted(cloud_env.shared_image_ids("pending"))
    assert "owners.toml is not valid TOML" in err and "going on without owner names" in err


def test_owners_set_and_list(config_dir, capsys):
    owner = "907a70c3b1d84fd6a5c1f1e5c3e4d2a1"
    out, _ = run(capsys, "owners", "set", owner, "--name", "Platform team", "--trust", "blocked")
    assert out == f"owner {owner}: Platform team, blocked\n"
    path = config_dir / "owners.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    out, _ = run(capsys, "owners", "-f", "json")
    assert json.loads(out) == [
        {"owner": owner, "owner_name": "Platform team", "owner_trust": "blocked"}
    ]
    run(capsys, "owners", "set", owner, "--trust", "trusted")  # the name stays
    out, _ = run(capsys, "owners")
    assert out.splitlines()[1].split() == [owner, "Platform", "team", "trusted"]
    _, err = run(capsys, "owners", "set", owner, "--trust", "friendly", code=2)
    assert "trust must be one of trusted, unknown, blocked" in err
    run(capsys, "owners", "set", owner, "--name", "", "--trust", "unknown")
    out, _ = run(capsys, "owners", "-f", "json")
    assert json.loads(out) == []


# ----------------------------------------------------------------------------- apply


def _ids_where(cloud: Any, test: Any) -> list[str]:
    return sorted(i for i in cloud.shared_image_ids("pending") if test(cloud.image(i)))


def _plain(image: dict[str, Any]) -> bool:
    return str(image.get("__whole_image", "false")).lower() != "true"


def test_apply_dry_run_lists_and_yes_changes_exactly_those(cloud_env, config_dir, capsys):
    owner = busiest_owner(cloud_env)
    write_owners(config_dir, {owner: {"name": "Platform team"}})
    write_rules(
        config_dir,
        [
            {"name": "platform", "owner": "Platform team", "action": "accept"},
            {"name": "raw out", "disk_format": "raw", "action": "reject"},
        ],
    )
    accept = _ids_where(cloud_env, lambda i: i["owner"] == owner and _plain(i))
    reject = _ids_where(cloud_env, lambda i: i["owner"] != owner and i["disk_format"] == "raw")
    assert accept and reject  # the demo data has both
    before = {i: cloud_env.member_status(i) for i in cloud_env.shared_image_ids()}
    out, err = run(capsys, "apply", "-f", "json", code=3)
    planned = json.loads(out)
    listed = {p["image_id"]: (p["action"], p["rule"]) for p in planned if p["action"] != "skip"}
    assert listed == {**{i: ("accept", "platform") for i in accept},
                      **{i: ("reject", "raw out") for i in reject}}  # fmt: skip
    assert {i: cloud_env.member_status(i) for i in before} == before  # a dry run sends nothing

    out, err = run(capsys, "apply", "--yes")
    lines = out.splitlines()
    assert sorted(line.split()[1] for line in lines) == sorted(listed)
    for line in lines:
        word, image_id = line.split()[:2]
        assert word == {"accept": "accepted", "reject": "rejected"}[listed[image_id][0]]
        assert line.endswith(f"by rule '{listed[image_id][1]}'")
    after = {i: cloud_env.member_status(i) for i in before}
    changed = {i for i in before if after[i] != before[i]}
    assert changed == set(listed)
    assert all(after[i] == "accepted" for i in accept)
    assert all(after[i] == "rejected" for i in reject)

    out, err = run(capsys, "apply")  # a second run: nothing left to do
    assert "the rules decide none of the pending shares" in err
    run(capsys, "apply", "--yes")
    assert {i: cloud_env.member_status(i) for i in before} == after

    # The journal says which rule made each decision, one operation per rule.
    out, _ = run(capsys, "history", "-f", "json")
    journalled = {e["image_id"]: e for e in json.loads(out)}
    assert set(journalled) == set(listed)
    for image_id, (action, rule) in listed.items():
        entry = journalled[image_id]
        assert entry["how"] == f"rule {rule}"
        assert (entry["before"], entry["outcome"]) == ("pending", "done")
        assert entry["after"] == {"accept": "accepted", "reject": "rejected"}[action]
    operations = {e["how"]: e["op"] for e in journalled.values()}
    assert len(set(operations.values())) == 2


def test_apply_never_decides_for_a_blocked_owner(cloud_env, config_dir, capsys):
    owner = busiest_owner(cloud_env)
    write_owners(config_dir, {owner: {"name": "Shady", "trust": "blocked"}})
    write_rules(config_dir, [{"name": "everything", "image": "*", "action": "reject"}])
    blocked = _ids_where(cloud_env, lambda i: i["owner"] == owner)
    out, err = run(capsys, "apply", "--yes", "--force")
    decided = {line.split()[1] for line in out.splitlines()}
    assert decided and not decided & set(blocked)
    assert all(cloud_env.member_status(i) == "pending" for i in blocked)
    for image_id in blocked:
        assert f"{image_id}: skipped (rule 'everything'): owner Shady is blocked" in err


def test_apply_over_max_per_run_decides_none_unless_forced(cloud_env, config_dir, capsys):
    write_rules(config_dir, [{"name": "all", "image": "*", "action": "reject"}], max_per_run=3)
    pending_ids = cloud_env.shared_image_ids("pending")
    assert len(pending_ids) > 3
    for argv in (["apply"], ["apply", "--yes"]):
        _, err = run(capsys, *argv, code=4)
        assert f"would decide {len(pending_ids)} images, more than max_per_run (3)" in err
        assert "--force" in err
    assert all(cloud_env.member_status(i) == "pending" for i in pending_ids)
    run(capsys, "apply", "--yes", "--force")
    assert all(cloud_env.member_status(i) == "rejected" for i in pending_ids)


def test_full_ecs_images_need_the_rules_vault(make_cloud, config_dir, monkeypatch, capsys):
    cloud = make_cloud(images=48, seed=7)  # has a full-ECS image among the pending ones
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    whole = [i for i in cloud.whole_image_ids() if cloud.member_status(i) == "pending"]
    assert whole
    names = [cloud.image(i)["name"] for i in whole]
    write_rules(config_dir, [{"name": n, "image": n, "action": "accept"} for n in names])
    out, err = run(capsys, "apply", "--yes")
    assert out == ""
    for image_id in whole:
        assert f"{image_id}: skipped" in err and "needs a CBR vault" in err
        assert cloud.member_status(image_id) == "pending"
    write_rules(config_dir, [{"name": n, "image": n, "action": "accept",
                              "vault_id": cloud.vault_ids[0]} for n in names])  # fmt: skip
    out, _ = run(capsys, "apply", "--yes")
    assert sorted(line.split()[1] for line in out.splitlines()) == sorted(whole)
    assert all(cloud.member_status(i) == "accepted" for i in whole)


def test_a_broken_rules_file_names_the_rule_and_key(cloud_env, config_dir, capsys):
    write_rules(config_dir, [{"name": "oops", "image": "x", "action": "accept", "size": 3}])
    _, err = run(capsys, "apply", code=2)
    assert "rule #1 ('oops'): unknown key 'size'" in err


def test_apply_all_projects_decides_in_each_project(make_cloud, config_dir, monkeypatch, capsys):
    cloud = make_cloud(images=40, seed=5, projects=3)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    projects = cloud.user_projects()
    target = projects[1]
    write_rules(config_dir, [{"name": "second", "member": target.name, "image": "*",
                              "action": "reject"}])  # fmt: skip
    wanted = sorted(cloud.shared_image_ids("pending", project=target.id))
    assert wanted
    others = {
        (p.id, i): cloud.member_status(i, project=p.id)
        for p in (projects[0], projects[2])
        for i in cloud.shared_image_ids(project=p.id)
    }
    run(capsys, "apply", code=0)  # this project only: the rule names another one
    out, _ = run(capsys, "apply", "--all-projects", "-f", "json", code=3)
    assert sorted(p["image_id"] for p in json.loads(out)) == wanted
    out, _ = run(capsys, "apply", "--all-projects", "--yes", "--force")
    assert len(out.splitlines()) == len(wanted)
    assert all(f" in {target.name} by rule 'second'" in line for line in out.splitlines())
    assert all(cloud.member_status(i, project=target.id) == "rejected" for i in wanted)
    assert {key: cloud.member_status(key[1], project=key[0]) for key in others} == others


def test_apply_says_which_decisions_failed_and_exits_1(make_cloud, config_dir, monkeypatch, capsys):
    cloud = make_cloud(images=48, seed=7)  # full-ECS images among the pending ones
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    whole = sorted(i for i in cloud.whole_image_ids() if cloud.member_status(i) == "pending")
    names = [cloud.image(i)["name"] for i in whole]
    # The cloud refuses a vault that does not exist: every decision of this rule fails.
    write_rules(config_dir, [{"name": n, "image": n, "action": "accept",
                              "vault_id": "no-such-vault"} for n in names])  # fmt: skip
    out, err = run(capsys, "apply", "--yes", code=1)
    assert out == ""
    for image_id, name in zip(whole, names, strict=True):
        assert f"{image_id} ({name}): rule '{name}': " in err
        assert cloud.member_status(image_id) == "pending"
    assert f"{len(whole)} of {len(whole)} decisions failed" in err


def test_apply_all_projects_names_a_project_it_cannot_list(
    make_cloud, config_dir, monkeypatch, capsys
):
    cloud = make_cloud(images=40, seed=5, projects=3)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    first, _second, broken = cloud.user_projects()
    cloud.fail_project(broken.id, 503, "maintenance")
    write_rules(config_dir, [{"name": "all", "image": "*", "action": "reject"}])
    wanted = sorted(cloud.shared_image_ids("pending", project=first.id))
    kept = {i: cloud.member_status(i, project=broken.id)
            for i in cloud.shared_image_ids(project=broken.id)}  # fmt: skip
    out, err = run(capsys, "apply", "--all-projects", "-f", "json", code=1)
    planned = json.loads(out)
    assert {p["member_name"] for p in planned} <= {first.name, _second.name}
    assert set(wanted) <= {p["image_id"] for p in planned}
    assert f"could not list {broken.name}" in err and "not in this run" in err
    run(capsys, "apply", "--all-projects", "--yes", "--force", code=1)
    assert all(cloud.member_status(i, project=first.id) == "rejected" for i in wanted)
    assert {i: cloud.member_status(i, project=broken.id) for i in kept} == kept
