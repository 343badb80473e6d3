"""Issue 14: a long listing shows its first page before the rest arrives, and the pages that
come later neither repeat nor lose a row. Expected ids and counts come from the demo cloud's
own data, never from the app."""

from __future__ import annotations

from typing import Any

from app_support import main_screen, screen_text, tab_counts, table, wait_for, wait_loaded

from tui.app.screens.main import MainScreen
from tui.cloud.session import FIRST_PAGE_LIMIT, PAGE_LIMIT

# About half pending (seed 1): a first page of FIRST_PAGE_LIMIT, then two more pages.
IMAGES = 2600
# Each later page comes at least this long after the one before: the window in which the
# first rows are on screen and the rest is still on its way.
LATENCY_MS = 400


async def test_first_rows_show_while_later_pages_load(make_cloud: Any, make_app: Any) -> None:
    cloud = make_cloud(images=IMAGES, seed=1, latency_ms=LATENCY_MS)
    pending = cloud.shared_image_ids("pending")
    every = cloud.shared_image_ids()
    assert len(pending) > FIRST_PAGE_LIMIT + PAGE_LIMIT  # three pages of pending shares
    app = make_app(cloud)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: any(isinstance(s, MainScreen) for s in app.screen_stack))
        main = main_screen(app)
        grid = table(app)
        await wait_for(pilot, lambda: len(grid.rows) > 0, what="the first rows")
        early = [image.id for image in grid.rows]
        assert main.store.listing, "the first rows came only with the last page"
        assert 0 < len(early) < len(pending)
        assert len(set(early)) == len(early)
        assert set(early) <= set(pending)
        assert "so far" in screen_text(app)  # the context line says the rest is coming

        await wait_loaded(pilot)
        final = [image.id for image in grid.rows]
        assert len(final) == len(set(final)), "a row is shown twice"
        assert sorted(final) == sorted(pending)
        assert set(early) <= set(final)
        assert tab_counts(app) == {
            "Pending": len(pending),
            "Accepted": len(cloud.shared_image_ids("accepted")),
            "Rejected": len(cloud.shared_image_ids("rejected")),
            "All": len(every),
        }
        assert "so far" not in screen_text(app)


async def test_first_rows_show_early_again_in_another_project(
    make_cloud: Any, make_app: Any
) -> None:
    """The second listing of the app (another project) shows its first page early too, and
    only that project's rows."""
    cloud = make_cloud(
        images=2 * IMAGES, seed=1, latency_ms=LATENCY_MS, projects=2, regions=("eu-de",)
    )
    other = cloud.user_projects()[1]
    pending = cloud.shared_image_ids("pending", project=other.id)
    assert len(pending) > FIRST_PAGE_LIMIT  # (the demo shares a tenth with a second project)
    app = make_app(cloud)
    async with app.run_test(size=(120, 36)) as pilot:
        main = await wait_loaded(pilot)
        await app._switch(app.session.for_project(other.id))
        grid = table(app)
        await wait_for(pilot, lambda: len(grid.rows) > 0, what="the other project's first rows")
        early = [image.id for image in grid.rows]
        assert main.store.listing, "the first rows came only with the last page"
        assert set(early) <= set(pending)
        await wait_loaded(pilot)
        final = [image.id for image in grid.rows]
        assert len(final) == len(set(final))
        assert sorted(final) == sorted(pending)
