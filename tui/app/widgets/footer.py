"""Textual's ``Footer`` without its leak (Textual 8.2.8).

The footer rebuilds its keys whenever the focus or the bindings change, and each new key binds
itself to the footer's ``compact`` reactive. Textual drops the watchers of removed keys only
when ``compact`` changes, which it never does here: every rebuild kept its keys alive, a dozen
widgets per focus change (the soak test saw hundreds a minute while keys were pressed). This
footer drops them before each rebuild.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer as TextualFooter


class Footer(TextualFooter):
    def compose(self) -> ComposeResult:
        for bound in getattr(self, "__watchers", {}).values():
            bound[:] = [(node, callback) for node, callback in bound if not node._closing]
        yield from super().compose()
