"""clouds.yaml / secure.yaml: discovery order, merge, vendor profiles, auth types, errors, and
logging in with a cloud (password and token) against a real DemoCloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tui.cli.main import main
from tui.cloud import CloudSession, MemberStatus, TokenCache
from tui.settings import clouds_yaml
from tui.settings.model import ConfigError, Settings
from tui.settings.sources import load


def write_clouds(directory: Path, clouds: dict, name: str = "clouds.yaml") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(yaml.safe_dump({"clouds": clouds}))
    return path


def demo_cloud_entry(cloud, *, with_password: bool = True) -> dict:
    """A clouds.yaml entry in the shape otcextensions documents, pointing at the demo cloud."""
    creds = cloud.credentials
    auth = {
        "auth_url": creds["OS_AUTH_URL"],
        "username": creds["OS_USERNAME"],
        "project_name": creds["OS_PROJECT_NAME"],
        "user_domain_name": creds["OS_USER_DOMAIN_NAME"],
    }
    if with_password:
        auth["password"] = creds["OS_PASSWORD"]
    return {
        "region_name": creds["OS_REGION_NAME"],
        "auth": auth,
        "interface": "public",
        "identity_api_version": 3,
    }


@pytest.fixture
def places(tmp_path, monkeypatch):
    """cwd, the XDG user dir and ~/.config/openstack, all private to the test."""
    cwd = tmp_path / "work"
    cwd.mkdir()
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("HOME", str(home))
    xdg = Path(os.environ["XDG_CONFIG_HOME"])
    return {"cwd": cwd, "xdg": xdg / "openstack", "home": home / ".config" / "openstack"}


# ------------------------------------------------------------------------- discovery


def test_search_order_is_openstacksdks(places, monkeypatch, tmp_path):
    explicit = tmp_path / "elsewhere" / "my-clouds.yaml"
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(explicit))
    dirs = clouds_yaml.search_dirs()
    assert dirs == [places["cwd"], places["xdg"], places["home"], Path("/etc/openstack")]
    files = clouds_yaml.candidate_files("clouds")
    assert files[0] == explicit
    assert files[1:4] == [places["cwd"] / n for n in ("clouds.yaml", "clouds.yml", "clouds.json")]
    assert files[-1] == Path("/etc/openstack/clouds.json")
    secure = clouds_yaml.candidate_files("secure")
    assert secure[0] == places["cwd"] / "secure.yaml"


def test_first_clouds_file_found_wins(places, monkeypatch, tmp_path):
    write_clouds(places["home"], {"home-only": {"auth": {"auth_url": "https://h/v3"}}})
    assert clouds_yaml.list_clouds() == ["home-only"]
    write_clouds(places["xdg"], {"xdg-only": {"auth": {"auth_url": "https://x/v3"}}})
    assert clouds_yaml.list_clouds() == ["xdg-only"]
    write_clouds(places["cwd"], {"a": {}, "b": {}}, name="clouds.yml")
    assert clouds_yaml.list_clouds() == ["a", "b"]
    explicit = write_clouds(tmp_path / "explicit", {"explicit": {}})
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(explicit))
    assert clouds_yaml.list_clouds() == ["explicit"]
    # Files are not merged with each other: only the first one counts.
    with pytest.raises(ConfigError, match=r"clouds there: explicit"):
        clouds_yaml.settings_from_cloud("a")


def test_secure_yaml_deep_merges_over_clouds_yaml(places):
    write_clouds(
        places["home"],
        {
            "otc": {
                "profile": "otc",
                "region_name": "eu-nl",
                "auth": {"username": "alice", "project_name": "eu-nl_p",
                         "user_domain_name": "OTC0001", "password": "stale"},
            }
        },
    )  # fmt: skip
    write_clouds(
        places["cwd"],
        {"otc": {"auth": {"password": "from-secure"}}, "only-secret": {"auth": {}}},
        name="secure.yaml",
    )
    settings = clouds_yaml.settings_from_cloud("otc")
    assert settings.password == "from-secure"
    assert settings.username == "alice" and settings.user_domain_name == "OTC0001"
    assert settings.project_name == "eu-nl_p"
    assert clouds_yaml.list_clouds() == ["only-secret", "otc"]


def test_otc_vendor_profiles(places):
    write_clouds(
        places["cwd"],
        {
            "de": {"profile": "otc", "region_name": "eu-de", "auth": {"username": "u"}},
            "nl": {"profile": "otc", "region_name": "eu-nl"},
            "bare": {"profile": "otc"},
            "swiss": {"profile": "otc-swiss"},
            "legacy": {"cloud": "otc", "region_name": "eu-nl"},
            "own-url": {"profile": "otc", "region_name": "eu-de",
                        "auth": {"auth_url": "https://iam.eu-de.otc.t-systems.com:443/v3"}},
            "unknown": {"profile": "acme"},
        },
    )  # fmt: skip
    de = clouds_yaml.settings_from_cloud("de")
    assert (de.auth_url, de.region, de.preset) == (
        "https://iam.eu-de.otc.t-systems.com/v3",
        "eu-de",
        "eu-de",
    )
    assert clouds_yaml.settings_from_cloud("nl").auth_url == (
        "https://iam.eu-nl.otc.t-systems.com/v3"
    )
    assert clouds_yaml.settings_from_cloud("bare").region == "eu-de"
    swiss = clouds_yaml.settings_from_cloud("swiss")
    assert swiss.auth_url == "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3"
    assert swiss.region == "eu-ch2" and swiss.preset == "eu-ch2"
    assert clouds_yaml.settings_from_cloud("legacy").region == "eu-nl"
    assert clouds_yaml.settings_from_cloud("own-url").auth_url.endswith(":443/v3")
    with pytest.raises(ConfigError, match=r"vendor profile 'acme'.*otc, otc-swiss"):
        clouds_yaml.settings_from_cloud("unknown")


def test_tls_auth_and_id_keys(places, tmp_path):
    ca = tmp_path / "ca.pem"
    write_clouds(
        places["cwd"],
        {
            "tls": {
                "auth": {"auth_url": "https://k/v3", "username": "u", "password": "p",
                         "user_domain_id": "d-1", "project_id": "p-1",
                         "project_domain_id": "pd-1"},
                "cacert": str(ca), "cert": "/c.pem", "key": "/k.pem",
                "image_endpoint_override": "https://ims.example/v2",
                "auth_type": "v3password",
            },
            "no-verify": {"verify": False},
            "insecure": {"insecure": True},
            "v3token": {"auth_type": "v3token", "auth": {"token": "tok-1", "project_id": "p"}},
            "token-inferred": {"auth": {"token": "tok-2", "project_id": "p"}},
            "appcred": {"auth_type": "v3applicationcredential"},
            "bad-verify": {"verify": "maybe"},
        },
    )  # fmt: skip
    tls = clouds_yaml.settings_from_cloud("tls")
    assert (tls.cacert, tls.cert, tls.key) == (str(ca), "/c.pem", "/k.pem")
    assert (tls.user_domain_id, tls.project_id, tls.project_domain_id) == ("d-1", "p-1", "pd-1")
    assert tls.ims_endpoint == "https://ims.example/v2" and tls.auth_type == "password"
    assert tls.verify is True
    assert clouds_yaml.settings_from_cloud("no-verify").verify is False
    assert clouds_yaml.settings_from_cloud("insecure").verify is False
    token = clouds_yaml.settings_from_cloud("v3token")
    assert token.uses_token and token.token == "tok-1" and not token.needs_password
    assert "tok-1" not in repr(token)
    assert clouds_yaml.settings_from_cloud("token-inferred").uses_token
    with pytest.raises(ConfigError, match=r"v3applicationcredential.*not supported"):
        clouds_yaml.settings_from_cloud("appcred")
    with pytest.raises(ConfigError, match=r"verify must be true or false"):
        clouds_yaml.settings_from_cloud("bad-verify")


def test_missing_cloud_lists_the_names(places):
    write_clouds(places["home"], {"prod": {}, "test": {}})
    with pytest.raises(ConfigError) as caught:
        clouds_yaml.settings_from_cloud("stage")
    message = str(caught.value)
    assert "'stage'" in message and "prod, test" in message
    assert str(places["home"] / "clouds.yaml") in message


def test_no_clouds_file_says_where_it_looked(places):
    with pytest.raises(ConfigError, match=r"no clouds.yaml found; looked in .*openstack"):
        clouds_yaml.settings_from_cloud("any")
    assert clouds_yaml.list_clouds() == []


def test_broken_yaml_names_file_and_line(places):
    places["cwd"].joinpath("clouds.yaml").write_text("clouds:\n  a: {\n  b: [\n")
    with pytest.raises(ConfigError, match=r"clouds.yaml is not valid YAML at line \d+"):
        clouds_yaml.list_clouds()
    places["cwd"].joinpath("clouds.yaml").write_text("clouds: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"'clouds' must map cloud names"):
        clouds_yaml.list_clouds()


# ------------------------------------------------------------------------- precedence


def test_os_variables_override_the_cloud(places):
    write_clouds(
        places["cwd"],
        {"c": {"region_name": "eu-de", "auth": {"auth_url": "https://k/v3", "username": "u",
               "password": "p", "user_domain_name": "D", "project_name": "from-yaml"}}},
    )  # fmt: skip
    env = {"OS_CLOUD": "c", "OS_PROJECT_ID": "p-env", "OS_REGION_NAME": "eu-nl"}
    loaded = load(environ=env)
    assert loaded.cloud == "c" and "cloud 'c'" in loaded.source
    settings = loaded.settings
    assert settings.project_id == "p-env" and settings.project_name == ""
    assert settings.region == "eu-nl" and settings.username == "u"
    # An explicit cloud beats OS_CLOUD; an explicit profile beats OS_CLOUD too.
    with pytest.raises(ConfigError, match=r"'other' is not in"):
        load(environ=env, cloud="other")
    assert load(environ=env, profile="default").cloud == ""
    with pytest.raises(ConfigError, match=r"not both"):
        load(environ={}, cloud="c", profile="work")


def test_os_token_switches_to_token_auth_only_without_a_password(places):
    write_clouds(
        places["cwd"],
        {"pw": {"auth": {"auth_url": "https://k/v3", "username": "u", "password": "p",
                         "user_domain_name": "D", "project_id": "x"}},
         "nopw": {"auth": {"auth_url": "https://k/v3", "project_id": "x"}}},
    )  # fmt: skip
    assert not load(environ={"OS_CLOUD": "pw", "OS_TOKEN": "t"}).settings.uses_token
    nopw = load(environ={"OS_CLOUD": "nopw", "OS_TOKEN": "t"}).settings
    assert nopw.uses_token and nopw.token == "t" and nopw.problems() == []
    forced = load(environ={"OS_CLOUD": "pw", "OS_TOKEN": "t", "OS_AUTH_TYPE": "v3token"})
    assert forced.settings.uses_token
    with pytest.raises(ConfigError, match="OS_AUTH_TYPE"):
        load(environ={"OS_AUTH_TYPE": "v3oidcpassword"})


# ------------------------------------------------------------------------- against the demo


async def test_token_auth_against_the_demo_cloud(demo_cloud, settings_for, config_dir):
    """Log in once with a password, then use that token with auth_type v3token."""
    async with CloudSession(settings_for(demo_cloud)) as first:
        issued = await first.token()
    creds = demo_cloud.credentials
    settings = Settings(
        auth_url=creds["OS_AUTH_URL"],
        auth_type="token",
        token=issued.value,
        project_name=creds["OS_PROJECT_NAME"],
        project_domain_name=creds["OS_PROJECT_DOMAIN_NAME"],
        region=creds["OS_REGION_NAME"],
    )
    assert settings.problems() == []
    cache = TokenCache(config_dir / "tokens.json")
    async with CloudSession(settings, cache) as session:
        token = await session.token()
        assert token.project_id == demo_cloud.project_id
        images = await session.list_shared([MemberStatus.PENDING])
    assert sorted(i.id for i in images) == sorted(demo_cloud.shared_image_ids("pending"))
    assert demo_cloud.stats.token_requests == 2
    # The scoped token is cached under a key without the token itself: a second session
    # asks Keystone for nothing.
    async with CloudSession(settings, cache) as again:
        await again.token()
    assert demo_cloud.stats.token_requests == 2
    assert issued.value not in settings.cache_key()
    # A revoked token is refused with a hint that says what to do.
    demo_cloud.revoke_tokens()
    cache.drop(settings.cache_key())
    async with CloudSession(settings, cache) as refused:
        with pytest.raises(Exception) as caught:
            await refused.token()
    assert "OS_TOKEN" in caught.value.summary


def test_cli_with_a_cloud_and_a_token(demo_cloud, places, capsys, monkeypatch):
    write_clouds(places["cwd"], {"demo": demo_cloud_entry(demo_cloud)})
    assert main(["login", "--os-cloud", "demo"]) == 0
    out = capsys.readouterr().out
    assert demo_cloud.project_id in out
    # Token auth: the cloud without a password plus OS_TOKEN from a first login.
    cache_file = Path(os.environ["IMSHARE_CONFIG_DIR"]) / "tokens.json"
    issued = next(iter(json.loads(cache_file.read_text())["tokens"].values()))["token"]
    entry = demo_cloud_entry(demo_cloud, with_password=False)
    entry["auth_type"] = "v3token"
    entry["auth"]["project_domain_name"] = demo_cloud.credentials["OS_PROJECT_DOMAIN_NAME"]
    write_clouds(places["cwd"], {"demo": entry})
    monkeypatch.setenv("OS_TOKEN", issued)
    assert main(["--os-cloud", "demo", "list", "--status", "rejected", "-f", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["id"] for r in rows) == sorted(demo_cloud.shared_image_ids("rejected"))
    assert main(["login", "--os-cloud", "demo"]) == 0  # no password prompt with a token
    assert issued not in capsys.readouterr().out


def test_missing_cloud_exit_2_lists_names(places, capsys):
    write_clouds(places["cwd"], {"prod": {}, "dev": {}})
    assert main(["list", "--os-cloud", "nope"]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "dev, prod" in err


def test_done_when_list_os_cloud_json_in_a_subprocess(demo_cloud, tmp_path):
    """otcextensions' documented shape, password in secure.yaml, found in the current directory."""
    work = tmp_path / "proj"
    entry = demo_cloud_entry(demo_cloud, with_password=False)
    write_clouds(work, {"demo": entry})
    write_clouds(
        work,
        {"demo": {"auth": {"password": demo_cloud.credentials["OS_PASSWORD"]}}},
        name="secure.yaml",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    listed = subprocess.run(
        [sys.executable, "-m", "tui", "list", "--os-cloud", "demo", "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=work,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert sorted(r["id"] for r in rows) == sorted(demo_cloud.shared_image_ids("pending"))
    assert demo_cloud.credentials["OS_PASSWORD"] not in listed.stdout + listed.stderr
