"""When the app meets an error nobody handled: carry on with a toast, or end with one line.

Textual renders a fatal error as a traceback *with the locals of every frame*, and a frame's
locals are where settings, a clouds.yaml dict or a typed password live: one deep recursion
printed a password hundreds of times. So the app never lets Textual render a fatal error. The
traceback — without locals, and redacted like the debug log — goes to the ``--debug`` log when
there is one, otherwise to ``crash.log`` in the config directory (0600, replaced atomically);
the terminal gets one line naming that file.

Which errors the app survives (everything else ends it):

* Errors raised in an action, in a message handler of the app or of a screen, in a callback
  (``call_later``, a screen's result callback) or in a timer: the call stack unwound, the code
  that raised is over, and the message loops keep running, so a toast through the one error
  funnel is the whole story.
* Not while composing, mounting or unmounting (a half-built or half-torn-down screen is not
  worth keeping), not from Textual's own machinery (its layout, its compositor), and not when a
  message loop has already stopped (a widget that no longer handles messages would show stale
  data as if it were current).
* Never ``MemoryError`` or ``SystemError``: after those nothing the process does can be trusted.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from types import CodeType

from tui import __version__, files, logsetup

#: Errors after which the process is not worth keeping, wherever they were raised.
FATAL_TYPES: tuple[type[BaseException], ...] = (MemoryError, SystemError)

#: Textual's functions (by file) that report an error to the app and then carry on: a
#: callback queue (the rest of the loop keeps going), a timer, a worker. Any other caller of
#: ``App._handle_exception`` has stopped something — most often a message loop — for good.
SURVIVING_CALLERS = frozenset(
    {
        ("message_pump.py", "_flush_next_callbacks"),
        ("timer.py", "_tick"),
        ("worker.py", "_run"),
    }
)

# ``password: x``, ``"password": "x"``, ``password=x``: values a YAML or config error may quote.
_PASSWORD_FIELD = re.compile(r"(?i)(\b\w*password\w*[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}\]]+")


def survivable(error: BaseException) -> bool:
    """Whether the app may keep running after ``error`` (wherever it came from)."""
    return isinstance(error, Exception) and not isinstance(error, FATAL_TYPES)


def survivable_at(error: BaseException, caller: CodeType) -> bool:
    """Whether ``error``, reported to the app by Textual's ``caller``, leaves a working app."""
    return survivable(error) and (Path(caller.co_filename).name, caller.co_name) in (
        SURVIVING_CALLERS
    )


def redact_text(text: str) -> str:
    """``text`` without known secrets, token-like values or quoted password fields."""
    return logsetup.redact(_PASSWORD_FIELD.sub(lambda m: m.group(1) + logsetup.REDACTED, text))


def write_report(
    error: BaseException, *, secrets: Iterable[str] = (), crash_log: Path | None = None
) -> Path:
    """Write ``error``'s traceback (no locals, redacted); return the file it went to.

    The debug log when ``--debug`` is on (so the crash sits after the requests that led to
    it), else ``crash_log`` (default: ``crash.log`` in the config directory). Raises
    ``OSError`` when neither can be written.
    """
    for secret in secrets:
        logsetup.add_secret(secret)
    details = redact_text("".join(traceback.format_exception(error)))
    kind = type(error).__name__
    handler = logsetup.debug_log_handler()
    if handler is not None:
        message = f"crashed ({kind}):\n{details.rstrip()}"
        record = logging.LogRecord(
            "imshare.crash", logging.CRITICAL, __file__, 0, message, None, None
        )
        handler.handle(record)
        handler.flush()
        return handler.path
    path = crash_log or files.crash_log_file()
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    text = f"imshare {__version__} crashed at {stamp} ({kind})\n\n{details}"
    files.write_private(path, text.encode("utf-8", "replace"))
    return path


def report_line(
    error: BaseException, *, secrets: Iterable[str] = (), crash_log: Path | None = None
) -> str:
    """Write the report and return the one line the terminal gets."""
    kind = type(error).__name__
    try:
        path = write_report(error, secrets=secrets, crash_log=crash_log)
    except OSError as problem:
        reason = problem.strerror or type(problem).__name__
        where = problem.filename or crash_log or files.crash_log_file()
        return f"imshare: crashed ({kind}); no details written: cannot write {where}: {reason}"
    return f"imshare: crashed ({kind}); details in {path}"
