"""The one httpx client a session uses: TLS settings, timeouts, proxies, a shared pool.

Connection reuse matters (TLS handshakes dominate short calls), so every call of a session goes
through one ``AsyncClient``. Proxies come from ``HTTPS_PROXY``/``NO_PROXY`` (``trust_env``).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx

from tui import __version__
from tui.cloud.errors import ApiError
from tui.settings.model import Settings

CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 30.0
MAX_CONNECTIONS = 16


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
