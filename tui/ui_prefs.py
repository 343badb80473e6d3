"""The ``[ui]`` table of config.toml: theme, key map, auto-refresh — remembered across runs.

Only the ``[ui]`` table is rewritten; every other setting in the file is kept as it is. A file
that does not parse is left alone (the user may be in the middle of editing it).
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w

from tui.securefile import write_private

log = logging.getLogger("imshare.ui")


def save_ui_prefs(path: Path, prefs: Mapping[str, Any]) -> bool:
    """Write ``prefs`` as the ``[ui]`` table of ``path``; ``False`` if the file was left alone."""
    try:
        existing: dict[str, Any] = tomllib.loads(path.read_text("utf-8")) if path.exists() else {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        log.warning("not saving UI preferences: cannot read %s (%s)", path, error)
        return False
    existing["ui"] = dict(prefs)
    try:
        write_private(path, tomli_w.dumps(existing).encode("utf-8"))
    except (OSError, TypeError, ValueError) as error:
        log.warning("not saving UI preferences to %s: %s", path, error)
        return False
    return True
