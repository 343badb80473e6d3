"""The projects and regions a command works in: the inbox opened for it, and their names.

Commands that reach beyond the current project (``--all-projects``, ``--project``) and the
one check a plain decision makes when the current project does not have an image (is it
shared with another project of the user?) share these. Project names come from Keystone, so
every label passes the one sanitiser before it is printed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from tui.cloud.errors import ApiError
from tui.cloud.inbox import Inbox, Project, Scope, Unreached
from tui.cloud.session import CloudSession
from tui.formatting import safe_text


def label(name: str, region: str) -> str:
    """``eu-de_demo (eu-de)``: a project as the CLI names it, safe for the terminal."""
    name = safe_text(name) or "?"
    return f"{name} ({safe_text(region)})" if region else name


def scope_label(scope: Scope) -> str:
    return label(scope.project.name, scope.region)


def unreached_label(unreached: Unreached) -> str:
    return label(unreached.project.name, unreached.region)


def distinct_labels(scopes: Sequence[Scope]) -> dict[str, str]:
    """Each scope's label, by ``scope.key``; two projects of the same name (and region) are
    told apart by their ids, so a line never names a project ambiguously."""
    unique = list({scope.key: scope for scope in scopes}.values())
    counts = Counter(scope_label(scope) for scope in unique)
    labels: dict[str, str] = {}
    for scope in unique:
        text = scope_label(scope)
        if counts[text] > 1:
            text = f"{text} id {safe_text(scope.project.id)}"
        labels[scope.key] = text
    return labels


def project_names(projects: Iterable[Project]) -> str:
    """The user's projects, by name, for a message that must say which ones exist."""
    names = sorted({safe_text(project.name) or safe_text(project.id) for project in projects})
    return ", ".join(names) if names else "(none)"


async def open_inbox(
    session: CloudSession,
    regions: Sequence[str],
    *,
    only: Callable[[Project], bool] | None = None,
) -> Inbox:
    """The user's scopes in ``regions`` (empty: all), from the session's identity: one
    password login at most, every other project by re-scoping that token."""
    await session.token()  # one login (or prompt) before the others re-scope from it
    inbox = Inbox(session, regions=regions)
    await inbox.discover(only=only)
    return inbox


async def shared_with(scopes: Sequence[Scope], image_ids: Sequence[str]) -> dict[str, list[Scope]]:
    """Which of ``scopes`` each image is shared with (its member record answers there).

    A scope that cannot tell (an error other than 404) counts as not shared: this is a
    hint for a message, never a reason to decide anywhere.
    """
    found: dict[str, list[Scope]] = {image_id: [] for image_id in image_ids}

    async def probe(scope: Scope, image_id: str) -> tuple[str, Scope, bool]:
        try:
            await scope.session.get_member(image_id)
        except ApiError:
            return image_id, scope, False
        return image_id, scope, True

    answers = await asyncio.gather(
        *(probe(scope, image_id) for image_id in image_ids for scope in scopes)
    )
    for image_id, scope, shared in answers:
        if shared:
            found[image_id].append(scope)
    return found
