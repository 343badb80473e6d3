"""The yardstick for keystrokes: Textual's own ``DataTable`` with the same shares, same probe.

Launched by ``bench.py`` (never by pytest) like ``app_probe.py``, with the demo cloud's
``OS_*`` variables and a token cache in the environment. It lists every share with the app's
``CloudSession``, then runs a plain Textual app: an ``Input`` above a ``DataTable`` holding one
row per share (name, status, OS, size, format, owner, created: the image table's columns).
Its filter does what a typical Textual app does: on ``Input.Changed``, ``clear()`` the table
and ``add_rows`` the shares whose name, id, owner or OS contain the typed text. The keys and
the timing are ``app_probe``'s (``_keystroke``: post the key as the driver does, time to the
end of the first screen update that shows its effect), so the figures compare side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import app_probe


async def _shares() -> list[tuple[str, ...]]:
    import os

    from tui import files
    from tui.cloud.models import ALL_STATUSES
    from tui.cloud.session import CloudSession
    from tui.cloud.token_cache import TokenCache
    from tui.formatting import date_text, human_size
    from tui.settings.model import Settings
    from tui.settings.sources import apply_environment

    settings = apply_environment(Settings(), dict(os.environ))
    async with CloudSession(settings, TokenCache(files.token_cache_file())) as session:
        images = await session.list_shared(list(ALL_STATUSES))
    return [
        (
            image.name,
            image.status.value if image.status else "?",
            image.os_version or image.platform or "—",
            human_size(image.size_bytes),
            image.disk_format or "—",
            image.owner[:8],
            date_text(image.created_at),
            f"{image.name} {image.id} {image.owner} {image.os_version}".lower(),
        )
        for image in sorted(images, key=lambda i: (i.name.lower(), i.id))
    ]


def _app(rows: list[tuple[str, ...]]) -> Any:
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable, Input

    class Yardstick(App[None]):
        def compose(self) -> ComposeResult:
            yield Input(id="filter")
            yield DataTable(id="table", cursor_type="row")

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("Name", "Status", "OS", "Size", "Format", "Owner", "Created")
            table.add_rows(row[:7] for row in rows)
            self.filter_text = ""
            self.shown = len(rows)
            table.focus()

        def on_input_changed(self, event: Input.Changed) -> None:
            text = event.value.strip().lower()
            table = self.query_one(DataTable)
            table.clear()
            matching = [row[:7] for row in rows if text in row[7]]
            table.add_rows(matching)
            self.filter_text = text
            self.shown = len(matching)

    return Yardstick()


async def _interact(app: Any, frames: Any) -> dict[str, Any]:
    from textual.widgets import DataTable, Input

    table = app.query_one(DataTable)
    field = app.query_one(Input)
    field.focus()
    await asyncio.sleep(0.3)
    filter_samples: list[float] = []
    filter_cpu: list[float] = []
    for word in app_probe.FILTER_WORDS:
        typed = ""
        for key, char in [(ch, ch) for ch in word] + [("backspace", None)] * len(word):
            typed = typed + char if char is not None else typed[:-1]
            want = typed.strip().lower()

            def shown(want: str = want) -> bool:
                return app.filter_text == want and table.row_count == app.shown

            key_name = "space" if char == " " else key
            latency, _, cpu = await app_probe._keystroke(app, frames, key_name, char, shown)
            filter_samples.append(latency)
            filter_cpu.append(cpu)
            await asyncio.sleep(app_probe.KEY_GAP)
    table.focus()
    await asyncio.sleep(0.3)
    cursor_samples: list[float] = []
    cursor_cpu: list[float] = []
    page = max(1, table.scrollable_content_region.height - 1)
    for key in app_probe.CURSOR_KEYS:
        before = table.cursor_row
        step = {"down": 1, "up": -1, "pagedown": page, "pageup": -page}[key]

        def moved(before: int = before) -> bool:
            return table.cursor_row != before

        latency, _, cpu = await app_probe._keystroke(app, frames, key, None, moved)
        cursor_samples.append(latency)
        cursor_cpu.append(cpu)
        del step
        await asyncio.sleep(app_probe.KEY_GAP)
    return {
        "filter": app_probe._summary(filter_samples),
        "cursor": app_probe._summary(cursor_samples),
        "filter_cpu": app_probe._summary(filter_cpu),
        "cursor_cpu": app_probe._summary(cursor_cpu),
    }


async def _run() -> dict[str, Any]:
    rows = await _shares()
    app = _app(rows)
    frames = app_probe.Frames(app)
    async with app.run_test(headless=True, size=app_probe.SIZE):
        await asyncio.sleep(0.5)
        return {"rows": len(rows), "interact": await _interact(app, frames)}


def main() -> int:
    argparse.ArgumentParser(description=__doc__).parse_args()
    print(json.dumps(asyncio.run(_run())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
