"""What a long session must not pile up: widgets the screen no longer shows."""

from __future__ import annotations

import gc
from typing import Any

from app_support import wait_loaded
from textual.widgets._footer import FooterKey

SIZE = (120, 36)


def detached_footer_keys() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FooterKey) and not o.is_attached)


async def test_focus_changes_do_not_keep_old_footer_keys_alive(cloud: Any, make_app: Any) -> None:
    """Each focus change rebuilds the footer; Textual's own kept every old key (a leak)."""
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        shown = len(app.screen.query(FooterKey))
        assert shown > 0
        for _ in range(10):
            await pilot.press("slash", "escape")  # into the filter field and back to the table
            await pilot.pause()
        await pilot.pause()
        assert detached_footer_keys() == 0
        assert len(app.screen.query(FooterKey)) == shown


async def test_the_footer_is_rebuilt_only_when_its_keys_change(cloud: Any, make_app: Any) -> None:
    app = make_app(cloud)
    async with app.run_test(size=SIZE) as pilot:
        await wait_loaded(pilot)
        keys = list(app.screen.query(FooterKey))
        assert "Accept" in [key.description for key in keys]
        # Into the detail pane and back: the same keys apply, so the same widgets stay.
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert list(app.screen.query(FooterKey)) == keys
        # The filter field has keys of its own: the footer shows those, then the table's again.
        await pilot.press("slash")
        await pilot.pause()
        assert "Accept" not in [key.description for key in app.screen.query(FooterKey)]
        await pilot.press("escape")
        await pilot.pause()
        shown = list(app.screen.query(FooterKey))
        assert [k.description for k in shown] == [k.description for k in keys]
        assert not set(shown) & set(keys)
