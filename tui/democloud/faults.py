"""Injected failures, so clients can be tested against the ways real clouds break.

A :class:`Faults` value describes *what* may go wrong; a :class:`FaultInjector` owns the
seeded RNG and counters for one configuration and decides, request by request, whether
and how to fail.  Faults hit only the image API unless ``auth_faults`` is set: a client's
retry logic for Keystone is a different concern and should be tested on purpose.  With
``projects`` they hit only requests of those projects, so a multi-project client can be
tested with one flaky project among healthy ones.

When no fault is configured the server never builds an injector, so the normal path
pays nothing for this module.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from .wire import Response, json_response, otc_error, webob_error


@dataclass(frozen=True, slots=True)
class Faults:
    """Fault configuration; rates are probabilities per request in ``[0, 1]``.

    ``revoke_after``: after this many image-API requests, revoke every token once.
    ``error_rate``: 500/502/503 with a WebOb JSON, HTML or plain-text body.
    ``throttle_rate``: 429 with ``Retry-After: 1`` (API-gateway body).
    ``flow_control_rate``: 400 ``IMG.0060``, IMS's own throttling signal.
    ``drop_rate``: the connection closes mid-response (or before any response).
    ``malformed_rate``: 200 with a truncated or syntactically broken JSON body.
    ``slow_ms``: extra delay before each affected request.
    ``fault_seed``: seed for the decisions (None: a fixed default, still deterministic).
    ``apply_to_writes``: PUT/POST/DELETE get faults too; on a 5xx or drop, a coin
    decides whether the change was applied before the failure (as real clouds do).
    ``auth_faults``: Keystone requests get faults too.
    ``projects``: project ids or names; when given, only requests of those projects are
    affected (image requests by their token's project; with ``auth_faults``, token
    requests by the project they ask for), ``revoke_after`` counts only their requests
    and revokes only their tokens.  Empty (the default): every request, as before.
    """

    revoke_after: int | None = None
    error_rate: float = 0.0
    throttle_rate: float = 0.0
    flow_control_rate: float = 0.0
    drop_rate: float = 0.0
    malformed_rate: float = 0.0
    slow_ms: float = 0.0
    fault_seed: int | None = None
    apply_to_writes: bool = False
    auth_faults: bool = False
    projects: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        projects = self.projects
        if isinstance(projects, str):
            raise ValueError("projects must be a collection of project ids or names")
        projects = frozenset(projects if isinstance(projects, Iterable) else ())
        if not all(isinstance(p, str) and p for p in projects):
            raise ValueError("projects must hold non-empty project ids or names")
        object.__setattr__(self, "projects", projects)
        total = 0.0
        for name in ("error_rate", "throttle_rate", "flow_control_rate", "drop_rate",
                     "malformed_rate"):  # fmt: skip
            rate = getattr(self, name)
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {rate}")
            total += rate
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault rates add up to {total:.3f}, more than 1")
        if self.revoke_after is not None and self.revoke_after < 0:
            raise ValueError("revoke_after must be >= 0")
        if self.slow_ms < 0:
            raise ValueError("slow_ms must be >= 0")

    def targets(self, project_id: str | None, project_name: str | None) -> bool:
        """Whether a request of this project is subject to the faults."""
        if not self.projects:
            return True
        return (project_id is not None and project_id in self.projects) or (
            project_name is not None and project_name in self.projects
        )

    @property
    def active(self) -> bool:
        """Whether this configuration can change any response at all."""
        return bool(
            self.revoke_after is not None
            or self.error_rate
            or self.throttle_rate
            or self.flow_control_rate
            or self.drop_rate
            or self.malformed_rate
            or self.slow_ms
        )


class FaultKind(Enum):
    """What an injected fault does."""

    ERROR = "error"
    THROTTLE = "throttle"
    FLOW_CONTROL = "flow_control"
    DROP = "drop"
    MALFORMED = "malformed"


@dataclass(frozen=True, slots=True)
class Decision:
    """The injector's verdict for one request."""

    kind: FaultKind
    variant: int  # picks the status/body shape/drop style
    apply_first: bool  # for writes: was the change applied before the failure?


class FaultInjector:
    """Seeded, thread-safe fault decisions for one :class:`Faults` configuration."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(0xD15EA5E if faults.fault_seed is None else faults.fault_seed)
        self._lock = threading.Lock()
        self._image_requests = 0
        self._revoked = False

    def count_and_check_revoke(self) -> bool:
        """Count an image-API request; True exactly once, when tokens must be revoked."""
        limit = self.faults.revoke_after
        with self._lock:
            self._image_requests += 1
            if limit is not None and not self._revoked and self._image_requests > limit:
                self._revoked = True
                return True
        return False

    def decide(self, is_write: bool) -> Decision | None:
        """Roll the dice for one request (writes only if ``apply_to_writes``)."""
        f = self.faults
        if is_write and not f.apply_to_writes:
            return None
        with self._lock:
            roll = self._rng.random()
            variant = self._rng.randrange(1 << 16)
            apply_first = self._rng.random() < 0.5
        for kind, rate in (
            (FaultKind.ERROR, f.error_rate),
            (FaultKind.THROTTLE, f.throttle_rate),
            (FaultKind.FLOW_CONTROL, f.flow_control_rate),
            (FaultKind.DROP, f.drop_rate),
            (FaultKind.MALFORMED, f.malformed_rate),
        ):
            if roll < rate:
                if is_write and kind in (FaultKind.THROTTLE, FaultKind.FLOW_CONTROL):
                    apply_first = False  # rejected up front: nothing happened
                return Decision(kind, variant, apply_first)
            roll -= rate
        return None


_SERVER_ERRORS: tuple[tuple[int, str], ...] = (
    (500, "The server has either erred or is incapable of performing the requested operation."),
    (502, "Bad gateway."),
    (503, "The server is currently unavailable. Please try again at a later time."),
)
_ERROR_ACCEPTS = ("application/json", "text/html", "text/plain")


def error_response(variant: int) -> Response:
    """A 5xx in one of WebOb's three renderings (the variant picks status and shape)."""
    status, explanation = _SERVER_ERRORS[variant % len(_SERVER_ERRORS)]
    accept = _ERROR_ACCEPTS[(variant // len(_SERVER_ERRORS)) % len(_ERROR_ACCEPTS)]
    resp = webob_error(status, explanation, accept)
    if status == 503:
        resp.headers.append(("Retry-After", "1"))
    return resp


def throttle_response() -> Response:
    """429 from the API gateway (APIG style body) with ``Retry-After: 1``."""
    body = {"error_code": "APIG.0308", "error_msg": "The throttling threshold has been reached."}
    return json_response(429, body, [("Retry-After", "1")])


def flow_control_response() -> Response:
    """IMS's documented throttling signal: 400 ``IMG.0060``."""
    return otc_error(400, "IMG.0060", "The number of tasks exceeds the flow control limit.")


def malformed_response(real: Response, variant: int) -> Response:
    """A 200 whose body is not valid JSON: truncated, or broken in the middle."""
    body = real.body or b'{"images": []}'
    if variant % 2 == 0:
        cut = max(1, len(body) // 2)
        broken = body[:cut]
    else:
        broken = body.replace(b'"', b"'", 3) + b"}"
    return Response(200, broken, real.content_type or "application/json", real.headers)
