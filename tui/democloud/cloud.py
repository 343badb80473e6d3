"""``DemoCloud``: the in-process handle tests, benchmarks and ``imshare --demo`` use.

It seeds the data when constructed (so helpers like :meth:`DemoCloud.shared_image_ids`
work before :meth:`start`), serves on daemon threads (Keystone and the first region's
image API on the main port, every further region's image API on a port of its own), and
offers owner-side levers (revoke tokens, delete or unshare an image, switch faults, fail
a project) that tests pull between a client's listing and its decision.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any, NamedTuple

from . import seed as seedmod
from .endpoints import Endpoints
from .faults import FaultInjector, Faults
from .glance import FOREIGN_REGION_ERRORS
from .records import Image, Member, Project, User
from .seed import DEFAULT_PROJECTS, REGION
from .server import App, DemoStats, LogSink, _Server, make_server
from .state import CloudState, ProjectFailure


def _log_sink(log: LogSink | IO[str] | None) -> LogSink | None:
    """Accept a callable or a text file for the per-request log line."""
    if log is None or callable(log):
        return log
    stream = log
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:
            stream.write(line + "\n")
            stream.flush()

    return write


class UserProject(NamedTuple):
    """One of the demo user's projects, as :meth:`DemoCloud.user_projects` lists them."""

    id: str
    name: str
    region: str


class DemoCloud:
    """A Keystone v3 + Glance v2 image-sharing cloud on loopback.

    ``images`` images are shared with the demo user's projects (see
    :mod:`tui.democloud.seed`).  ``projects`` is how many projects the demo user has
    (default 2: ``eu-de_demo`` and ``eu-de_demo_staging``, today's world), spread
    round-robin over ``regions`` (default ``("eu-de",)``); project 0 is always
    ``<first region>_demo`` and is what :attr:`credentials` and every helper default to.
    Each region's image API listens on its own port: the first region's at
    ``{base_url}/image`` on the main port, the others on further ports (``port + i`` when
    ``port`` is given, else free ones); see :meth:`image_url_for`.

    ``port=0`` picks a free port.  ``log`` (callable or text file) receives one
    ``METHOD PATH STATUS MS`` line per request (plus the region on further regions'
    ports); it never sees tokens or bodies.  ``batch_api=False`` drops OTC's v1 batch
    member API and jobs (404, like plain Glance).  ``foreign_region_error`` is how a
    region's image API answers a token of another region's project: ``"unauthorized"``
    (401, default) or ``"IMG.0108"`` (400); see the README for why.
    """

    def __init__(
        self,
        images: int = 300,
        seed: int = 1,
        latency_ms: float = 0,
        token_ttl_seconds: float = 86400,
        host: str = "127.0.0.1",
        port: int = 0,
        log: LogSink | IO[str] | None = None,
        faults: Faults | None = None,
        batch_api: bool = True,
        projects: int = DEFAULT_PROJECTS,
        regions: Sequence[str] = (REGION,),
        foreign_region_error: str = "unauthorized",
    ) -> None:
        if foreign_region_error not in FOREIGN_REGION_ERRORS:
            raise ValueError(
                f"foreign_region_error must be one of {', '.join(FOREIGN_REGION_ERRORS)}"
            )
        self.host = host
        self.batch_api = batch_api
        self.port = port
        self.latency_ms = latency_ms
        self.foreign_region_error = foreign_region_error
        self._log = _log_sink(log)
        self._faults = faults
        self.data = seedmod.generate(images, seed, projects, regions)
        self.regions: tuple[str, ...] = tuple(self.data.regions)
        self.state = CloudState(self.data, token_ttl_seconds)
        self._servers: list[_Server] = []
        self._threads: list[threading.Thread] = []
        self._apps: dict[str, App] = {}
        self._app: App | None = None
        self._endpoints = Endpoints()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> DemoCloud:
        """Bind every port, then serve each on a daemon thread; returns self.

        All ports are bound before any app is built, so every catalog and
        ``WWW-Authenticate`` header names the real ports from the first request on.
        """
        if self._servers:
            return self
        endpoints = Endpoints()
        stats = DemoStats()
        servers: list[_Server] = []

        def factory(region: str, first: bool) -> Any:
            return lambda base: App(
                self.state,
                base,
                latency_ms=self.latency_ms,
                log=self._log,
                batch_api=self.batch_api,
                region=region,
                identity=first,
                endpoints=endpoints,
                stats=stats,
                foreign_region_error=self.foreign_region_error,
            )

        try:
            for index, region in enumerate(self.regions):
                # Further regions: next to a fixed main port, or any free port.
                port = self.port + index if self.port else 0
                server = make_server(self.host, port, factory(region, index == 0))
                servers.append(server)
                if index == 0:
                    endpoints.identity = server.app.base_url
                endpoints.image[region] = f"{server.app.base_url}/image"
        except OSError:
            for server in servers:
                server.server_close()
            raise
        self._servers = servers
        self._endpoints = endpoints
        self._apps = {app.region: app for app in (s.app for s in servers)}
        self._app = servers[0].app
        self._install_faults(self._faults)
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"democloud:{server.server_address[1]}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the ports (quickly)."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.shutdown()
            server.server_close()
            server.close_all()
        threads, self._threads = self._threads, []
        for thread in threads:
            thread.join(timeout=2)

    def __enter__(self) -> DemoCloud:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def app(self) -> App:
        """The main port's application (raises if not started)."""
        if self._app is None:
            raise RuntimeError("DemoCloud is not started")
        return self._app

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` of the main port (Keystone, first region's images)."""
        return self.app.base_url

    @property
    def auth_url(self) -> str:
        """Keystone v3 (what ``OS_AUTH_URL`` should be)."""
        return f"{self.base_url}/identity/v3"

    @property
    def image_url(self) -> str:
        """The first region's image endpoint: version-less, no trailing slash."""
        return self.image_url_for(self.regions[0])

    def image_url_for(self, region: str) -> str:
        """A region's image endpoint, as the catalog lists it (each region its own port)."""
        if self._app is None:
            raise RuntimeError("DemoCloud is not started")
        if region not in self._endpoints.image:
            raise ValueError(f"unknown region {region!r}; regions: {', '.join(self.regions)}")
        return self._endpoints.image[region]

    def region_ports(self) -> dict[str, int]:
        """The port each region's image API listens on."""
        return {region: int(app.base_url.rsplit(":", 1)[1]) for region, app in self._apps.items()}

    @property
    def stats(self) -> DemoStats:
        """Request counters of every port (see :class:`DemoStats`)."""
        return self.app.stats

    # ------------------------------------------------------------------ identities

    def _project(self, project: str | None) -> Project:
        """A project by id or name; None means the demo user's project 0."""
        if project is None:
            return self.data.demo_project
        found = self.state.lookup_project(project)
        if found is None:
            raise ValueError(f"unknown project: {project!r}")
        return found

    def _credentials(self, user: User, project: Project) -> dict[str, str]:
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_USERNAME": user.name,
            "OS_PASSWORD": user.password,
            "OS_USER_DOMAIN_NAME": user.domain.name,
            "OS_PROJECT_NAME": project.name,
            "OS_PROJECT_DOMAIN_NAME": project.domain.name,
            "OS_REGION_NAME": project.region,
        }

    @property
    def credentials(self) -> dict[str, str]:
        """``OS_*`` settings for the demo user's project 0."""
        return self.credentials_for(None)

    def credentials_for(self, project: str | None) -> dict[str, str]:
        """``OS_*`` settings for one of the demo user's projects (id or name; None: 0).

        ``OS_REGION_NAME`` is the project's region, so a client picks that region's image
        endpoint from the catalog.
        """
        proj = self._project(project)
        user = self.data.demo_user
        if all(p.id != proj.id for p in user.projects):
            raise ValueError(f"{proj.name} is not a project of user {user.name}")
        return self._credentials(user, proj)

    def owner_credentials(self, i: int) -> dict[str, str]:
        """``OS_*`` settings for owner project ``i`` (0-based, see ``owner_project_ids``)."""
        project = self.data.owner_projects[i]
        user = next(u for u in self.data.owner_users if project in u.projects)
        return self._credentials(user, project)

    def user_projects(self) -> list[UserProject]:
        """The demo user's projects in order (project 0 first): id, name, region."""
        return [UserProject(p.id, p.name, p.region) for p in self.data.demo_user.projects]

    def region_of(self, project: str | None = None) -> str:
        """The region a project (id or name; None: project 0) lives in."""
        return self._project(project).region

    @property
    def project_id(self) -> str:
        """Project 0's id (the ``member_id`` in its member calls)."""
        return self.data.demo_project.id

    @property
    def owner_project_ids(self) -> list[str]:
        """Ids of the projects that share images with the demo user (region by region)."""
        return [p.id for p in self.data.owner_projects]

    @property
    def bystander_project_ids(self) -> list[str]:
        """Projects that receive shares but have no users (third parties)."""
        return [p.id for p in self.data.bystander_projects]

    @property
    def vault_ids(self) -> list[str]:
        """CBR vault ids accepted for full-ECS images."""
        return list(self.data.vault_ids)

    # ------------------------------------------------------------------ inspection

    def member_status(self, image_id: str, project: str | None = None) -> str | None:
        """A project's (default: 0) member status for an image, or None if not a member."""
        member = self.state.get_member(image_id, self._project(project).id)
        return None if member is None else member.status

    def shared_image_ids(self, status: str | None = None, project: str | None = None) -> list[str]:
        """Images shared with a project (default: 0), optionally only with ``status``."""
        pid = self._project(project).id
        with self.state.lock:
            return [
                img.id
                for img in self.state.images.values()
                if img.owner != pid
                and (m := self.state.members.get(img.id, {}).get(pid)) is not None
                and (status is None or m.status == status)
            ]

    def multi_project_image_ids(self) -> list[str]:
        """Images shared with two or more of the demo user's projects (same region)."""
        mine = {p.id for p in self.data.demo_user.projects}
        with self.state.lock:
            return [
                image_id
                for image_id, table in self.state.members.items()
                if image_id in self.state.images and len(mine.intersection(table)) >= 2
            ]

    def own_image_ids(self, project: str | None = None) -> list[str]:
        """Images a project (default: 0) owns (shared with others)."""
        pid = self._project(project).id
        with self.state.lock:
            return [i.id for i in self.state.images.values() if i.owner == pid]

    def foreign_image_ids(self, project: str | None = None) -> list[str]:
        """Shared images of the project's region it is NOT a member of (it cannot see them)."""
        proj = self._project(project)
        pid = proj.id
        with self.state.lock:
            return [
                img.id
                for img in self.state.images.values()
                if img.visibility == "shared"
                and img.owner != pid
                and img.region == proj.region
                and pid not in self.state.members.get(img.id, {})
            ]

    def public_image_ids(self, region: str | None = None) -> list[str]:
        """Public images (of one region, or of all); everyone there sees them."""
        with self.state.lock:
            return [
                i.id
                for i in self.state.images.values()
                if i.visibility == "public" and (region is None or i.region == region)
            ]

    def whole_image_ids(self, project: str | None = None) -> list[str]:
        """Full-ECS images shared with a project (default: 0); accepting needs a vault."""
        ids = set(self.shared_image_ids(project=project))
        return [
            i for i in ids if str(self.state.images[i].doc.get("__whole_image")).lower() == "true"
        ]

    def image(self, image_id: str) -> dict[str, Any] | None:
        """The image document, or None if it does not exist."""
        img = self.state.images.get(image_id)
        return None if img is None else dict(img.doc)

    def image_region(self, image_id: str) -> str | None:
        """The region an image lives in, or None if it does not exist."""
        img = self.state.images.get(image_id)
        return None if img is None else img.region

    # ------------------------------------------------------------------ levers

    def revoke_tokens(self, project: str | None = None) -> int:
        """Invalidate every issued token, or those of one project; returns the count.

        Clients then get 401.
        """
        if project is None:
            return self.state.revoke_tokens()
        return self.state.revoke_tokens({self._project(project).id})

    def delete_image(self, image_id: str) -> bool:
        """The owner deletes the image (404 afterwards)."""
        return self.state.delete_image(image_id)

    def unshare(self, image_id: str, project_id: str | None = None) -> bool:
        """The owner stops sharing the image with a project (id or name; default: 0)."""
        return self.state.remove_member(image_id, self._project(project_id).id)

    def share(self, image_id: str, project_id: str | None = None) -> bool:
        """The owner (re)shares an image; the new member is pending.

        False if the image does not exist, the project already is a member, or the
        project lives in another region (OTC shares only within a region).
        """
        img = self.state.images.get(image_id)
        proj = self._project(project_id)
        if img is None or img.region != proj.region:
            return False
        return self.state.add_member(image_id, proj.id) is not None

    def set_member_status(self, image_id: str, status: str, project: str | None = None) -> bool:
        """Change a project's (default: 0) decision behind the client's back."""
        return self.state.set_member_status(image_id, self._project(project).id, status) is not None

    def add_image(self, doc: dict[str, Any], members: dict[str, str] | None = None) -> str:
        """Add an image document (``members``: project id -> status); returns its id.

        The image lives in its owner's region (the first region for an unknown owner).
        """
        now = time.time()
        region = self.state.region_of(str(doc.get("owner"))) or self.regions[0]
        img = Image.from_doc(doc, region)
        self.state.add_image(
            img, [Member(img.id, pid, st, now, now) for pid, st in (members or {}).items()]
        )
        return img.id

    def fail_project(self, project: str, status: int = 403, message: str | None = None) -> None:
        """Make every image request scoped to ``project`` (id or name) answer ``status``.

        The body is Glance-shaped (WebOb's, negotiated on ``Accept``; keystonemiddleware's
        for 401) with WebOb's default explanation unless ``message`` is given.  Faults do
        not apply to it; Keystone keeps working.  Undo with :meth:`heal_project`.
        """
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status}")
        self.state.fail_project(self._project(project).id, ProjectFailure(status, message))

    def heal_project(self, project: str) -> bool:
        """Undo :meth:`fail_project`; False if the project was not failing."""
        return self.state.heal_project(self._project(project).id)

    def fail_listing(self, member_status: str, status: int = 503) -> None:
        """Make every image listing of ``member_status`` answer ``status`` (all projects):
        what a client sees when one of its three listings fails and the others do not."""
        if not 400 <= status <= 599:
            raise ValueError(f"status must be an HTTP error status (400-599), got {status}")
        with self.state.lock:
            self.state.failed_listings[member_status] = ProjectFailure(status, None)

    def heal_listing(self, member_status: str) -> bool:
        """Undo :meth:`fail_listing`; False if that listing was not failing."""
        with self.state.lock:
            return self.state.failed_listings.pop(member_status, None) is not None

    def set_faults(self, faults: Faults | None) -> None:
        """Switch faults at run time (None disables them) on every port."""
        self._faults = faults
        if self._servers:
            self._install_faults(faults)

    def _install_faults(self, faults: Faults | None) -> None:
        """One injector for all ports: one seeded sequence and one request count."""
        injector = FaultInjector(faults) if faults is not None and faults.active else None
        for app in self._apps.values():
            app.set_injector(injector)
