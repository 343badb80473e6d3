"""Where imshare keeps its files, and how it writes the ones that hold secrets.

One directory holds the config, the token cache and the debug log, so ``imshare locate`` has a
single answer and ``--demo`` or tests can point everything elsewhere with ``IMSHARE_CONFIG_DIR``.
platformdirs honours ``XDG_CONFIG_HOME`` on Linux.

Secret files are 0600 in a 0700 directory and replaced atomically: a reader (another imshare
process refreshing the same token) sees either the old file or the new one, never half of one,
and nobody else on the machine can read either.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
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


FILE_MODE = 0o600
DIR_MODE = 0o700


def ensure_private_dir(directory: Path) -> None:
    directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    current = stat.S_IMODE(directory.stat().st_mode)
    if current & 0o077:
        os.chmod(directory, DIR_MODE)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically with mode 0600 (directory 0700)."""
    ensure_private_dir(path.parent)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp_name)
        raise


def tighten(path: Path) -> bool:
    """Make an existing file 0600 if others can read it; return whether it had to be changed."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return False
    if mode & 0o077:
        with contextlib.suppress(OSError):
            os.chmod(path, FILE_MODE)
        return True
    return False
