"""Scripting: -f/-c on list and show, list --exit-code, and bulk decisions through the batch API,
all against a real DemoCloud."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tui.cli.main import main
from tui.cli.output import COLUMNS, column_names


def out_err(capsys) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_format_json_equals_the_json_alias(cloud_env, capsys):
    assert main(["list", "--status", "all", "-f", "json"]) == 0
    formatted = json.loads(out_err(capsys)[0])
    assert main(["list", "--status", "all", "--json"]) == 0
    assert json.loads(out_err(capsys)[0]) == formatted
    assert {"id", "status", "owner", "size_bytes", "whole_image"} <= formatted[0].keys()


def test_value_format_with_columns(cloud_env, capsys):
    assert main(["list", "-f", "value", "-c", "ID", "-c", "Status"]) == 0
    out, err = out_err(capsys)
    lines = out.splitlines()
    assert sorted(lines) == sorted(f"{i} pending" for i in cloud_env.shared_image_ids("pending"))
    assert err == ""


def test_columns_match_names_keys_and_aliases(cloud_env, capsys):
    image_id = cloud_env.shared_image_ids("accepted")[0]
    for spelling in ("Member Status", "member_status", "status", "STATUS"):
        assert main(["show", image_id, "-f", "value", "-c", spelling]) == 0
        assert out_err(capsys)[0] == "accepted\n"
    assert main(["show", image_id, "-f", "value", "-c", "owner", "-c", "Project"]) == 0
    assert out_err(capsys)[0].splitlines() == [cloud_env.image(image_id)["owner"]]


def test_csv_has_a_header_and_raw_values(cloud_env, capsys):
    assert main(["list", "--status", "accepted", "-f", "csv", "-c", "ID", "-c", "Size",
                 "-c", "Tags", "-c", "Created At"]) == 0  # fmt: skip
    rows = list(csv.reader(io.StringIO(out_err(capsys)[0])))
    assert rows[0] == ["ID", "Size", "Tags", "Created At"]
    assert sorted(r[0] for r in rows[1:]) == sorted(cloud_env.shared_image_ids("accepted"))
    by_id = {r[0]: r for r in rows[1:]}
    some = next(iter(by_id))
    doc = cloud_env.image(some)
    size = doc.get("__image_size") or doc.get("size")
    assert by_id[some][1] == ("" if size is None else str(int(size)))
    assert by_id[some][3].endswith("Z") and "T" in by_id[some][3]


def test_table_with_columns_and_the_default_table(cloud_env, capsys):
    assert main(["list", "-c", "Name", "-c", "Disk Format", "-c", "Visibility"]) == 0
    lines = out_err(capsys)[0].splitlines()
    assert [h.strip() for h in lines[0].split("  ") if h.strip()] == [
        "Name",
        "Disk Format",
        "Visibility",
    ]
    assert len(lines) == 1 + len(cloud_env.shared_image_ids("pending"))
    assert all(line.rstrip().endswith("shared") for line in lines[1:])
    assert main(["list", "-f", "table"]) == 0
    header = out_err(capsys)[0].splitlines()[0].split("  ")
    assert [h.strip() for h in header if h.strip()] == [
        "ID", "Name", "Status", "OS Version", "Size", "Disk Format", "Owner", "Created At"
    ]  # fmt: skip


def test_json_with_columns_uses_the_json_keys(cloud_env, capsys):
    assert main(["list", "-f", "json", "-c", "ID", "-c", "Member Status", "-c", "Full-ECS"]) == 0
    rows = json.loads(out_err(capsys)[0])
    assert set(rows[0]) == {"id", "status", "whole_image"}
    assert all(isinstance(r["whole_image"], bool) for r in rows)


def test_show_formats(cloud_env, capsys):
    image_id = cloud_env.shared_image_ids("rejected")[0]
    assert main(["show", image_id, "-f", "json", "-c", "ID", "-c", "Shared At"]) == 0
    payload = json.loads(out_err(capsys)[0])
    assert payload["id"] == image_id and payload["shared_at"].endswith("Z")
    assert main(["show", image_id, "-f", "value", "-c", "Name", "-c", "Status"]) == 0
    name, status = out_err(capsys)[0].splitlines()
    assert status == "rejected" and name == cloud_env.image(image_id)["name"]
    assert main(["show", image_id, "-c", "Status", "-c", "Decided At"]) == 0
    assert out_err(capsys)[0].splitlines()[0].split() == ["Status:", "rejected"]
    assert main(["show", image_id, "-f", "csv"]) == 0
    header, row = list(csv.reader(io.StringIO(out_err(capsys)[0])))
    assert header == column_names() and len(row) == len(COLUMNS)
    assert main(["show", image_id, "-f", "value"]) == 0
    assert len(out_err(capsys)[0].splitlines()) == len(COLUMNS)


def test_unknown_column_is_a_usage_error_before_any_request(cloud_env, capsys):
    assert main(["list", "-c", "Checksum"]) == 2
    err = out_err(capsys)[1]
    assert "unknown column 'Checksum'" in err and "'Disk Format'" in err
    assert cloud_env.stats.token_requests == 0


def test_empty_listing_per_format(cloud_env, capsys):
    for image_id in cloud_env.shared_image_ids("rejected"):
        cloud_env.set_member_status(image_id, "accepted")
    assert main(["list", "--status", "rejected", "-f", "csv", "-c", "ID"]) == 0
    assert out_err(capsys)[0] == '"ID"\n'
    assert main(["list", "--status", "rejected", "-f", "value"]) == 0
    assert out_err(capsys) == ("", "")
    assert main(["list", "--status", "rejected", "-f", "json"]) == 0
    assert json.loads(out_err(capsys)[0]) == []


def test_exit_code_3_while_shares_are_pending(cloud_env, capsys):
    assert main(["list", "--status", "pending", "--exit-code", "-f", "value", "-c", "ID"]) == 3
    assert main(["list", "--status", "all", "--exit-code", "-f", "json"]) == 3
    assert main(["list", "--status", "accepted", "--exit-code"]) == 0
    assert main(["list", "--status", "pending"]) == 0  # without the flag: 0 as before
    out_err(capsys)
    pending = cloud_env.shared_image_ids("pending")
    assert main(["accept", *pending]) == 0
    out_err(capsys)
    assert main(["list", "--status", "pending", "--exit-code"]) == 0
    assert "no pending shares" in out_err(capsys)[1]


# ---------------------------------------------------------------------- batch through the CLI

BATCH_PUT = ("PUT", "/image/v1/cloudimages/members")
MEMBER_PUT = ("PUT", "/image/v2/images/{image_id}/members/{member_id}")


def test_bulk_accept_uses_the_batch_api(cloud_env, capsys):
    whole = set(cloud_env.whole_image_ids())
    ids = [i for i in cloud_env.shared_image_ids("pending") if i not in whole][:4]
    assert main(["accept", *ids]) == 0
    out, err = out_err(capsys)
    assert sorted(out.splitlines()) == sorted(f"accepted {i}" for i in ids) and err == ""
    assert cloud_env.stats.count(*BATCH_PUT) == 1
    assert cloud_env.stats.count(*MEMBER_PUT) == 0
    assert main(["reject", *ids, "--no-batch"]) == 0
    assert cloud_env.stats.count(*BATCH_PUT) == 1
    assert cloud_env.stats.count(*MEMBER_PUT) == 4
    assert all(cloud_env.member_status(i) == "rejected" for i in ids)


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per-image"])
def test_full_ecs_vault_messages_name_the_option(make_cloud, monkeypatch, capsys, batch):
    cloud = make_cloud(images=300)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    whole = cloud.whole_image_ids()[:2]
    for image_id in whole:
        cloud.set_member_status(image_id, "pending")
    extra = [] if batch else ["--no-batch"]
    assert main(["accept", *whole, *extra]) == 1
    err = out_err(capsys)[1]
    assert all(f"imshare: {i}: " in err and "IMG.0184" in err for i in whole)
    assert "--vault-id V" in err
    assert main(["accept", *whole, "--vault-id", "not-a-vault", *extra]) == 1
    err = out_err(capsys)[1]
    assert "given with --vault-id (not-a-vault) was refused" in err
    assert "CBR server-backup vault" in err
    assert main(["accept", *whole, "--vault-id", cloud.vault_ids[0], *extra]) == 0
    assert all(cloud.member_status(i) == "accepted" for i in whole)
    assert (cloud.stats.count(*BATCH_PUT) > 0) is batch
