"""Fixtures for the app tests: an ImshareApp against a real DemoCloud, with a frozen clock.

The countdown, the activity spinner and the Input cursor blink are frozen for every app test, so
snapshots are byte-stable and Pilot tests never race a timer. Nothing of ours is mocked: the app
talks HTTP to a DemoCloud on loopback (``make_cloud`` from tests/conftest.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import cloud_settings, freeze_ui

from tui.app.app import ImshareApp
from tui.cloud.token_cache import TokenCache
from tui.settings.model import Settings

# A small world with every status and a full-ECS image among the pending ones (seed 7).
IMAGES = 48
SEED = 7


@pytest.fixture(autouse=True)
def frozen_ui(monkeypatch: pytest.MonkeyPatch) -> None:
    """No cursor blink, no spinner frames, a fixed token countdown."""
    freeze_ui(monkeypatch.setattr)


@pytest.fixture
def cloud(make_cloud: Callable[..., Any]) -> Any:
    """A fresh demo cloud per test (tests change its state)."""
    return make_cloud(images=IMAGES, seed=SEED)


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[Callable[..., ImshareApp]]:
    """``make_app(cloud, read_only=..., **settings_overrides)`` or ``make_app(settings=...)``.

    Each app gets its own token cache and config path under ``tmp_path``. An app survives an
    error in a handler, callback or action with an "Unexpected error" toast; a test that does
    not expect one fails on it here, as it would have failed on the crash.
    """
    counter = itertools.count(1)
    built: list[ImshareApp] = []

    def build(
        cloud: Any = None,
        *,
        settings: Settings | None = None,
        read_only: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_path: Path | None = None,
        quiet: bool = False,
        all_projects: bool | None = None,
        **overrides: Any,
    ) -> ImshareApp:
        n = next(counter)
        if settings is None:
            assert cloud is not None, "give a cloud or settings"
            settings = cloud_settings(cloud)
        settings = replace(settings, **overrides)
        app = ImshareApp(
            settings,
            cache=TokenCache(cache_path or tmp_path / f"tokens-{n}.json"),
            config_path=tmp_path / f"config-{n}.toml",
            read_only=read_only,
            transport=transport,
            all_projects=all_projects,
        )
        if quiet:
            # What run_test(notifications=False) does; snap_compare runs the app with
            # App.run(headless=True), which would otherwise draw toasts into the snapshot.
            app._disable_notifications = True
            app._disable_tooltips = True
        built.append(app)
        return app

    yield build
    for app in built:
        assert not app.unexpected_errors, f"the app reported {app.unexpected_errors!r}"
