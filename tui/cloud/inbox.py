"""Everything shared with the user, in every project (and region) it may use: one inbox.

Shares land per project, and on Open Telekom Cloud per region. From one identity the inbox
lists the user's projects (Keystone ``GET /v3/auth/projects``), gets each a project-scoped token
by re-scoping the one it holds (no password asked; where the cloud refuses, the password held in
memory), learns each project's regions and image endpoints from that token's own catalog, and
lists every scope concurrently within the shared request limits. A project that fails is one
failure among the others' rows, never a reason to hide them; a project without an image
endpoint in the wanted regions (OTC's ``MOS``) is skipped quietly and said to be.

Decisions go to the scope of each row: ``PUT /v2/images/{id}/members/{that project's id}``
with that project's token.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from tui.cloud.auth import NoImageEndpoint
from tui.cloud.errors import ApiError
from tui.cloud.models import ALL_STATUSES, MemberStatus, SharedImage, Token
from tui.cloud.session import PAGE_LIMIT, CloudSession


@dataclass(frozen=True, slots=True)
class Project:
    """A project of the user, as Keystone lists it."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Scope:
    """One project in one region: where shares land, with the session that reaches it."""

    project: Project
    region: str
    session: CloudSession = field(compare=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.project.id}@{self.region}"

    @property
    def label(self) -> str:
        return f"{self.project.name} ({self.region})" if self.region else self.project.name


@dataclass(frozen=True, slots=True)
class Unreached:
    """A project (in a region, when known) the inbox does not list, and why.

    ``skipped`` is quiet (no image endpoint in the wanted regions); otherwise it failed.
    """

    project: Project
    region: str
    reason: str
    error: ApiError | None = None
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class ScopePage:
    scope: Scope
    status: MemberStatus
    images: list[SharedImage]


@dataclass(frozen=True, slots=True)
class ScopeFailed:
    """A scope whose listing failed; what it sent before is not to be trusted as complete."""

    scope: Scope
    error: ApiError


@dataclass(frozen=True, slots=True)
class ScopeDone:
    scope: Scope


InboxEvent = ScopePage | ScopeFailed | ScopeDone


@dataclass(slots=True)
class InboxListing:
    """A whole listing: rows of every scope that answered, and every project that did not."""

    scopes: list[Scope]
    images: list[SharedImage]
    unreached: list[Unreached]

    @property
    def failed(self) -> list[Unreached]:
        return [u for u in self.unreached if not u.skipped]

    @property
    def skipped(self) -> list[Unreached]:
        return [u for u in self.unreached if u.skipped]


def project_regions(project: Project, token: Token, wanted: Sequence[str]) -> list[str]:
    """The regions in which ``project`` receives shares, from its own token's catalog.

    On OTC a project belongs to one region and is named after it (``eu-de`` or
    ``eu-de_name``); elsewhere a project can be reached in every region of its catalog.
    ``wanted`` (``--region``) narrows the result; empty means every region.
    """
    catalog = [region for region, _url in token.image_endpoints]
    named = [r for r in catalog if r and (project.name == r or project.name.startswith(r + "_"))]
    regions = named[:1] or catalog
    if wanted:
        regions = [r for r in regions if r in wanted]
    return regions


class Inbox:
    """The user's projects and regions, listed and decided on as one."""

    def __init__(self, base: CloudSession, *, regions: Sequence[str] = ()) -> None:
        self.base = base
        self.regions = [r for r in regions if r]
        self.scopes: list[Scope] = []
        self.unreached: list[Unreached] = []
        #: Every project Keystone listed for the user (``discover``), logged in to or not.
        self.projects: list[Project] = []
        self._by_key: dict[str, Scope] = {}

    async def aclose(self) -> None:
        """The scopes share the base session's connections; closing the base closes them."""
        for scope in self.scopes:
            await scope.session.aclose()

    # ----------------------------------------------------------------- scope

    async def discover(self, only: Callable[[Project], bool] | None = None) -> list[Scope]:
        """Find every scope: projects from Keystone, regions from each project's catalog.

        ``only`` limits the logins to the projects it accepts (a command about one project
        need not log in to fifty); ``projects`` still holds every project Keystone listed.
        """
        listed = await self.base.list_projects()
        self.projects = [Project(project_id, name) for project_id, name in listed]
        projects = [project for project in self.projects if only is None or only(project)]
        found = await asyncio.gather(*(self._scopes_of(project) for project in projects))
        self.scopes, self.unreached = [], []
        for scopes, unreached in found:
            self.scopes.extend(scopes)
            self.unreached.extend(unreached)
        self._by_key = {scope.key: scope for scope in self.scopes}
        return self.scopes

    async def _scopes_of(self, project: Project) -> tuple[list[Scope], list[Unreached]]:
        probe = self.base.for_project(project.id, region="", share_client=True)
        try:
            token = await probe.token()
        except NoImageEndpoint:
            return [], [self._skip(project, "no image service in its catalog")]
        except ApiError as error:
            return [], [Unreached(project, "", f"cannot log in: {error.reason}", error)]
        regions = project_regions(project, token, self.regions)
        if not regions:
            wanted = ", ".join(self.regions) or "any region"
            return [], [self._skip(project, f"no image endpoint in {wanted}")]
        scopes = []
        endpoints = dict(token.image_endpoints)
        # Keystone's listing is of this run; a cached token keeps the name the project had
        # when it was issued (up to a day ago): rows and messages use the name of today.
        named = Project(project.id, project.name or token.project_name)
        token = replace(token, project_name=named.name)
        for region in regions:
            session = self.base.for_project(project.id, region=region, share_client=True)
            # The probe's token serves every region of the project: no second login.
            session.adopt_token(token, region=region, image_endpoint=endpoints[region])
            scopes.append(Scope(named, region, session))
        return scopes, []

    @staticmethod
    def _skip(project: Project, reason: str) -> Unreached:
        return Unreached(project, "", reason, skipped=True)

    def scope_of(self, image: SharedImage) -> Scope | None:
        """The scope a row was listed in (where a decision on it must go)."""
        return self._by_key.get(f"{image.member_id}@{image.region}")

    def find_project(self, name_or_id: str) -> list[Scope]:
        """Scopes of the project named or numbered ``name_or_id`` (one per region)."""
        return [
            scope for scope in self.scopes if name_or_id in (scope.project.id, scope.project.name)
        ]

    # --------------------------------------------------------------- listing

    async def iter_events(
        self,
        statuses: Iterable[MemberStatus] = ALL_STATUSES,
        *,
        first_page_limit: int | None = None,
    ) -> AsyncIterator[InboxEvent]:
        """Pages of every scope as they arrive; a failing scope is an event, not an end."""
        queue: asyncio.Queue[InboxEvent] = asyncio.Queue()
        wanted = list(dict.fromkeys(statuses))

        async def pump(scope: Scope) -> None:
            try:
                async for status, page in scope.session.iter_shared_pages(
                    wanted, first_page_limit=first_page_limit
                ):
                    await queue.put(ScopePage(scope, status, page))
            except ApiError as error:
                await queue.put(ScopeFailed(scope, error))
            else:
                await queue.put(ScopeDone(scope))

        tasks = [asyncio.create_task(pump(scope)) for scope in self.scopes]
        try:
            for _ in range(len(tasks)):
                while True:
                    event = await queue.get()
                    yield event
                    if not isinstance(event, ScopePage):
                        break
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def list_all(self, statuses: Iterable[MemberStatus] = ALL_STATUSES) -> InboxListing:
        """Every share of every scope; scopes that failed are named, their rows left out."""
        if not self.scopes and not self.unreached:
            await self.discover()
        rows: dict[str, dict[str, SharedImage]] = {}
        failed: list[Unreached] = []
        async for event in self.iter_events(statuses, first_page_limit=PAGE_LIMIT):
            if isinstance(event, ScopePage):
                found = rows.setdefault(event.scope.key, {})
                found.update((image.id, image) for image in event.images)
            elif isinstance(event, ScopeFailed):
                rows.pop(event.scope.key, None)  # a partial scope is not shown as complete
                scope = event.scope
                failed.append(
                    Unreached(scope.project, scope.region, event.error.reason, event.error)
                )
        images = [image for scope_rows in rows.values() for image in scope_rows.values()]
        return InboxListing(list(self.scopes), images, [*self.unreached, *failed])
