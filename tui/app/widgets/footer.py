"""Textual's ``Footer``, without its leak and without rebuilding what it already shows.

Textual (8.2.8) rebuilds the footer's keys whenever the focus or the bindings change, and
each new key binds itself to the footer's ``compact`` reactive. Textual drops the watchers of
removed keys only when ``compact`` changes, which it never does here: every rebuild kept its
keys alive, a dozen widgets per focus change (the soak test saw hundreds a minute while keys
were pressed). This footer drops them before each rebuild, and skips a rebuild when the keys
it would show are the ones on display (most focus changes), since each new widget also leaves
its render cache in one of Textual's LRU caches for a while.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    _on_display: tuple[Any, ...] | None = None

    def _keys_for(self, screen: Screen[Any]) -> tuple[Any, ...]:
        """Everything ``compose`` draws from: the shown bindings, their state and display."""
        app = self.app
        shown = tuple(
            (
                binding.key,
                app.get_key_display(binding),
                binding.description,
                binding.action,
                binding.group,
                enabled,
                tooltip,
            )
            for (_, binding, enabled, tooltip) in screen.active_bindings.values()
            if binding.show
        )
        palette = screen.active_bindings.get(app.COMMAND_PALETTE_BINDING)
        return (
            shown,
            self.show_command_palette and app.ENABLE_COMMAND_PALETTE,
            None if palette is None else (palette.binding.key, palette.enabled),
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        if (
            self._bindings_ready
            and self.is_attached
            and screen is self.screen
            and self._keys_for(screen) == self._on_display
        ):
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        for bound in getattr(self, "__watchers", {}).values():
            bound[:] = [(node, callback) for node, callback in bound if not node._closing]
        self._on_display = self._keys_for(self.screen) if self._bindings_ready else None
        yield from super().compose()
