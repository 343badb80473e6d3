"""The ``watch`` sub-command's options, apart from :mod:`tui.cli.watch`.

The parser is built for every ``imshare`` run, `--version` and `--help` included; the watch
itself needs asyncio and httpx, which those must not import.
"""

from __future__ import annotations

import argparse
import os

DEFAULT_INTERVAL = 300
MIN_INTERVAL = 30
#: Lowers ``MIN_INTERVAL`` (tests; a demo): the watch must not make a test wait 30 s.
MIN_INTERVAL_VARIABLE = "IMSHARE_WATCH_MIN_INTERVAL"


def min_interval() -> float:
    """The shortest ``--interval``: 30 s, or what ``IMSHARE_WATCH_MIN_INTERVAL`` says (>= 1)."""
    given = os.environ.get(MIN_INTERVAL_VARIABLE, "")
    try:
        return max(1.0, float(given)) if given else float(MIN_INTERVAL)
    except ValueError:
        return float(MIN_INTERVAL)


def interval_type(text: str) -> float:
    """``--interval``: seconds, at least ``min_interval()`` (polling faster only loads IMS)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    least = min_interval()
    if not value >= least:
        raise argparse.ArgumentTypeError(f"must be at least {least:g} seconds, not {text}")
    return value


#: The ``watch`` sub-command's help (its line in ``imshare --help`` and its page's title).
HELP = (
    "list the pending shares every --interval seconds and print one JSON line per new "
    "share (--apply: and per rule decision); for cron or a systemd unit"
)


def add_arguments(sub: argparse.ArgumentParser) -> None:
    """The ``watch`` sub-command's options (added by :func:`tui.cli.main.build_parser` when
    ``watch`` runs or shows its help)."""
    sub.add_argument(
        "--interval",
        type=interval_type,
        default=float(DEFAULT_INTERVAL),
        metavar="SECONDS",
        help=f"seconds between cycles (default {DEFAULT_INTERVAL}, at least {MIN_INTERVAL}); "
        "after a failed cycle up to 4 times that, at most 15 minutes",
    )
    sub.add_argument(
        "--apply",
        action="store_true",
        help="decide what the rules of rules.toml decide, as imshare apply --yes does",
    )
    sub.add_argument(
        "--force",
        action="store_true",
        help="with --apply: decide even when the rules would decide more than max_per_run",
    )
    sub.add_argument(
        "--once",
        action="store_true",
        help="one cycle, then exit (0; 1 if it failed; 4 over max_per_run): for cron",
    )
    sub.add_argument(
        "--all-projects",
        action="store_true",
        # Not given here: whatever `imshare --all-projects watch` said before the command.
        default=argparse.SUPPRESS,
        help="watch every project of the user, not only the configured one",
    )
    sub.add_argument(
        "--region",
        action="append",
        metavar="REGION",
        default=argparse.SUPPRESS,
        help="with --all-projects: only these regions (repeatable, or comma-separated)",
    )
