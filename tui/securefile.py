"""Writing files that hold secrets: 0600 in a 0700 directory, replaced atomically.

A reader (another imshare process refreshing the same token) sees either the old file or the new
one, never half of one, and nobody else on the machine can read either.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

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
