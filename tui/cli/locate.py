"""``imshare locate``: where imshare keeps its files.

A module of its own that imports no more than the paths need: it runs before any cloud is in
sight and must start as fast as `imshare --version` (no asyncio, no httpx, no logging). The
files' names are the ones their modules use (``tui.journal``, ``tui.watch_state``,
``tui.settings.owners``, ``tui.rules``), written here so that printing them loads none of those
modules; tests/cli/test_cli_startup.py checks that both say the same. Only a clouds.yaml that
exists is read (it may hold warnings worth saying).
"""

from __future__ import annotations

import argparse

from tui import files
from tui.cli.stdio import err, out

JOURNAL = "journal.jsonl"  # tui.journal.FILE_NAME
WATCH_STATE = "watch-seen.json"  # tui.watch_state.FILE_NAME
OWNERS = "owners.toml"  # tui.settings.owners.FILE_NAME
RULES = "rules.toml"


def locate(args: argparse.Namespace) -> int:
    from tui.settings import clouds_yaml
    from tui.settings.model import ConfigError

    config = args.config or files.config_file()
    out(f"config:      {config}")
    out(f"token cache: {files.token_cache_file()}")
    out(f"log file:    {files.log_file()}")
    out(f"crash log:   {files.crash_log_file()}")
    out(f"journal:     {files.state_dir() / JOURNAL}")
    out(f"watch state: {files.state_dir() / WATCH_STATE}")
    try:
        found = clouds_yaml.read_files()
    except ConfigError as error:
        err(f"warning: {error}")
    else:
        out(f"clouds.yaml: {found.clouds_path or '(none found)'}")
        if found.secure_path:
            out(f"secure.yaml: {found.secure_path}")
        for warning in found.warnings:
            err(f"warning: {warning}")
    out(f"owners:      {files.config_dir() / OWNERS}")
    out(f"rules:       {files.config_dir() / RULES}")
    return 0
