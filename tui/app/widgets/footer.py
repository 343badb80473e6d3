"""The footer: the screen's keys, never cut in the middle of one.

Textual's footer lays out every shown key and lets the terminal cut what does not fit (at 60
columns ``^p paletteq``, at 80 a lone ``?``). This one drops whole keys, least needed first, so
each key on screen has its label; ``?`` (help, which lists every key) always stays.
"""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

#: Binding ids dropped first when the width is short; any other shown key goes before these.
KEEP_LONGEST = ("help", "quit", "accept", "refresh", "reject", "filter", "pending", "mark")


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
            ).data_bind(compact=Footer.compact)

    def on_resize(self, event: Resize) -> None:
        if not self._bindings_ready:
            return
        fits = tuple(binding.action for binding, _, _ in self._fitting(event.size.width))
        if fits != self._shown:
            self.call_after_refresh(self.recompose)
