"""The on-disk token cache, shared by every imshare process of the user.

A Keystone token lives 24 hours; asking for one per command would be slow and noisy in the IAM
audit log. The cache is advisory: a corrupt, oversized or absurdly nested file is ignored and
replaced, never fatal — ``login`` and ``logout`` are how a user recovers, so they must work
whatever the file holds. It holds tokens, never passwords.

Writers take a lock (``tokens.json.lock``) around read-merge-write, so two processes logging in
to different projects at the same moment both keep their entries; readers need no lock because
the file is only ever replaced whole. A symbolic link, a foreign or non-regular file at the
cache's path is refused: the run goes on without caching, and says so once.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tui import files
from tui.cloud.models import Token

log = logging.getLogger("imshare.cache")

CACHE_VERSION = 1

Entries = dict[str, dict[str, Any]]
_SCALARS = (str, int, float, bool, type(None))


def _our_value(value: object) -> bool:
    """A value of the shape ``Token.to_cache`` writes: a scalar, or ``image_endpoints``'
    list of ``[region, url]`` pairs."""
    if isinstance(value, _SCALARS):
        return True
    return isinstance(value, list) and all(
        isinstance(pair, list) and len(pair) == 2 and all(isinstance(s, str) for s in pair)
        for pair in value
    )


class TokenCache:
    """Tokens keyed by auth URL + user domain + user + project, in one JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        #: What the user should hear about the cache, each once, in the order it happened.
        self.warnings: list[str] = []
        #: Why the cache is not used in this run ("" while it is).
        self.refused = ""

    # ------------------------------------------------------------------ reporting

    def _warn(self, text: str) -> None:
        if text not in self.warnings:
            log.debug("token cache: %s", text)
            self.warnings.append(text)

    def _refuse(self, message: str) -> None:
        if not self.refused:
            self.refused = message
            self._warn(f"{message}; tokens are not cached in this run")

    def check(self) -> None:
        """Look at the cache (and its directory) once at start, so a problem is reported
        before the first login rather than in the middle of one."""
        directory = files.loose_dir_warning(self.path.parent)
        if directory:
            self._warn(directory)
        lock = files.lock_file(self.path)
        if lock.is_symlink():
            self._refuse(
                f"lock file {lock} is a symbolic link; imshare does not follow links for its "
                f"own files: remove it (`rm {lock}`)"
            )
        self._read_all()

    # ------------------------------------------------------------------ reading

    def _read_all(self) -> Entries:
        if self.refused:
            return {}
        try:
            raw = files.read_secret_file(self.path, "token cache")
        except files.FileTooLarge:
            self._warn(
                f"token cache {self.path} is larger than {files.MAX_FILE_BYTES // 1024} KiB; "
                "it is ignored and will be replaced"
            )
            return {}
        except files.FileRefused as refusal:
            self._refuse(refusal.message)
            return {}
        except OSError as error:
            self._warn(f"token cache {self.path} is unreadable ({files.reason(error)}); ignored")
            return {}
        if raw is None:
            return {}
        loose = files.loose_file_warning(
            self.path,
            "token cache",
            "tokens",
            "imshare does not chmod it but replaces it with a 0600 file at the next login; "
            f"to fix it now: `chmod 600 {self.path}`",
        )
        if loose:
            self._warn(loose)
        return self._parse(raw)

    def _parse(self, raw: bytes) -> Entries:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            self._warn(f"token cache {self.path} is corrupt; it is ignored and will be replaced")
            return {}
        if files.nesting_depth(data) > files.MAX_DEPTH:
            self._warn(
                f"token cache {self.path} nests deeper than {files.MAX_DEPTH} levels; it is "
                "ignored and will be replaced"
            )
            return {}
        if not isinstance(data, dict) or data.get("version") != CACHE_VERSION:
            return {}
        tokens = data.get("tokens")
        if not isinstance(tokens, dict):
            return {}
        # Only entries of the shape we write survive a merge; anything else is dropped.
        return {
            key: entry
            for key, entry in tokens.items()
            if isinstance(entry, dict) and all(_our_value(v) for v in entry.values())
        }

    def get(self, key: str) -> Token | None:
        entry = self._read_all().get(key)
        return Token.from_cache(entry) if entry is not None else None

    # ------------------------------------------------------------------ writing

    def put(self, key: str, token: Token) -> None:
        def store(tokens: Entries) -> bool:
            tokens[key] = token.to_cache()
            return True

        self._update(store)

    def drop(self, key: str) -> bool:
        """Forget ``key``; whether it was there."""

        def forget(tokens: Entries) -> bool:
            return tokens.pop(key, None) is not None

        return self._update(forget)

    def _update(self, change: Callable[[Entries], bool]) -> bool:
        """Read, change and write back under the lock; ``change`` says whether to write."""
        if self.refused:
            return False
        try:
            with files.locked(self.path):
                tokens = self._read_all()
                if self.refused:
                    return False
                changed = change(tokens)
                if changed:
                    body = json.dumps({"version": CACHE_VERSION, "tokens": tokens}, indent=1)
                    files.write_private(self.path, body.encode("utf-8"))
                return changed
        except files.FileRefused as refusal:
            self._refuse(refusal.message)
        except OSError as error:
            # A read-only home must not stop the user from working; they only lose caching.
            self._warn(f"cannot write token cache {self.path}: {files.reason(error)}")
        return False
