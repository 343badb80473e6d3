"""Shared fixtures: keep the developer's own files and credentials out of every test.

Tests talk to a real ``DemoCloud`` over HTTP on loopback (a free port each, so pytest-xdist
workers never collide); nothing of ours is mocked.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import (
    MOCK_IMS,
    MOCK_PROJECT,
    cloud_settings,
    keystone_token_response,
    mock_settings,
    unreachable_settings,
)

from tui import logsetup
from tui.cloud import CloudSession, RetryPolicy, TokenCache
from tui.settings.model import Settings

# Retries without waiting: the behaviour is the same, the suite stays fast.
FAST_RETRY = RetryPolicy(attempts=4, base_delay=0.001, max_delay=0.005, max_retry_after=0.01)

_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private config dir, no OS_* credentials and no proxies from the developer's shell."""
    for name in list(os.environ):
        if name.startswith("OS_") or name.upper() in _PROXY_VARIABLES:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("IMSHARE_PROFILE", raising=False)
    config_dir = tmp_path / "imshare-config"
    monkeypatch.setenv("IMSHARE_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    yield config_dir
    logsetup.reset()


@pytest.fixture
def config_dir(isolated_environment: Path) -> Path:
    return isolated_environment


def _demo_cloud_class() -> Any:
    try:
        from tui.democloud import DemoCloud
    except ImportError as exc:  # pragma: no cover - only while the demo cloud is being built
        pytest.skip(f"demo cloud not available: {exc}")
    return DemoCloud


@pytest.fixture
def make_cloud() -> Iterator[Callable[..., Any]]:
    """Start a DemoCloud with the given options; every one is stopped after the test."""
    started: list[Any] = []

    def start(**options: Any) -> Any:
        demo_cloud_class = _demo_cloud_class()
        options.setdefault("images", 60)
        options.setdefault("seed", 1)
        options.setdefault("latency_ms", 0)
        cloud = demo_cloud_class(**options)
        cloud.__enter__()
        started.append(cloud)
        return cloud

    yield start
    for cloud in reversed(started):
        cloud.__exit__(None, None, None)


@pytest.fixture
def demo_cloud(make_cloud: Callable[..., Any]) -> Any:
    """A fresh small demo cloud (60 images) per test: tests may change its state."""
    return make_cloud()


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """``settings_for(cloud)`` -> Settings built from the cloud's OS_* credentials."""

    return cloud_settings


@pytest.fixture
def cloud_env(demo_cloud: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Put the demo cloud's OS_* credentials into the environment (as its export lines do)."""
    for name, value in demo_cloud.credentials.items():
        monkeypatch.setenv(name, value)
    return demo_cloud


@pytest.fixture
async def make_session(
    settings_for: Callable[..., Settings], config_dir: Path
) -> AsyncIterator[Callable[..., CloudSession]]:
    """``make_session(cloud or settings, cache=..., transport=..., retry=...)``; closed after."""
    sessions: list[CloudSession] = []

    def make(
        target: Any = None,
        *,
        cache: TokenCache | bool | None = True,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = FAST_RETRY,
        **kwargs: Any,
    ) -> CloudSession:
        if isinstance(target, Settings):
            settings = target
        elif target is None:
            settings = unreachable_settings()
        else:
            settings = settings_for(target)
        if cache is True:
            cache = TokenCache(config_dir / "tokens.json")
        elif cache is False:
            cache = None
        session = CloudSession(settings, cache, transport=transport, retry=retry, **kwargs)
        sessions.append(session)
        return session

    yield make
    for session in sessions:
        await session.aclose()


# ------------------------------------------------------------------ odd responses (MockTransport)
# Only for responses a real server cannot be made to send; everything of ours still runs.


class MockCloud:
    """A MockTransport that issues tokens normally and answers IMS calls with ``handler``."""

    project_id = MOCK_PROJECT
    image_endpoint = MOCK_IMS

    def __init__(self, handler: Callable[[httpx.Request], httpx.Response]) -> None:
        self.handler = handler
        self.auth_answers: list[httpx.Response] = []  # answered first, before a real token
        self.token_requests = 0
        self.requests: list[httpx.Request] = []
        self.transport = httpx.MockTransport(self._handle)

    @staticmethod
    def settings(**overrides: Any) -> Settings:
        return mock_settings(**overrides)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path.endswith("/auth/tokens") and request.method == "POST":
            self.token_requests += 1
            if self.auth_answers:
                return self.auth_answers.pop(0)
            return keystone_token_response(token=f"mock-token-{self.token_requests}")
        return self.handler(request)


@pytest.fixture
def mock_cloud() -> Callable[[Callable[[httpx.Request], httpx.Response]], MockCloud]:
    return MockCloud
