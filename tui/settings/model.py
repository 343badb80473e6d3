"""The connection settings: one immutable value, and the rules that say whether it is usable.

The same ``Settings`` feed the CLI and the app, so both reach the same cloud with the same
credentials. A value never changes once built (a password typed at a prompt is held by the
session, never written into shared settings); use ``dataclasses.replace`` for a variant.
Neither the password nor a token is shown by ``repr``.

A leaf: nothing of imshare is imported here, so the API layer, the file readers and the UI can
all depend on it without circles.
"""

from __future__ import annotations

import hashlib
import ipaddress
import unicodedata
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Open Telekom Cloud regions (opentelekomcloud-docs/regions-and-endpoints, doc/source/index.rst).
# eu-ch2's IMS host is inferred, so it is left to the catalog.
REGION_PRESETS: dict[str, dict[str, str]] = {
    "eu-de": {"auth_url": "https://iam.eu-de.otc.t-systems.com/v3", "region": "eu-de"},
    "eu-nl": {"auth_url": "https://iam.eu-nl.otc.t-systems.com/v3", "region": "eu-nl"},
    "eu-ch2": {"auth_url": "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3", "region": "eu-ch2"},
}

#: Keystone auth types imshare speaks, and what each one means here.
AUTH_TYPES: dict[str, str] = {
    "password": "password",
    "v3password": "password",
    "token": "token",
    "v3token": "token",
}


# Never read from or written to config.toml: a token is a short-lived credential that comes from
# the environment or clouds.yaml, and the auth type follows from where the credential comes from.
RUNTIME_ONLY = frozenset({"token", "auth_type"})

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def parse_bool(value: Any) -> bool | None:
    """The one reading of a yes/no value from a file, the environment or a cloud's JSON.

    ``True``/``False`` as they are; ``1 true yes on`` / ``0 false no off`` in any case (OTC sends
    ``"True"``, clouds.yaml has ``verify: "no"``); integers by truth. Anything else is unknown
    (``None``), and each caller decides whether unknown is an error.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        return None
    if isinstance(value, int):
        return bool(value)
    return None


#: The default of ``Settings.timeout`` (``--timeout``, config key ``timeout``).
DEFAULT_COMMAND_TIMEOUT = 120.0
#: Requests in flight at once over every project of the inbox (config key ``concurrency``),
#: and per host and port (``host_concurrency``); both between these bounds.
DEFAULT_CONCURRENCY = 16
DEFAULT_HOST_CONCURRENCY = 8
CONCURRENCY_BOUNDS = (1, 64)


class ConfigError(Exception):
    """The configuration cannot be used as it is; the message names the file and what to fix."""


@dataclass(frozen=True, slots=True)
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
    #: Seconds a CLI command may take in all, retries and batch-job polling included; 0 means
    #: no limit. Requests in flight at the deadline are reported as unknown, never as done.
    timeout: float = DEFAULT_COMMAND_TIMEOUT
    #: The regions the all-projects inbox covers (``--region``); empty: every region. One
    #: project's own region is ``region`` (``OS_REGION_NAME``), not this.
    regions: tuple[str, ...] = ()
    #: How many requests may be in flight at once: in all, and per host and port.
    concurrency: int = DEFAULT_CONCURRENCY
    host_concurrency: int = DEFAULT_HOST_CONCURRENCY
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
        """Tokens are cached per auth URL, user domain, user, project and region.

        With token auth there is no user name: the key holds a short digest of the token
        instead (never the token), so a new ``OS_TOKEN`` gets its own entry.
        """
        if self.uses_token:
            who = "token:" + hashlib.sha256(self.token.encode("utf-8")).hexdigest()[:16]
        else:
            who = self.username
        project_domain = self.project_domain_name or self.project_domain_id
        parts = [
            normalise_url(self.auth_url),
            self.user_domain_name or self.user_domain_id,
            who,
            self.project_id or f"{project_domain}/{self.project_name}",
        ]
        if self.region:
            # The token's image endpoint is the region's: a project reached in two regions
            # (plain OpenStack) keeps one entry per region.
            parts.append(self.region)
        return "|".join(parts)

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
        for name, label in _PLAIN_TEXT.items():
            bad = bad_character(getattr(self, name))
            if bad:
                found.append(f"{label} contains {bad}; remove it")
        if self.token and bad_character(self.token, spaces=True):
            # Never the token itself: only what is wrong with it.
            found.append(
                f"the token (OS_TOKEN) contains {bad_character(self.token, spaces=True)}; "
                "paste it again without it"
            )
        if self.ims_endpoint:
            problem = check_url(self.ims_endpoint)
            if problem:
                found.append(f"IMS endpoint: {problem}")
        if self.cacert and not Path(self.cacert).expanduser().is_file():
            found.append(f"CA bundle {self.cacert} does not exist")
        if not (self.timeout >= 0):  # also NaN
            found.append(f"timeout must be 0 (no limit) or a number of seconds, not {self.timeout}")
        for region in self.regions:
            problem = region_problem(region)
            if problem:
                found.append(f"regions: {problem}")
        for name in ("concurrency", "host_concurrency"):
            problem = concurrency_problem(name, getattr(self, name))
            if problem:
                found.append(problem)
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
        if (
            self.ims_endpoint
            and not self.allow_insecure_http
            and not check_url(self.ims_endpoint)
            and in_clear_to_remote(self.ims_endpoint)
        ):
            found.append(
                "the IMS endpoint uses plain http:// to a remote host, which would send the token "
                "unencrypted; use https:// or set allow_insecure_http = true"
            )
        return found


def normalise_url(url: str) -> str:
    return url.strip().rstrip("/")


def bad_character(text: str, *, spaces: bool = False) -> str:
    """A description of the first control character in ``text`` (and, with ``spaces``, of
    whitespace), e.g. ``"a line break (U+000A)"``; ``""`` when there is none.

    A pasted value with a stray newline must be a clear configuration problem, not an
    exception from deep inside the HTTP library.
    """
    for char in text:
        code = ord(char)
        if char in "\r\n":
            return f"a line break (U+{code:04X})"
        if code < 0x20 or 0x7F <= code < 0xA0 or unicodedata.category(char) in ("Zl", "Zp"):
            return f"a control character (U+{code:04X})"
        if spaces and char.isspace():
            return f"a space (U+{code:04X})"
    return ""


def region_problem(region: str) -> str:
    """What is wrong with one region name (``""`` when nothing): regions are compared with
    the catalog's and shown in tables, so they are plain text without blanks."""
    if not region:
        return "an empty region name; remove it"
    bad = bad_character(region, spaces=True)
    if bad:
        return f"region {region!r} contains {bad}; remove it"
    return ""


def parse_regions(value: Any, source: str) -> tuple[str, ...]:
    """Regions from a list (``["eu-de", "eu-nl"]``) or a comma string (``"eu-de,eu-nl"``),
    blanks around names ignored, each once, in order; a ``ConfigError`` naming ``source``
    otherwise."""
    if isinstance(value, str):
        names = [part.strip() for part in value.split(",")]
        names = [name for name in names if name]
    elif isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        names = [item.strip() for item in value]
    else:
        raise ConfigError(
            f'{source}: regions must be a list of region names, e.g. ["eu-de", "eu-nl"], '
            f"or a comma-separated string, not {value!r}"
        )
    for name in names:
        problem = region_problem(name)
        if problem:
            raise ConfigError(f"{source}: regions: {problem}")
    return tuple(dict.fromkeys(names))


def concurrency_problem(name: str, value: Any) -> str:
    """Why ``value`` cannot be ``name`` (a number of requests at once), or ``""``."""
    low, high = CONCURRENCY_BOUNDS
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"{name} must be a whole number from {low} to {high}, not {value!r}"
    return ""


# Text settings that end up in a URL, a header or a name the cloud is asked about; the password
# is left alone (any character may be part of one, and it only travels inside a JSON body).
_PLAIN_TEXT = {
    "username": "user name (OS_USERNAME)",
    "user_domain_name": "user domain (OS_USER_DOMAIN_NAME)",
    "user_domain_id": "user domain id (OS_USER_DOMAIN_ID)",
    "project_name": "project name (OS_PROJECT_NAME)",
    "project_id": "project id (OS_PROJECT_ID)",
    "project_domain_name": "project domain (OS_PROJECT_DOMAIN_NAME)",
    "project_domain_id": "project domain id (OS_PROJECT_DOMAIN_ID)",
    "region": "region (OS_REGION_NAME)",
    "cacert": "CA bundle path (OS_CACERT)",
    "cert": "client certificate path (OS_CERT)",
    "key": "client key path (OS_KEY)",
}


def check_url(url: str) -> str:
    """Return a problem with ``url`` as a user would want to hear it, or an empty string."""
    bad = bad_character(url.strip(), spaces=True)
    if bad:
        return f"{url.strip()!r} contains {bad}; remove it"
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


def in_clear_to_remote(url: str) -> bool:
    """Whether a secret sent to ``url`` would cross the network unencrypted."""
    parts = urlsplit(url.strip())
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def sends_password_in_clear(url: str) -> bool:
    parts = urlsplit(url.strip())
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def normalise_auth_type(value: str, source: str) -> str:
    """``v3password`` -> ``password``, ``v3token`` -> ``token``; others are a ``ConfigError``."""
    found = AUTH_TYPES.get(value.strip().lower())
    if found is None:
        raise ConfigError(
            f"{source}: auth type {value!r} is not supported; imshare speaks "
            f"{', '.join(AUTH_TYPES)}"
        )
    return found
