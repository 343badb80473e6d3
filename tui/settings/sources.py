"""Which settings apply: one base (a config profile or a clouds.yaml cloud), then ``OS_*``.

Lowest precedence first:

1. the config file's top level (the "default" profile), or one ``[profiles.NAME]`` table
   (``--profile NAME`` / ``IMSHARE_PROFILE``), or one cloud of ``clouds.yaml`` (``--os-cloud
   NAME`` / ``OS_CLOUD``, see :mod:`tui.settings.clouds_yaml`): exactly one of these is the base;
2. the ``OS_*`` variables, which win over the base, as with ``openstack`` and openstacksdk.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tui import files
from tui.settings.config_file import DEFAULT_PROFILE, read_config_file
from tui.settings.model import ConfigError, Settings, normalise_auth_type, parse_bool

_ENV_MAP: dict[str, str] = {
    "OS_AUTH_URL": "auth_url",
    "OS_USERNAME": "username",
    "OS_PASSWORD": "password",
    "OS_USER_DOMAIN_NAME": "user_domain_name",
    "OS_USER_DOMAIN_ID": "user_domain_id",
    "OS_PROJECT_NAME": "project_name",
    "OS_PROJECT_ID": "project_id",
    "OS_PROJECT_DOMAIN_NAME": "project_domain_name",
    "OS_PROJECT_DOMAIN_ID": "project_domain_id",
    "OS_REGION_NAME": "region",
    "OS_CACERT": "cacert",
    "OS_CERT": "cert",
    "OS_KEY": "key",
}
# Setting one of a name/id pair from the environment clears the other one of the base.
_PAIRS = (
    ("project_name", "project_id"),
    ("user_domain_name", "user_domain_id"),
    ("project_domain_name", "project_domain_id"),
)


def apply_environment(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """Overlay ``OS_*`` variables on the base settings; the environment wins.

    ``OS_TOKEN`` (or ``OS_AUTH_TOKEN``) switches to token auth when ``OS_AUTH_TYPE`` says so, or
    when it is unset and no password is at hand; ``OS_AUTH_TYPE=v3password`` keeps passwords.
    """
    changes: dict[str, Any] = {}
    for variable, name in _ENV_MAP.items():
        value = environ.get(variable)
        if value:
            changes[name] = value.strip()
    for first, second in _PAIRS:
        if first in changes and second not in changes:
            changes[second] = ""
        if second in changes and first not in changes:
            changes[first] = ""
    insecure = environ.get("OS_INSECURE")
    if insecure:
        changes["verify"] = parse_bool(insecure) is not True
    token = (environ.get("OS_TOKEN") or environ.get("OS_AUTH_TOKEN") or "").strip()
    if token:
        changes["token"] = token
    auth_type = (environ.get("OS_AUTH_TYPE") or "").strip()
    if auth_type:
        changes["auth_type"] = normalise_auth_type(auth_type, "OS_AUTH_TYPE")
    elif token and not changes.get("password", settings.password):
        changes["auth_type"] = "token"
    return replace(settings, **changes) if changes else settings


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    settings: Settings
    ui: dict[str, Any]
    path: Path
    warnings: list[str]
    #: The config profile in use ("default" is the file's top level); "" with a cloud.
    profile: str = DEFAULT_PROFILE
    #: The clouds.yaml cloud in use, if any.
    cloud: str = ""
    #: Where the base settings came from, for messages ("config file X [profiles.work]").
    source: str = ""


def load(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    profile: str | None = None,
    cloud: str | None = None,
) -> LoadedConfig:
    """Load the base settings and overlay the ``OS_*`` environment.

    The base is one of: the config file's top level, a ``[profiles.NAME]`` table (``profile``,
    else ``IMSHARE_PROFILE``) or a clouds.yaml cloud (``cloud``, else ``OS_CLOUD``). An explicit
    argument beats any variable; ``IMSHARE_PROFILE`` beats ``OS_CLOUD``; giving both arguments is
    a ``ConfigError``. The ``[ui]`` table always comes from the config file.
    """
    env = os.environ if environ is None else environ
    config_path = path or files.config_file()
    if profile and cloud:
        raise ConfigError(
            f"choose a config profile ({profile}) or a clouds.yaml cloud ({cloud}), not both"
        )
    if not profile and not cloud:
        profile = (env.get("IMSHARE_PROFILE") or "").strip() or None
        if not profile:
            cloud = (env.get("OS_CLOUD") or "").strip() or None
    warnings: list[str] = []
    if cloud:
        _settings, ui = read_config_file(config_path)
        from tui.settings import clouds_yaml  # read (YAML and all) only for a cloud named

        found = clouds_yaml.load_cloud(cloud, env)
        settings, source, chosen = found.settings, f"cloud {cloud!r} in {found.path}", ""
        warnings.extend(found.warnings)
    else:
        chosen = profile or DEFAULT_PROFILE
        settings, ui = read_config_file(config_path, chosen)
        source = f"config file {config_path}"
        if chosen != DEFAULT_PROFILE:
            source += f" [profiles.{chosen}]"
    # Read first: a path that is not a regular file has been refused by now, unopened.
    loose = files.loose_file_warning(config_path, "config file", "settings (maybe a password)")
    if loose:
        warnings.insert(0, loose)
    settings = apply_environment(settings, env)
    if not settings.verify:
        warnings.append(insecure_warning(env, source))
    if environ is None:
        problem = proxy_problem()
        if problem:
            raise ConfigError(problem)
    return LoadedConfig(
        settings=settings,
        ui=ui,
        path=config_path,
        warnings=warnings,
        profile=chosen,
        cloud=cloud or "",
        source=source,
    )


def insecure_warning(environ: Mapping[str, str], source: str) -> str:
    """What to say when TLS certificates are not checked, naming where that was asked for."""
    where = "OS_INSECURE" if parse_bool(environ.get("OS_INSECURE")) else f"set in {source}"
    return (
        f"TLS certificate verification is off ({where}): anyone on the network path can read "
        "your password and tokens; set OS_CACERT to your CA bundle instead"
    )


_PROXY_VARIABLES = {
    "http": ("HTTP_PROXY", "http_proxy"),
    "https": ("HTTPS_PROXY", "https_proxy"),
    "all": ("ALL_PROXY", "all_proxy"),
    "no": ("NO_PROXY", "no_proxy"),
}


def proxy_problem() -> str:
    """Why httpx could not use the proxy variables of this process (``""`` when it can).

    httpx reads ``HTTP(S)_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` when a client is built and
    raises on a value it cannot parse; this runs the same parsing (httpx 0.28's
    ``get_environment_proxies``: a proxy without ``://`` gets ``http://``, a ``NO_PROXY`` host
    becomes an ``all://`` pattern) at start, so a typo is a message and exit 2, not a traceback.
    """
    from urllib.request import getproxies

    import httpx

    found = getproxies()
    for scheme in ("http", "https", "all"):
        value = found.get(scheme)
        if not value:
            continue
        url = value if "://" in value else f"http://{value}"
        try:
            httpx.Proxy(url)
        except (httpx.InvalidURL, ValueError, TypeError) as error:
            return _proxy_message(scheme, value, str(error))
    for host in (part.strip() for part in found.get("no", "").split(",")):
        if not host or host == "*":
            continue
        pattern = _no_proxy_pattern(host)
        try:
            httpx.URL(pattern)
        except (httpx.InvalidURL, ValueError, TypeError) as error:
            return _proxy_message("no", host, str(error))
    return ""


def _no_proxy_pattern(host: str) -> str:
    """The URL pattern httpx makes of one ``NO_PROXY`` entry."""
    if "://" in host:
        return host
    address = host.split("/")[0]
    for kind, pattern in (
        (ipaddress.IPv4Address, "all://{}"),
        (ipaddress.IPv6Address, "all://[{}]"),
    ):
        try:
            kind(address)
        except ValueError:
            continue
        return pattern.format(host)
    if host.lower() == "localhost":
        return f"all://{host}"
    return f"all://*{host}"


def _proxy_message(scheme: str, value: str, error: str) -> str:
    upper, lower = _PROXY_VARIABLES[scheme]
    variable = upper if os.environ.get(upper) else lower
    shown = value
    if "@" in value:  # user:password@host — the password stays out of the message
        head, _, tail = value.rpartition("@")
        scheme_part = head.split("://", 1)[0] + "://" if "://" in head else ""
        shown = f"{scheme_part}***@{tail}"
    example = (
        "a host name or address, e.g. localhost,.internal"
        if scheme == "no"
        else ("a URL such as http://proxy.example.com:3128")
    )
    return f"{variable}={shown!r} cannot be used ({error}); set it to {example}, or unset it"
