"""The footers: Textual's without its leak, and one that never cuts a key in the middle.

Textual (8.2.8) rebuilds the footer's keys whenever the focus or the bindings change, and
each new key binds itself to the footer's ``compact`` reactive. Textual drops the watchers of
removed keys only when ``compact`` changes, which it never does here: every rebuild kept its
keys alive, a dozen widgets per focus change (the soak test saw hundreds a minute while keys
were pressed). ``Footer`` drops them before each rebuild, and skips a rebuild when the keys
it would show are the ones on display (most focus changes), since each new widget also leaves
its render cache in one of Textual's LRU caches for a while.

Textual's footer also lays out every shown key and lets the terminal cut what does not fit (at
60 columns ``^p paletteq``, at 80 a lone ``?``). ``KeyFooter`` drops whole keys, least needed
first, so each key on screen has its label; ``?`` (help, which lists every key) always stays.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.screen import Screen
from textual.widgets import Footer as TextualFooter
from textual.widgets._footer import FooterKey

#: Binding ids dropped first when the width is short; any other shown key goes before these.
KEEP_LONGEST = ("help", "quit", "accept", "refresh", "reject", "filter", "pending", "mark")


class Footer(TextualFooter):
    """Textual's footer without the leak (see the module's docstring)."""

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

    def _forget_old_keys(self) -> None:
        """Drop the ``compact`` watchers of keys removed by earlier rebuilds."""
        for bound in getattr(self, "__watchers", {}).values():
            bound[:] = [(node, callback) for node, callback in bound if not node._closing]
        self._on_display = self._keys_for(self.screen) if self._bindings_ready else None

    def compose(self) -> ComposeResult:
        self._forget_old_keys()
        yield from super().compose()


class KeyFooter(Footer):
    """A compact footer that shows only the keys that fit whole."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._shown: tuple[str, ...] = ()

    def _fitting(self, width: int) -> list[tuple[Binding, bool, str]]:
        """One binding per action, in screen order, without those that do not fit."""
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show:
                by_action.setdefault(binding.action, (binding, enabled, tooltip))
        items = list(by_action.values())

        def cost(binding: Binding) -> int:
            label = self.app.get_key_display(binding)
            return cell_len(label) + 1 + cell_len(binding.description) + 1

        def keep_rank(binding: Binding) -> int:
            return KEEP_LONGEST.index(binding.id) if binding.id in KEEP_LONGEST else 99

        total = sum(cost(binding) for binding, _, _ in items)
        dropped: set[str] = set()
        for binding, _, _ in sorted(items, key=lambda item: -keep_rank(item[0])):
            if total <= width or binding.id == "help":
                continue
            dropped.add(binding.action)
            total -= cost(binding)
        return [item for item in items if item[0].action not in dropped]

    def compose(self) -> ComposeResult:
        self._forget_old_keys()
        if not self._bindings_ready:
            return
        width = self.size.width or self.app.size.width
        items = self._fitting(width)
        self._shown = tuple(binding.action for binding, _, _ in items)
        self.styles.grid_size_columns = len(items)
        for binding, enabled, tooltip in items:
            yield FooterKey(
                binding.key,
                self.app.get_key_display(binding),
                binding.description,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=TextualFooter.compact)

    def on_resize(self, event: Resize) -> None:
        if not self._bindings_ready:
            return
        fits = tuple(binding.action for binding, _, _ in self._fitting(event.size.width))
        if fits != self._shown:
            self.call_after_refresh(self.recompose)
