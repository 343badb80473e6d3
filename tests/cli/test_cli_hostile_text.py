"""Issue 10 for the CLI: no format prints a control character another project wrote.

Hostile images (tests/hostile.py) are shared with the demo project of a real DemoCloud, and the
demo user's project and user names are hostile too; every ``list`` and ``show`` format, the
decision lines, the error lines and the debug log are then read as bytes.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import logging
import unicodedata
from typing import Any

import httpx
import pytest
from hostile import (
    CJK,
    HOSTILE,
    HOSTILE_SHOWN,
    MARKUP,
    SHOWN_ID,
    forbidden,
    share_hostile_images,
)

from tui import files, logsetup
from tui.cli import commands
from tui.cli.main import main
from tui.cli.output import column_names
from tui.cloud.errors import ApiError
from tui.cloud.models import MemberStatus
from tui.cloud.token_cache import TokenCache
from tui.settings.sources import LoadedConfig

ALL_COLUMNS = [arg for name in column_names() for arg in ("-c", name)]


@pytest.fixture
def hostile(cloud_env: Any, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The hostile images; the user logs in by project id (the project's name is hostile).

    The login name is the user's own input, not cloud text: a control character in it is a
    configuration problem (tests/cli/test_cli_environment.py), so it stays plain here.
    """
    ids = share_hostile_images(cloud_env)
    monkeypatch.delenv("OS_PROJECT_NAME")
    monkeypatch.setenv("OS_PROJECT_ID", cloud_env.project_id)
    return ids


def run(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> tuple[str, str]:
    assert main(list(argv)) == code, capsys.readouterr()
    captured = capsys.readouterr()
    return captured.out, captured.err


def cells(text: str) -> int:
    """Terminal cells, counted from Unicode's East Asian Width (not with imshare's measure)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


LIST_FORMATS = [
    pytest.param([], id="table"),
    pytest.param(ALL_COLUMNS, id="table-every-column"),
    pytest.param(["-f", "csv", *ALL_COLUMNS], id="csv"),
    pytest.param(["-f", "value", *ALL_COLUMNS], id="value"),
    pytest.param(["-f", "json"], id="json"),
    pytest.param(["-f", "json", *ALL_COLUMNS], id="json-every-column"),
]


@pytest.mark.parametrize("options", LIST_FORMATS)
def test_list_prints_no_control_character_in_any_format(hostile, cloud_env, capsys, options):
    out, err = run(capsys, "list", "--status", "all", *options)
    assert forbidden(out + err) == []
    assert "!a evil" in out and "中文" in out  # the hostile images are there, made safe
    total = len(cloud_env.shared_image_ids())
    if "json" in options:
        assert len(json.loads(out)) == total
    elif "csv" in options:
        assert len(list(csv.reader(io.StringIO(out)))) == 1 + total
    else:  # one line per image: no field can add or end a line
        header = 0 if "value" in options else 1
        assert len(out.splitlines()) == header + total


SHOW_FORMATS = [
    pytest.param([], id="details"),
    pytest.param(ALL_COLUMNS, id="table-every-column"),
    pytest.param(["-f", "csv"], id="csv"),
    pytest.param(["-f", "value"], id="value"),
    pytest.param(["-f", "json"], id="json"),
    pytest.param(["-f", "json", *ALL_COLUMNS], id="json-every-column"),
]


@pytest.mark.parametrize("options", SHOW_FORMATS)
@pytest.mark.parametrize("which", ["all fields", "full-ECS CJK", "long"])
def test_show_prints_no_control_character_in_any_format(hostile, capsys, options, which):
    out, err = run(capsys, "show", hostile[which], *options)
    assert forbidden(out + err) == []
    assert "evil" in out


def test_json_escapes_controls_and_keeps_every_string(hostile, capsys):
    out, _ = run(capsys, "list", "--json")
    assert forbidden(out) == []
    for escape in ("\\u001b", "\\u009b", "\\u007f", "\\u202e", "\\u2066", "\\u0000"):
        assert escape in out
    assert CJK in out  # other non-ASCII text stays readable (no ensure_ascii)
    image = next(i for i in json.loads(out) if i["id"] == hostile["all fields"])
    assert image["name"] == f"!a {HOSTILE}"
    assert image["os_version"] == HOSTILE and image["disk_format"] == HOSTILE
    assert image["tags"] == [HOSTILE, CJK, MARKUP]
    out, _ = run(capsys, "show", hostile["all fields"], "-f", "json", "-c", "Description")
    assert forbidden(out) == []
    assert json.loads(out) == {"description": f"first line\nsecond\tline\r\n{HOSTILE}"}


def test_one_line_formats_show_each_control_as_a_replacement(hostile, capsys):
    out, _ = run(capsys, "list", "-f", "csv", "-c", "ID", "-c", "Name", "-c", "OS Version")
    rows = {row[0]: row for row in csv.reader(io.StringIO(out))}
    assert rows[SHOWN_ID] == [SHOWN_ID, f"!a {HOSTILE_SHOWN}", HOSTILE_SHOWN]
    out, _ = run(capsys, "show", hostile["all fields"], "-f", "value", "-c", "Name")
    assert out == f"!a {HOSTILE_SHOWN}\n"


def test_show_lays_out_the_description_under_its_label(hostile, capsys):
    out, _ = run(capsys, "show", hostile["all fields"])
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Description:"))
    column = lines[at].index("first line")
    assert lines[at].endswith("first line")
    assert lines[at + 1] == " " * column + "second  line"  # the tab, expanded
    # The rest of the description (its carriage return is a line break) stays indented;
    # the next field starts at the margin as usual.
    after = next(i for i, line in enumerate(lines) if line.startswith("Created At:"))
    rest = lines[at + 2 : after]
    assert rest and all(line.startswith(" " * column) for line in rest)
    # Every other field is one line: 29 labels at the margin, nothing else indented.
    labels = [line for line in lines if not line.startswith(" ")]
    assert len(labels) == 29 and all(":" in line for line in labels)
    assert len(lines) == 29 + (after - at - 1)


def test_table_columns_stay_aligned_with_wide_names(hostile, cloud_env, capsys):
    cloud_env.delete_image(hostile["long"])  # the widest name is now the one with CJK in it
    out, _ = run(capsys, "list", "-c", "Name", "-c", "Status", "-c", "ID")
    lines = out.splitlines()
    assert any(CJK in line for line in lines)
    starts = {cells(line[: line.index(" pending ")]) for line in lines[1:]}
    assert starts == {cells(lines[0][: lines[0].index(" Status")])}


def test_failed_decisions_and_errors_quote_the_cloud_safely(hostile, cloud_env, capsys):
    cloud_env.fail_project(cloud_env.project_id, 403, f"refused {HOSTILE}")
    out, err = run(capsys, "accept", hostile["all fields"], hostile["long"], code=1)
    assert forbidden(out + err) == []
    failed = [line for line in err.splitlines() if "refused evil" in line]
    assert len(failed) == 2  # one line per image, however hostile the message
    assert any(line.startswith(f"imshare: {SHOWN_ID}: ") for line in failed)
    out, err = run(capsys, "list", code=1)
    assert forbidden(out + err) == []
    assert "refused evil" in err and len(err.splitlines()) == 1


def test_login_shows_keystone_names_safely(hostile, capsys):
    out, err = run(capsys, "login")
    assert forbidden(out + err) == []
    assert "logged in as demo@" in out
    assert f"eu-de_demo {HOSTILE_SHOWN}" in out


async def test_an_error_body_a_real_server_cannot_send_is_one_safe_line(
    mock_cloud, make_session, capsys, tmp_path
):
    """A hostile error code with a line break in it: still one stderr line per image, inert."""
    body = {"error": {"code": "IMG.\x1b]2;pwned\x07\nfake: line", "message": f"no {HOSTILE}"}}
    cloud = mock_cloud(
        lambda request: (
            httpx.Response(400, json=body)
            if request.method == "PUT"
            else httpx.Response(200, json={"images": []})
        )  # the listing before, for the journal
    )
    session = make_session(cloud.settings(), transport=cloud.transport)
    args = argparse.Namespace(
        command="accept", image_ids=["img-1"], vault_id="", concurrency=1, batch=False
    )
    loaded = LoadedConfig(cloud.settings(), {}, tmp_path / "config.toml", [])
    context = commands.Context(args=args, loaded=loaded, cache=TokenCache(tmp_path / "t.json"))
    assert await commands.decide(MemberStatus.ACCEPTED)(session, context) == 1
    err = capsys.readouterr().err
    assert forbidden(err) == []
    assert err.count("\n") == 1 and err.startswith("imshare: img-1: 400 IMG.")
    assert "no evil" in err


async def test_the_debug_log_quotes_error_bodies_safely(demo_cloud, make_session, config_dir):
    """Retries log the cloud's message; the log file (read with tail -f) stays inert."""
    path = logsetup.configure(True, stderr=False)
    assert path == files.log_file()
    demo_cloud.fail_project(demo_cloud.project_id, 503, f"busy {HOSTILE}")
    session = make_session(demo_cloud)
    with pytest.raises(ApiError):
        await session.get_image(demo_cloud.shared_image_ids()[0])
    for handler in logging.getLogger("imshare").handlers:
        handler.flush()
    text = path.read_text(encoding="utf-8")
    assert "busy evil" in text
    assert forbidden(text) == []
    assert all(line[:4].isdigit() for line in text.splitlines())  # no record spans lines


def test_stdout_and_stderr_are_the_last_guard(capsys):
    """Whatever a future command prints, a control character never reaches the terminal."""
    commands.out(f"table\n{HOSTILE}")
    commands.err(f"line one\n{HOSTILE}")
    out, err = capsys.readouterr()
    assert forbidden(out + err) == []
    assert out.startswith("table\nevil ") and err.startswith("imshare: line one\nevil ")


def test_owner_and_rule_names_are_printed_safely(cloud_env, config_dir, capsys):
    """owners.toml and rules.toml may come from anywhere: their names pass the same guard."""
    import tomli_w

    first = cloud_env.shared_image_ids("pending")[0]
    owner = cloud_env.image(first)["owner"]
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(
        tomli_w.dumps({"owners": {owner: {"name": f"own {HOSTILE}"}}}), encoding="utf-8"
    )
    (config_dir / "rules.toml").write_text(
        tomli_w.dumps({"rules": [{"name": f"rule {HOSTILE}", "owner": owner, "action": "reject"}]}),
        encoding="utf-8",
    )
    outputs = []
    for argv, code in (
        (["list", "--wide", "-c", "Owner", "-c", "Owner Name"], 0),
        (["list", "-f", "csv", "-c", "Owner Name"], 0),
        (["list", "-f", "value", "-c", "Owner Name"], 0),
        (["owners"], 0),
        (["apply"], 3),
        (["apply", "--yes"], 0),
    ):
        out, err = run(capsys, *argv, code=code)
        assert forbidden(out + err) == [], argv
        outputs.append(out)
    assert f"own {HOSTILE_SHOWN}" in outputs[0]
    assert f"rule {HOSTILE_SHOWN}" in outputs[4]
    assert f"by rule 'rule {HOSTILE_SHOWN}'" in outputs[5]
    out, _ = run(capsys, "list", "--status", "all", "-f", "json", "-c", "Owner Name")
    assert forbidden(out) == []
    assert f"own {HOSTILE}" in [row["owner_name"] for row in json.loads(out)]
