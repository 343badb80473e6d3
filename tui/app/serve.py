"""``imshare serve``: the app in a browser tab, through textual-serve, on localhost only.

textual-serve has no authentication and every browser session runs the app with the user's
credentials, so it never listens on another interface; reach it from elsewhere with an SSH
tunnel (README). It is an optional extra: ``pip install 'imshare[serve]'``.
"""

from __future__ import annotations

import argparse
import shlex
import sys

HOST = "127.0.0.1"


def app_command(args: argparse.Namespace) -> str:
    """The command each browser session runs: this Python, this package, the same options."""
    parts = [sys.executable, "-m", "tui"]
    if getattr(args, "config", None):
        parts += ["--config", str(args.config)]
    for flag in ("demo", "read_only"):
        if getattr(args, flag, False):
            parts.append("--" + flag.replace("_", "-"))
    for option in ("profile", "os_cloud", "theme"):
        value = getattr(args, option, None)
        if value:
            parts += ["--" + option.replace("_", "-"), str(value)]
    return shlex.join(parts)


def run(args: argparse.Namespace) -> int:
    try:
        from textual_serve.server import Server
    except ImportError:
        print(
            "imshare: serving in a browser needs the serve extra: pip install 'imshare[serve]'",
            file=sys.stderr,
        )
        return 2
    port = int(getattr(args, "port", 8000))
    print(f"imshare: serving on http://{HOST}:{port}/ (localhost only; Ctrl-C stops)")
    Server(app_command(args), host=HOST, port=port, title="imshare").serve()
    return 0
