"""Python's cyclic garbage collector, kept away from keystrokes.

A full collection walks every object the collector tracks. With 10,000 shares loaded that took
50-150 ms on a 2-core machine, and it ran on whichever keystroke happened to cross the
collector's threshold: it was most of the p95 of a cursor move or a filter key.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect now, then freeze what survives.

    Called once a listing has been drawn, a moment the user waited for anyway: the shares and
    the screens live until the next listing, and frozen, the collections that keystrokes
    trigger skip them. Frozen objects are still freed by reference counting as usual; a
    reference cycle that became garbage while frozen (a dialog closed since) is found at the
    next call, which unfreezes first.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
