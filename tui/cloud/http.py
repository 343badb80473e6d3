"""The one httpx client a session uses, and what every request shares: retries and decoding.

Connection reuse matters (TLS handshakes dominate short calls), so every call of a session goes
through one ``AsyncClient``. Proxies come from ``HTTPS_PROXY``/``NO_PROXY`` (``trust_env``).
Retries are bounded, with exponential backoff and jitter, honouring ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from tui import __version__
from tui.cloud.errors import ApiError, describe_host
from tui.settings.model import Settings

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_CONNECTIONS = 16
#: The longest a single request may take from sending to the last byte of its answer; a server
#: that drips bytes slower than the read timeout would otherwise hold a request forever.
REQUEST_DEADLINE = 60.0
#: The largest answer read (after decompression). A page of 1,000 images is about 2 MiB; an
#: answer that goes on and on is cut here instead of filling the memory.
MAX_RESPONSE_BYTES = 64 * 1024 * 1024

# What a request can raise besides a response: httpx's errors, and TLS alerts that arrive after
# the handshake (a server refusing a missing client certificate under TLS 1.3) as ssl.SSLError.
TRANSPORT_ERRORS = (httpx.HTTPError, ssl.SSLError)


def tls_verify(settings: Settings) -> ssl.SSLContext | bool:
    """``False`` only when the user turned verification off; a context for CA/client certs."""
    if not settings.verify:
        return False
    if not (settings.cacert or settings.cert):
        return True
    try:
        context = ssl.create_default_context(
            cafile=str(Path(settings.cacert).expanduser()) if settings.cacert else None
        )
        if not settings.cacert:
            import certifi

            context.load_verify_locations(certifi.where())
        if settings.cert:
            context.load_cert_chain(
                str(Path(settings.cert).expanduser()),
                str(Path(settings.key).expanduser()) if settings.key else None,
            )
    except (OSError, ssl.SSLError) as exc:
        raise ApiError(
            f"cannot load TLS files: {exc}",
            hint="Check the CA bundle and client certificate paths in the config.",
        ) from None
    return context


def build_client(
    settings: Settings, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        verify=tls_verify(settings),
        timeout=httpx.Timeout(READ_TIMEOUT, connect=CONNECT_TIMEOUT),
        limits=httpx.Limits(
            max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_CONNECTIONS
        ),
        headers={"Accept": "application/json", "User-Agent": f"imshare/{__version__}"},
        transport=transport,
        trust_env=True,
        follow_redirects=False,
    )


class RequestLimiter:
    """How many requests may run at once: in all, per host (host and port), and how many
    logins. Sessions of many projects share one, so an inbox of fifty projects neither
    floods one endpoint nor sends fifty password logins at once to a cloud that refused
    re-scoping."""

    def __init__(self, total: int = 16, per_host: int = 8, logins: int = 4) -> None:
        self.total = total
        self.per_host = per_host
        self._all = asyncio.Semaphore(max(1, total))
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self.logins = asyncio.Semaphore(max(1, logins))

    @contextlib.asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        parts = urlsplit(url)
        host = f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
        gate = self._hosts.get(host)
        if gate is None:
            gate = self._hosts[host] = asyncio.Semaphore(max(1, self.per_host))
        # The host first: a request queued behind a busy host must not hold one of the
        # global slots another host could use (fifty eu-de listings would starve eu-nl).
        async with gate, self._all:
            yield


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded retries: at most ``attempts`` tries, waits capped at ``max_delay`` seconds."""

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_delay, self.base_delay * (2**attempt))
        return random.uniform(ceiling / 2, ceiling)


def retry_after(response: Answer | httpx.Response) -> float | None:
    """``Retry-After`` in seconds (a number or an HTTP date), or None when absent or odd."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # "nan" and "inf" parse as floats; a wait must be a real, bounded number.
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = parsedate_to_datetime(value)
        return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return None


@dataclass(frozen=True, slots=True)
class Answer:
    """A response whose body was read within the limits: status, headers and the bytes."""

    status_code: int
    headers: httpx.Headers
    content: bytes


async def fetch(
    client: httpx.AsyncClient,
    method: str,
    url: str,
    *,
    action: str,
    **kwargs: Any,
) -> Answer:
    """Send one request and read its answer within ``REQUEST_DEADLINE`` seconds and
    ``MAX_RESPONSE_BYTES``.

    Raises the transport's own errors (the caller maps them), ``TimeoutError`` when the
    deadline passes, and a non-retryable ``ApiError`` for an answer over the size limit.
    """
    max_bytes = MAX_RESPONSE_BYTES
    async with asyncio.timeout(REQUEST_DEADLINE):
        response = await client.send(client.build_request(method, url, **kwargs), stream=True)
        try:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise _too_large(url, max_bytes, action)
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_large(url, max_bytes, action)
                chunks.append(chunk)
        finally:
            await response.aclose()
    return Answer(response.status_code, response.headers, b"".join(chunks))


def _too_large(url: str, max_bytes: int, action: str) -> ApiError:
    return ApiError(
        f"the answer from {describe_host(url)} was larger than {max_bytes // (1024 * 1024)} MiB",
        hint="The endpoint may not be an image service, or a proxy is misbehaving.",
        action=action,
    )


def decode_json(response: Answer | httpx.Response, action: str) -> dict[str, Any]:
    """The body as a JSON object, or a retryable ``ApiError`` saying it was not one."""
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):  # RecursionError: nested deeper than json allows
        raise ApiError(
            "the cloud sent a malformed response",
            status=response.status_code,
            hint="Retry; if it persists the cloud or a proxy is misbehaving.",
            retryable=True,
            action=action,
        ) from None
    if not isinstance(data, dict):
        raise ApiError(
            "the cloud sent an unexpected response",
            status=response.status_code,
            retryable=True,
            action=action,
        )
    return data
