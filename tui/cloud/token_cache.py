"""The on-disk token cache, shared by every imshare process of the user.

A Keystone token lives 24 hours; asking for one per command would be slow and noisy in the IAM
audit log. The cache is advisory: a corrupt or unreadable file is ignored and replaced, never
fatal. It holds tokens, never passwords.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from tui.cloud.models import Token
from tui.files import tighten, write_private

log = logging.getLogger("imshare.cache")

CACHE_VERSION = 1


class TokenCache:
    """Tokens keyed by auth URL + user domain + user + project, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.warnings: list[str] = []

    def _read_all(self) -> dict[str, Any]:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("token cache %s unreadable (%s); ignoring it", self.path, exc.strerror)
            return {}
        if tighten(self.path):
            self.warnings.append(f"{self.path} was readable by others; its mode is now 0600")
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("token cache %s is corrupt; it will be replaced", self.path)
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        tokens = data.get("tokens")
        return tokens if isinstance(tokens, dict) else {}

    def get(self, key: str) -> Token | None:
        entry = self._read_all().get(key)
        return Token.from_cache(entry) if isinstance(entry, dict) else None

    def put(self, key: str, token: Token) -> None:
        tokens = self._read_all()
        tokens[key] = token.to_cache()
        self._write(tokens)

    def drop(self, key: str) -> bool:
        tokens = self._read_all()
        if key not in tokens:
            return False
        del tokens[key]
        self._write(tokens)
        return True

    def _write(self, tokens: dict[str, Any]) -> None:
        body = json.dumps({"version": CACHE_VERSION, "tokens": tokens}, indent=1)
        try:
            write_private(self.path, body.encode("utf-8"))
        except OSError as exc:
            # A read-only home must not stop the user from working; they only lose caching.
            log.warning("cannot write token cache %s: %s", self.path, exc.strerror)
            self.warnings.append(f"cannot write token cache {self.path}: {exc.strerror}")
