"""The all-projects scope: every project of the user in one table, decisions routed per row.

A demo cloud with six projects in two regions. Every expected value comes from the demo
cloud's own member tables (what each project holds), never from the app's inbox or store.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from app_support import (
    main_screen,
    screen_text,
    tab_counts,
    table,
    wait_for,
    wait_loaded,
    wait_screen,
)
from support import cloud_settings
from textual.widgets import DataTable, Input, OptionList

from tui.app.app import ImshareApp
from tui.app.screens.main import MainScreen
from tui.app.screens.picker import ContextPicker
from tui.app.screens.projects import ProjectsScreen
from tui.app.screens.prompts import ConfirmScreen
from tui.app.widgets.context_bar import ContextBar
from tui.cloud.token_cache import TokenCache
from tui.settings.sources import load

REGIONS = ("eu-de", "eu-nl")
SIZE = (120, 36)


@pytest.fixture
def multi(make_cloud: Any) -> Any:
    return make_cloud(images=120, seed=4, projects=6, regions=REGIONS)


def _expected(cloud: Any, *, without: str = "") -> set[tuple[str, str, str]]:
    """(project id, image id, status) of every share of every project, as the cloud holds it."""
    return {
        (project.id, image_id, cloud.member_status(image_id, project=project.id))
        for project in cloud.user_projects()
        if project.id != without
        for image_id in cloud.shared_image_ids(project=project.id)
    }


def _rows(app: ImshareApp) -> set[tuple[str, str, str]]:
    store = main_screen(app).store
    return {(i.member_id, i.id, i.status.value) for i in store.visible_all() if i.status}


async def test_every_project_is_listed_with_its_member_and_region(multi, make_app) -> None:
    app = make_app(multi, all_projects=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        expected = _expected(multi)
        assert _rows(app) == expected
        projects = {p.id: p for p in multi.user_projects()}
        text = screen_text(app)
        assert "Member" in text  # the receiving project, a column of this scope only
        # Pages of many projects arrived and re-sorted the rows; the cursor, never moved by
        # the user, is still on the first row (not on whichever image arrived first).
        assert table(app).cursor == 0
        first = table(app).current
        assert first is not None and first is table(app).rows[0]
        assert projects[first.member_id].name in text
        # Where the pending shares are, in the context bar.
        pending_in = {pid for pid, _image, status in expected if status == "pending"}
        bar = str(app.screen.query_one(ContextBar).render())
        assert f"{len(projects)} projects, {len(pending_in)} with pending shares" in bar
        # The same image shared with two projects is two rows.
        twice = set(multi.multi_project_image_ids())
        per_image = Counter(image_id for _pid, image_id, _status in expected)
        assert twice and all(per_image[i] >= 2 for i in twice)
        assert tab_counts(app)["All"] == len(expected)


async def test_a_decision_lands_in_the_row_project_and_not_in_the_other(multi, make_app) -> None:
    app = make_app(multi, all_projects=True)
    whole = {i for p in multi.user_projects() for i in multi.whole_image_ids(project=p.id)}
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        twice = [i for i in multi.multi_project_image_ids() if i not in whole]
        rows = table(app).rows  # the Pending view
        index, row = next(
            (n, r)
            for n, r in enumerate(rows)
            if r.id in twice and multi.member_status(r.id, project=r.member_id) == "pending"
        )
        other = next(
            p.id
            for p in multi.user_projects()
            if p.id != row.member_id and multi.member_status(row.id, project=p.id) is not None
        )
        before = multi.member_status(row.id, project=other)
        table(app).move_to(index)
        await pilot.pause()
        await pilot.press("a")
        await wait_for(
            pilot,
            lambda: multi.member_status(row.id, project=row.member_id) == "accepted",
            what="the decision to reach the row's project",
        )
        await wait_for(pilot, lambda: not main.store.deciding)
        assert multi.member_status(row.id, project=other) == before
        kept = main.store.get(f"{other}/{row.id}")
        assert kept is not None and kept.status.value == before  # the other row is unchanged


async def test_a_bulk_decision_is_confirmed_with_its_projects(multi, make_app) -> None:
    app = make_app(multi, all_projects=True)
    whole = {i for p in multi.user_projects() for i in multi.whole_image_ids(project=p.id)}
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        rows = [r for r in table(app).rows if r.id not in whole]
        by_project: dict[str, Any] = {}
        for r in rows:
            by_project.setdefault(r.member_id, r)
        chosen = list(by_project.values())[:3]
        assert len({r.member_id for r in chosen}) == 3
        for r in chosen:
            table(app).move_to(table(app).rows.index(r))
            await pilot.press("space")
        await pilot.press("r")
        await wait_screen(pilot, ConfirmScreen)
        text = screen_text(app)
        assert "3 projects" in text
        names = {p.id: p.name for p in multi.user_projects()}
        assert all(names[r.member_id] in text for r in chosen)
        await pilot.press("y")
        await wait_for(
            pilot,
            lambda: all(
                multi.member_status(r.id, project=r.member_id) == "rejected" for r in chosen
            ),
            what="every project's decision",
        )
        await wait_for(pilot, lambda: not main.store.deciding)


async def test_a_failing_project_is_shown_failed_and_the_others_list(multi, make_app) -> None:
    victim = multi.user_projects()[2]
    multi.fail_project(victim.id, status=403)
    app = make_app(multi, all_projects=True)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert _rows(app) == _expected(multi, without=victim.id)
        notice = str(main.query_one("#notice").render())
        assert victim.name in notice and "403" in notice
        tabs = str(main.query_one("#tabs").render())
        assert "+?" in tabs  # counts are lower bounds while a project is missing
        await pilot.press("m")
        projects = await wait_screen(pilot, ProjectsScreen)
        grid = projects.query_one(DataTable)
        row_key = f"{victim.id}@{victim.region}"
        cells = [str(c) for c in grid.get_row(row_key)]
        assert "failed" in cells and "?" in cells
        # The headline's sum is a lower bound too, and says why.
        listed = sum(1 for _p, _i, s in _expected(multi, without=victim.id) if s == "pending")
        assert f"Pending {listed}+? in " in screen_text(app)
        assert "(1 could not be listed)" in screen_text(app)


async def test_the_project_list_counts_and_filters_the_table(multi, make_app) -> None:
    app = make_app(multi, all_projects=True)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        expected = _expected(multi)
        await pilot.press("m")
        screen = await wait_screen(pilot, ProjectsScreen)
        grid = screen.query_one(DataTable)
        for project in multi.user_projects():
            counts = Counter(s for pid, _i, s in expected if pid == project.id)
            cells = [str(c) for c in grid.get_row(f"{project.id}@{project.region}")]
            assert cells[2:5] == [
                str(counts["pending"]),
                str(counts["accepted"]),
                str(counts["rejected"]),
            ], project.name
        # The project with the most pending shares is first after "All projects".
        busiest = max(
            multi.user_projects(),
            key=lambda p: sum(1 for pid, _i, s in expected if pid == p.id and s == "pending"),
        )
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        shown = {r.member_id for r in table(app).rows}
        assert shown == {busiest.id}
        pending = {i for pid, i, s in expected if pid == busiest.id and s == "pending"}
        assert {r.id for r in table(app).rows} == pending
        assert f"member:{busiest.id}" in main.query_one("#filter", Input).value
        # "All projects" takes the project term away again; other terms stay.
        await pilot.press("m")
        await wait_screen(pilot, ProjectsScreen)
        await pilot.press("home", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause()
        assert "member:" not in main.query_one("#filter", Input).value
        assert len(table(app).rows) == sum(1 for _p, _i, s in expected if s == "pending")


async def test_m_and_the_project_sorts_are_off_with_one_project(cloud, make_app) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("m")
        await pilot.pause()
        assert not isinstance(app.screen, ProjectsScreen)
        assert "Member" not in screen_text(app)


async def test_the_scope_chosen_in_the_picker_is_remembered(
    multi, make_app, tmp_path: Path
) -> None:
    app = make_app(multi)
    config = tmp_path / "config-1.toml"  # make_app's first config path
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        assert main.inbox is None
        await pilot.press("P")
        picker = await wait_screen(pilot, ContextPicker)
        options = picker.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        options.highlighted = ids.index("scope:all")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(
            pilot,
            lambda: main.inbox is not None and main.store.loaded_once and not main.store.listing,
            what="the all-projects listing",
        )
        assert _rows(app) == _expected(multi)
    # The next start with the same config comes back to every project.
    loaded = load(config, environ={})
    again = ImshareApp(
        cloud_settings(multi),
        cache=TokenCache(tmp_path / "tokens-again.json"),
        config_path=config,
        ui_prefs=loaded.ui,
    )
    async with again.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        assert main_screen(again).inbox is not None


async def test_member_names_give_way_before_image_names_are_cut(multi, make_app) -> None:
    """At 120 columns the receiving project's name narrows (cut in the middle) before an image
    name loses characters; both keep their ends, which tell versions and projects apart."""
    projects = {p.name for p in multi.user_projects()}
    names = {
        multi.image(i)["name"]
        for p in multi.user_projects()
        for i in multi.shared_image_ids(project=p.id)
    }
    app = make_app(multi, all_projects=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        grid = table(app)
        lines = screen_text(app).splitlines()[grid.region.y : grid.region.bottom]
        rows = [line[grid.region.x : grid.region.right] for line in lines]
        header, body = rows[0], [row for row in rows[1:] if row.strip()]
        member_at, os_at = header.index("Member"), header.index("OS")
        member_width = os_at - member_at - 1
        cut_names = cut_members = 0
        for row in body:
            name_cell = row[3 : header.index("Status")].strip()
            member_cell = row[member_at:os_at].strip()
            if "…" in name_cell:
                cut_names += 1
                head, tail = name_cell.split("…")
                assert any(n.startswith(head) and n.endswith(tail) for n in names), row
            else:
                assert name_cell in names, row
            if "…" in member_cell:
                cut_members += 1
                head, tail = member_cell.split("…")
                assert len(tail) >= 3, member_cell  # cut in the middle: the end stays
                assert any(p.startswith(head) and p.endswith(tail) for p in projects), row
            else:
                assert member_cell in projects, row
        longest_project = max(len(p) for p in projects)
        assert longest_project > 12  # the demo has project names to cut
        if cut_names:
            # An image name is cut only once the member column is as narrow as it goes.
            assert member_width <= 12, header
            assert cut_members, "no member name was cut though image names were"
