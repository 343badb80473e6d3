"""Accept, reject, back to pending, bulk, failures, vaults, refresh: the cloud must agree."""

from __future__ import annotations

from typing import Any

from app_support import (
    detail_text,
    tab_counts,
    table,
    visible_ids,
    wait_for,
    wait_loaded,
    wait_screen,
)
from textual.widgets import Input, Static

from tui.app.screens.main import MainScreen
from tui.app.screens.prompts import ConfirmScreen, SummaryScreen, VaultScreen
from tui.app.widgets.context_bar import ContextBar

SIZE = (120, 36)


def _select(app: Any, image_id: str) -> None:
    grid = table(app)
    grid.move_to(visible_ids(app).index(image_id))


def _plain_ids(cloud: Any, status: str) -> list[str]:
    """Images with this status that do not need a vault."""
    whole = set(cloud.whole_image_ids())
    return [i for i in cloud.shared_image_ids(status) if i not in whole]


async def _decided(pilot: Any, main: MainScreen) -> None:
    await wait_for(pilot, lambda: not main.store.deciding, what="the decision to finish")
    await pilot.pause()


async def test_accept_one_after_the_cloud_confirms(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.pause()
        before = tab_counts(app)
        assert cloud.member_status(image_id) == "pending"
        await pilot.press("a")  # one image: no confirmation
        await wait_for(pilot, lambda: cloud.member_status(image_id) == "accepted")
        await _decided(pilot, main)
        assert main.store.get(image_id).status.value == "accepted"
        assert image_id not in visible_ids(app)  # left the Pending view
        counts = tab_counts(app)
        assert counts["Pending"] == before["Pending"] - 1
        assert counts["Accepted"] == before["Accepted"] + 1
        assert counts["All"] == before["All"]
        await pilot.press("2")
        assert image_id in visible_ids(app)
        assert not main.store.errors


async def test_the_row_changes_only_after_the_cloud_answers(make_cloud: Any, make_app: Any) -> None:
    cloud = make_cloud(images=30, seed=7, latency_ms=400)
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.press("a")
        await wait_for(pilot, lambda: image_id in main.store.in_flight)
        # In flight: the row says so, but its status is still pending everywhere.
        assert main.store.get(image_id).status.value == "pending"
        assert image_id in visible_ids(app)
        row = str(table(app).render_line(visible_ids(app).index(image_id) + 1).text)
        assert "accepting…" in row
        await _decided(pilot, main)
        assert cloud.member_status(image_id) == "accepted"
        assert main.store.get(image_id).status.value == "accepted"


async def test_reject_asks_first_n_cancels_y_rejects(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        name = main.store.get(image_id).name
        _select(app, image_id)
        await pilot.press("r")
        confirm = await wait_screen(pilot, ConfirmScreen)
        question = str(confirm.query_one("#question", Static).render())
        assert "Reject image?" in question and name in question
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause(0.3)
        assert cloud.member_status(image_id) == "pending"
        # Nothing was sent (reading member records for the detail pane aside).
        puts = [k for k in cloud.stats.requests if k[0] == "PUT"]
        assert not puts
        assert main.store.get(image_id).status.value == "pending"

        await pilot.press("r")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("escape")  # escape is "no" too
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert cloud.member_status(image_id) == "pending"

        await pilot.press("r")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: cloud.member_status(image_id) == "rejected")
        await _decided(pilot, main)
        assert main.store.get(image_id).status.value == "rejected"
        assert image_id not in visible_ids(app)
        await pilot.press("3")
        assert image_id in visible_ids(app)


async def test_p_resets_an_accepted_image_to_pending(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("2")
        image_id = table(app).current.id
        await pilot.press("p")
        await wait_for(pilot, lambda: cloud.member_status(image_id) == "pending")
        await _decided(pilot, main)
        assert image_id not in visible_ids(app)
        await pilot.press("1")
        assert image_id in visible_ids(app)


async def test_a_on_an_accepted_image_sends_nothing(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("2")
        image_id = table(app).current.id
        await pilot.press("a")
        await pilot.pause(0.2)
        assert not main.store.deciding
        assert not [k for k in cloud.stats.requests if k[0] == "PUT"]
        assert cloud.member_status(image_id) == "accepted"


async def test_bulk_accept_of_marked_rows(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        whole = set(cloud.whole_image_ids())
        # Mark the first three rows that do not need a vault.
        picked: list[str] = []
        while len(picked) < 3:
            current = table(app).current
            if current.id in whole:
                await pilot.press("j")
                continue
            picked.append(current.id)
            await pilot.press("space")
        assert main.store.marked == set(picked)
        names = [main.store.get(i).name for i in picked]
        await pilot.press("a")
        confirm = await wait_screen(pilot, ConfirmScreen)
        question = str(confirm.query_one("#question", Static).render())
        assert "Accept 3 images?" in question
        assert all(name in question for name in names)
        await pilot.press("y")
        await wait_for(pilot, lambda: all(cloud.member_status(i) == "accepted" for i in picked))
        await _decided(pilot, main)
        assert not main.store.marked
        assert not set(picked) & set(visible_ids(app))
        assert all(main.store.get(i).status.value == "accepted" for i in picked)


async def test_a_failure_leaves_the_row_marked_with_the_clouds_message(
    cloud: Any, make_app: Any
) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.pause()
        assert cloud.unshare(image_id)  # the owner withdraws the share under our feet
        await pilot.press("a")
        await wait_for(pilot, lambda: image_id in main.store.errors, what="the error")
        await _decided(pilot, main)
        error = main.store.errors[image_id]
        assert error.status in (403, 404)
        assert error.message
        assert main.store.get(image_id).status.value == "pending"  # as it was
        assert image_id in main.store.marked
        assert image_id in visible_ids(app)
        assert "Last action failed" in detail_text(app)
        assert error.message in detail_text(app)
        row = str(table(app).render_line(visible_ids(app).index(image_id) + 1).text)
        assert "pending !" in row
        # The app keeps running and answers keys.
        await pilot.press("j")
        assert app.is_running
        assert table(app).current.id != image_id or len(table(app).rows) == 1


async def test_bulk_with_failures_shows_a_summary_naming_each(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        ids = _plain_ids(cloud, "pending")[:4]
        for image_id in ids:
            main.store.toggle_mark(image_id)
        gone, unshared = ids[0], ids[1]
        names = {i: main.store.get(i).name for i in ids}
        assert cloud.delete_image(gone)
        assert cloud.unshare(unshared)
        await pilot.press("a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        summary = await wait_screen(pilot, SummaryScreen)
        text = "\n".join(str(s.render()) for s in summary.query("Static, Label"))
        assert "2 of 4" in text and "2 failed" in text
        assert names[gone] in text and names[unshared] in text
        assert names[ids[2]] not in text
        assert cloud.member_status(ids[2]) == "accepted"
        assert cloud.member_status(ids[3]) == "accepted"
        assert main.store.marked == {gone, unshared}
        assert set(main.store.errors) == {gone, unshared}
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        assert app.is_running


async def test_full_ecs_accept_asks_for_a_vault(cloud: Any, make_app: Any) -> None:
    image_id = next(i for i in cloud.whole_image_ids() if cloud.member_status(i) == "pending")
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        _select(app, image_id)
        await pilot.press("a")
        vault = await wait_screen(pilot, VaultScreen)
        help_text = str(vault.query_one(".dialog-help", Static).render())
        assert main.store.get(image_id).name in help_text and "vault" in help_text
        await pilot.press("escape")  # cancel: nothing is sent
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.pause(0.2)
        assert cloud.member_status(image_id) == "pending"
        assert not [k for k in cloud.stats.requests if k[0] == "PUT"]

        await pilot.press("a")
        vault = await wait_screen(pilot, VaultScreen)
        await pilot.press("enter")  # empty: asks again, sends nothing
        assert isinstance(app.screen, VaultScreen)
        assert "required" in str(vault.query_one("#problem").render())
        vault.query_one("#value", Input).value = cloud.vault_ids[0]
        await pilot.press("enter")
        await wait_for(pilot, lambda: cloud.member_status(image_id) == "accepted")
        await wait_for(pilot, lambda: not main.store.deciding)
        assert main.store.get(image_id).status.value == "accepted"


async def test_refresh_picks_up_server_side_changes(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        pending = _plain_ids(cloud, "pending")
        flipped, gone = pending[0], pending[1]
        cloud.set_member_status(flipped, "accepted")
        cloud.delete_image(gone)
        assert flipped in visible_ids(app)  # nothing changes until we ask
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: flipped not in visible_ids(app), what="the new listing")
        await wait_loaded(pilot)
        assert gone not in visible_ids(app)
        assert main.store.get(flipped).status.value == "accepted"
        assert main.store.get(gone) is None
        # F5 does the same.
        cloud.set_member_status(flipped, "pending")
        await pilot.press("f5")
        await wait_for(pilot, lambda: flipped in visible_ids(app), what="the F5 listing")
        assert main.store.get(flipped).status.value == "pending"


async def test_a_revoked_token_is_renewed_transparently(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        logins = cloud.stats.token_requests
        bar = main.query_one(ContextBar)
        old = bar.token
        assert old is not None
        assert cloud.revoke_tokens() >= 1
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.press("a")
        await wait_for(pilot, lambda: cloud.member_status(image_id) == "accepted")
        await wait_for(pilot, lambda: not main.store.deciding)
        assert not main.store.errors
        assert cloud.stats.token_requests == logins + 1
        # The context bar shows the new token (its countdown), not the revoked one.
        assert bar.token is not None and bar.token.value != old.value
        assert bar.token.value == app.session.current_token.value
        cloud.revoke_tokens()
        cloud.set_member_status(image_id, "rejected")
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: main.store.get(image_id).status.value == "rejected")
        await wait_loaded(pilot)
        assert main.store.load_error is None
        assert cloud.stats.token_requests == logins + 2


async def test_bulk_decision_leaves_no_marks_on_images_already_decided(
    cloud: Any, make_app: Any
) -> None:
    """Marks on images already in the target status are done: they must not linger."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        await pilot.press("2", "space", "space", "1", "space")
        assert len(main.store.marked) == 3
        pending_id = next(i for i in main.store.marked if main.store.get(i).status == "pending")
        await pilot.press("a")
        await wait_for(pilot, lambda: cloud.member_status(pending_id) == "accepted")
        await _decided(pilot, main)
        assert not main.store.errors
        assert main.store.marked == set()
        assert "marked" not in str(main.query_one("#tabs").render())


async def test_the_log_keeps_every_decision_and_failure_with_its_time(
    cloud: Any, make_app: Any
) -> None:
    """A toast fades; `@` shows each outcome (and the failure's reason) with a time."""
    from tui.app.message_log import Level
    from tui.app.screens.log import LogScreen

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        ok_id, gone_id = _plain_ids(cloud, "pending")[:2]
        cloud.delete_image(gone_id)  # deciding on it will fail with a 404
        for image_id in (ok_id, gone_id):
            _select(app, image_id)
            await pilot.pause()
            await pilot.press("space")
        await pilot.press("a")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: cloud.member_status(ok_id) == "accepted")
        await _decided(pilot, main)
        entries = list(app.message_log)
        done = [e for e in entries if e.level is Level.DONE]
        failed = [e for e in entries if e.level is Level.ERROR]
        assert [ok_id in e.text and e.text.startswith("accepted") for e in done] == [True], entries
        assert any(gone_id in e.text and "404" in e.text for e in failed)
        await wait_screen(pilot, SummaryScreen)  # the bulk's failure summary first
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, SummaryScreen))
        await pilot.press("at")
        log_screen = await wait_screen(pilot, LogScreen)
        shown = "\n".join(str(line.text) for line in log_screen.query_one("#log-lines").lines)
        assert ok_id in shown and gone_id in shown
        stamp = done[0].time.strftime("%H:%M:%S")
        assert stamp in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, LogScreen))


async def test_quit_with_a_decision_in_flight_asks_then_lets_it_finish_and_reports(
    cloud: Any, make_app: Any
) -> None:
    from textual.widgets import Static

    from tui.democloud import Faults

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.pause()
        cloud.set_faults(Faults(slow_ms=4000, apply_to_writes=True))
        await pilot.press("a")
        await wait_for(pilot, lambda: main.store.deciding, what="the decision to be sent")
        await pilot.press("q")
        dialog = await wait_screen(pilot, ConfirmScreen)
        question = str(dialog.query_one("#question", Static).render())
        assert "1 decision is still running" in question
        await pilot.press("n")  # No: nothing happens, the app goes on
        await wait_for(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
        assert app.is_running
        await pilot.press("q")
        await wait_screen(pilot, ConfirmScreen)
        await pilot.press("y")
        await wait_for(pilot, lambda: app.exit_report, what="the exit report", timeout=20)
    assert cloud.member_status(image_id) == "accepted"
    assert app.exit_report == [f"accepted {image_id} ({main.store.get(image_id).name})"]


async def test_the_quit_question_stops_saying_running_once_the_decisions_end(
    cloud: Any, make_app: Any
) -> None:
    from textual.widgets import Static

    from tui.democloud import Faults

    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        main = await wait_loaded(pilot)
        image_id = _plain_ids(cloud, "pending")[0]
        _select(app, image_id)
        await pilot.pause()
        cloud.set_faults(Faults(slow_ms=1500, apply_to_writes=True))
        await pilot.press("a")
        await wait_for(pilot, lambda: main.store.deciding, what="the decision to be sent")
        await pilot.press("q")
        dialog = await wait_screen(pilot, ConfirmScreen)

        def question() -> str:
            return str(dialog.query_one("#question", Static).render())

        assert "still running" in question()
        await wait_for(
            pilot, lambda: cloud.member_status(image_id) == "accepted", what="the decision"
        )
        await wait_for(pilot, lambda: "have finished" in question(), what="the question anew")
        assert "still running" not in question()
        assert app.is_running and app.screen is dialog  # the user still decides
        await pilot.press("y")
        await wait_for(pilot, lambda: not app.is_running, what="the app to end")


async def test_quit_without_decisions_in_flight_asks_nothing(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="the app to end")
    assert app.exit_report == []
