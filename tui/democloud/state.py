"""The demo cloud's thread-safe store and its Glance listing engine.

One ``threading.RLock`` guards every mutation; readers take it briefly to fetch
immutable snapshots (lists of ranks), then build responses outside the lock.

Listings are the hot path (a benchmark pages through 50,000 images), so:

* each sort order is computed once per *image set* (not per request) as a global rank;
* each (caller, visibility, member status, filters, sort) view is a list of ranks,
  cached until the next membership or image change;
* a page is a bisect on that list, and its body is a join of pre-serialised bytes.

A ``marker`` is located by its global rank, so paging keeps working when the marker
itself drops out of the view between pages (upstream Glance compares sort values the
same way).
"""

from __future__ import annotations

import bisect
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from .records import MEMBER_STATUSES, Domain, Image, Member, Project, User
from .seed import SeedData

VISIBILITIES = ("public", "private", "shared", "community", "all")
MEMBER_STATUS_FILTERS = (*MEMBER_STATUSES, "all")
SORT_KEYS = (
    "name",
    "status",
    "container_format",
    "disk_format",
    "size",
    "id",
    "created_at",
    "updated_at",
    "min_disk",
    "min_ram",
    "visibility",
    "owner",
    "virtual_size",
)
DEFAULT_LIMIT = 25
MAX_LIMIT = 1000  # Glance's api_limit_max
RESERVED_PARAMS = frozenset(
    {"limit", "marker", "sort_key", "sort_dir", "sort", "member_status", "visibility", "tag"}
)
_TIME_OPS = ("gte", "gt", "lte", "lt", "eq", "neq")


class ListError(Exception):
    """A 400 from the listing API; ``str(self)`` is Glance's explanation."""


@dataclass(slots=True)
class Token:
    """An issued Keystone token."""

    id: str
    user: User
    project: Project | None
    methods: list[str]
    issued_at: float
    expires_at: float
    audit_ids: list[str]
    domain: Domain | None = None  # set for domain-scoped tokens


@dataclass(frozen=True, slots=True)
class ListQuery:
    """A parsed ``GET /v2/images`` request (hashable: it keys the view cache)."""

    project_id: str
    visibility: str | None
    member_status: str
    sort: tuple[tuple[str, bool], ...]  # (key, descending)
    filters: tuple[tuple[str, str], ...]
    tags: tuple[str, ...]


@dataclass(slots=True)
class Page:
    """One page of a listing."""

    images: list[Image]
    next_marker: str | None


@dataclass(slots=True)
class Job:
    """An OTC asynchronous job (batch member update)."""

    id: str
    project_id: str
    job_type: str
    begin_time: float
    end_time: float | None = None
    status: str = "INIT"
    error_code: str | None = None
    fail_reason: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)


def _sort_value(img: Image, key: str) -> tuple[int, Any]:
    """A comparable value; ``None`` sorts first ascending, as in MySQL."""
    if key == "name":
        value: Any = img.name
    elif key == "id":
        value = img.id
    elif key == "created_at":
        value = img.created_at
    elif key == "owner":
        value = img.owner
    elif key == "visibility":
        value = img.visibility
    elif key == "status":
        value = img.status
    else:
        value = img.doc.get(key)
    return (0, 0) if value is None else (1, value)


@dataclass(frozen=True, slots=True)
class ProjectFailure:
    """A project whose every image request fails (``DemoCloud.fail_project``)."""

    status: int
    message: str | None = None


class CloudState:
    """Projects, users, tokens, images, members and jobs, behind one lock.

    Images and projects belong to a region.  With one region (the default) nothing here
    looks at regions, so the single-region hot path is unchanged; with several, a project
    only sees its own region's images, as on OTC where images are regional resources.
    """

    def __init__(self, data: SeedData, token_ttl_seconds: float = 86400.0) -> None:
        self.lock = threading.RLock()
        self.seed = data
        self.token_ttl = float(token_ttl_seconds)
        self.regions: tuple[str, ...] = tuple(data.regions)
        self.multi_region = len(self.regions) > 1
        self.failed_projects: dict[str, ProjectFailure] = {}
        #: Member statuses whose image listings fail (``DemoCloud.fail_listing``).
        self.failed_listings: dict[str, ProjectFailure] = {}
        self.projects: dict[str, Project] = {p.id: p for p in data.projects}
        self.users: list[User] = list(data.users)
        self.images: dict[str, Image] = {i.id: i for i in data.images}
        self.members: dict[str, dict[str, Member]] = {k: dict(v) for k, v in data.members.items()}
        self.tokens: dict[str, Token] = {}
        self.jobs: dict[str, Job] = {}
        self.vault_ids: frozenset[str] = frozenset(data.vault_ids)
        self._orders: dict[tuple[tuple[str, bool], ...], tuple[dict[str, int], list[Image]]] = {}
        self._views: dict[ListQuery, list[int]] = {}

    # ------------------------------------------------------------------ identity

    def find_user(
        self,
        *,
        user_id: str | None = None,
        name: str | None = None,
        domain_id: str | None = None,
        domain_name: str | None = None,
    ) -> User | None:
        """Look a user up by id, or by name within a domain given by id or name."""
        for user in self.users:
            if user_id is not None:
                if user.id == user_id:
                    return user
                continue
            if user.name != name:
                continue
            if domain_id is not None and user.domain.id == domain_id:
                return user
            if domain_name is not None and user.domain.name == domain_name:
                return user
        return None

    def find_project(
        self,
        *,
        project_id: str | None = None,
        name: str | None = None,
        domain_id: str | None = None,
        domain_name: str | None = None,
    ) -> Project | None:
        """Look a project up by id, or by name within a domain given by id or name."""
        if project_id is not None:
            return self.projects.get(project_id)
        for proj in self.projects.values():
            if proj.name == name and (
                proj.domain.id == domain_id or proj.domain.name == domain_name
            ):
                return proj
        return None

    def lookup_project(self, name_or_id: str) -> Project | None:
        """A project by id, else by name (names are unique enough in the demo world)."""
        project = self.projects.get(name_or_id)
        if project is not None:
            return project
        return next((p for p in self.projects.values() if p.name == name_or_id), None)

    def region_of(self, project_id: str) -> str | None:
        """The region a project lives in (None for an unknown project id)."""
        project = self.projects.get(project_id)
        return None if project is None else project.region

    def issue_token(
        self,
        user: User,
        project: Project | None,
        methods: list[str],
        domain: Domain | None = None,
        *,
        expires_at: float | None = None,
        parent_audit_id: str | None = None,
    ) -> Token:
        """Create a token; the id looks like a Fernet token (long, URL-safe).

        A re-scoped token passes the original's ``expires_at`` and the audit chain id
        (Keystone's ``token_authenticate``): re-scoping must not extend a token's life, and
        ``audit_ids`` becomes ``[own audit id, chain id]``.
        """
        now = time.time()
        audit_ids = [secrets.token_urlsafe(16)[:22]]
        if parent_audit_id is not None:
            audit_ids.append(parent_audit_id)
        token = Token(
            id="gAAAAA" + secrets.token_urlsafe(150),
            user=user,
            project=project,
            methods=methods,
            issued_at=now,
            expires_at=now + self.token_ttl if expires_at is None else expires_at,
            audit_ids=audit_ids,
            domain=domain,
        )
        with self.lock:
            self.tokens[token.id] = token
        return token

    def validate_token(self, token_id: str | None) -> Token | None:
        """The token if it exists and has not expired; expired tokens are forgotten."""
        if not token_id:
            return None
        token = self.tokens.get(token_id)
        if token is None:
            return None
        if token.expires_at <= time.time():
            with self.lock:
                self.tokens.pop(token_id, None)
            return None
        return token

    def revoke_tokens(self, project_ids: Collection[str] | None = None) -> int:
        """Invalidate issued tokens (all, or those scoped to ``project_ids``); returns the count."""
        with self.lock:
            if project_ids is None:
                count = len(self.tokens)
                self.tokens.clear()
                return count
            doomed = [
                t.id
                for t in self.tokens.values()
                if t.project is not None and t.project.id in project_ids
            ]
            for token_id in doomed:
                del self.tokens[token_id]
        return len(doomed)

    # ------------------------------------------------------------------ project failures

    def fail_project(self, project_id: str, failure: ProjectFailure) -> None:
        """Make every image request scoped to ``project_id`` answer ``failure``."""
        with self.lock:
            self.failed_projects[project_id] = failure

    def heal_project(self, project_id: str) -> bool:
        """Undo :meth:`fail_project`; False if the project was not failing."""
        with self.lock:
            return self.failed_projects.pop(project_id, None) is not None

    def project_failure(self, project_id: str) -> ProjectFailure | None:
        """The configured failure for a project, if any (lock-free read)."""
        return self.failed_projects.get(project_id) if self.failed_projects else None

    # ------------------------------------------------------------------ images

    def _bump(self, images: bool = False) -> None:
        """Invalidate cached views (and sort orders when the image set changed)."""
        self._views = {}
        if images:
            self._orders = {}

    def image_visible(self, img: Image, project_id: str) -> bool:
        """Upstream visibility for a single image (GET by id): members see any status.

        With several regions, only images of the caller's project's region exist for it.
        """
        if self.multi_region and img.region != self.region_of(project_id):
            return False
        if img.owner == project_id or img.visibility in ("public", "community"):
            return True
        return img.visibility == "shared" and project_id in self.members.get(img.id, {})

    def get_image(self, image_id: str, project_id: str) -> Image | None:
        """The image if it exists and ``project_id`` may see it."""
        img = self.images.get(image_id)
        if img is None or not self.image_visible(img, project_id):
            return None
        return img

    def add_image(self, img: Image, members: Iterable[Member] = ()) -> None:
        """Add an image (tests use this to create owner-side changes)."""
        with self.lock:
            self.images[img.id] = img
            self.members[img.id] = {m.member_id: m for m in members}
            self._bump(images=True)

    def delete_image(self, image_id: str) -> bool:
        """Delete an image and its memberships; False if it did not exist."""
        with self.lock:
            found = self.images.pop(image_id, None) is not None
            self.members.pop(image_id, None)
            if found:
                self._bump(images=True)
        return found

    # ------------------------------------------------------------------ members

    def get_member(self, image_id: str, member_id: str) -> Member | None:
        """The membership record, if any."""
        return self.members.get(image_id, {}).get(member_id)

    def members_of(self, image_id: str) -> list[Member]:
        """All memberships of an image, oldest first."""
        return sorted(self.members.get(image_id, {}).values(), key=lambda m: m.created_at)

    def add_member(self, image_id: str, member_id: str) -> Member | None:
        """Share an image; None if ``member_id`` already is a member."""
        with self.lock:
            table = self.members.setdefault(image_id, {})
            if member_id in table:
                return None
            now = time.time()
            member = table[member_id] = Member(image_id, member_id, "pending", now, now)
            self._bump()
        return member

    def remove_member(self, image_id: str, member_id: str) -> bool:
        """Stop sharing an image with a project."""
        with self.lock:
            found = self.members.get(image_id, {}).pop(member_id, None) is not None
            if found:
                self._bump()
        return found

    def set_member_status(self, image_id: str, member_id: str, status: str) -> Member | None:
        """Record a decision; ``updated_at`` moves even if the status is unchanged."""
        with self.lock:
            member = self.members.get(image_id, {}).get(member_id)
            if member is None:
                return None
            member.status = status
            member.updated_at = time.time()
            self._bump()
        return member

    # ------------------------------------------------------------------ listing

    def parse_list_query(
        self, project_id: str, params: list[tuple[str, str]]
    ) -> tuple[ListQuery, int, str | None]:
        """Validate ``GET /v2/images`` parameters the way Glance does.

        Returns the query, the clamped limit and the marker; raises :class:`ListError`
        with upstream's explanation on bad input.
        """
        single: dict[str, str] = {}
        sort_keys: list[str] = []
        sort_dirs: list[str] = []
        tags: list[str] = []
        for key, value in params:
            if key == "sort_key":
                sort_keys.append(value)
            elif key == "sort_dir":
                sort_dirs.append(value)
            elif key == "tag":
                tags.append(value.strip())
            else:
                single[key] = value
        limit = DEFAULT_LIMIT
        if "limit" in single:
            try:
                limit = int(single["limit"])
            except ValueError:
                raise ListError("limit param must be an integer") from None
            if limit < 0:
                raise ListError("limit param must be positive")
            limit = min(limit, MAX_LIMIT)
        member_status = single.get("member_status", "accepted")
        if member_status not in MEMBER_STATUS_FILTERS:
            raise ListError(f"Invalid status: {member_status}")
        visibility = single.get("visibility") or None
        if visibility is not None and visibility not in VISIBILITIES:
            raise ListError(f"Invalid visibility value: {visibility}")
        sort = self._parse_sort(single.get("sort"), sort_keys, sort_dirs)
        filters = tuple(sorted((k, v) for k, v in single.items() if k not in RESERVED_PARAMS))
        for key, value in filters:
            if key in ("created_at", "updated_at"):
                op, _, stamp = value.partition(":")
                if op not in _TIME_OPS or not stamp:
                    raise ListError(
                        f"Unable to filter on a range with a nonstandard value: {value}"
                    )
        query = ListQuery(project_id, visibility, member_status, sort, filters, tuple(tags))
        return query, limit, single.get("marker")

    @staticmethod
    def _parse_sort(
        sort: str | None, keys: list[str], dirs: list[str]
    ) -> tuple[tuple[str, bool], ...]:
        if sort is not None and (keys or dirs):
            raise ListError(
                "The 'sort_key' and 'sort_dir' parameters are deprecated and cannot be "
                "used with the 'sort' parameter."
            )
        pairs: list[tuple[str, str]] = []
        if sort is not None:
            for part in sort.split(","):
                key, _, direction = part.strip().partition(":")
                pairs.append((key.strip(), direction.strip() or "desc"))
        else:
            if len(dirs) > max(len(keys), 1):
                raise ListError("Number of sort dirs does not match the number of sort keys")
            keys = keys or ["created_at"]
            for i, key in enumerate(keys):
                direction = dirs[i] if i < len(dirs) else (dirs[0] if len(dirs) == 1 else "desc")
                pairs.append((key, direction))
        out: list[tuple[str, bool]] = []
        for key, direction in pairs:
            if key not in SORT_KEYS:
                raise ListError(
                    f"Invalid sort key: {key}. It should be one of the following: "
                    + ", ".join(SORT_KEYS)
                    + "."
                )
            if direction not in ("asc", "desc"):
                raise ListError(f"Invalid sort direction: {direction}")
            out.append((key, direction == "desc"))
        default_desc = out[0][1] if out else True
        for tiebreak in ("created_at", "id"):
            if all(k != tiebreak for k, _ in out):
                out.append((tiebreak, default_desc))
        return tuple(out)

    def _order(self, sort: tuple[tuple[str, bool], ...]) -> tuple[dict[str, int], list[Image]]:
        """All images in ``sort`` order and each id's rank (cached per image set)."""
        cached = self._orders.get(sort)
        if cached is not None:
            return cached
        ordered = list(self.images.values())
        for key, desc in reversed(sort):  # stable multi-key sort, least significant first
            if key == "created_at":
                ordered.sort(key=lambda i: i.created_at, reverse=desc)
            elif key == "id":
                ordered.sort(key=lambda i: i.id, reverse=desc)
            else:
                ordered.sort(key=lambda i, k=key: _sort_value(i, k), reverse=desc)  # type: ignore[misc]
        ranks = {img.id: n for n, img in enumerate(ordered)}
        self._orders[sort] = (ranks, ordered)
        return ranks, ordered

    def _predicate(self, q: ListQuery) -> Callable[[Image], bool]:
        """The row filter for a query, following upstream ``_select_images_query``."""
        pid = q.project_id
        members = self.members
        want = q.member_status

        def member_ok(img: Image) -> bool:
            if img.visibility != "shared":
                return False
            m = members.get(img.id)
            if m is None:
                return False
            rec = m.get(pid)
            return rec is not None and (want == "all" or rec.status == want)

        vis = q.visibility
        if vis is None:
            base: Callable[[Image], bool] = lambda i: (  # noqa: E731
                i.visibility == "public" or i.owner == pid or member_ok(i)
            )
        elif vis == "public":
            base = lambda i: i.visibility == "public"  # noqa: E731
        elif vis == "community":
            base = lambda i: i.visibility == "community"  # noqa: E731
        elif vis == "private":
            base = lambda i: i.visibility == "private" and i.owner == pid  # noqa: E731
        elif vis == "shared":
            base = lambda i: (i.owner == pid and i.visibility == "shared") or member_ok(i)  # noqa: E731
        else:  # all
            base = lambda i: (  # noqa: E731
                i.visibility in ("public", "community") or i.owner == pid or member_ok(i)
            )
        checks = [_filter_check(k, v) for k, v in q.filters]
        if self.multi_region:
            region = self.region_of(pid)
            checks.insert(0, lambda i: i.region == region)
        if q.tags:
            wanted = set(q.tags)
            checks.append(lambda i: wanted.issubset(i.doc.get("tags") or ()))
        if not checks:
            return base
        return lambda i: base(i) and all(c(i) for c in checks)

    def list_page(self, q: ListQuery, limit: int, marker: str | None) -> Page:
        """One page of ``q``; raises :class:`ListError` for an unknown marker."""
        with self.lock:
            ranks, ordered = self._order(q.sort)
            view = self._views.get(q)
            if view is None:
                keep = self._predicate(q)
                view = [n for n, img in enumerate(ordered) if keep(img)]
                if len(self._views) > 256:
                    self._views = {}
                self._views[q] = view
            start = 0
            if marker is not None:
                img = self.images.get(marker)
                if img is None or not self.image_visible(img, q.project_id):
                    raise ListError(f"No image found with ID {marker}")
                start = bisect.bisect_right(view, ranks[marker])
            chosen = view[start : start + limit]
            page = [ordered[n] for n in chosen]
        more = start + limit < len(view)
        return Page(page, page[-1].id if (more and page) else None)


def _filter_check(key: str, value: str) -> Callable[[Image], bool]:
    """An exact-match (or time-range) filter on one image field, as Glance applies it."""
    if key == "name":
        return lambda i: i.name == value
    if key == "owner":
        return lambda i: i.owner == value
    if key == "status":
        return lambda i: i.status == value
    if key == "id":
        return lambda i: i.id == value
    if key in ("created_at", "updated_at"):
        op, _, stamp = value.partition(":")
        stamp = stamp.replace(" ", "T")
        if not stamp.endswith("Z"):
            stamp += "Z"
        ops: dict[str, Callable[[str], bool]] = {
            "gt": lambda s: s > stamp,
            "gte": lambda s: s >= stamp,
            "lt": lambda s: s < stamp,
            "lte": lambda s: s <= stamp,
            "eq": lambda s: s == stamp,
            "neq": lambda s: s != stamp,
        }
        cmp = ops[op]
        return lambda i: cmp(str(i.doc.get(key, "")))

    def check(img: Image) -> bool:
        actual = img.doc.get(key)
        if isinstance(actual, bool):
            return str(actual).lower() == value.lower()
        return actual is not None and str(actual) == value

    return check
