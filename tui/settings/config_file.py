"""config.toml: the settings of each profile and the ``[ui]`` preferences, read and written.

The file holds a top level (the profile ``default``), ``[profiles.NAME]`` tables with the same
keys, and ``[ui]`` (theme, key map, auto-refresh). This module is the one writer of the file:
saving a profile keeps the other profiles and ``[ui]``; saving ``[ui]`` keeps everything else.
A file that does not parse is never overwritten, because it may hold a hand edit the user
cares about; the error names the file and the line.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import tomli_w

from tui import files
from tui.settings.model import (
    RUNTIME_ONLY,
    ConfigError,
    Settings,
    concurrency_problem,
    parse_bool,
    parse_regions,
)

log = logging.getLogger("imshare.config")

DEFAULT_PROFILE = "default"


def _read_document(path: Path) -> dict[str, Any] | None:
    """The parsed TOML document, or None when the file does not exist.

    A path that is not a regular file is refused before it is opened; the file's mode is never
    touched here (``load`` warns when others can read it).
    """
    try:
        raw = files.read_user_file(path, "config file")
    except files.FileRefused as refusal:
        raise ConfigError(refusal.message) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {files.reason(exc)}") from None
    if raw is None:
        return None
    try:
        data = files.parse_toml(raw)
    except files.BadDocument as problem:
        advice = (
            "imshare's settings nest three: fix or remove it"
            if "deep" in str(problem)
            else "fix or remove it"
        )
        raise ConfigError(f"config file {path} {problem}; {advice}") from None
    return data


def _coerce(name: str, value: Any, source: str) -> Any:
    expected = {f.name: f.type for f in fields(Settings)}[name]
    if expected in (bool, "bool"):
        flag = parse_bool(value)
        if flag is None:
            raise ConfigError(f"{source}: {name} must be true or false, not {value!r}")
        return flag
    if name == "regions":
        return parse_regions(value, source)
    if name in ("concurrency", "host_concurrency"):
        problem = concurrency_problem(name, value)
        if problem:
            raise ConfigError(f"{source}: {problem}")
        return value
    if expected in (float, "float"):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{source}: {name} must be a number of seconds, not {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string, not {value!r}")
    return value.strip()


def _settings_from_table(table: Mapping[str, Any], source: str) -> Settings:
    known = {f.name for f in fields(Settings)} - RUNTIME_ONLY
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name in RUNTIME_ONLY:
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


def settings_table(settings: Settings) -> dict[str, Any]:
    """What a profile's table holds: non-default values only, the password only when asked."""
    data: dict[str, Any] = {}
    defaults = Settings()
    for f in fields(settings):
        value = getattr(settings, f.name)
        if f.name == "password" or f.name in RUNTIME_ONLY:
            continue
        if value != getattr(defaults, f.name):
            data[f.name] = list(value) if isinstance(value, tuple) else value
    if settings.remember_password and settings.password:
        data["password"] = settings.password
    return data


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

    A missing file gives defaults. A profile that does not exist raises ``ConfigError`` listing
    those that do.
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
    config_path = path or files.config_file()
    data = _read_document(config_path)
    if data is None:
        return [DEFAULT_PROFILE]
    return [DEFAULT_PROFILE, *sorted(_profiles_table(data, config_path))]


Parts = dict[str, Any]


def _rewrite(path: Path, change: Callable[[Parts, Parts, Parts], None]) -> None:
    """Read the document, let ``change`` edit its parts in place, write it back (0600, atomic).

    The only place that writes config.toml. ``change(top, ui, profiles)``. A config that is a
    symbolic link (kept with dotfiles) has its target replaced, and only when that is a
    regular file of the user's (``files.write_user_file``); the error says otherwise.
    """
    existing = _read_document(path) or {}
    top, ui, profiles = _split_document(existing, path)
    change(top, ui, profiles)
    data: dict[str, Any] = dict(top)
    if ui:
        data["ui"] = ui
    if profiles:
        data["profiles"] = profiles
    files.write_user_file(path, tomli_w.dumps(data).encode("utf-8"), "config file")


def save(settings: Settings, path: Path | None = None, *, profile: str | None = None) -> Path:
    """Write ``settings`` as ``profile`` (None or "default": the top level).

    The other profiles and ``[ui]`` stay as they were. An existing file that does not parse
    raises ``ConfigError`` rather than being overwritten.
    """
    config_path = path or files.config_file()

    def change(top: dict[str, Any], ui: dict[str, Any], profiles: dict[str, Any]) -> None:
        if not profile or profile == DEFAULT_PROFILE:
            top.clear()
            top.update(settings_table(settings))
        else:
            profiles[profile] = settings_table(settings)

    _rewrite(config_path, change)
    return config_path


def save_ui_prefs(path: Path, prefs: Mapping[str, Any]) -> bool:
    """Write ``prefs`` as the ``[ui]`` table; ``False`` if the file was left alone.

    A preference is not worth an error dialog: a file that cannot be read or written is left
    as it is and the reason logged.
    """

    def change(top: dict[str, Any], ui: dict[str, Any], profiles: dict[str, Any]) -> None:
        ui.clear()
        ui.update(prefs)

    try:
        _rewrite(path, change)
    except (ConfigError, OSError, TypeError, ValueError) as error:
        log.warning("not saving UI preferences to %s: %s", path, error)
        return False
    return True
