"""The HTTP layer: routing, fault injection, statistics and the loopback server.

One :class:`App` per listening port: the main port serves Keystone and the first
region's image API; every further region's image API has a port (and an App) of its own,
as each OTC region has its own ``ims.<region>`` host.  The apps share the store, the
statistics and the fault injector.

``http.server.ThreadingHTTPServer`` with HTTP/1.1 keep-alive, one thread per
connection.  Each response goes out in a single ``sendall`` with ``TCP_NODELAY`` set:
writing headers and body separately would meet Nagle's algorithm and delayed ACKs and
cost ~40 ms per request, which would make every benchmark measure the demo server.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import socketserver
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import faults as faultmod
from .batch import BatchApi
from .endpoints import Endpoints
from .faults import FaultInjector, FaultKind, Faults
from .glance import FOREIGN_REGION_ERRORS, GlanceApi
from .keystone import KeystoneApi
from .state import CloudState, Token
from .wire import REASONS, Request, Response, request_id, webob_error

WRITE_METHODS = frozenset({"PUT", "POST", "DELETE", "PATCH"})
LogSink = Callable[[str], None]


@dataclass
class DemoStats:
    """What the server saw; tests and benchmarks read it (thread-safe counters).

    ``requests`` counts ``(method, path template, status)``, e.g.
    ``("PUT", "/image/v2/images/{image_id}/members/{member_id}", 200)``.
    """

    token_requests: int = 0
    image_requests: int = 0
    requests: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    #: Image-API requests per region (which region's port they reached).
    region_requests: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, method: str, template: str, status: int, service: str, region: str | None = None
    ) -> None:
        """Count one finished request."""
        with self._lock:
            self.requests[(method, template, status)] += 1
            if service == "image":
                self.image_requests += 1
                if region is not None:
                    self.region_requests[region] += 1
            if method == "POST" and template == "/identity/v3/auth/tokens":
                self.token_requests += 1

    def count(self, method: str | None = None, template: str | None = None) -> int:
        """How many requests matched a method and/or template."""
        with self._lock:
            return sum(
                n
                for (m, t, _), n in self.requests.items()
                if (method is None or m == method) and (template is None or t == template)
            )

    def reset(self) -> None:
        """Forget everything counted so far."""
        with self._lock:
            self.token_requests = 0
            self.image_requests = 0
            self.requests.clear()
            self.faults.clear()
            self.region_requests.clear()


Handler = Callable[..., Response]


@dataclass(frozen=True, slots=True)
class Route:
    """A path pattern, its template (for stats) and handlers per method."""

    pattern: re.Pattern[str]
    template: str
    service: str  # "identity" | "image" | "other"
    methods: dict[str, Handler]
    authenticated: bool = False


class App:
    """Routes requests to Keystone/Glance, injecting faults and counting as it goes.

    ``region`` is the region whose image API this app serves (default: the first);
    ``identity=False`` leaves Keystone out (a further region's port serves images only).
    """

    def __init__(
        self,
        state: CloudState,
        base_url: str,
        *,
        latency_ms: float = 0.0,
        log: LogSink | None = None,
        faults: Faults | None = None,
        batch_api: bool = True,
        region: str | None = None,
        identity: bool = True,
        endpoints: Endpoints | None = None,
        stats: DemoStats | None = None,
        foreign_region_error: str = "unauthorized",
    ) -> None:
        if foreign_region_error not in FOREIGN_REGION_ERRORS:
            raise ValueError(
                f"foreign_region_error must be one of {', '.join(FOREIGN_REGION_ERRORS)}"
            )
        self.state = state
        self.base_url = base_url
        self.batch_api = batch_api
        self.region = region or state.regions[0]
        self.serves_identity = identity
        if endpoints is None:
            endpoints = Endpoints(base_url, {self.region: f"{base_url}/image"})
        self.endpoints = endpoints
        self.latency = latency_ms / 1000.0
        self.log = log
        self.stats = stats if stats is not None else DemoStats()
        self.keystone = KeystoneApi(state, base_url, endpoints)
        self.glance = GlanceApi(state, base_url, endpoints, self.region, foreign_region_error)
        self.batch = BatchApi(state, self.glance)
        self.injector: FaultInjector | None = None
        self.set_faults(faults)
        self.routes = self._routes()

    def set_faults(self, faults: Faults | None) -> None:
        """Switch fault configuration (resets fault RNG and counters)."""
        self.injector = FaultInjector(faults) if faults is not None and faults.active else None

    def set_injector(self, injector: FaultInjector | None) -> None:
        """Use a fault injector shared with the cloud's other ports (one RNG, one count)."""
        self.injector = injector

    def _routes(self) -> list[Route]:
        ks, gl, bt = self.keystone, self.glance, self.batch
        img = r"(?P<image_id>[^/]+)"

        def r(path: str, template: str, service: str, auth: bool, **methods: Handler) -> Route:
            return Route(re.compile(path + r"\Z"), template, service, methods, auth)

        batch = [
            r(
                "/image/v1/cloudimages/members",
                "/image/v1/cloudimages/members",
                "image",
                True,
                PUT=bt.update_members,
            ),
            r(
                "/image/v1/(?P<project_id>[^/]+)/jobs/(?P<job_id>[^/]+)",
                "/image/v1/{project_id}/jobs/{job_id}",
                "image",
                True,
                GET=bt.show_job,
            ),
        ]
        identity = [
            r("/identity/?", "/identity", "identity", False, GET=ks.versions),
            r("/identity/v3/?", "/identity/v3", "identity", False, GET=ks.version),
            r(
                "/identity/v3/auth/tokens",
                "/identity/v3/auth/tokens",
                "identity",
                False,
                POST=ks.issue,
                GET=ks.validate,
                HEAD=ks.validate,
                DELETE=ks.revoke,
            ),
            r(
                "/identity/v3/auth/projects",
                "/identity/v3/auth/projects",
                "identity",
                False,
                GET=ks.auth_projects,
                HEAD=ks.auth_projects,
            ),
            r(
                "/identity/v3/auth/catalog",
                "/identity/v3/auth/catalog",
                "identity",
                False,
                GET=ks.auth_catalog,
                HEAD=ks.auth_catalog,
            ),
            r("/identity/.*", "/identity/*", "identity", False),
        ]
        return [
            *(identity if self.serves_identity else []),
            r("/image/?", "/image", "image", False, GET=gl.versions),
            r("/image/v2/?", "/image/v2", "image", False, GET=gl.versions),
            r("/image/v2/images", "/image/v2/images", "image", True, GET=gl.list_images),
            r(
                f"/image/v2/images/{img}",
                "/image/v2/images/{image_id}",
                "image",
                True,
                GET=gl.show_image,
            ),
            r(
                f"/image/v2/images/{img}/members",
                "/image/v2/images/{image_id}/members",
                "image",
                True,
                GET=gl.list_members,
                POST=gl.add_member,
            ),
            r(
                f"/image/v2/images/{img}/members/(?P<member_id>[^/]+)",
                "/image/v2/images/{image_id}/members/{member_id}",
                "image",
                True,
                GET=gl.show_member,
                PUT=gl.update_member,
                DELETE=gl.delete_member,
            ),
            r(
                "/image/v2/schemas/(?P<name>[^/]+)",
                "/image/v2/schemas/{name}",
                "image",
                True,
                GET=gl.schema,
            ),
            *(batch if self.batch_api else []),
            r("/image/.*", "/image/*", "image", True),
        ]

    # ------------------------------------------------------------------ dispatch

    def _match(self, path: str) -> tuple[Route | None, dict[str, str]]:
        for route in self.routes:
            m = route.pattern.match(path)
            if m is not None:
                return route, {k: unquote(v) for k, v in m.groupdict().items()}
        return None, {}

    def _route_response(self, req: Request, route: Route | None, args: dict[str, str]) -> Response:
        if route is None:
            return webob_error(404, "The resource could not be found.", req.header("Accept"))
        handler = route.methods.get(req.method)
        token = None
        if route.authenticated:
            checked = self.glance.authenticate(req)
            if isinstance(checked, Response):
                return checked
            token = checked
        if handler is None:
            if route.service == "identity":
                if not route.methods:
                    return self.keystone.not_found(req)
                return self.keystone.not_allowed(req, list(route.methods))
            if not route.methods:
                return webob_error(404, "The resource could not be found.", req.header("Accept"))
            resp = webob_error(
                405, "The method specified is not allowed for this resource.", req.header("Accept")
            )
            resp.headers.append(("Allow", ", ".join(route.methods)))
            return resp
        try:
            return handler(req, token, **args) if route.authenticated else handler(req)
        except Exception:  # a bug in the demo cloud: say so like Glance would
            traceback.print_exc(file=sys.stderr)
            return webob_error(
                500,
                "The server has either erred or is incapable of performing the requested "
                "operation.",
                req.header("Accept"),
            )

    def handle(self, req: Request) -> tuple[Response | None, str | None, str, str]:
        """Answer a request: ``(response, drop mode, path template, service)``.

        Drop mode is None (send normally), ``"partial"`` (headers and half the body,
        then close) or ``"silent"`` (close without a response; response is None).
        """
        if self.latency:
            time.sleep(self.latency)
        route, args = self._match(req.path)
        template = route.template if route else req.path
        service = route.service if route else "other"
        if self.state.failed_projects and route is not None and route.authenticated:
            checked = self.glance.authenticate(req)
            if isinstance(checked, Token) and checked.project is not None:
                failure = self.state.project_failure(checked.project.id)
                if failure is not None:
                    self._count_fault("project_failure")
                    return self.glance.failure(req, failure), None, template, service
        if self.state.failed_listings and template.endswith("/v2/images") and req.method == "GET":
            wanted = dict(req.query).get("member_status", "")
            listing_failure = self.state.failed_listings.get(wanted)
            if listing_failure is not None:
                self._count_fault("listing_failure")
                return self.glance.failure(req, listing_failure), None, template, service
        injector = self.injector
        decision = None
        if (
            injector is not None
            and (service == "image" or (service == "identity" and injector.faults.auth_faults))
            and (not injector.faults.projects or self._targets(req, service, injector.faults))
        ):
            if service == "image" and injector.count_and_check_revoke():
                if injector.faults.projects:
                    self.state.revoke_tokens(self._fault_project_ids(injector.faults))
                else:
                    self.state.revoke_tokens()
                self._count_fault("revoke")
            if injector.faults.slow_ms:
                time.sleep(injector.faults.slow_ms / 1000.0)
            # Issuing a token changes nothing a client cares about: never a "write".
            is_write = service == "image" and req.method in WRITE_METHODS
            decision = injector.decide(is_write)
        if decision is None:
            return self._route_response(req, route, args), None, template, service
        self._count_fault(decision.kind.value)
        kind = decision.kind
        if kind is FaultKind.THROTTLE:
            return faultmod.throttle_response(), None, template, service
        if kind is FaultKind.FLOW_CONTROL:
            return faultmod.flow_control_response(), None, template, service
        is_write = service == "image" and req.method in WRITE_METHODS
        if kind is FaultKind.ERROR:
            if is_write and decision.apply_first:
                self._route_response(req, route, args)  # the change lands, the reply fails
            return faultmod.error_response(decision.variant), None, template, service
        if kind is FaultKind.DROP and is_write and not decision.apply_first:
            return None, "silent", template, service
        real = self._route_response(req, route, args)
        if kind is FaultKind.DROP:
            mode = "silent" if decision.variant % 4 == 0 else "partial"
            return (real if mode == "partial" else None), mode, template, service
        return faultmod.malformed_response(real, decision.variant), None, template, service

    def _targets(self, req: Request, service: str, faults: Faults) -> bool:
        """Whether a request belongs to one of ``faults.projects``.

        Image requests: the project of their ``X-Auth-Token``.  Keystone requests: the
        project a ``POST /auth/tokens`` asks to be scoped to, else the caller's token's.
        Requests without a project (no or a bad token) are never targeted.
        """
        if service == "identity" and req.method == "POST" and req.path.endswith("/auth/tokens"):
            try:
                body = json.loads(req.body) if req.body else None
                spec = body["auth"]["scope"]["project"]
            except (ValueError, UnicodeDecodeError, KeyError, TypeError):
                return False
            if not isinstance(spec, dict):
                return False
            return faults.targets(spec.get("id"), spec.get("name"))
        token = self.state.validate_token(req.header("X-Auth-Token"))
        if token is None or token.project is None:
            return False
        return faults.targets(token.project.id, token.project.name)

    def _fault_project_ids(self, faults: Faults) -> set[str]:
        """The ids of the projects a project-filtered :class:`Faults` names."""
        return {p.id for p in self.state.projects.values() if faults.targets(p.id, p.name)}

    def _count_fault(self, kind: str) -> None:
        with self.stats._lock:
            self.stats.faults[kind] += 1


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, asks the :class:`App`, writes the response in one piece."""

    protocol_version = "HTTP/1.1"
    server_version = "democloud"
    sys_version = ""
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server.track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.track(self.connection, add=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's own access log; :class:`App` logs instead."""

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _dispatch(self) -> None:
        started = time.perf_counter()
        app: App = self.server.app
        parts = urlsplit(self.path)
        req = Request(
            method=self.command,
            path=parts.path,
            query=parse_qsl(parts.query, keep_blank_values=True),
            headers=self.headers,
            body=self._read_body(),
            base_url=app.base_url,
        )
        resp, drop, template, service = app.handle(req)
        status = resp.status if resp is not None and drop is None else 0
        # Count before sending: a client that has its answer must see the counter moved.
        app.stats.record(req.method, template, status, service, app.region)
        try:
            if drop == "silent" or resp is None:
                self.close_connection = True
            else:
                self._send(resp, partial=drop == "partial")
        except OSError:
            self.close_connection = True
        if app.log is not None:
            ms = (time.perf_counter() - started) * 1000.0
            # A further region's port says which region it is (the main port stays terse).
            where = "" if app.serves_identity else f" {app.region}"
            app.log(f"{req.method} {req.path} {status or 'DROPPED'} {ms:.1f}{where}")

    def _send(self, resp: Response, *, partial: bool) -> None:
        body = resp.body
        lines = [
            f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}",
            f"Date: {formatdate(usegmt=True)}",
            f"Content-Length: {len(body)}",
            f"x-openstack-request-id: {request_id()}",
        ]
        if resp.content_type:
            lines.append(f"Content-Type: {resp.content_type}")
        lines.extend(f"{k}: {v}" for k, v in resp.headers)
        if self.close_connection or partial:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            self.connection.sendall(head)
        elif partial:
            self.connection.sendall(head + body[: max(0, len(body) // 2)])
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self.connection.sendall(head + body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _dispatch


class _Server(ThreadingHTTPServer):
    """A threading server that tracks connections so :meth:`close_all` can end them."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    # A real cloud's front end queues more than socketserver's default of 5 connections; with
    # 5, sixteen concurrent listings of `--demo --all-projects` overflowed and stalled 1 s.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        self._conns: set[socket.socket] = set()
        self._conns_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can
        # take seconds in sandboxes; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def track(self, conn: socket.socket, *, add: bool) -> None:
        with self._conns_lock:
            if add:
                self._conns.add(conn)
            else:
                self._conns.discard(conn)

    def close_all(self) -> None:
        """Shut down open keep-alive connections so their threads end promptly."""
        with self._conns_lock:
            conns = list(self._conns)
            self._conns.clear()
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Client disconnects are normal here; anything else is printed."""
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):
            return
        super().handle_error(request, client_address)


def make_server(host: str, port: int, app_factory: Callable[[str], App]) -> _Server:
    """Bind first (port 0 picks a free port), then build the app with the real base URL."""
    placeholder = object.__new__(App)
    server = _Server((host, port), placeholder)
    bound_host, bound_port = server.server_address[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else str(bound_host)
    server.app = app_factory(f"http://{shown}:{bound_port}")
    return server
