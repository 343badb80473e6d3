"""Seeded data: deterministic, realistic, valid JSON, and fast in bulk."""

from __future__ import annotations

import json
import re
import time

from tui.democloud import seed


def test_same_seed_same_bytes_other_seed_other_data() -> None:
    a = seed.generate(200, 5)
    b = seed.generate(200, 5)
    c = seed.generate(200, 6)
    assert [i.raw for i in a.images] == [i.raw for i in b.images]
    assert a.demo_project.id == b.demo_project.id
    assert a.vault_ids == b.vault_ids
    assert {k: {m: v.status for m, v in t.items()} for k, t in a.members.items()} == {
        k: {m: v.status for m, v in t.items()} for k, t in b.members.items()
    }
    assert {i.id for i in a.images}.isdisjoint({i.id for i in c.images})


def test_every_image_is_valid_json_with_otc_fields() -> None:
    data = seed.generate(1500, 2)
    owners = {p.id for p in data.owner_projects}
    assert len(owners) == 5
    assert all(re.fullmatch(r"[0-9a-f]{32}", o) for o in owners)
    stamp = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
    whole = 0
    for img in data.images:
        doc = json.loads(img.raw)
        assert doc["id"] == img.id and doc["owner"] == img.owner and doc["name"] == img.name
        assert stamp.fullmatch(doc["created_at"]) and stamp.fullmatch(doc["updated_at"])
        assert doc["created_at"] <= doc["updated_at"]
        assert doc["__os_type"] in ("Linux", "Windows")
        assert doc["__os_bit"] == "64" and doc["status"] == "active"
        assert doc["hw_firmware_type"] in ("bios", "uefi")
        assert doc["disk_format"] in ("zvhd2", "vhd", "qcow2", "raw")
        assert doc["__lazyloading"] in ("true", "True", "False", "false")
        whole += doc.get("__whole_image") == "true"
        if doc.get("__whole_image") == "true":
            assert doc["__backup_id"]
    assert 0.02 * 1500 < whole < 0.09 * 1500
    names = {json.loads(i.raw)["name"] for i in data.images}
    assert any(n.startswith("Standard_Windows_2022") for n in names)
    assert any(n.startswith("Ubuntu_24.04") for n in names)


def test_members_are_shared_after_creation_and_decided_later() -> None:
    data = seed.generate(300, 4)
    created = {i.id: json.loads(i.raw)["created_at"] for i in data.images}
    for image_id, table in data.members.items():
        for member in table.values():
            shared = member.to_json()
            assert shared["created_at"] >= created[image_id]
            assert shared["updated_at"] >= shared["created_at"]
            if member.status == "pending":
                assert shared["updated_at"] == shared["created_at"]


def test_fifty_thousand_images_generate_quickly() -> None:
    start = time.perf_counter()
    data = seed.generate(50_000, 1)
    elapsed = time.perf_counter() - start
    print(f"\n50,000 images generated in {elapsed:.2f} s")
    assert len(data.images) > 50_000
