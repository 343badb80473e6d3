"""The all-projects settings in config.toml: ``regions`` (a list or a comma string) and the
request limits ``concurrency`` / ``host_concurrency``, read per profile like ``timeout``;
a bad value is a clear error naming the file and what to write instead, exit 2."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tui.cli.main import main
from tui.cloud.session import CloudSession
from tui.settings.config_file import save
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_regions_as_a_list_or_a_comma_string_and_limits_per_profile(tmp_path):
    config = write(
        tmp_path / "config.toml",
        'username = "alice"\nregions = ["eu-de", "eu-nl"]\nconcurrency = 32\n'
        "[profiles.swiss]\n"
        'username = "alice"\nregions = " eu-ch2 , eu-ch2,"\nhost_concurrency = 2\n',
    )
    top = load(config, {}).settings
    assert top.regions == ("eu-de", "eu-nl")
    assert (top.concurrency, top.host_concurrency) == (32, 8)
    swiss = load(config, {}, profile="swiss").settings
    # Blanks and repeats go; each profile stands alone (nothing inherited from the top).
    assert swiss.regions == ("eu-ch2",)
    assert (swiss.concurrency, swiss.host_concurrency) == (16, 2)
    assert Settings().regions == ()  # the default: every region


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("concurrency = 0", "concurrency must be a whole number from 1 to 64, not 0"),
        ("concurrency = 65", "concurrency must be a whole number from 1 to 64, not 65"),
        ("host_concurrency = 2.5", "host_concurrency must be a whole number from 1 to 64"),
        ("concurrency = true", "concurrency must be a whole number from 1 to 64, not True"),
        ('concurrency = "8"', "concurrency must be a whole number from 1 to 64, not '8'"),
        ('regions = ["eu-de", "eu nl"]', "region 'eu nl' contains a space (U+0020)"),
        ('regions = "eu-de\\u001b[2J"', "region 'eu-de\\x1b[2J' contains a control character"),
        ("regions = [1, 2]", 'regions must be a list of region names, e.g. ["eu-de", "eu-nl"]'),
    ],
)
def test_a_bad_value_names_the_file_and_what_to_write(tmp_path, capsys, line, says):
    config = write(tmp_path / "config.toml", f'username = "alice"\n{line}\n')
    with pytest.raises(ConfigError) as caught:
        load(config, {})
    assert str(caught.value).startswith(f"config file {config}: ")
    assert says in str(caught.value)
    # The CLI says the same and stops before any request, exit 2.
    assert main(["--config", str(config), "list"]) == 2
    err = capsys.readouterr().err
    assert says in err and "\x1b" not in err


def test_settings_built_elsewhere_are_checked_too():
    problems = Settings(regions=("eu-de", "eu\nnl"), concurrency=0, host_concurrency=99).problems()
    assert any("region 'eu\\nnl' contains a line break (U+000A)" in p for p in problems)
    assert any(p.startswith("concurrency must be a whole number from 1 to 64") for p in problems)
    assert any(p.startswith("host_concurrency must be") for p in problems)


def test_saving_a_profile_keeps_the_inbox_settings(tmp_path):
    """The config screen saves with ``replace``: regions and limits it does not show survive."""
    config = tmp_path / "config.toml"
    save(Settings(username="alice", regions=("eu-nl",), concurrency=4), config)
    data = tomllib.loads(config.read_text())
    assert data["regions"] == ["eu-nl"] and data["concurrency"] == 4
    assert "host_concurrency" not in data  # a default is not written
    again = load(config, {}).settings
    assert again.regions == ("eu-nl",) and again.concurrency == 4


async def test_the_session_limits_requests_as_configured():
    async with CloudSession(Settings(concurrency=3, host_concurrency=2)) as session:
        assert (session.limiter.total, session.limiter.per_host) == (3, 2)
        # A session for another project of the same user shares those limits.
        other = session.for_project("abc", share_client=True)
        assert other.limiter is session.limiter
    async with CloudSession(Settings()) as session:
        assert (session.limiter.total, session.limiter.per_host) == (16, 8)


def test_regions_are_not_part_of_the_token_cache_key():
    assert (
        Settings(username="a", regions=("eu-nl",)).cache_key() == Settings(username="a").cache_key()
    )
