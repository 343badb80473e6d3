"""Settings: the TOML config file, the ``OS_*`` environment, and validation.

The environment wins over the file, as OpenStack users expect from ``openstack``. The same
``Settings`` feed the CLI and the app, so both reach the same cloud with the same credentials.
The password is stored only when the user asked for it, and never shown by ``repr``.
"""

from __future__ import annotations

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
    "OS_PROJECT_NAME": "project_name",
    "OS_PROJECT_ID": "project_id",
    "OS_PROJECT_DOMAIN_NAME": "project_domain_name",
    "OS_REGION_NAME": "region",
    "OS_CACERT": "cacert",
    "OS_CERT": "cert",
    "OS_KEY": "key",
}
_TRUE = ("1", "true", "yes", "on")


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
    region: str = ""
    ims_endpoint: str = ""
    cacert: str = ""
    cert: str = ""
    key: str = ""
    verify: bool = True
    remember_password: bool = False
    allow_insecure_http: bool = False
    preset: str = "custom"

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "password"
        )
        return f"Settings({shown}, password={'***' if self.password else ''!r})"

    @property
    def project_label(self) -> str:
        return self.project_name or self.project_id

    def cache_key(self) -> str:
        """Tokens are cached per auth URL, user domain, user and project."""
        return "|".join(
            (
                normalise_url(self.auth_url),
                self.user_domain_name,
                self.username,
                self.project_id or f"{self.project_domain_name}/{self.project_name}",
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
        if not self.username:
            found.append("user name is not set (OS_USERNAME or username)")
        if not self.user_domain_name:
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
            found.append(
                "the auth URL uses plain http:// to a remote host, which would send the password "
                "unencrypted; use https:// or set allow_insecure_http = true"
            )
        return found

    def to_toml(self) -> dict[str, Any]:
        """What ``save`` writes: only non-default values, the password only when asked."""
        data: dict[str, Any] = {}
        defaults = Settings()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "password":
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


def read_config_file(path: Path) -> tuple[Settings, dict[str, Any]]:
    """Read settings and the ``[ui]`` table from ``path``; a missing file gives defaults.

    A file that does not parse raises ``ConfigError`` naming the file and line: it is never
    overwritten silently, because it may hold a hand edit the user cares about.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return Settings(), {}
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; fix or remove it") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML: {exc}; fix or remove it"
        ) from None
    ui = data.pop("ui", {})
    if not isinstance(ui, dict):
        raise ConfigError(f"config file {path}: [ui] must be a table")
    known = {f.name for f in fields(Settings)}
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in known:
            raise ConfigError(
                f"config file {path}: unknown setting {name!r}; known: {', '.join(sorted(known))}"
            )
        values[name] = _coerce(name, value, f"config file {path}")
    return Settings(**values), ui


def apply_environment(settings: Settings, environ: Mapping[str, str]) -> Settings:
    """Overlay ``OS_*`` variables on the file's settings; the environment wins."""
    changes: dict[str, Any] = {}
    for variable, name in _ENV_MAP.items():
        value = environ.get(variable)
        if value:
            changes[name] = value.strip()
    if "project_name" in changes and "project_id" not in changes:
        changes["project_id"] = ""
    if "project_id" in changes and "project_name" not in changes:
        changes["project_name"] = ""
    insecure = environ.get("OS_INSECURE")
    if insecure:
        changes["verify"] = insecure.strip().lower() not in _TRUE
    return replace(settings, **changes) if changes else settings


@dataclass(slots=True)
class LoadedConfig:
    settings: Settings
    ui: dict[str, Any]
    path: Path
    warnings: list[str]


def load(path: Path | None = None, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Load the config file (if any) and overlay the environment."""
    config_path = path or paths.config_file()
    warnings: list[str] = []
    if tighten(config_path):
        warnings.append(f"{config_path} was readable by others; its mode is now 0600")
    settings, ui = read_config_file(config_path)
    settings = apply_environment(settings, os.environ if environ is None else environ)
    return LoadedConfig(settings=settings, ui=ui, path=config_path, warnings=warnings)


def save(settings: Settings, ui: Mapping[str, Any] | None = None, path: Path | None = None) -> Path:
    """Write settings as TOML, mode 0600, atomically."""
    config_path = path or paths.config_file()
    data = settings.to_toml()
    if ui:
        data["ui"] = dict(ui)
    write_private(config_path, tomli_w.dumps(data).encode("utf-8"))
    return config_path
