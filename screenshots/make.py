"""Regenerate the README screenshots (``screenshots/*.svg``) from the demo cloud.

Run from the repository root:  ``python screenshots/make.py``

The app runs headless (``App.run_test``) against a private DemoCloud with a fixed seed, so the
pictures only change when the app does. The token countdown, the activity spinner and the input
cursor blink are frozen as in the snapshot tests; the context bar shows only the host (never the
demo's port), and the config screen is shot with fixed example settings and no network at all.
Nothing here touches your real config or token cache.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE.parent / "tests"))  # the settings and frozen UI the tests use

from support import (  # noqa: E402
    EXAMPLE_PASSWORD,
    OfflineTransport,
    cloud_settings,
    example_settings,
    freeze_ui,
)

from tui.app.app import ImshareApp  # noqa: E402
from tui.app.screens.config import ConfigScreen  # noqa: E402
from tui.app.screens.describe import DescribeScreen  # noqa: E402
from tui.app.screens.help import HelpScreen  # noqa: E402
from tui.app.screens.main import MainScreen  # noqa: E402
from tui.app.screens.projects import ProjectsScreen  # noqa: E402
from tui.app.screens.prompts import ConfirmScreen  # noqa: E402
from tui.app.widgets.image_table import ImageTable  # noqa: E402
from tui.cloud.token_cache import TokenCache  # noqa: E402
from tui.democloud import DemoCloud  # noqa: E402

IMAGES = 300  # what `imshare --demo` shows
SEED = 1
WIDE = (120, 36)
NARROW = (80, 24)
SECRETS = ("demo-password", EXAMPLE_PASSWORD)

Steps = Callable[[Pilot[Any]], Awaitable[None]]


async def wait_for(pilot: Pilot[Any], predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 30
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        await pilot.pause(0.02)


async def loaded(pilot: Pilot[Any]) -> None:
    """The listing is complete and the highlighted image's member record is shown."""
    app = pilot.app
    await wait_for(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen")
    main = app.screen
    assert isinstance(main, MainScreen)
    await wait_for(pilot, lambda: main.store.loaded_once and not main.store.listing, "the listing")
    await member_shown(pilot)


async def member_shown(pilot: Pilot[Any]) -> None:
    main = pilot.app.screen
    assert isinstance(main, MainScreen)
    current = main.query_one(ImageTable).current
    if current is not None:
        key = main.store.key_of(current)
        await wait_for(pilot, lambda: key in main.store.members, "the member record")
    await pilot.pause()


async def full_ecs_row(pilot: Pilot[Any]) -> None:
    """The listing loaded, the cursor on a full-ECS image (its vault note), its record shown."""
    await loaded(pilot)
    main = pilot.app.screen
    assert isinstance(main, MainScreen)
    table = main.query_one(ImageTable)
    table.move_to(next((i for i, image in enumerate(table.rows) if image.needs_vault), 3))
    await member_shown(pilot)


async def detail(pilot: Pilot[Any]) -> None:
    """A full-ECS image (its vault note), with the detail pane focused."""
    await full_ecs_row(pilot)
    await pilot.press("tab")
    await pilot.pause()


async def describe(pilot: Pilot[Any]) -> None:
    """The describe view of a full-ECS image (enter), with its member record."""
    await full_ecs_row(pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, DescribeScreen), "describe")
    await pilot.pause()


async def bulk_confirm(pilot: Pilot[Any]) -> None:
    await loaded(pilot)
    await pilot.press("space", "space", "space", "a")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen), "the dialog")
    await pilot.pause()


async def config(pilot: Pilot[Any]) -> None:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "the main screen")
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ConfigScreen), "config")
    await pilot.pause()


async def help_screen(pilot: Pilot[Any]) -> None:
    await loaded(pilot)
    await pilot.press("question_mark")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, HelpScreen), "help")
    await pilot.pause()


async def project_counts(pilot: Pilot[Any]) -> None:
    """The all-projects view's per-project counts (m)."""
    await loaded(pilot)
    await pilot.press("m")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ProjectsScreen), "the projects")
    await pilot.pause()


async def shoot(
    name: str,
    size: tuple[int, int],
    steps: Steps,
    work: Path,
    cloud: DemoCloud | None,
    *,
    all_projects: bool = False,
) -> Path:
    if cloud is None:
        settings, transport = example_settings(), OfflineTransport()
    else:
        settings, transport = cloud_settings(cloud), None
    app = ImshareApp(
        settings,
        cache=TokenCache(work / f"tokens-{name}.json"),
        config_path=work / f"config-{name}.toml",
        transport=transport,
        all_projects=all_projects,
    )
    async with app.run_test(size=size) as pilot:  # notifications are off: no toasts
        await steps(pilot)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        saved = app.save_screenshot(filename=f"{name}.svg", path=str(HERE))
    path = Path(saved)
    text = path.read_text()
    leaked = [s for s in SECRETS if s in text]
    if cloud is not None:
        port = str(cloud.base_url.rsplit(":", 1)[1])
        leaked += [f"port {port}" for needle in (f":{port}",) if needle in text]
    if leaked:
        path.unlink()
        raise SystemExit(f"screenshots: {name}.svg would show {leaked}; not saved")
    return path


async def main() -> int:
    freeze_ui(setattr)
    with tempfile.TemporaryDirectory(prefix="imshare-shots-") as tmp:
        work = Path(tmp)
        os.environ["IMSHARE_CONFIG_DIR"] = str(work / "config")
        for name in list(os.environ):
            if name.startswith("OS_"):
                del os.environ[name]
        with DemoCloud(images=IMAGES, seed=SEED) as cloud:
            shots: list[tuple[str, tuple[int, int], Steps, DemoCloud | None]] = [
                ("main", WIDE, loaded, cloud),
                ("detail", WIDE, detail, cloud),
                ("bulk-confirm", WIDE, bulk_confirm, cloud),
                ("config", WIDE, config, None),
                ("help", WIDE, help_screen, cloud),
                ("main-80x24", NARROW, loaded, cloud),
                ("describe", WIDE, describe, cloud),
            ]
            for name, size, steps, target in shots:
                path = await shoot(name, size, steps, work, target)
                print(f"wrote {path.relative_to(HERE.parent)}")
        # What `imshare --demo --all-projects` shows: six projects in two regions.
        with DemoCloud(images=IMAGES, seed=SEED, projects=6, regions=("eu-de", "eu-nl")) as cloud:
            for name, steps in (("all-projects", loaded), ("projects", project_counts)):
                path = await shoot(name, WIDE, steps, work, cloud, all_projects=True)
                print(f"wrote {path.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
