"""Start the app: from the user's config, or against a private demo cloud with ``--demo``.

``--demo`` must never touch the user's real config or token cache, so it points
``IMSHARE_CONFIG_DIR`` at a temporary directory for the life of the process (kept when the app
crashed, since the crash's line may name the debug log in it).

A crash ends with one line on stderr naming a redacted log (see :mod:`tui.app.crash`), whether
the app reported it or it escaped ``App.run`` itself.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from tui import files, logsetup
from tui.app import crash
from tui.cloud.token_cache import TokenCache
from tui.settings.config_file import DEFAULT_PROFILE
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import apply_environment, load, proxy_problem


def run(args: argparse.Namespace) -> int:
    """Run the TUI until the user quits; returns the process exit code."""
    # Where a crash's details go without --debug: the user's own directory, also with --demo
    # (whose directory is removed at exit).
    crash_log = files.crash_log_file()
    demo_dirs: list[Path] = []
    try:
        code, crashed = _run(args, crash_log, demo_dirs)
    except Exception as error:
        # Escaped App.run (the terminal is restored by then): the same one line as a crash.
        print(crash.report_line(error, crash_log=crash_log), file=sys.stderr)
        return 1
    if not crashed:  # after a crash, the line may name the debug log in the demo directory
        for directory in demo_dirs:
            shutil.rmtree(directory, ignore_errors=True)
    return code


def _run(args: argparse.Namespace, crash_log: Path, demo_dirs: list[Path]) -> tuple[int, bool]:
    """Run the app; returns its exit code and whether it crashed."""
    from tui.app.app import ImshareApp

    with ExitStack() as stack:
        warnings: list[str] = []
        ui_prefs: dict[str, Any] = {}
        profile, cloud = DEFAULT_PROFILE, ""
        if getattr(args, "demo", False):
            from tui.democloud import DemoCloud

            problem = proxy_problem()  # the demo's client reads the proxy variables too
            if problem:
                print(f"imshare: {problem}", file=sys.stderr)
                return 2, False

            workdir = Path(tempfile.mkdtemp(prefix="imshare-demo-"))
            demo_dirs.append(workdir)
            os.environ["IMSHARE_CONFIG_DIR"] = str(workdir)
            if getattr(args, "debug", False):
                logsetup.configure(True, stderr=False)  # the log goes to the demo's own dir
            try:
                demo = DemoCloud(
                    images=getattr(args, "demo_images", 300),
                    latency_ms=getattr(args, "demo_latency_ms", 0) or 0,
                    projects=getattr(args, "demo_projects", 6),
                    regions=getattr(args, "demo_regions", ("eu-de", "eu-nl")),
                )
            except ValueError as error:  # a region name the demo cannot serve
                print(f"imshare: --demo-regions: {error}", file=sys.stderr)
                return 2, False
            demo.start()
            stack.callback(demo.stop)
            settings: Settings = apply_environment(Settings(), demo.credentials)
            config_path = workdir / "config.toml"
        else:
            config_path = getattr(args, "config", None) or files.config_file()
            try:
                loaded = load(
                    config_path,
                    profile=getattr(args, "profile", None) or None,
                    cloud=getattr(args, "os_cloud", None) or None,
                )
            except ConfigError as error:
                print(f"imshare: {error}", file=sys.stderr)
                return 2, False
            settings, ui_prefs, warnings = loaded.settings, loaded.ui, loaded.warnings
            profile, cloud = loaded.profile, loaded.cloud
        logsetup.add_secret(settings.password)
        cache = TokenCache(files.token_cache_file())
        cache.check()  # a refused or loose cache is said at start, not in mid-login
        # Each once, in order: the config, the debug log, the token cache.
        warnings = list(dict.fromkeys([*warnings, *logsetup.problems, *cache.warnings]))
        # `--region` narrows the all-projects scope for this run; the config's `regions`
        # otherwise. One project's own region (OS_REGION_NAME) is not touched.
        given = getattr(args, "region", None)
        regions = tuple(given) if given is not None else settings.regions
        app = ImshareApp(
            settings,
            cache=cache,
            config_path=config_path,
            ui_prefs=ui_prefs,
            read_only=getattr(args, "read_only", False),
            theme=getattr(args, "theme", None),
            demo=getattr(args, "demo", False),
            startup_warnings=warnings,
            refresh_seconds=getattr(args, "refresh", None),
            notify_mode=getattr(args, "notify", None),
            profile=profile,
            cloud=cloud,
            initial_filter=getattr(args, "filter", None) or "",
            all_projects=True if getattr(args, "all_projects", None) else None,
            regions=regions,
            crash_log=crash_log,
        )
        app.run(mouse=not getattr(args, "no_mouse", False))
        for line in app.exit_report:  # decisions that were in flight when the user quit
            print(f"imshare: {line}", file=sys.stderr)
        return app.return_code or 0, app.crash_line is not None
