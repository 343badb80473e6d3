"""clouds.yaml and secure.yaml, as openstacksdk and the ``openstack`` client read them.

``--os-cloud NAME`` / ``OS_CLOUD`` pick one cloud. The files are searched where openstacksdk
searches them, first file found wins:

1. ``OS_CLIENT_CONFIG_FILE`` (``OS_CLIENT_SECURE_FILE`` for secure.yaml), when set;
2. the current directory;
3. ``$XDG_CONFIG_HOME/openstack`` (when set) and ``~/.config/openstack``;
4. ``/etc/openstack``.

Each place may hold ``clouds.yaml``, ``clouds.yml`` or ``clouds.json`` (``secure.*`` alike).
The cloud's entry in secure.yaml is deep-merged over its entry in clouds.yaml (that is where the
password usually lives). Only what imshare needs is read: the auth types ``password``,
``v3password``, ``token`` and ``v3token``; ``auth.*``; ``region_name``; ``cacert``,
``verify``, ``insecure``, ``cert``, ``key``; ``image_endpoint_override``; and the OTC vendor
profiles ``otc`` and ``otc-swiss``. Everything else in the file is ignored.

The files are read with limits (``tui.files``): at most 1 MiB, nesting at most
``MAX_DEPTH`` levels, YAML aliases expanding to at most ``MAX_EXPANSION`` — so a
"billion laughs" file or a recursive anchor is refused at once with a message naming the file,
instead of hanging or crashing whatever reads the result. Neither file is ever chmodded; one
that holds a password or token and is readable by others gives a warning.

Nothing here imports Textual; the CLI and the app's config screen both use it.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui import files as files_module
from tui.settings.model import (
    REGION_PRESETS,
    ConfigError,
    Settings,
    normalise_auth_type,
    normalise_url,
    parse_bool,
)

CLOUDS_NAMES = ("clouds.yaml", "clouds.yml", "clouds.json")
SECURE_NAMES = ("secure.yaml", "secure.yml", "secure.json")
SYSTEM_DIR = Path("/etc/openstack")

MAX_DEPTH = files_module.MAX_DEPTH
#: What the aliases of one file may expand to, counted in characters of scalars plus one per
#: node: four times the largest file read, so real uses of anchors (shared defaults) fit.
MAX_EXPANSION = 4 * files_module.MAX_FILE_BYTES

#: openstacksdk / otcextensions vendor profiles imshare knows (openstacksdk
#: openstack/config/vendors/otc.json, otc-swiss.json). The upstream
#: otc-swiss profile's auth_url lacks the scheme; https:// is added here.
VENDOR_PROFILES: dict[str, dict[str, Any]] = {
    "otc": {
        "auth_url": "https://iam.{region_name}.otc.t-systems.com/v3",
        "regions": ("eu-de", "eu-nl"),
    },
    "otc-swiss": {
        "auth_url": "https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3",
        "regions": ("eu-ch2",),
    },
}

# auth.* keys read into Settings (clouds.yaml name -> Settings field).
_AUTH_KEYS = {
    "auth_url": "auth_url",
    "username": "username",
    "password": "password",
    "user_domain_name": "user_domain_name",
    "user_domain_id": "user_domain_id",
    "project_name": "project_name",
    "project_id": "project_id",
    "project_domain_name": "project_domain_name",
    "project_domain_id": "project_domain_id",
    "token": "token",
}
# Older spellings openstacksdk still accepts.
_AUTH_ALIASES = {"tenant_name": "project_name", "tenant_id": "project_id", "user_name": "username"}


@dataclass(slots=True)
class CloudsFiles:
    """The clouds.yaml and secure.yaml in use (either may be None) and what they hold."""

    clouds_path: Path | None
    secure_path: Path | None
    clouds: dict[str, dict[str, Any]]
    searched: list[Path] = field(default_factory=list)
    #: Loose modes of files holding secrets, said once each.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FoundCloud:
    name: str
    settings: Settings
    path: Path
    warnings: tuple[str, ...] = ()


def search_dirs(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> list[Path]:
    """The directories searched, in order (without the explicit ``OS_CLIENT_*`` files)."""
    env = os.environ if environ is None else environ
    dirs = [cwd or Path.cwd()]
    xdg = env.get("XDG_CONFIG_HOME")
    if xdg:
        dirs.append(Path(xdg).expanduser() / "openstack")
    home = env.get("HOME")
    dirs.append((Path(home) if home else Path.home()) / ".config" / "openstack")
    dirs.append(SYSTEM_DIR)
    unique: list[Path] = []
    for directory in dirs:
        if directory not in unique:
            unique.append(directory)
    return unique


def candidate_files(
    kind: str, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> list[Path]:
    """Every path tried for ``kind`` ("clouds" or "secure"), in order."""
    env = os.environ if environ is None else environ
    names = CLOUDS_NAMES if kind == "clouds" else SECURE_NAMES
    variable = "OS_CLIENT_CONFIG_FILE" if kind == "clouds" else "OS_CLIENT_SECURE_FILE"
    found: list[Path] = []
    explicit = env.get(variable)
    if explicit:
        found.append(Path(explicit).expanduser())
    for directory in search_dirs(env, cwd):
        found.extend(directory / name for name in names)
    return found


def _first_existing(paths: Sequence[Path], explicit: str | None) -> Path | None:
    """The first candidate that is a file; the one named by ``explicit`` (the variable that
    names a file) must be a regular file when it exists at all."""
    for index, path in enumerate(paths):
        if index == 0 and explicit:
            if path.is_file():
                return path
            if os.path.lexists(path):
                try:
                    what = files_module.kind_of(os.stat(path).st_mode)
                except OSError:
                    what = "a symbolic link to nothing"
                raise ConfigError(
                    f"{explicit} names {path}, which is {what}, not a regular file; name a "
                    f"file or unset {explicit}"
                )
            continue
        if path.is_file():
            return path
    return None


class _Unsafe(Exception):
    """A YAML document imshare refuses to build: too deep, too big once expanded, recursive."""


@functools.cache
def _bounded_loader() -> type:
    """``yaml.SafeLoader`` with limits, built on first use (yaml is imported only then)."""
    import yaml
    from yaml.nodes import MappingNode, Node, ScalarNode

    class BoundedLoader(yaml.SafeLoader):
        """Composes nodes no deeper than ``MAX_DEPTH``, refuses an alias inside its own
        anchor, and checks what the aliases expand to before anything is constructed."""

        def __init__(self, stream: str) -> None:
            super().__init__(stream)
            self._depth = 0
            self._open_anchors: set[str] = set()

        def compose_node(self, parent: Node | None, index: Any) -> Node:
            event = self.peek_event()
            anchor = getattr(event, "anchor", None)
            if self.check_event(yaml.AliasEvent):
                if anchor in self._open_anchors:
                    raise _Unsafe(
                        f"the alias *{anchor} at line {event.start_mark.line + 1} is inside "
                        f"its own anchor &{anchor} (a recursive structure)"
                    )
                return super().compose_node(parent, index)
            if self._depth >= MAX_DEPTH:
                raise _Unsafe(
                    f"it nests more than {MAX_DEPTH} levels deep (line {event.start_mark.line + 1})"
                )
            self._depth += 1
            if anchor is not None:
                self._open_anchors.add(anchor)
            try:
                return super().compose_node(parent, index)
            finally:
                self._depth -= 1
                if anchor is not None:
                    self._open_anchors.discard(anchor)

        def get_single_node(self) -> Node | None:
            node = super().get_single_node()
            if node is not None:
                _check_expansion(node, MappingNode, ScalarNode)
            return node

    return BoundedLoader


def _check_expansion(root: Any, mapping: type, scalar: type) -> None:
    """Refuse a node graph whose aliases expand too far or too deep (each node visited once)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    visiting: set[int] = set()  # on the current path: meeting one again is a cycle
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in size:
            continue
        if not children_done and key in visiting:
            raise _Unsafe("it refers to itself through an alias (a recursive structure)")
        if isinstance(node, scalar):
            size[key], depth[key] = 1 + len(node.value), 1
            continue
        if isinstance(node, mapping):
            children = [child for pair in node.value for child in pair]
        else:
            children = list(node.value)
        if not children_done:
            visiting.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in size)
            continue
        visiting.discard(key)
        size[key] = 1 + sum(size[id(child)] for child in children)
        depth[key] = 1 + max((depth[id(child)] for child in children), default=0)
        if size[key] > MAX_EXPANSION:
            raise _Unsafe(
                f"its aliases (*name) expand to more than {MAX_EXPANSION // 1024 // 1024} MiB "
                '(a "billion laughs" document)'
            )
        if depth[key] > MAX_DEPTH:
            raise _Unsafe(f"its aliases build a structure more than {MAX_DEPTH} levels deep")


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        raw = files_module.read_user_file(path, "file")
    except files_module.FileRefused as refusal:
        raise ConfigError(refusal.message) from None
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {files_module.reason(exc)}") from None
    if raw is None:
        raise ConfigError(f"cannot read {path}: it disappeared while imshare was reading it")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_bounded_loader())  # a SafeLoader with limits
    except _Unsafe as refusal:
        raise ConfigError(f"{path} is refused: {refusal}; fix the file") from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping with a 'clouds' key")
    clouds = data.get("clouds", {})
    if clouds is None:
        clouds = {}
    if not isinstance(clouds, dict) or not all(isinstance(v, dict) for v in clouds.values()):
        raise ConfigError(f"{path}: 'clouds' must map cloud names to settings")
    return {str(name): value for name, value in clouds.items()}


def _holds_secret(clouds: Mapping[str, Any]) -> bool:
    return any(
        isinstance(cloud.get("auth"), dict)
        and (cloud["auth"].get("password") or cloud["auth"].get("token"))
        for cloud in clouds.values()
    )


def _secret_warning(path: Path, clouds: Mapping[str, Any]) -> list[str]:
    if not _holds_secret(clouds):
        return []
    warning = files_module.loose_file_warning(path, "", "a password or token")
    return [warning] if warning else []


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def read_files(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> CloudsFiles:
    """Find and read clouds.yaml and secure.yaml; secure.yaml's clouds merged over."""
    env = os.environ if environ is None else environ
    clouds_candidates = candidate_files("clouds", env, cwd)
    clouds_path = _first_existing(clouds_candidates, _explicit(env, "OS_CLIENT_CONFIG_FILE"))
    secure_path = _first_existing(
        candidate_files("secure", env, cwd), _explicit(env, "OS_CLIENT_SECURE_FILE")
    )
    clouds = _read_yaml(clouds_path) if clouds_path else {}
    warnings = _secret_warning(clouds_path, clouds) if clouds_path else []
    if secure_path is not None:
        secure_clouds = _read_yaml(secure_path)
        warnings += _secret_warning(secure_path, secure_clouds)
        for name, secure in secure_clouds.items():
            clouds[name] = _deep_merge(clouds.get(name, {}), secure)
    return CloudsFiles(clouds_path, secure_path, clouds, clouds_candidates, warnings)


def _explicit(environ: Mapping[str, str], variable: str) -> str | None:
    return variable if environ.get(variable) else None


def list_clouds(environ: Mapping[str, str] | None = None, cwd: Path | None = None) -> list[str]:
    """The cloud names of the clouds.yaml in use (with secure.yaml's), sorted; [] if none."""
    return sorted(read_files(environ, cwd).clouds)


def _text(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f"{where} must be a string, not {value!r}")
    return str(value).strip()


def _flag(value: Any, where: str) -> bool:
    flag = parse_bool(value)
    if flag is None:
        raise ConfigError(f"{where} must be true or false, not {value!r}")
    return flag


def settings_from_config(cloud: Mapping[str, Any], where: str) -> Settings:
    """Turn one cloud's (merged) entry into ``Settings``; ``where`` names it in errors."""
    auth = cloud.get("auth") or {}
    if not isinstance(auth, dict):
        raise ConfigError(f"{where}: 'auth' must be a mapping")
    values: dict[str, Any] = {}
    for key, value in auth.items():
        target = _AUTH_KEYS.get(key) or _AUTH_ALIASES.get(key)
        if target and value is not None:
            values[target] = _text(value, f"{where}: auth.{key}")
    region = _text(cloud.get("region_name"), f"{where}: region_name")
    profile_name = _text(cloud.get("profile") or cloud.get("cloud"), f"{where}: profile")
    if profile_name:
        profile = VENDOR_PROFILES.get(profile_name)
        if profile is None and not values.get("auth_url"):
            raise ConfigError(
                f"{where}: vendor profile {profile_name!r} is not known to imshare "
                f"(known: {', '.join(VENDOR_PROFILES)}); set auth.auth_url instead"
            )
        if profile is not None:
            region = region or profile["regions"][0]
            if not values.get("auth_url"):
                values["auth_url"] = profile["auth_url"].format(region_name=region)
    values["region"] = region
    raw_type = cloud.get("auth_type")
    if raw_type:
        values["auth_type"] = normalise_auth_type(
            _text(raw_type, f"{where}: auth_type"), f"{where}: auth_type"
        )
    elif values.get("token") and not values.get("password"):
        values["auth_type"] = "token"
    if "verify" in cloud:
        values["verify"] = _flag(cloud["verify"], f"{where}: verify")
    if "insecure" in cloud:
        values["verify"] = not _flag(cloud["insecure"], f"{where}: insecure")
    for key in ("cacert", "cert", "key"):
        if cloud.get(key):
            values[key] = _text(cloud[key], f"{where}: {key}")
    endpoint = cloud.get("image_endpoint_override")
    if endpoint:
        values["ims_endpoint"] = _text(endpoint, f"{where}: image_endpoint_override")
    if values.get("auth_url"):
        auth_url = normalise_url(values["auth_url"])
        values["preset"] = next(
            (
                key
                for key, preset in REGION_PRESETS.items()
                if normalise_url(preset["auth_url"]) == auth_url
            ),
            "custom",
        )
    return Settings(**values)


def load_cloud(
    name: str, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> FoundCloud:
    """The named cloud as ``Settings`` (no ``OS_*`` overlay), with the file it came from."""
    files = read_files(environ, cwd)
    if files.clouds_path is None and files.secure_path is None:
        looked = ", ".join(str(directory) for directory in search_dirs(environ, cwd))
        raise ConfigError(
            f"cloud {name!r} (--os-cloud / OS_CLOUD): no clouds.yaml found; looked in {looked} "
            "(OS_CLIENT_CONFIG_FILE names one explicitly)"
        )
    path = files.clouds_path or files.secure_path
    assert path is not None
    cloud = files.clouds.get(name)
    if cloud is None:
        names = ", ".join(sorted(files.clouds)) or "none"
        raise ConfigError(f"cloud {name!r} is not in {path}; clouds there: {names}")
    settings = settings_from_config(cloud, f"{path}: cloud {name!r}")
    return FoundCloud(name, settings, path, tuple(files.warnings))


def settings_from_cloud(
    name: str, environ: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Settings:
    """The named cloud as ``Settings`` (for the config screen's import); ``ConfigError``
    names the clouds that exist when ``name`` is not one of them."""
    return load_cloud(name, environ, cwd).settings
