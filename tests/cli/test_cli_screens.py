"""Issue 11 for the CLI ("screens that tell the truth"), against a real DemoCloud via main():
`--filter`, member-record columns, headers, sorting, `show` by name and its labels, decisions
in the order given, the vault message and `logout` with nothing configured.

Expected values come from the demo cloud's own records (its image documents and member
records), never from imshare's output.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tui.cli.main import main
from tui.cli.output import column_names
from tui.cli.table import MIN_WIDTH, fit_widths
from tui.filter_language import FIELDS

MEMBER_GET = ("GET", "/image/v2/images/{image_id}/members/{member_id}")


@contextlib.contextmanager
def server_hook(cloud: Any, handler: str, wrap: Callable[..., Any]) -> Iterator[None]:
    """Run ``wrap(original, req, token, **args)`` for each request the demo cloud's Glance
    ``handler`` answers: what a test needs to happen on the server side, at that moment."""
    glance = cloud.app.glance
    original = getattr(glance, handler)
    setattr(glance, handler, lambda req, token, **args: wrap(original, req, token, **args))
    cloud.app.routes = cloud.app._routes()
    try:
        yield
    finally:
        setattr(glance, handler, original)
        cloud.app.routes = cloud.app._routes()


def out_err(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    captured = capsys.readouterr()
    return captured.out, captured.err


def doc(cloud: Any, image_id: str) -> dict[str, Any]:
    found = cloud.image(image_id)
    assert found is not None
    return found


def member_record(cloud: Any, image_id: str) -> dict[str, str]:
    """The demo cloud's member record of the demo project, as Glance serialises it."""
    return cloud.state.get_member(image_id, cloud.project_id).to_json()


def decided(record: dict[str, str]) -> str | None:
    """Glance's times are all "YYYY-MM-DDTHH:MM:SSZ": as text they order as the times do."""
    return record["updated_at"] if record["updated_at"] > record["created_at"] else None


# ------------------------------------------------------------------------------- --filter


def ubuntu_of_one_owner(cloud: Any) -> tuple[str, set[str]]:
    """An owner prefix and the pending Ubuntu images of that owner, from the documents."""
    ubuntu = [
        i
        for i in cloud.shared_image_ids("pending")
        if "ubuntu" in doc(cloud, i)["name"].lower()
        or "ubuntu" in str(doc(cloud, i).get("__os_version", "")).lower()
    ]
    owner = doc(cloud, ubuntu[0])["owner"][:4]
    return owner, {i for i in ubuntu if doc(cloud, i)["owner"].startswith(owner)}


def test_list_filter_needs_every_term_to_match(cloud_env, capsys):
    owner, expected = ubuntu_of_one_owner(cloud_env)
    assert 0 < len(expected) < len(cloud_env.shared_image_ids("pending"))
    # Today the two words are one substring, and nothing matches.
    assert main(["list", "--filter", f"UBUNTU {owner}", "-f", "value", "-c", "ID"]) == 0
    out, err = out_err(capsys)
    assert set(out.split()) == expected and err == ""


@pytest.mark.parametrize("fmt", ["json", "csv", "value", "table"])
def test_every_format_prints_only_the_matching_rows(cloud_env, capsys, fmt):
    owner, expected = ubuntu_of_one_owner(cloud_env)
    args = ["list", "--filter", f"ubuntu owner:{owner}", "-f", fmt, "-c", "ID", "-c", "Name"]
    assert main(args) == 0
    out, err = out_err(capsys)
    if fmt == "json":
        ids = {row["id"] for row in json.loads(out)}
    elif fmt == "csv":
        ids = {row[0] for row in list(csv.reader(io.StringIO(out)))[1:]}
    else:
        lines = out.splitlines()[1:] if fmt == "table" else out.splitlines()
        ids = {line.split()[0] for line in lines}
    assert ids == expected
    total = len(cloud_env.shared_image_ids("pending"))
    if fmt == "table":  # the match count, where a person reads it
        assert (
            err
            == f"imshare: {len(expected)} of {total} pending shares match 'ubuntu owner:{owner}'\n"
        )
    else:
        assert err == ""  # scripts get rows, nothing else


def test_negated_and_field_terms_through_the_cli(cloud_env, capsys):
    accepted = set(cloud_env.shared_image_ids("accepted"))
    rejected = set(cloud_env.shared_image_ids("rejected"))
    qcow2 = {i for i in accepted | rejected if doc(cloud_env, i)["disk_format"] == "qcow2"}
    assert main(["list", "--status", "all", "--filter", "!status:pending format:QCOW2",
                 "-f", "value", "-c", "ID"]) == 0  # fmt: skip
    assert set(out_err(capsys)[0].split()) == qcow2


def test_a_status_term_without_status_lists_what_it_can_match(cloud_env, capsys):
    assert main(["list", "--filter", "status:acc", "-f", "value", "-c", "ID", "-c", "Status"]) == 0
    lines = out_err(capsys)[0].splitlines()
    assert sorted(lines) == sorted(f"{i} accepted" for i in cloud_env.shared_image_ids("accepted"))
    # With --status the listing stays what was asked for, and the filter narrows it.
    assert main(["list", "--status", "pending", "--filter", "status:acc", "-f", "json"]) == 0
    assert json.loads(out_err(capsys)[0]) == []


def test_an_unknown_field_is_exit_2_naming_the_fields_before_any_request(cloud_env, capsys):
    assert main(["list", "--filter", "ubuntu foo:bar"]) == 2
    out, err = out_err(capsys)
    assert out == ""
    assert "unknown filter field 'foo:'" in err
    assert all(f"{name}:" in err for name in FIELDS)
    assert cloud_env.stats.token_requests == 0 and cloud_env.stats.image_requests == 0


def test_no_match_in_a_table_says_so(cloud_env, capsys):
    assert main(["list", "--filter", "no-such-image-anywhere"]) == 0
    out, err = out_err(capsys)
    total = len(cloud_env.shared_image_ids("pending"))
    assert out == ""
    assert err == f"imshare: none of the {total} pending shares match 'no-such-image-anywhere'\n"


def test_imshare_filter_starts_the_app_filtered(monkeypatch, capsys):
    """`imshare --filter TEXT` hands TEXT to the app's store (its terminal run is replaced by a
    recorder); a filter it cannot read ends before the app starts."""
    from tui.app.app import ImshareApp

    started: list[ImshareApp] = []
    monkeypatch.setattr(ImshareApp, "run", lambda self, **_: started.append(self))
    assert main(["--demo", "--demo-images", "20", "--filter", "Ubuntu"]) == 0
    (app,) = started
    assert app.store.filter_text == "Ubuntu"  # as typed; matching ignores case
    started.clear()
    assert main(["--demo", "--filter", "colour:blue"]) == 2
    assert started == []
    assert "unknown filter field 'colour:'" in capsys.readouterr().err


# ------------------------------------------------------------------ member-record columns


def test_shared_and_decided_at_are_filled_from_the_member_records(cloud_env, capsys):
    # One pending image was decided and then reset: its record was updated after sharing.
    reset = cloud_env.shared_image_ids("accepted")[0]
    cloud_env.set_member_status(reset, "pending")
    assert main(["list", "--status", "all", "-f", "json",
                 "-c", "ID", "-c", "Shared At", "-c", "Decided At"]) == 0  # fmt: skip
    rows = {row["id"]: row for row in json.loads(out_err(capsys)[0])}
    assert set(rows) == set(cloud_env.shared_image_ids())
    for image_id, row in rows.items():
        record = member_record(cloud_env, image_id)
        assert row["shared_at"] == record["created_at"], image_id
        assert row["decided_at"] == decided(record), image_id
    # Never-decided shares have no decision time; decided ones do.
    pending = set(cloud_env.shared_image_ids("pending")) - {reset}
    assert all(rows[i]["decided_at"] is None for i in pending)
    assert rows[reset]["decided_at"] is not None
    assert any(rows[i]["decided_at"] for i in cloud_env.shared_image_ids("accepted"))


def test_member_records_are_read_only_when_asked_for_at_most_8_at_once(cloud_env, capsys):
    assert main(["list", "--status", "all", "-f", "json"]) == 0
    assert main(["list", "-c", "ID", "-c", "Name", "-c", "Created At"]) == 0
    assert cloud_env.stats.count(*MEMBER_GET) == 0
    out_err(capsys)

    in_flight = 0
    most = 0
    more = threading.Condition()

    def counting(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal in_flight, most
        with more:
            in_flight += 1
            most = max(most, in_flight)
            more.notify_all()
            # Each read is held a moment, so that a client sending more than 8 at once would
            # be seen doing it (the connection pool allows 16).
            more.wait_for(lambda: in_flight > 8, timeout=0.5)
        try:
            return original(*args, **kwargs)
        finally:
            with more:
                in_flight -= 1

    with server_hook(cloud_env, "show_member", counting):
        assert main(["list", "-f", "value", "-c", "ID", "-c", "Shared At"]) == 0
    pending = cloud_env.shared_image_ids("pending")
    assert cloud_env.stats.count(*MEMBER_GET) == len(pending)
    assert len(out_err(capsys)[0].splitlines()) == len(pending)
    assert 1 < most <= 8  # concurrent, and bounded


@pytest.fixture
def owner_unshares_first_member_read(cloud_env: Any) -> Iterator[list[str]]:
    """The owner stops sharing an image just as imshare reads its member record (after the
    listing): the demo cloud then answers that read with its real 404."""
    unshared: list[str] = []
    lock = threading.Lock()

    def racing(original: Callable[..., Any], req: Any, token: Any, **args: str) -> Any:
        with lock:
            if not unshared:
                unshared.append(args["image_id"])
                cloud_env.unshare(args["image_id"])
        return original(req, token, **args)

    with server_hook(cloud_env, "show_member", racing):
        yield unshared


def test_a_member_record_that_cannot_be_read_is_never_silently_empty(
    cloud_env, capsys, owner_unshares_first_member_read
):
    assert main(["list", "-f", "csv", "-c", "ID", "-c", "Shared At"]) == 1
    out, err = out_err(capsys)
    (gone,) = owner_unshares_first_member_read
    rows = {row[0]: row[1] for row in list(csv.reader(io.StringIO(out)))[1:]}
    assert rows[gone] == ""
    assert all(value for image_id, value in rows.items() if image_id != gone)
    assert f"could not read the member record of image ({gone})" in err
    assert "Shared At and Decided At are empty there" in err and "404" in err


# ----------------------------------------------------------------------- headers and width


def test_table_headers_are_the_column_names(cloud_env, capsys):
    columns = ["Disk Format", "Container Format", "Min RAM", "Full-ECS", "Owner"]
    assert main(["list", *[a for c in columns for a in ("-c", c)]]) == 0
    header = out_err(capsys)[0].splitlines()[0]
    assert [h.strip() for h in header.split("  ") if h.strip()] == columns


def test_fit_widths_cuts_only_the_widest_columns():
    # The default columns of a real listing at 120 cells: 106 for cells after 7 gaps of 2.
    natural = [36, 41, 8, 49, 8, 11, 8, 16]
    # Shares: 106/8 = 13 keeps 8, 8, 11, 8; 71/4 = 17 keeps 16; 55/3 = 18 r 1 for the rest.
    assert fit_widths(natural, 120) == [19, 18, 8, 18, 8, 11, 8, 16]
    assert fit_widths(natural, 0) == natural  # no limit
    assert fit_widths(natural, 300) == natural  # fits
    # Too narrow for the minimum: no column below 8, the table runs over.
    assert fit_widths([30, 30, 30], 20) == [MIN_WIDTH] * 3
    assert fit_widths([3, 30, 30], 30) == [3, 12, 11]  # 23 cells left: 12 + 11


def test_max_width_cuts_the_table_and_marks_the_cuts(cloud_env, capsys):
    assert main(["list", "--max-width", "80"]) == 0
    lines = out_err(capsys)[0].splitlines()
    assert all(len(line) <= 80 for line in lines)
    ids = set(cloud_env.shared_image_ids("pending"))
    firsts = [line.split()[0] for line in lines[1:]]
    assert all(cut.endswith("…") for cut in firsts)
    assert {cut[:-1] for cut in firsts} == {i[: len(firsts[0]) - 1] for i in ids}
    assert main(["list", "--max-width", "80", "--wide"]) == 0  # --wide wins
    assert {line.split()[0] for line in out_err(capsys)[0].splitlines()[1:]} == ids


def test_a_pipe_gets_the_whole_table(cloud_env, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")  # a terminal width, but stdout is not a terminal
    assert main(["list"]) == 0
    lines = out_err(capsys)[0].splitlines()
    assert {line.split()[0] for line in lines[1:]} == set(cloud_env.shared_image_ids("pending"))
    assert "…" not in "".join(lines)


def test_sorting_ignores_case(cloud_env, capsys):
    assert main(["list", "--status", "all", "-f", "value", "-c", "Name", "-c", "ID"]) == 0
    pairs = [line.split(" ", 1) for line in out_err(capsys)[0].splitlines()]
    names = [(doc(cloud_env, i)["name"], i) for i in cloud_env.shared_image_ids()]
    assert [tuple(p) for p in pairs] == sorted(names, key=lambda n: (n[0].lower(), n[1]))
    lower = [n for n, _ in names if n[:1].islower()]
    upper = [n for n, _ in names if n[:1].isupper()]
    assert lower and upper  # the demo has both, so the test can tell the orders apart


# ---------------------------------------------------------------------------------- show


def one_named(cloud: Any) -> tuple[str, str]:
    counts: dict[str, list[str]] = {}
    for image_id in cloud.shared_image_ids():
        counts.setdefault(doc(cloud, image_id)["name"], []).append(image_id)
    name, ids = next((n, ids) for n, ids in sorted(counts.items()) if len(ids) == 1)
    return name, ids[0]


def test_show_by_a_unique_name_equals_show_by_id(cloud_env, capsys):
    name, image_id = one_named(cloud_env)
    assert main(["show", image_id, "-f", "json"]) == 0
    by_id = json.loads(out_err(capsys)[0])
    assert main(["show", name, "-f", "json"]) == 0
    assert json.loads(out_err(capsys)[0]) == by_id
    assert by_id["image"]["id"] == image_id


def test_show_by_a_name_several_images_have_is_exit_2_listing_them(cloud_env, capsys):
    # Another owner shares a copy under the same name (rebuilt images often keep theirs).
    name, first = one_named(cloud_env)
    copy = {**doc(cloud_env, first), "id": "6f1c0de0-0000-4000-8000-00000000c0de"}
    copy["owner"] = next(o for o in cloud_env.owner_project_ids if o != copy["owner"])
    cloud_env.add_image(copy, {cloud_env.project_id: "rejected"})
    ids = [first, copy["id"]]
    assert main(["show", name]) == 2
    out, err = out_err(capsys)
    assert out == ""
    assert f"{len(ids)} images shared with you are named {name!r}" in err
    listed = [line.split() for line in err.splitlines()[1:]]
    assert sorted(row[0] for row in listed) == sorted(ids)
    for row in listed:
        assert row[1] == cloud_env.member_status(row[0])
        assert row[3] == doc(cloud_env, row[0])["owner"]


def _settled(read: Any, quiet: float = 0.3, limit: float = 10.0) -> Any:
    """A server-side counter once it stopped changing (the server counts after it answered)."""
    import time

    value, since, deadline = read(), time.monotonic(), time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return value


def test_show_by_a_name_nobody_has_is_not_found(cloud_env, capsys):
    assert main(["show", "No such image"]) == 1
    _out, err = out_err(capsys)
    assert "no image named 'No such image'" in err and "--filter" in err
    requests = _settled(lambda: cloud_env.stats.image_requests)
    assert main(["show", " "]) == 2  # not a name: asked nothing (not the listing at /images/)
    assert "needs an image id or name" in out_err(capsys)[1]
    assert cloud_env.stats.image_requests == requests


def test_show_labels_are_the_column_names_and_times_say_utc(cloud_env, capsys):
    never = cloud_env.shared_image_ids("pending")[0]
    assert (
        member_record(cloud_env, never)["updated_at"]
        == member_record(cloud_env, never)["created_at"]
    )  # shared, never decided
    assert main(["show", never]) == 0
    lines = out_err(capsys)[0].splitlines()
    labels = [line.split(":", 1)[0] for line in lines if not line.startswith(" ")]
    assert labels == column_names()
    values = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines}
    created = doc(cloud_env, never)["created_at"]  # 2026-07-26T23:01:50Z
    assert values["Created At"] == created.replace("T", " ").replace("Z", " UTC")
    shared = member_record(cloud_env, never)["created_at"]
    assert values["Shared At"] == shared.replace("T", " ").replace("Z", " UTC")
    assert values["Decided At"] == "-"  # today: the share time, as if it had been decided


def test_show_says_when_a_decision_was_made(cloud_env, capsys):
    image_id = next(
        i for i in cloud_env.shared_image_ids("rejected") if decided(member_record(cloud_env, i))
    )
    assert main(["show", image_id, "-c", "Decided At", "-c", "Shared At"]) == 0
    lines = out_err(capsys)[0].splitlines()
    record = member_record(cloud_env, image_id)
    assert lines == [
        f"Decided At: {record['updated_at'].replace('T', ' ').replace('Z', ' UTC')}",
        f"Shared At:  {record['created_at'].replace('T', ' ').replace('Z', ' UTC')}",
    ]


# ----------------------------------------------------------------------------- decisions


@pytest.fixture
def first_answer_last(cloud_env: Any) -> Iterator[Callable[[list[str]], None]]:
    """Hold the cloud's answer to the first image's PUT until every other image's PUT has
    been answered: the answers then arrive in another order than the ids were given."""
    state: dict[str, Any] = {}

    def arm(ids: list[str]) -> None:
        state.update(first=ids[0], others=threading.Semaphore(0), count=len(ids) - 1)

    def held(original: Callable[..., Any], req: Any, token: Any, **args: str) -> Any:
        if args["image_id"] == state.get("first"):
            for _ in range(state["count"]):
                assert state["others"].acquire(timeout=60), "the other answers never came"
            return original(req, token, **args)
        try:
            return original(req, token, **args)
        finally:
            if "others" in state:
                state["others"].release()

    with server_hook(cloud_env, "update_member", held):
        yield arm


def test_decisions_are_reported_in_the_order_given(cloud_env, capsys, first_answer_last):
    ids = cloud_env.shared_image_ids("pending")[:5]
    missing = "00000000-0000-0000-0000-000000000000"
    given = [ids[0], ids[1], missing, *ids[2:]]
    first_answer_last(given)
    assert main(["accept", *given, "--no-batch"]) == 1
    out, err = out_err(capsys)
    assert out.splitlines() == [f"accepted {i}" for i in ids]
    assert err.splitlines()[0].startswith(f"imshare: {missing}: 404")
    assert all(cloud_env.member_status(i) == "accepted" for i in ids)


def test_decision_lines_keep_their_order_across_stdout_and_stderr(cloud_env, first_answer_last):
    """Both streams into one pipe, as in a terminal: the lines read in the order given."""
    ids = cloud_env.shared_image_ids("pending")[:3]
    missing = "00000000-0000-0000-0000-000000000001"
    given = [ids[0], missing, ids[1], ids[2]]
    first_answer_last(given)
    result = subprocess.run(
        [sys.executable, "-m", "tui", "accept", *given, "--no-batch"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=90,
    )
    assert result.returncode == 1, result.stdout
    named = [i for line in result.stdout.splitlines() for i in given if i in line]
    assert named == given


@pytest.mark.parametrize("batch", [True, False], ids=["batch", "per-image"])
def test_a_full_ecs_image_without_vault_says_a_vault_id_is_needed_first(
    make_cloud, monkeypatch, capsys, batch
):
    cloud = make_cloud(images=300)
    for name, value in cloud.credentials.items():
        monkeypatch.setenv(name, value)
    whole = cloud.whole_image_ids()[:2]
    for image_id in whole:
        cloud.set_member_status(image_id, "pending")
    assert main(["accept", *whole, *([] if batch else ["--no-batch"])]) == 1
    lines = out_err(capsys)[1].splitlines()
    for image_id, line in zip(whole, lines, strict=False):
        assert line.startswith(f"imshare: {image_id}: needs --vault-id V: it is a full-ECS image")
        assert "CBR server-backup vault" in line
    # The cloud's "vault not found" (its answer to no vault at all) is never the news.
    assert not any("vault was not found" in line for line in lines)
    assert lines[2:] == ["imshare: 2 of 2 failed"]


# -------------------------------------------------------------------------------- logout


def test_logout_with_nothing_configured_says_so(config_dir, capsys):
    assert main(["logout"]) == 0
    out, err = out_err(capsys)
    assert out.startswith("nothing to log out of: no cloud is configured")
    assert f"no config file at {config_dir / 'config.toml'}" in out
    assert "?" not in out and err == ""
