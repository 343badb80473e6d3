"""Settings: the TOML config file, its profiles, clouds.yaml, the ``OS_*`` environment.

Where the connection settings come from, lowest precedence first:

1. the config file's top level (the "default" profile), or one ``[profiles.NAME]`` table
   (``--profile NAME`` / ``IMSHARE_PROFILE``), or one cloud of ``clouds.yaml`` (``--os-cloud
   NAME`` / ``OS_CLOUD``, see :mod:`tui.clouds_yaml`): exactly one of these is the base;
2. the ``OS_*`` variables, which win over the base, as with ``openstack`` and openstacksdk.

The same ``Settings`` feed the CLI and the app, so both reach the same cloud with the same
credentials. The password is stored only when the user asked for it; a token (``OS_TOKEN``,
``auth.token``) is never stored; neither is shown by ``repr``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import tomli_w

from tui import paths
from tui.securefile import tighten, write_private

# Open Telekom Cloud regions (ims-api.md §1.1). eu-ch2's IMS host is inferred, so it is left to
# the catalog.
REGION_PRESETS: dict[str, dict[str, str]] = {
    "eu-de": {"auth_url": "https://iam.eu-de.otc.t-systems.com/v3", "region": "eu-de"},
    "eu-nl": {"auth_url": "https://iam.eu-nl.otc.t-systems.com/v3", "region": "eu-nl"},
    "eu-ch2": {"auth_url": "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3", "region": "eu-ch2"},
}

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
_TRUE = ("1", "true", "yes", "on")
# Setting one of a name/id pair from the environment clears the other one of the base.
_PAIRS = (
    ("project_name", "project_id"),
    ("user_domain_name", "user_domain_id"),
    ("project_domain_name", "project_domain_id"),
)

DEFAULT_PROFILE = "default"
#: Keystone auth types imshare speaks, and what each one means here.
AUTH_TYPES: dict[str, str] = {
    "password": "password",
    "v3password": "password",
    "token": "token",
    "v3token": "token",
}
# Never read from or written to config.toml: a token is a short-lived credential that comes from
# the environment or clouds.yaml, and the auth type follows from where the credential comes from.
_RUNTIME_ONLY = frozenset({"token", "auth_type"})


class ConfigError(Exception):
    """The configuration cannot be used as it is; the message names the file and what to fix."""


@dataclass(slots=True)
class Settings:
    """Everything needed to reach one project's image service."""

    auth_url: str = ""
    username: str = ""
    password: str = field(default="", repr=False)
    user_domain_name: str = ""
    project_name: str = ""
    project_id: str = ""
    project_domain_name: str = ""
    user_domain_id: str = ""
    project_domain_id: str = ""
    region: str = ""
    ims_endpoint: str = ""
    cacert: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True
    remember_password: bool = False
    allow_insecure_http: bool = False
    preset: str = "custom"
    # "password" or "token" (Keystone's token method with an existing token; never persisted).
    auth_type: str = "password"
    token: str = field(default="", repr=False)

    def __repr__(self) -> str:
        secret = ("password", "token")
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name not in secret
        )
        return (
            f"Settings({shown}, password={'***' if self.password else ''!r}, "
            f"token={'***' if self.token else ''!r})"
        )

    @property
    def project_label(self) -> str:
        return self.project_name or self.project_id

    @property
    def uses_token(self) -> bool:
        """Log in with an existing token (``v3token``) instead of a password."""
        return self.auth_type == "token"

    @property
    def needs_password(self) -> bool:
        """A password must be asked for when no cached token is left."""
        return not self.uses_token and not self.password

    def cache_key(self) -> str:
        """Tokens are cached per auth URL, user domain, user and project.

        With token auth there is no user name: the key holds a short digest of the token
        instead (never the token), so a new ``OS_TOKEN`` gets its own entry.
        """
        if self.uses_token:
            who = "token:" + hashlib.sha256(self.token.encode("utf-8")).hexdigest()[:16]
        else:
            who = self.username
        project_domain = self.project_domain_name or self.project_domain_id
        return "|".join(
            (
                normalise_url(self.auth_url),
                self.user_domain_name or self.user_domain_id,
                who,
                self.project_id or f"{project_domain}/{self.project_name}",
            )
        )

    def problems(self) -> list[str]:
        """What is missing or wrong, one readable line each; empty when usable."""
        found: list[str] = []
        if not self.auth_url:
            found.append("auth URL is not set (OS_AUTH_URL or auth_url in the config)")
        else:
            problem = check_url(self.auth_url)
            if problem:
                found.append(f"auth URL: {problem}")
        if self.auth_type not in ("password", "token"):
            found.append(f"auth type {self.auth_type!r} is not supported (password or token)")
        if self.uses_token:
            if not self.token:
                found.append("token auth needs a token (OS_TOKEN, or auth.token in clouds.yaml)")
            if (
                self.project_name
                and not self.project_id
                and not (
                    self.project_domain_name
                    or self.project_domain_id
                    or self.user_domain_name
                    or self.user_domain_id
                )
            ):
                found.append(
                    "a project name needs its domain with token auth "
                    "(OS_PROJECT_DOMAIN_NAME / OS_PROJECT_DOMAIN_ID), or give OS_PROJECT_ID"
                )
        else:
            if not self.username:
                found.append("user name is not set (OS_USERNAME or username)")
            if not (self.user_domain_name or self.user_domain_id):
                found.append("user domain is not set (OS_USER_DOMAIN_NAME or user_domain_name)")
        if not (self.project_name or self.project_id):
            found.append("project is not set (OS_PROJECT_NAME / OS_PROJECT_ID or project_name)")
        if self.ims_endpoint:
            problem = check_url(self.ims_endpoint)
            if problem:
                found.append(f"IMS endpoint: {problem}")
        if self.cacert and not Path(self.cacert).expanduser().is_file():
            found.append(f"CA bundle {self.cacert} does not exist")
        if self.cert and not Path(self.cert).expanduser().is_file():
            found.append(f"client certificate {self.cert} does not exist")
        if self.key and not self.cert:
            found.append("a client key is set without a client certificate")
        if (
            self.auth_url
            and not self.allow_insecure_http
            and not check_url(self.auth_url)
            and sends_password_in_clear(self.auth_url)
        ):
            secret = "token" if self.uses_token else "password"
            found.append(
                f"the auth URL uses plain http:// to a remote host, which would send the {secret} "
                "unencrypted; use https:// or set allow_insecure_http = true"
            )
        return found

    def to_toml(self) -> dict[str, Any]:
        """What ``save`` writes: only non-default values, the password only when asked."""
        data: dict[str, Any] = {}
        defaults = Settings()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "password" or f.name in _RUNTIME_ONLY:
                continue
            if value != getattr(defaults, f.name):
                data[f.name] = value
        if self.remember_password and self.password:
            data["password"] = self.password
        return data


def normalise_url(url: str) -> str:
    return url.strip().rstrip("/")


def check_url(url: str) -> str:
    """Return a problem with ``url`` as a user would want to hear it, or an empty string."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return f"{url!r} must start with https:// (or http:// for a local test cloud)"
    if not parts.hostname:
        return f"{url!r} has no host name"
    try:
        _ = parts.port
    except ValueError:
        return f"{url!r} has an invalid port"
    return ""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sends_password_in_clear(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def _coerce(name: str, value: Any, source: str) -> Any:
    expected = {f.name: f.type for f in fields(Settings)}[name]
    if expected in (bool, "bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.strip().lower() in _TRUE
        raise ConfigError(f"{source}: {name} must be true or false, not {value!r}")
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string, not {value!r}")
    return value.strip()


def normalise_auth_type(value: str, source: str) -> str:
    """``v3password`` -> ``password``, ``v3token`` -> ``token``; others are a ``ConfigError``."""
    found = AUTH_TYPES.get(value.strip().lower())
    if found is None:
        raise ConfigError(
            f"{source}: auth type {value!r} is not supported; imshare speaks "
            f"{', '.join(AUTH_TYPES)}"
        )
    return found


def _read_document(path: Path) -> dict[str, Any] | None:
    """The parsed TOML document, or None when the file does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; fix or remove it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}; fix or remove it"
        ) from None


def _settings_from_table(table: Mapping[str, Any], source: str) -> Settings:
    known = {f.name for f in fields(Settings)} - _RUNTIME_ONLY
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name in _RUNTIME_ONLY:
            raise ConfigError(
                f"{source}: {name!r} is not read from the config file (a token is never "
                "stored); use OS_TOKEN / OS_AUTH_TYPE or a clouds.yaml cloud (--os-cloud)"
            )
        if name not in known:
            raise ConfigError(
                f"{source}: unknown setting {name!r}; known: {', '.join(sorted(known))}"
            )
        values[name] = _coerce(name, value, source)
    return Settings(**values)


def _profiles_table(data: Mapping[str, Any], path: Path) -> dict[str, Any]:
    profiles = data.get("profiles", {})
    if not isinstance(profiles, dict) or not all(isinstance(v, dict) for v in profiles.values()):
        raise ConfigError(f"config file {path}: [profiles] must hold tables, e.g. [profiles.work]")
    if DEFAULT_PROFILE in profiles:
        raise ConfigError(
            f"config file {path}: the profile name {DEFAULT_PROFILE!r} is reserved for the "
            "settings at the top of the file; rename [profiles.default]"
        )
    return profiles


def _split_document(
    data: Mapping[str, Any], path: Path
) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """``(top-level settings, [ui], [profiles])`` of a parsed config document."""
    top = dict(data)
    ui = top.pop("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"config file {path}: [ui] must be a table")
    top.pop("profiles", None)
    return top, ui, _profiles_table(data, path)


def read_config_file(path: Path, profile: str | None = None) -> tuple[Settings, dict[str, Any]]:
    """Read settings (of ``profile``; default: the top level) and the ``[ui]`` table.

    A missing file gives defaults. A file that does not parse raises ``ConfigError`` naming the
    file and line: it is never overwritten silently, because it may hold a hand edit the user
    cares about. A profile that does not exist raises ``ConfigError`` listing those that do.
    """
    data = _read_document(path)
    if data is None:
        if profile and profile != DEFAULT_PROFILE:
            raise ConfigError(
                f"profile {profile!r} does not exist: config file {path} does not exist yet"
            )
        return Settings(), {}
    top, ui, profiles = _split_document(data, path)
    if not profile or profile == DEFAULT_PROFILE:
        return _settings_from_table(top, f"config file {path}"), ui
    table = profiles.get(profile)
    if table is None:
        existing = ", ".join([DEFAULT_PROFILE, *sorted(profiles)])
        raise ConfigError(
            f"profile {profile!r} is not in config file {path}; profiles there: {existing}"
        )
    return _settings_from_table(table, f"config file {path} [profiles.{profile}]"), ui


def list_profiles(path: Path | None = None) -> list[str]:
    """The profile names of the config file: ``"default"`` (its top level) first."""
    config_path = path or paths.config_file()
    data = _read_document(config_path)
    if data is None:
        return [DEFAULT_PROFILE]
    return [DEFAULT_PROFILE, *sorted(_profiles_table(data, config_path))]


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
        changes["verify"] = insecure.strip().lower() not in _TRUE
    token = (environ.get("OS_TOKEN") or environ.get("OS_AUTH_TOKEN") or "").strip()
    if token:
        changes["token"] = token
    auth_type = (environ.get("OS_AUTH_TYPE") or "").strip()
    if auth_type:
        changes["auth_type"] = normalise_auth_type(auth_type, "OS_AUTH_TYPE")
    elif token and not changes.get("password", settings.password):
        changes["auth_type"] = "token"
    return replace(settings, **changes) if changes else settings


@dataclass(slots=True)
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
    config_path = path or paths.config_file()
    if profile and cloud:
        raise ConfigError(
            f"choose a config profile ({profile}) or a clouds.yaml cloud ({cloud}), not both"
        )
    if not profile and not cloud:
        profile = (env.get("IMSHARE_PROFILE") or "").strip() or None
        if not profile:
            cloud = (env.get("OS_CLOUD") or "").strip() or None
    warnings: list[str] = []
    if tighten(config_path):
        warnings.append(f"{config_path} was readable by others; its mode is now 0600")
    if cloud:
        from tui import clouds_yaml

        _settings, ui = read_config_file(config_path)
        found = clouds_yaml.load_cloud(cloud, env)
        settings, source, chosen = found.settings, f"cloud {cloud!r} in {found.path}", ""
        warnings.extend(found.warnings)
    else:
        chosen = profile or DEFAULT_PROFILE
        settings, ui = read_config_file(config_path, chosen)
        source = f"config file {config_path}"
        if chosen != DEFAULT_PROFILE:
            source += f" [profiles.{chosen}]"
    settings = apply_environment(settings, env)
    return LoadedConfig(
        settings=settings,
        ui=ui,
        path=config_path,
        warnings=warnings,
        profile=chosen,
        cloud=cloud or "",
        source=source,
    )


def save(
    settings: Settings,
    ui: Mapping[str, Any] | None = None,
    path: Path | None = None,
    *,
    profile: str | None = None,
) -> Path:
    """Write settings as TOML, mode 0600, atomically.

    ``profile`` None or "default" writes the top level, another name ``[profiles.NAME]``; the
    other profiles stay as they were, and so does ``[ui]`` when ``ui`` is None. An existing file
    that does not parse raises ``ConfigError`` rather than being overwritten.
    """
    config_path = path or paths.config_file()
    existing = _read_document(config_path) or {}
    top, old_ui, profiles = _split_document(existing, config_path)
    data: dict[str, Any]
    if not profile or profile == DEFAULT_PROFILE:
        data = settings.to_toml()
    else:
        data = top
        profiles = {**profiles, profile: settings.to_toml()}
    ui_table = dict(ui) if ui is not None else old_ui
    if ui_table:
        data["ui"] = ui_table
    if profiles:
        data["profiles"] = profiles
    write_private(config_path, tomli_w.dumps(data).encode("utf-8"))
    return config_path
