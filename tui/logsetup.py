"""Logging for the CLI and the app: warnings on stderr, a private debug log with ``--debug``.

Nothing that reaches a handler configured here can carry a secret: a filter rewrites every
record, replacing ``X-Auth-Token`` / ``X-Subject-Token`` values, long token-like strings after the
word "token", and any value registered with ``add_secret`` (the password, the current token).
The same filter passes every record through ``safe_text``: a record may quote an error body or a
path the cloud sent, and a log is read in a terminal (``tail -f``) too. A record's message is one
line; a traceback keeps its line breaks.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from tui import files
from tui.formatting import safe_text

LOGGER_NAME = "imshare"
REDACTED = "***"

# Loggers that talk about HTTP: useful at WARNING only, and never allowed to print headers.
_QUIET_LOGGERS = ("httpx", "httpcore", "hpack", "asyncio")

_HEADER_VALUE = re.compile(
    r"(?i)(x-(?:auth|subject)-token[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}\]]+",
)
_AFTER_TOKEN = re.compile(
    r"(?i)(\btoken\w*[\"']?\s*[:=]?\s*[\"']?)([A-Za-z0-9+/_\-.~%]{16,}={0,2})",
)
# A bare run of base64/hex-ish characters this long is a credential, not a word or an id
# (UUIDs and project ids are 32-36 characters).
_LONG_BLOB = re.compile(r"(?<![A-Za-z0-9+/_\-])[A-Za-z0-9+/_\-]{64,}={0,2}")

_secrets: set[str] = set()


def add_secret(value: str | None) -> None:
    """Redact ``value`` wherever it appears in a log record from now on."""
    if value and len(value) >= 3:
        _secrets.add(value)


def redact(text: str) -> str:
    """Return ``text`` with every known secret and token-looking value replaced."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    text = _AFTER_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)
    return _LONG_BLOB.sub(_blob, text)


def _blob(match: re.Match[str]) -> str:
    text = match.group(0)
    # URL paths and file names are long runs of these characters too; a path has short
    # segments and no "+" (which a base64 token of this length practically always has).
    if "/" in text and "+" not in text and all(len(p) < 64 for p in text.split("/")):
        return text
    return REDACTED


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, exception text and stack: no secret, no control character."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = safe_text(redact(message))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = safe_text(redact(record.exc_text), multiline=True)
        if record.stack_info:
            record.stack_info = safe_text(redact(record.stack_info), multiline=True)
        return True


_installed: list[logging.Handler] = []
#: What is wrong with the debug log in this run (the app shows it; the CLI has printed it).
problems: list[str] = []


def reset() -> None:
    """Undo ``configure`` (tests call this between runs of ``main``)."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in _installed:
        logger.removeHandler(handler)
        with contextlib.suppress(Exception):
            handler.close()
    _installed.clear()
    _secrets.clear()
    problems.clear()
    logger.propagate = True
    logger.setLevel(logging.NOTSET)


class _PrivateLogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Appends to a log file imshare opened itself (no symlink, 0600); closes it when done."""

    def __init__(self, stream: TextIO, path: Path) -> None:
        super().__init__(stream)
        #: The file this handler appends to (a crash report names it).
        self.path = path

    def close(self) -> None:
        try:
            with contextlib.suppress(Exception):
                self.flush()
            stream = self.stream
            with contextlib.suppress(Exception):
                stream.close()
        finally:
            super().close()


def _open_private_log(path: Path) -> _PrivateLogHandler:
    """A handler on the log file, opened with ``O_NOFOLLOW|O_APPEND`` and created 0600.

    The handler writes to the descriptor opened here, never to the path again, so a link
    swapped in afterwards cannot redirect it.
    """
    fd, warning = files.open_private_log(path)
    try:
        stream = os.fdopen(fd, "a", encoding="utf-8")
    except BaseException:
        os.close(fd)
        raise
    if warning:
        problems.append(warning)
    return _PrivateLogHandler(stream, path)


def debug_log_handler() -> _PrivateLogHandler | None:
    """The ``--debug`` log's handler when one is installed (a crash report goes there too)."""
    for handler in _installed:
        if isinstance(handler, _PrivateLogHandler):
            return handler
    return None


def configure(
    debug: bool,
    *,
    stderr: bool = True,
    secrets: Iterable[str] = (),
    log_path: Path | None = None,
) -> Path | None:
    """Set up the ``imshare`` logger; return the debug log's path when ``debug`` is on.

    Without ``debug`` only warnings are shown, on stderr (``stderr=False`` for the full-screen
    app, which must not scribble over its own display). With ``debug`` every record at DEBUG
    and above also goes to the log file (``tui.files.log_file()``), created 0600. What is
    wrong with the log file is left in ``problems`` for the caller to say once, its own way.
    """
    for value in secrets:
        add_secret(value)
    logger = logging.getLogger(LOGGER_NAME)
    for handler in _installed:
        logger.removeHandler(handler)
        with contextlib.suppress(Exception):
            handler.close()
    _installed.clear()
    problems.clear()

    redactor = RedactingFilter()
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(logging.WARNING)
        console.setFormatter(logging.Formatter("imshare: %(message)s"))
        console.addFilter(redactor)
        logger.addHandler(console)
        _installed.append(console)

    path: Path | None = None
    if debug:
        path = log_path or files.log_file()
        try:
            file_handler = _open_private_log(path)
        except files.FileRefused as refusal:
            problems.append(f"{refusal.message}; not logging in this run")
            path = None
        except OSError as exc:
            problems.append(f"cannot write the debug log {path}: {files.reason(exc)}; not logging")
            path = None
        else:
            file_handler.setLevel(logging.DEBUG)
            file_handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s")
            )
            file_handler.addFilter(redactor)
            logger.addHandler(file_handler)
            _installed.append(file_handler)
    if not _installed:
        silent = logging.NullHandler()
        logger.addHandler(silent)
        _installed.append(silent)
    logger.setLevel(logging.DEBUG if debug else logging.WARNING)
    # Records stop here: the root logger (and Python's last-resort stderr handler) get nothing.
    logger.propagate = False
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return path
