"""imshare's commands in the command palette (``ctrl+p``), each with its key.

Built from the active bindings of the screen the palette was opened on — the same source as
the footer and the help screen — so the palette offers exactly what the keys do there (no
decision commands in read-only mode), under the keys the user's key map gives them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode


def _commands(provider: Provider) -> list[tuple[str, str, Callable[[], object]]]:
    """``(title, help, run)`` for every action of the screen, its keys in the title."""
    app = provider.app
    seen: dict[tuple[int, str], tuple[Binding, DOMNode, list[str]]] = {}
    for namespace, binding, enabled, _tooltip in provider.screen.active_bindings.values():
        if binding.system or not enabled or not binding.description:
            continue
        keys = seen.setdefault((id(namespace), binding.action), (binding, namespace, []))[2]
        shown = app.get_key_display(binding)
        if shown not in keys:
            keys.append(shown)
    commands = []
    for binding, namespace, keys in seen.values():
        title = f"{binding.description}  ({' / '.join(keys)})"
        run = partial(app.run_action, binding.action, namespace)
        commands.append((title, binding.tooltip or binding.description, run))
    return commands


class ImshareCommands(Provider):
    """Accept, reject, views, sorts, filter, refresh, switch project, log… with their keys."""

    async def discover(self) -> Hits:
        for title, help_text, run in _commands(self):
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in _commands(self):
            score = max(matcher.match(title), matcher.match(help_text))
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, text=title, help=help_text)
