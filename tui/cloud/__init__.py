"""The API layer: IAM tokens, the token cache and IMS image sharing. Never imports Textual.

The names below are loaded on first use (PEP 562), not when the package is: importing
``tui.cloud.models`` must not import httpx and asyncio through ``tui.cloud.session``, or
`imshare --version`, `--help` and `locate` (which never talk to a cloud) would pay for both.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.cloud.errors import ApiError
    from tui.cloud.http import RetryPolicy
    from tui.cloud.models import (
        ALL_STATUSES,
        Decision,
        Member,
        MemberStatus,
        SharedImage,
        Token,
    )
    from tui.cloud.session import CloudSession, PasswordRequired
    from tui.cloud.token_cache import TokenCache

_HOMES = {
    "ALL_STATUSES": "tui.cloud.models",
    "ApiError": "tui.cloud.errors",
    "CloudSession": "tui.cloud.session",
    "Decision": "tui.cloud.models",
    "Member": "tui.cloud.models",
    "MemberStatus": "tui.cloud.models",
    "PasswordRequired": "tui.cloud.session",
    "RetryPolicy": "tui.cloud.http",
    "SharedImage": "tui.cloud.models",
    "Token": "tui.cloud.models",
    "TokenCache": "tui.cloud.token_cache",
}

__all__ = [
    "ALL_STATUSES",
    "ApiError",
    "CloudSession",
    "Decision",
    "Member",
    "MemberStatus",
    "PasswordRequired",
    "RetryPolicy",
    "SharedImage",
    "Token",
    "TokenCache",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
