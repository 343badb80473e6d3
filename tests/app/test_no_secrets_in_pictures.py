"""Committed pictures (snapshots, README screenshots) never show a password, token or port."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tui.democloud.seed import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
PICTURES = sorted([*ROOT.glob("screenshots/*.svg"), *ROOT.glob("tests/app/__snapshots__/**/*.svg")])
# Fernet-like demo tokens start with gAAAA; a loopback URL with a port would change every run.
FORBIDDEN = [
    re.compile(re.escape(DEMO_PASSWORD)),
    re.compile(r"owner\d-password"),
    re.compile(r"gAAAA[A-Za-z0-9_\-]{20,}"),
    re.compile(r"127\.0\.0\.1:\d+"),
]


def test_there_are_pictures_to_check() -> None:
    assert len(PICTURES) >= 6


@pytest.mark.parametrize("picture", PICTURES, ids=lambda p: p.name)
def test_picture_holds_no_secret(picture: Path) -> None:
    text = picture.read_text(encoding="utf-8").replace("&#160;", " ")
    for pattern in FORBIDDEN:
        assert not pattern.search(text), f"{picture.name} shows {pattern.pattern}"
