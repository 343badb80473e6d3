"""Fixtures for the demo cloud's wire-level tests: real HTTP over loopback, no mocks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from dc_helpers import Api

from tui.democloud import DemoCloud


@pytest.fixture(scope="module")
def cloud() -> Iterator[DemoCloud]:
    """A shared cloud for read-only tests in one module (tests that mutate make their own)."""
    with DemoCloud(images=120, seed=7) as c:
        yield c


@pytest.fixture(scope="module")
def api(cloud: DemoCloud) -> Iterator[Api]:
    """The demo project's user against the shared cloud."""
    a = Api(cloud)
    yield a
    a.close()


@pytest.fixture
def fresh() -> Iterator[DemoCloud]:
    """A private small cloud for tests that change state."""
    with DemoCloud(images=40, seed=3) as c:
        yield c


@pytest.fixture
def fresh_api(fresh: DemoCloud) -> Iterator[Api]:
    a = Api(fresh)
    yield a
    a.close()
