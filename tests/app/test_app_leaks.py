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
