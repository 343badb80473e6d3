"""Snapshots of the main screen (with and without the detail pane), the detail pane, a bulk
confirmation, config, help, the describe view (fields and raw JSON), and every project at once
(the all-projects table with one project failing, and the per-project list).

Each at 120x36 and 80x24 (where the detail pane moves under the table). Deterministic: a fixed
demo seed, the countdown/spinner/cursor blink frozen (conftest), no toasts, the member record
fetched before the shot, and the context bar shows the host without the demo's port. Config
snapshots use fixed settings and no network at all.

Regenerate with ``pytest tests/app/test_app_snapshots.py --snapshot-update`` and look at them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from app_support import wait_for, wait_loaded, wait_member, wait_screen
from support import OfflineTransport, example_settings
from textual.pilot import Pilot

from tui.app.screens.config import ConfigScreen
from tui.app.screens.describe import DescribeScreen
from tui.app.screens.help import HelpScreen
from tui.app.screens.projects import ProjectsScreen
from tui.app.screens.prompts import ConfirmScreen
from tui.app.widgets.detail_pane import DetailPane
from tui.app.widgets.image_table import ImageTable

SIZES = [pytest.param((120, 36), id="120x36"), pytest.param((80, 24), id="80x24")]


async def _loaded(pilot: Pilot[Any]) -> None:
    await wait_loaded(pilot)
    await wait_member(pilot)


@pytest.mark.parametrize("size", SIZES)
def test_main_screen(snap_compare: Any, cloud: Any, make_app: Any, size: tuple[int, int]) -> None:
    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_detail_pane_focused_and_scrolled(
    snap_compare: Any, cloud: Any, make_app: Any, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("j", "j")
        await wait_member(pilot)
        await pilot.press("tab")
        pane = pilot.app.screen.query_one(DetailPane)
        assert pane.has_focus
        await pilot.press("pagedown")
        await pilot.pause()

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_bulk_confirmation(
    snap_compare: Any, cloud: Any, make_app: Any, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("space", "space", "space", "a")
        await wait_screen(pilot, ConfirmScreen)

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_config_screen(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await pilot.press("c")
        await wait_screen(pilot, ConfigScreen)

    app = make_app(settings=example_settings(), transport=OfflineTransport(), quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_config_screen_first_run(snap_compare: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await wait_screen(pilot, ConfigScreen)

    settings = example_settings(
        preset="custom", auth_url="", username="", password="", project_name="", region=""
    )
    app = make_app(settings=settings, transport=OfflineTransport(), quiet=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help(snap_compare: Any, cloud: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("question_mark")
        await wait_screen(pilot, HelpScreen)

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_owner_names_and_flags(
    snap_compare: Any, cloud: Any, make_app: Any, config_dir: Path, size: tuple[int, int]
) -> None:
    """Named owners in the Owner column, a blocked owner's rows flagged B, rows a rule would
    decide flagged R, and the detail pane naming the owner and the rule."""
    owners = sorted({cloud.image(i)["owner"] for i in cloud.shared_image_ids("pending")})
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(
        tomli_w.dumps(
            {
                "owners": {
                    owners[0]: {"name": "Platform team", "trust": "trusted"},
                    owners[1]: {"name": "Shady corp", "trust": "blocked"},
                }
            }
        ),
        encoding="utf-8",
    )
    (config_dir / "rules.toml").write_text(
        tomli_w.dumps({"rules": [{"name": "platform", "owner": owners[0], "action": "accept"}]}),
        encoding="utf-8",
    )

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        grid = pilot.app.screen.query_one(ImageTable)
        first = next(n for n, image in enumerate(grid.rows) if image.owner == owners[0])
        grid.move_to(first)
        await wait_member(pilot)

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_describe_view(snap_compare: Any, cloud: Any, make_app: Any, size: tuple[int, int]) -> None:
    """The full-ECS image of the demo world: its flag, its vault note, its member record."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        (whole,) = cloud.whole_image_ids()
        grid = pilot.app.screen.query_one(ImageTable)
        grid.move_to([image.id for image in grid.rows].index(whole))
        await wait_member(pilot)
        await pilot.press("enter")
        await wait_screen(pilot, DescribeScreen)

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_describe_raw_json(snap_compare: Any, cloud: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("d")
        screen = await wait_screen(pilot, DescribeScreen)
        await pilot.press("J")
        await wait_for(pilot, lambda: screen.document_text is not None, what="the document")
        await pilot.pause()

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_main_screen_without_the_detail_pane(snap_compare: Any, cloud: Any, make_app: Any) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("w")
        await pilot.pause()

    app = make_app(cloud, quiet=True)
    assert snap_compare(app, terminal_size=(120, 36), run_before=run_before)


@pytest.fixture
def projects_cloud(make_cloud: Any) -> Any:
    """Six projects in two regions, one of them refusing every image request."""
    cloud = make_cloud(images=120, seed=4, projects=6, regions=("eu-de", "eu-nl"))
    cloud.fail_project(cloud.user_projects()[3].id, status=403)
    return cloud


@pytest.mark.parametrize("size", SIZES)
def test_all_projects(
    snap_compare: Any, projects_cloud: Any, make_app: Any, size: tuple[int, int]
) -> None:
    app = make_app(projects_cloud, quiet=True, all_projects=True)
    assert snap_compare(app, terminal_size=size, run_before=_loaded)


@pytest.mark.parametrize("size", SIZES)
def test_project_list(
    snap_compare: Any, projects_cloud: Any, make_app: Any, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _loaded(pilot)
        await pilot.press("m")
        await wait_screen(pilot, ProjectsScreen)
        await pilot.press("end")  # the failed project, with its reason under the list
        await pilot.pause()

    app = make_app(projects_cloud, quiet=True, all_projects=True)
    assert snap_compare(app, terminal_size=size, run_before=run_before)
