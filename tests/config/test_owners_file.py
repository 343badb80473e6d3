"""owners.toml: imshare's own file of owner names — private, atomic, bounded, validated."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tui.settings import owners
from tui.settings.owners import OwnersError, Trust

OWNER = "907a70c3b1d84fd6a5c1f1e5c3e4d2a1"
OTHER = "1234abcd1234abcd1234abcd1234abcd"


def test_a_named_owner_is_saved_0600_and_read_back(config_dir: Path) -> None:
    os.umask(0o022)
    book = owners.set_owner(OWNER, "Platform team", Trust.TRUSTED)
    path = config_dir / "owners.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    assert book.name_of(OWNER) == "Platform team"
    again = owners.load()
    assert again.get(OWNER) == owners.Owner(OWNER, "Platform team", Trust.TRUSTED)
    assert again.trust_of(OTHER) is Trust.UNKNOWN and again.name_of(OTHER) == ""


def test_saving_keeps_the_other_owners_and_an_empty_unknown_entry_is_forgotten(
    config_dir: Path,
) -> None:
    owners.set_owner(OWNER, "Platform team", Trust.TRUSTED)
    owners.set_owner(OTHER, "", Trust.BLOCKED)  # blocked without a name is kept
    book = owners.load()
    assert book.is_blocked(OTHER) and book.name_of(OWNER) == "Platform team"
    owners.set_owner(OWNER, "", Trust.UNKNOWN)
    book = owners.load()
    assert book.get(OWNER) is None and book.is_blocked(OTHER)


def test_a_corrupt_file_is_a_message_naming_it_and_is_never_overwritten(config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    path = config_dir / "owners.toml"
    path.write_text('[owners."abc"\nname = "broken', encoding="utf-8")
    book, problem = owners.load_or_empty()
    assert len(book) == 0
    assert str(path) in problem and "not valid TOML" in problem
    with pytest.raises(OwnersError, match="not valid TOML"):
        owners.set_owner(OWNER, "Platform team", Trust.TRUSTED)
    assert path.read_text(encoding="utf-8") == '[owners."abc"\nname = "broken'


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[owners.abc]\ntrust = "friendly"\n', "trust must be one of trusted, unknown, blocked"),
        ("[owners.abc]\nname = 3\n", "name must be a string"),
        ('[owners.abc]\ncolour = "red"\n', "unknown key 'colour'"),
        ('[people.abc]\nname = "x"\n', "unknown table or key 'people'"),
    ],
)
def test_a_wrong_entry_names_the_owner_and_the_key(config_dir: Path, text: str, words: str) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "owners.toml").write_text(text, encoding="utf-8")
    with pytest.raises(OwnersError) as caught:
        owners.load()
    assert words in str(caught.value)
    assert "owners.toml" in str(caught.value)


def test_an_oversized_file_is_refused_not_read(config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "owners.toml").write_bytes(b"# x\n" * 300_000)
    book, problem = owners.load_or_empty()
    assert len(book) == 0 and "larger than" in problem


@pytest.mark.parametrize(
    "name", ["evil\x1b]0;owned\x07", "a\u202ebc", "two\nlines", "x" * (owners.MAX_NAME + 1)]
)
def test_names_are_validated_on_write(config_dir: Path, name: str) -> None:
    with pytest.raises(OwnersError):
        owners.set_owner(OWNER, name, Trust.UNKNOWN)
    assert not (config_dir / "owners.toml").exists()


def test_a_symbolic_link_to_another_users_file_is_not_written_through(
    config_dir: Path, tmp_path: Path
) -> None:
    config_dir.mkdir(parents=True)
    target = tmp_path / "elsewhere"
    target.mkdir()
    (config_dir / "owners.toml").symlink_to(target)  # a link to a directory
    with pytest.raises(OwnersError):
        owners.set_owner(OWNER, "Platform team", Trust.TRUSTED)
    assert target.is_dir() and not any(target.iterdir())


def test_sorting_and_labels_use_the_name(config_dir: Path) -> None:
    book = owners.set_owner(OWNER, "zeta", Trust.UNKNOWN)
    book = owners.set_owner(OTHER, "Alpha", Trust.UNKNOWN)
    assert book.label(OWNER) == "zeta" and book.label("ffffffffffff") == "ffffffff"
    ids = sorted([OWNER, OTHER, "0000unnamed"], key=book.sort_text)
    assert ids == [OTHER, OWNER, "0000unnamed"]
    assert book.matches(OWNER, "ZETA") and book.matches(OWNER, OWNER)
    assert not book.matches(OWNER, "zet")
