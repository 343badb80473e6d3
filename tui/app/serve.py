"""``imshare serve``: the app in a browser tab, through textual-serve, on localhost only.

Every browser session runs the app with the user's credentials, so the server listens on
127.0.0.1 only (reach it from elsewhere with an SSH tunnel, README) and lets in only the
holder of a random token made for this start: the URL printed on stdout carries it, the first
page load turns it into a cookie, and websockets from other pages' origins are refused
(``tui.app.serve_auth`` says why each check is there, ``tui.app.serve_server`` how).

textual-serve is an optional extra: ``pip install 'imshare[serve]'``. This module imports
neither it nor Textual, so ``imshare --help`` stays fast; ``run`` imports it.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from tui import logsetup

HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def app_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this package, the same options.

    ``--debug`` goes along, so the app writes the same (redacted) debug log as in a terminal.
    """
    parts = [sys.executable, "-m", "tui"]
    if getattr(args, "config", None):
        parts += ["--config", str(args.config)]
    for flag in ("debug", "demo", "read_only"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    for option in ("profile", "os_cloud", "theme"):
        value = getattr(args, option, None)
        if value:
            parts += ["--" + option.replace("_", "-"), str(value)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C; 2 without the extra or when the port cannot be had."""
    try:
        import textual_serve.server  # noqa: F401  (the extra itself: say so if it is missing)

        from tui.app.serve_auth import new_token
        from tui.app.serve_server import ImshareServer
    except ImportError:
        print(
            "imshare: serving in a browser needs the serve extra: pip install 'imshare[serve]'",
            file=sys.stderr,
        )
        return 2
    port = int(getattr(args, "port", DEFAULT_PORT))
    token = new_token()
    logsetup.add_secret(token)  # a log line that quotes a URL or a cookie shows *** instead
    server = ImshareServer(
        app_command(args),
        token=token,
        host=HOST,
        port=port,
        log_debug=bool(getattr(args, "debug", False)),
    )
    try:
        url = server.listen()
    except OSError as error:
        hint = " (--port 0 picks a free port)" if port else ""
        print(f"imshare: cannot listen on {HOST}:{port}: {error.strerror}{hint}", file=sys.stderr)
        return 2
    # The URL alone on stdout, at once: a script (or a test) reads one line.
    print(url, flush=True)
    print(
        "imshare: serving on 127.0.0.1 only; open the URL printed on stdout. It is a secret: "
        "anyone who has it can use your cloud credentials. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    server.serve()
    return 0
