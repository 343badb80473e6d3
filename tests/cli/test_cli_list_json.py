"""`imshare list --json` (no -c, no --filter) writes its objects straight from the cloud's,
with no model between (issue 14): its bytes must stay what the documented shape gives.

The expected output is computed here, independently of imshare: from the demo cloud's own image
documents, the README's JSON shape (its keys, in their order), the owner names of owners.toml,
the stdlib ``json`` module, and the escaping rule written out by hand — hostile text included.
"""

from __future__ import annotations

import gc
import json
import re
from pathlib import Path
from typing import Any

import tomli_w
from hostile import HOSTILE, forbidden, share_hostile_images

from tui.cli.main import main

# The README's rule for JSON output, on top of what json escapes itself: DEL, C1 controls,
# Unicode's Bidi_Control characters and the line/paragraph separators become \uXXXX.
_ESCAPED = re.compile(
    "[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029\ud800-\udfff]"
)


def _documented(doc: dict[str, Any], status: str, owners: dict[str, dict[str, str]]) -> dict:
    """The README's JSON object of one image, from the cloud's document (the demo writes OTC's
    string-typed size and flags, and times already in UTC with a ``Z``)."""
    owner = doc["owner"]
    image_size = int(doc.get("__image_size") or 0)
    named = owners.get(owner, {})
    return {
        "id": doc["id"],
        "name": doc["name"],
        "status": status,
        "owner": owner,
        "os_version": doc.get("__os_version", ""),
        "os_type": doc.get("__os_type", ""),
        "platform": doc.get("__platform", ""),
        "disk_format": doc.get("disk_format", ""),
        "container_format": doc.get("container_format", ""),
        "size_bytes": image_size or doc.get("size") or None,
        "min_disk_gb": doc.get("min_disk"),
        "min_ram_mb": doc.get("min_ram"),
        "image_status": doc.get("status", ""),
        "visibility": doc.get("visibility", ""),
        "whole_image": str(doc.get("__whole_image", "")).lower() == "true",
        "tags": list(doc.get("tags", [])),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at"),
        "owner_name": named.get("name"),
        "owner_trust": named.get("trust", "unknown"),
    }


def _expected(cloud: Any, statuses: list[str], owners: dict[str, dict[str, str]]) -> str:
    objects = [
        _documented(cloud.image(image_id), status, owners)
        for status in statuses
        for image_id in cloud.shared_image_ids(status)
    ]
    objects.sort(key=lambda image: (image["name"].lower(), image["id"]))
    lines = [
        _ESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", json.dumps(obj, ensure_ascii=False))
        for obj in objects
    ]
    return "[\n" + ",\n".join(lines) + "\n]\n" if lines else "[]\n"


def _write_owners(config_dir: Path, owners: dict[str, dict[str, str]]) -> None:
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(tomli_w.dumps({"owners": owners}), encoding="utf-8")


def test_list_json_is_byte_for_byte_the_documented_objects(cloud_env, config_dir, capsys):
    """Every status, an owner with a name and a trust, the demo's images: the exact bytes."""
    owner = cloud_env.image(cloud_env.shared_image_ids("accepted")[0])["owner"]
    owners = {owner: {"name": "Platform team", "trust": "trusted"}}
    _write_owners(config_dir, owners)
    assert main(["list", "--status", "all", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.out == _expected(cloud_env, ["pending", "accepted", "rejected"], owners)
    assert '"owner_name": "Platform team", "owner_trust": "trusted"' in captured.out
    assert captured.err == ""


def test_list_json_of_hostile_images_is_the_documented_escaping(cloud_env, monkeypatch, capsys):
    """Hostile text in every field: the same bytes as json.dumps plus the README's escapes,
    so every string decodes to what the sharer wrote and no control character is printed."""
    share_hostile_images(cloud_env)
    monkeypatch.delenv("OS_PROJECT_NAME")  # the project's name is hostile now
    monkeypatch.setenv("OS_PROJECT_ID", cloud_env.project_id)
    assert main(["list", "--json"]) == 0
    out = capsys.readouterr().out
    assert out == _expected(cloud_env, ["pending"], {})
    assert forbidden(out) == []
    assert any(image["os_version"] == HOSTILE for image in json.loads(out))


def test_list_json_of_one_status_and_of_none(cloud_env, capsys):
    assert main(["list", "--status", "rejected", "--json"]) == 0
    assert capsys.readouterr().out == _expected(cloud_env, ["rejected"], {})
    for image_id in cloud_env.shared_image_ids("rejected"):
        cloud_env.set_member_status(image_id, "accepted")
    assert main(["list", "--status", "rejected", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


def test_list_json_with_a_failed_status_prints_the_others_and_says_so(cloud_env, capsys):
    """The partial-listing rule on this path: the rows of the statuses that answered, exactly;
    the missing status named on stderr; exit 1, also with --exit-code."""
    cloud_env.fail_listing("pending", status=503)
    assert main(["list", "--status", "all", "--json", "--exit-code"]) == 1
    captured = capsys.readouterr()
    assert captured.out == _expected(cloud_env, ["accepted", "rejected"], {})
    assert "could not list the pending shares, so this list is incomplete" in captured.err


def test_list_json_exit_code_says_whether_shares_are_pending(cloud_env, capsys):
    assert main(["list", "--status", "all", "--json", "--exit-code"]) == 3
    capsys.readouterr()
    for image_id in cloud_env.shared_image_ids("pending"):
        cloud_env.set_member_status(image_id, "rejected")
    assert main(["list", "--status", "all", "--json", "--exit-code"]) == 0
    assert capsys.readouterr().out == _expected(cloud_env, ["accepted", "rejected"], {})


def test_the_garbage_collector_runs_again_after_a_listing(cloud_env, capsys):
    """A listing pauses the cyclic collector while it builds its rows; whatever ends it (a
    listing that failed for every status included), the collector runs again afterwards."""
    assert gc.isenabled()
    assert main(["list", "--status", "all", "-f", "csv"]) == 0
    assert gc.isenabled()
    capsys.readouterr()
    for status in ("pending", "accepted", "rejected"):
        cloud_env.fail_listing(status, status=400)
    assert main(["list", "--status", "all", "--json"]) == 1
    assert capsys.readouterr().out == ""
    assert gc.isenabled()
