"""`imshare --version`, `--help` and `locate` start without the network stack or the UI.

A script that asks for the version or where the files live must not wait for httpx, asyncio
and Textual to load (together they are most of a CLI start-up). What a fresh interpreter
imports is read from ``python -X importtime``, which names every module it loads, so the test
does not time anything: it fails on an import, not on a slow machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui import __version__, files, journal, rules, watch_state
from tui.cli import main
from tui.filter_language import field_list
from tui.settings import owners

HEAVY = ("httpx", "asyncio", "textual")


def _imported(
    args: list[str], config_dir: Path
) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {**os.environ, "IMSHARE_CONFIG_DIR": str(config_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tui", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    modules = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                modules.add(name)
    return proc, modules


#: What each quick command must not load either (issue 14): only what it prints. `--help`
#: lists the filter fields from a constant, not from the filter language and the models;
#: `locate` names the files without the modules that own them, and logs nothing.
NOT_FOR = {
    "--version": ("tui.settings.model", "tui.filter_language", "tui.cloud", "logging"),
    "--help": ("tui.settings.model", "tui.filter_language", "tui.cloud", "logging"),
    "locate": ("tui.journal", "tui.watch_state", "tui.settings.owners", "tui.rules", "logging"),
}


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--version"], f"imshare {__version__}"),
        (["--help"], "usage: imshare"),
        (["locate"], "token cache:"),
    ],
)
def test_quick_commands_import_no_network_stack_and_no_ui(
    args: list[str], says: str, config_dir: Path
) -> None:
    proc, modules = _imported(args, config_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert says in proc.stdout
    assert "tui.cli.main" in modules  # the listing is real: the entry point was loaded
    loaded = sorted(name for name in modules if name.split(".")[0] in HEAVY)
    assert loaded == [], f"imshare {' '.join(args)} imported {loaded[:8]}"
    unwanted = NOT_FOR[args[0]]
    needless = sorted(name for name in modules if name.startswith(unwanted))
    assert needless == [], f"imshare {' '.join(args)} imported {needless[:8]}"


def test_help_names_the_fields_of_the_filter_language(capsys: pytest.CaptureFixture[str]) -> None:
    """The help's field list is a constant (so `--help` loads no filter language): it must be
    the filter language's own list, on both help pages that show it."""
    assert field_list() == main.FILTER_FIELDS
    for args in (["--help"], ["list", "--help"]):
        with pytest.raises(SystemExit):
            main.main(args)
        shown = " ".join(capsys.readouterr().out.split())
        assert field_list() in shown, args


@pytest.mark.parametrize("override", [True, False], ids=["IMSHARE_CONFIG_DIR", "XDG dirs"])
def test_locate_prints_the_paths_the_modules_use(
    override: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`locate` names each file without importing the module that owns it: the paths must be
    the ones those modules read and write, with the config dir moved and without (then the
    journal and the watch state live in the state dir, apart from the config)."""
    if not override:
        monkeypatch.delenv("IMSHARE_CONFIG_DIR")
        monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))
    assert main.main(["locate"]) == 0
    printed = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    printed = {name: value.strip() for name, value in printed.items()}
    assert printed == {
        "config": str(files.config_file()),
        "token cache": str(files.token_cache_file()),
        "log file": str(files.log_file()),
        "crash log": str(files.crash_log_file()),
        "journal": str(journal.journal_file()),
        "watch state": str(watch_state.state_file()),
        "clouds.yaml": "(none found)",
        "owners": str(owners.owners_file()),
        "rules": str(rules.rules_file()),
    }
    if not override:
        assert str(tmp_path / "xdg-state") in printed["journal"]
        assert printed["journal"] != str(files.config_dir() / "journal.jsonl")


def test_a_command_that_talks_to_a_cloud_still_loads_it(config_dir: Path) -> None:
    """The other side: the lazy imports really happen when a command needs them (a cloud that
    is not configured is then said as a configuration error, exit 2, as before)."""
    proc, modules = _imported(["list"], config_dir)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert {"httpx", "asyncio"} <= modules
    assert "textual" not in modules


#: What `imshare list --status all --json` (no --filter, no -c, no OS_CLOUD) must not load:
#: only what it uses (issue 14). The filter language, clouds.yaml's reader, CSV and the
#: journal, the decisions' and every-project modules are for other commands and options.
NOT_FOR_LIST_JSON = (
    "tui.filter_language",
    "tui.settings.clouds_yaml",
    "yaml",
    "csv",
    "tui.journal",
    "tui.journaled",
    "tui.cli.everywhere",
    "tui.cloud.inbox",
    "textual",
)


def test_list_json_imports_only_what_it_uses(cloud_env: Any, config_dir: Path) -> None:
    proc, modules = _imported(["list", "--status", "all", "--json"], config_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    listed = json.loads(proc.stdout)
    every = {*cloud_env.shared_image_ids("pending"), *cloud_env.shared_image_ids("accepted")}
    every |= set(cloud_env.shared_image_ids("rejected"))
    assert {row["id"] for row in listed} == every  # it really listed, from the demo cloud
    needless = sorted(name for name in modules if name.startswith(NOT_FOR_LIST_JSON))
    assert needless == [], f"imshare list --json imported {needless[:8]}"


def test_a_filter_still_loads_the_filter_language(cloud_env: Any, config_dir: Path) -> None:
    """The other side: with --filter the language is loaded and the filter applies."""
    args = ["list", "--status", "all", "--json", "--filter", "status:rejected"]
    proc, modules = _imported(args, config_dir)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "tui.filter_language" in modules
    listed = {row["id"] for row in json.loads(proc.stdout)}
    assert listed == set(cloud_env.shared_image_ids("rejected"))


def _help_pages(parser: Any) -> dict[str, str]:
    """Every help page of ``parser``: the top level's and each sub-command's (owners set's)."""
    pages = {"": parser.format_help()}
    (commands,) = [a for a in parser._actions if a.dest == "command"]
    for name, sub in commands.choices.items():
        pages[name] = sub.format_help()
        for action in sub._actions:
            if action.dest == "owners_command":
                pages[f"{name} set"] = action.choices["set"].format_help()
    return pages


def test_help_pages_are_the_same_when_built_on_demand(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sub-command's options are added only when it runs; the page `imshare X --help`
    prints must be the one a parser with every option added up front shows."""
    monkeypatch.setenv("COLUMNS", "100")
    expected = _help_pages(main.build_every_command(main.build_parser()))
    assert len(expected) > 15 and "--status" in expected["list"]
    for name, page in expected.items():
        if name == "demo-server":
            continue  # its options belong to the demo cloud's own parser
        with pytest.raises(SystemExit) as stop:
            main.main([*name.split(), "--help"])
        assert stop.value.code == 0
        assert capsys.readouterr().out == page, name
