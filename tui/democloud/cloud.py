"""``DemoCloud``: the in-process handle tests, benchmarks and ``imshare --demo`` use.

It seeds the data when constructed (so helpers like :meth:`DemoCloud.shared_image_ids`
work before :meth:`start`), serves on a daemon thread, and offers owner-side levers
(revoke tokens, delete or unshare an image, switch faults) that tests pull between a
client's listing and its decision.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import IO, Any

from . import seed as seedmod
from .faults import Faults
from .records import Image
from .seed import REGION
from .server import App, DemoStats, LogSink, _Server, make_server
from .state import CloudState


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


class DemoCloud:
    """A Keystone v3 + Glance v2 image-sharing cloud on loopback.

    ``images`` images are shared with the receiving ("demo") project, spread about
    50/30/20 over pending/accepted/rejected; see :mod:`tui.democloud.seed` for the rest.
    ``port=0`` picks a free port.  ``log`` (callable or text file) receives one
    ``METHOD PATH STATUS MS`` line per request; it never sees tokens or bodies.
    ``batch_api=False`` drops OTC's v1 batch member API and jobs (404, like plain Glance).
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
    ) -> None:
        self.host = host
        self.batch_api = batch_api
        self.port = port
        self.latency_ms = latency_ms
        self._log = _log_sink(log)
        self._faults = faults
        self.data = seedmod.generate(images, seed)
        self.state = CloudState(self.data, token_ttl_seconds)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._app: App | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> DemoCloud:
        """Bind and serve on a daemon thread; returns self."""
        if self._server is not None:
            return self
        server = make_server(
            self.host,
            self.port,
            lambda base: App(
                self.state,
                base,
                latency_ms=self.latency_ms,
                log=self._log,
                faults=self._faults,
                batch_api=self.batch_api,
            ),
        )
        self._server = server
        self._app = server.app
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"democloud:{server.server_address[1]}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and free the port (quickly)."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_all()
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

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
        """The running application (raises if not started)."""
        if self._app is None:
            raise RuntimeError("DemoCloud is not started")
        return self._app

    # ------------------------------------------------------------------ addresses

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return self.app.base_url

    @property
    def auth_url(self) -> str:
        """Keystone v3 (what ``OS_AUTH_URL`` should be)."""
        return f"{self.base_url}/identity/v3"

    @property
    def image_url(self) -> str:
        """The catalog's image endpoint: version-less, no trailing slash."""
        return f"{self.base_url}/image"

    @property
    def stats(self) -> DemoStats:
        """Request counters (see :class:`DemoStats`)."""
        return self.app.stats

    # ------------------------------------------------------------------ identities

    def _credentials(self, user: Any, project: Any) -> dict[str, str]:
        return {
            "OS_AUTH_URL": self.auth_url,
            "OS_USERNAME": user.name,
            "OS_PASSWORD": user.password,
            "OS_USER_DOMAIN_NAME": user.domain.name,
            "OS_PROJECT_NAME": project.name,
            "OS_PROJECT_DOMAIN_NAME": project.domain.name,
            "OS_REGION_NAME": REGION,
        }

    @property
    def credentials(self) -> dict[str, str]:
        """``OS_*`` settings for the receiving (demo) project's user."""
        return self._credentials(self.data.demo_user, self.data.demo_project)

    def owner_credentials(self, i: int) -> dict[str, str]:
        """``OS_*`` settings for owner project ``i`` (0-based, see ``owner_project_ids``)."""
        return self._credentials(self.data.owner_users[i], self.data.owner_projects[i])

    @property
    def project_id(self) -> str:
        """The receiving project's id (the ``member_id`` in member calls)."""
        return self.data.demo_project.id

    @property
    def owner_project_ids(self) -> list[str]:
        """Ids of the projects that share images with the demo project."""
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

    def member_status(self, image_id: str) -> str | None:
        """The demo project's member status for an image, or None if not a member."""
        member = self.state.get_member(image_id, self.project_id)
        return None if member is None else member.status

    def shared_image_ids(self, status: str | None = None) -> list[str]:
        """Images shared with the demo project (optionally only with ``status``)."""
        pid = self.project_id
        with self.state.lock:
            return [
                img.id
                for img in self.state.images.values()
                if img.owner != pid
                and (m := self.state.members.get(img.id, {}).get(pid)) is not None
                and (status is None or m.status == status)
            ]

    def own_image_ids(self) -> list[str]:
        """Images the demo project owns (shared with others)."""
        with self.state.lock:
            return [i.id for i in self.state.images.values() if i.owner == self.project_id]

    def foreign_image_ids(self) -> list[str]:
        """Shared images the demo project is NOT a member of (it cannot see them)."""
        pid = self.project_id
        with self.state.lock:
            return [
                img.id
                for img in self.state.images.values()
                if img.visibility == "shared"
                and img.owner != pid
                and pid not in self.state.members.get(img.id, {})
            ]

    def public_image_ids(self) -> list[str]:
        """Public images (everyone sees them; they have no members)."""
        with self.state.lock:
            return [i.id for i in self.state.images.values() if i.visibility == "public"]

    def whole_image_ids(self) -> list[str]:
        """Shared-with-demo full-ECS images (accepting needs a ``vault_id``)."""
        ids = set(self.shared_image_ids())
        return [
            i for i in ids if str(self.state.images[i].doc.get("__whole_image")).lower() == "true"
        ]

    def image(self, image_id: str) -> dict[str, Any] | None:
        """The image document, or None if it does not exist."""
        img = self.state.images.get(image_id)
        return None if img is None else dict(img.doc)

    # ------------------------------------------------------------------ levers

    def revoke_tokens(self) -> int:
        """Invalidate every issued token (clients then get 401); returns the count."""
        return self.state.revoke_tokens()

    def delete_image(self, image_id: str) -> bool:
        """The owner deletes the image (404 afterwards)."""
        return self.state.delete_image(image_id)

    def unshare(self, image_id: str, project_id: str | None = None) -> bool:
        """The owner stops sharing the image with ``project_id`` (default: demo)."""
        return self.state.remove_member(image_id, project_id or self.project_id)

    def share(self, image_id: str, project_id: str | None = None) -> bool:
        """The owner (re)shares an image; the new member is pending."""
        if image_id not in self.state.images:
            return False
        return self.state.add_member(image_id, project_id or self.project_id) is not None

    def set_member_status(self, image_id: str, status: str) -> bool:
        """Change the demo project's decision behind the client's back."""
        return self.state.set_member_status(image_id, self.project_id, status) is not None

    def add_image(self, doc: dict[str, Any], members: dict[str, str] | None = None) -> str:
        """Add an image document (``members``: project id -> status); returns its id."""
        now = time.time()
        from .records import Member

        img = Image.from_doc(doc)
        self.state.add_image(
            img, [Member(img.id, pid, st, now, now) for pid, st in (members or {}).items()]
        )
        return img.id

    def set_faults(self, faults: Faults | None) -> None:
        """Switch faults at run time (None disables them)."""
        self._faults = faults
        if self._app is not None:
            self._app.set_faults(faults)
