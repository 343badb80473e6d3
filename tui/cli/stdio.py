"""Where every ``imshare`` command writes: results to stdout, messages to stderr; the exit
codes and the two exceptions that end a command.

Apart from :mod:`tui.cli.commands` so that the parser, `imshare --version`, `--help` and
`locate` can use them without importing asyncio and httpx, which that module needs.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from typing import Any

from tui.formatting import safe_text

PROG = "imshare"
EXIT_PENDING = 3
#: 128 + SIGPIPE: what a shell reports for a tool whose reader left, as ``yes | head -1``.
EXIT_CLOSED_PIPE = 141
#: What ``-f`` may be; here (not with the columns) so the parser needs no more than this module.
FORMATS = ("table", "json", "csv", "value")


class CliExit(Exception):
    """Stop with ``code`` after printing ``message`` (if any) to stderr."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StdoutFailed(Exception):
    """Standard output cannot be written: a closed pipe, a full disk, a closed descriptor."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error.strerror or str(error))
        self.error = error

    @property
    def closed_pipe(self) -> bool:
        """The reader left (EPIPE): nobody wants the rest, which is not a failure of ours."""
        return isinstance(self.error, BrokenPipeError)

    @property
    def reason(self) -> str:
        return self.error.strerror or str(self.error)


def out(text: str = "") -> None:
    """Write one result to stdout, at once; raises ``StdoutFailed`` when stdout cannot take it.

    The last guard before the terminal: no control character passes (callers lay out lines
    themselves, a table, a JSON array, so line breaks stay). Straight to the descriptor, not
    through Python's buffer: a write that fails after a short one (a pipe closed mid-way, a
    file size limit) must fail *this* call, so the caller knows which result did not arrive,
    and no half-written rest waits in a buffer.
    """
    stream = sys.stdout
    try:
        if stream is None:  # started with stdout closed (`>&-`)
            raise OSError(errno.EBADF, "standard output is closed")
        data = safe_text(text, multiline=True) + "\n"
        fd = _descriptor(stream)
        if fd is None:  # a stand-in without a descriptor (a test's capture)
            stream.write(data)
            stream.flush()
            return
        stream.flush()  # whatever was printed before comes first
        _write_all(fd, data.encode(stream.encoding or "utf-8", stream.errors or "strict"))
    except OSError as error:
        _discard_stdout(stream)
        raise StdoutFailed(error) from None


def _descriptor(stream: Any) -> int | None:
    try:
        return int(stream.fileno())
    except (AttributeError, OSError, ValueError):
        return None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _discard_stdout(stream: Any) -> None:
    """Point stdout's descriptor at /dev/null.

    What stdout still buffers is flushed again when Python exits; written to a closed pipe or a
    full disk, that flush would print "Exception ignored" and make the exit status 120.
    """
    with contextlib.suppress(AttributeError, OSError, ValueError):
        fd = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
        finally:
            os.close(devnull)


def err(text: str) -> None:
    """One message on stderr; it may quote the cloud (an error body, a project name). If even
    stderr cannot be written, there is nowhere left to say it."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        print(f"{PROG}: {safe_text(text, multiline=True)}", file=sys.stderr, flush=True)
