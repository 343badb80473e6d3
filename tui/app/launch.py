"""Start the app: from the user's config, or against a private demo cloud with ``--demo``.

``--demo`` must never touch the user's real config or token cache, so it points
``IMSHARE_CONFIG_DIR`` at a temporary directory for the life of the process.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from tui import files, logsetup
from tui.cloud.token_cache import TokenCache
from tui.settings.config_file import DEFAULT_PROFILE
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load


def demo_settings(credentials: dict[str, str]) -> Settings:
    return Settings(
        auth_url=credentials["OS_AUTH_URL"],
        username=credentials["OS_USERNAME"],
        password=credentials["OS_PASSWORD"],
        user_domain_name=credentials["OS_USER_DOMAIN_NAME"],
        project_name=credentials["OS_PROJECT_NAME"],
        project_domain_name=credentials.get("OS_PROJECT_DOMAIN_NAME", ""),
        region=credentials.get("OS_REGION_NAME", ""),
    )


def run(args: argparse.Namespace) -> int:
    """Run the TUI until the user quits; returns the process exit code."""
    from tui.app.app import ImshareApp

    with ExitStack() as stack:
        warnings: list[str] = []
        ui_prefs: dict[str, object] = {}
        profile, source = DEFAULT_PROFILE, "demo cloud"
        if getattr(args, "demo", False):
            from tui.democloud import DemoCloud

            workdir = Path(tempfile.mkdtemp(prefix="imshare-demo-"))
            stack.callback(shutil.rmtree, workdir, ignore_errors=True)
            os.environ["IMSHARE_CONFIG_DIR"] = str(workdir)
            if getattr(args, "debug", False):
                logsetup.configure(True, stderr=False)  # the log goes to the demo's own dir
            cloud = DemoCloud(
                images=getattr(args, "demo_images", 300),
                latency_ms=getattr(args, "demo_latency_ms", 0) or 0,
            )
            cloud.start()
            stack.callback(cloud.stop)
            settings = demo_settings(cloud.credentials)
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
                return 2
            settings, ui_prefs, warnings = loaded.settings, loaded.ui, loaded.warnings
            profile, source = loaded.profile, loaded.source
        logsetup.add_secret(settings.password)
        cache = TokenCache(files.token_cache_file())
        app = ImshareApp(
            settings,
            cache=cache,
            config_path=config_path,
            ui_prefs=ui_prefs,
            read_only=getattr(args, "read_only", False),
            theme=getattr(args, "theme", None),
            demo=getattr(args, "demo", False),
            startup_warnings=warnings + cache.warnings,
            refresh_seconds=getattr(args, "refresh", None),
            profile=profile,
            source=source,
        )
        app.run(mouse=not getattr(args, "no_mouse", False))
        return app.return_code or 0
