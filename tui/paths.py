"""Where imshare keeps its files.

One directory holds the config, the token cache and the debug log, so ``imshare locate`` has a
single answer and ``--demo`` or tests can point everything elsewhere with ``IMSHARE_CONFIG_DIR``.
platformdirs honours ``XDG_CONFIG_HOME`` on Linux.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_path

APP_NAME = "imshare"


def config_dir() -> Path:
    override = os.environ.get("IMSHARE_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return user_config_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    return config_dir() / "config.toml"


def token_cache_file() -> Path:
    return config_dir() / "tokens.json"


def log_file() -> Path:
    return config_dir() / "imshare.log"
