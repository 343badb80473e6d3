"""Where the demo cloud's services listen (one port per region's image API)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Endpoints:
    """Where the services listen; shared by every :class:`App` of one cloud.

    ``identity`` is the main port's base URL (Keystone is at ``{identity}/identity``);
    ``image`` maps each region to its version-less image endpoint.  ``DemoCloud.start``
    fills it in after binding every port and before serving, so catalogs and
    ``WWW-Authenticate`` headers always name the real ports.
    """

    identity: str = ""
    image: dict[str, str] = field(default_factory=dict)
