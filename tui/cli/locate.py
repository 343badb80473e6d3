"""``imshare locate``: where imshare keeps its files.

A module of its own, importing only the path helpers: it runs before any cloud is in sight
and must start as fast as `imshare --version` (no asyncio, no httpx).
"""

from __future__ import annotations

import argparse

from tui import files, journal, watch_state
from tui.cli.stdio import err, out
from tui.settings import owners
from tui.settings.model import ConfigError


def locate(args: argparse.Namespace) -> int:
    from tui.settings import clouds_yaml

    config = args.config or files.config_file()
    out(f"config:      {config}")
    out(f"token cache: {files.token_cache_file()}")
    out(f"log file:    {files.log_file()}")
    out(f"crash log:   {files.crash_log_file()}")
    out(f"journal:     {journal.journal_file()}")
    out(f"watch state: {watch_state.state_file()}")
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
    out(f"owners:      {owners.owners_file()}")
    out(f"rules:       {files.config_dir() / 'rules.toml'}")
    return 0
