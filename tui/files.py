"""Where imshare keeps its files, how it writes the ones that hold secrets, and how much of a
file it is willing to read.

One directory holds the config, the token cache and the debug log, so ``imshare locate`` has a
single answer and ``--demo`` or tests can point everything elsewhere with ``IMSHARE_CONFIG_DIR``.
platformdirs honours ``XDG_CONFIG_HOME`` on Linux.

The rules, because imshare may run as root and may be pointed at paths it does not own:

* imshare sets the mode only of what it creates itself: a new directory is 0700, a new file
  0600. A file or directory that was already there (``--config``, ``IMSHARE_CONFIG_DIR``,
  clouds.yaml, or a config directory someone else made) is never chmodded; when others can
  read it, a warning names it and the command that fixes it.
* Secret files (the token cache and its lock, the debug log) are never opened through a
  symbolic link and must be regular files owned by the user; anything else there is refused
  with a message, and imshare goes on without caching or logging.
* Files are replaced, never rewritten in place: a new file is created next to the old one with
  ``O_CREAT|O_EXCL|O_NOFOLLOW`` (nobody can have planted it) and renamed over it, so a reader
  sees the old file or the new one, never half of one.
* A path the user names that is not a regular file (``/dev/null``, a directory, a FIFO) is
  refused before it is opened: opening a device or a FIFO can block or have side effects.
* What imshare reads from its files is bounded in size and in nesting depth, so a hostile or
  broken file gives a message, never a hang or a ``RecursionError``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from platformdirs import user_config_path, user_state_path

APP_NAME = "imshare"

FILE_MODE = 0o600
DIR_MODE = 0o700

#: The most imshare reads of one of its files (config.toml, clouds.yaml, the token cache).
#: Real ones are a few kilobytes; this keeps a mistaken path (a disk image) from eating memory.
MAX_FILE_BYTES = 1024 * 1024
#: How deeply tables, lists and mappings may nest in a file imshare reads. Real files nest
#: three or four levels; anything near this is broken or hostile.
MAX_DEPTH = 20
#: How long a writer waits for another imshare process to finish with the token cache.
LOCK_TIMEOUT = 10.0

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class FileRefused(OSError):
    """imshare will not use this path as it is; the message says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class FileTooLarge(FileRefused):
    """Larger than imshare reads: for a cache, ignore it and write a new one."""


def reason(error: OSError) -> str:
    """A short text for ``error``: our own message, or the system's."""
    if isinstance(error, FileRefused):
        return error.message
    return error.strerror or str(error)


# ----------------------------------------------------------------------------- paths


def default_config_dir() -> Path:
    return user_config_path(APP_NAME, appauthor=False)


def config_dir() -> Path:
    override = os.environ.get("IMSHARE_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return default_config_dir()


def state_dir() -> Path:
    """Where the journal and the watch state live: the user state directory (XDG
    ``~/.local/state/imshare``); ``IMSHARE_CONFIG_DIR`` moves them with the rest."""
    override = os.environ.get("IMSHARE_CONFIG_DIR")
    if override:
        return Path(override).expanduser()
    return user_state_path(APP_NAME, appauthor=False)


def config_file() -> Path:
    return config_dir() / "config.toml"


def token_cache_file() -> Path:
    return config_dir() / "tokens.json"


def log_file() -> Path:
    return config_dir() / "imshare.log"


def crash_log_file() -> Path:
    """Where the app writes what ended it when no ``--debug`` log is open."""
    return config_dir() / "crash.log"


def lock_file(path: Path) -> Path:
    """The lock that serialises writers of ``path`` (a file of its own, so ``path`` can be
    replaced by rename while the lock is held)."""
    return path.with_name(path.name + ".lock")


# ----------------------------------------------------------------------------- checks


def _owned_by_user(info: os.stat_result) -> bool:
    return not hasattr(os, "geteuid") or info.st_uid == os.geteuid()


def kind_of(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def not_a_regular_file(path: Path, mode: int, what: str) -> FileRefused:
    return FileRefused(f"{what} {path} is {kind_of(mode)}, not a regular file; name a file instead")


def loose_file_warning(path: Path, what: str, holds: str = "", advice: str = "") -> str | None:
    """A warning when others may read the file at ``path`` (which imshare does not chmod)."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    if not mode & 0o077:
        return None
    held = f" and holds {holds}" if holds else ""
    name = f"{what} {path}" if what else str(path)
    advice = advice or f"imshare leaves its mode alone: run `chmod 600 {path}`"
    return f"{name} is readable by other users (mode {mode:04o}){held}; {advice}"


def loose_dir_warning(directory: Path) -> str | None:
    """A warning when others may look into (or write to) the directory of imshare's secrets."""
    try:
        info = directory.stat()
    except OSError:
        return None
    mode = stat.S_IMODE(info.st_mode)
    if not stat.S_ISDIR(info.st_mode) or not mode & 0o077:
        return None
    shared = " (a shared directory)" if mode & 0o002 else ""
    return (
        f"directory {directory}{shared} is open to other users (mode {mode:04o}) and holds "
        f"imshare's token cache; imshare leaves its mode alone: run `chmod 700 {directory}` "
        "or point IMSHARE_CONFIG_DIR at a private directory"
    )


def ensure_private_dir(directory: Path) -> None:
    """Create ``directory`` (and missing parents) 0700; an existing one is left as it is."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        if current.is_symlink():
            raise FileRefused(f"{current} is a dangling symbolic link; remove it or fix it")
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    if current.exists() and not current.is_dir():
        raise FileRefused(f"{current} is not a directory; imshare needs {directory} to be one")
    for path in reversed(missing):
        try:
            os.mkdir(path, DIR_MODE)
        except FileExistsError:
            # Someone made it in the meantime: not ours, so not chmodded.
            if not path.is_dir():
                raise FileRefused(f"{path} is not a directory") from None
            continue
        # Ours: make it 0700 whatever the umask says.
        if stat.S_IMODE(os.lstat(path).st_mode) != DIR_MODE:
            os.chmod(path, DIR_MODE)


# ----------------------------------------------------------------------------- reading


def read_user_file(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The bytes of a file the user names (it may be a symbolic link, e.g. to dotfiles);
    ``None`` when it does not exist.

    Refused with ``FileRefused``, before anything is opened, when it is not a regular file;
    refused when it is larger than ``limit``. Its mode is never changed.
    """
    try:
        before = os.stat(path)
    except FileNotFoundError:
        if os.path.lexists(path):
            raise FileRefused(
                f"{what} {path} is a symbolic link to a file that does not exist; "
                "fix the link or remove it"
            ) from None
        return None
    if not stat.S_ISREG(before.st_mode):
        raise not_a_regular_file(path, before.st_mode, what)
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | _CLOEXEC)
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) or not stat.S_ISREG(
            info.st_mode
        ):
            raise FileRefused(f"{what} {path} changed while imshare opened it; try again")
        return _read_bounded(fd, path, what, limit)
    finally:
        os.close(fd)


def read_secret_file(path: Path, what: str, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The bytes of one of imshare's secret files; ``None`` when it does not exist.

    Never through a symbolic link; only a regular file owned by the user; at most ``limit``
    bytes. Anything else is a ``FileRefused`` naming the path and what to do.
    """
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC)
    except FileNotFoundError:
        return None
    except OSError as error:
        raise _refusal(path, what, error) from None
    try:
        _check_secret(fd, path, what)
        return _read_bounded(fd, path, what, limit)
    finally:
        os.close(fd)


def _read_bounded(fd: int, path: Path, what: str, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = os.read(fd, min(65536, limit + 1 - size))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise FileTooLarge(
                f"{what} {path} is larger than {limit // 1024} KiB; it cannot be an imshare "
                "file — check the path"
            )


def _refusal(path: Path, what: str, error: OSError) -> OSError:
    """Turn the errors of an ``O_NOFOLLOW`` open into a message a user can act on."""
    if error.errno == errno.ELOOP or (error.errno is not None and path.is_symlink()):
        return FileRefused(
            f"{what} {path} is a symbolic link; imshare does not follow links for files that "
            f"hold secrets: remove it (`rm {path}`)"
        )
    if error.errno == errno.ENXIO:  # a FIFO nobody reads
        return FileRefused(f"{what} {path} is a FIFO, not a regular file: remove it")
    if error.errno == errno.EISDIR:
        return FileRefused(f"{what} {path} is a directory, not a regular file: remove it")
    return error


def _check_secret(fd: int, path: Path, what: str) -> None:
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(
            f"{what} {path} is {kind_of(info.st_mode)}, not a regular file: remove it"
        )
    if not _owned_by_user(info):
        raise FileRefused(
            f"{what} {path} belongs to another user (uid {info.st_uid}); imshare only uses "
            "its own files: remove it or point IMSHARE_CONFIG_DIR elsewhere"
        )


# ----------------------------------------------------------------------------- writing


def write_private(path: Path, data: bytes) -> None:
    """Replace the secret file ``path`` with ``data``: a new 0600 file, renamed over it.

    A symbolic link, a non-regular file or a file of another user at ``path`` is refused
    (``FileRefused``); so is a missing directory that cannot be created 0700.
    """
    ensure_private_dir(path.parent)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        pass
    else:
        if stat.S_ISLNK(info.st_mode):
            raise _refusal(path, "file", OSError(errno.ELOOP, "symbolic link"))
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is {kind_of(info.st_mode)}, not a regular file: remove it")
        if not _owned_by_user(info):
            raise FileRefused(
                f"{path} belongs to another user (uid {info.st_uid}); imshare does not replace "
                "files it does not own"
            )
    _replace(path, data)


def write_user_file(path: Path, data: bytes, what: str) -> Path:
    """Replace the file the user keeps their settings in; return the path really written.

    When ``path`` is a symbolic link (a config kept with dotfiles), its target is replaced —
    only when the target is a regular file owned by the user. Otherwise as ``write_private``.
    """
    if not path.is_symlink():
        write_private(path, data)
        return path
    try:
        target = path.resolve(strict=True)
    except (OSError, RuntimeError):
        raise FileRefused(
            f"{what} {path} is a symbolic link to a file that does not exist (or a loop); "
            "imshare saves through a link only into an existing file of yours: fix the link"
        ) from None
    info = os.lstat(target)
    if not stat.S_ISREG(info.st_mode):
        raise FileRefused(
            f"{what} {path} links to {target}, which is {kind_of(info.st_mode)}; imshare saves "
            "through a link only into a regular file of yours"
        )
    if not _owned_by_user(info):
        raise FileRefused(
            f"{what} {path} links to {target}, which belongs to another user (uid "
            f"{info.st_uid}); imshare saves through a link only into a file of yours"
        )
    _replace(target, data)
    return target


def _replace(path: Path, data: bytes) -> None:
    import secrets  # here: `imshare locate` names paths and writes none (hashlib, OpenSSL)

    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, FILE_MODE)
    try:
        try:
            os.fchmod(fd, FILE_MODE)  # ours: 0600 whatever the umask says
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        directory = os.open(path.parent, os.O_RDONLY | _CLOEXEC)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


def open_private_log(path: Path, what: str = "debug log") -> tuple[int, str | None]:
    """Open a private append-only file (the debug log, the journal): ``(fd, warning or None)``.

    Created 0600 when new; an existing one must be a regular file of the user's, reached
    without a symbolic link. Its mode is not changed: a loose one gives a warning.
    """
    ensure_private_dir(path.parent)
    flags = os.O_WRONLY | os.O_APPEND | _NOFOLLOW | _NONBLOCK | _CLOEXEC
    try:
        fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        pass
    except OSError as error:
        raise _refusal(path, what, error) from None
    else:
        os.fchmod(fd, FILE_MODE)
        return fd, None
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _refusal(path, what, error) from None
    try:
        _check_secret(fd, path, what)
    except BaseException:
        os.close(fd)
        raise
    return fd, loose_file_warning(path, what)


@contextlib.contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """Hold an exclusive advisory lock for ``path`` (in ``path.lock``) while the body runs.

    Every imshare process takes it around read-merge-write of the token cache, so two logins
    at the same moment both keep their entries. Where ``fcntl`` does not exist the body runs
    unlocked (the rename still keeps the file whole).
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    ensure_private_dir(path.parent)
    lock_path = lock_file(path)
    try:
        fd = os.open(
            lock_path, os.O_RDWR | os.O_CREAT | _NOFOLLOW | _NONBLOCK | _CLOEXEC, FILE_MODE
        )
    except OSError as error:
        raise _refusal(lock_path, "lock file", error) from None
    try:
        _check_secret(fd, lock_path, "lock file")
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise FileRefused(
                        f"another imshare process has held {lock_path} for more than "
                        f"{timeout:.0f} s; not writing {path} this time"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


# ----------------------------------------------------------------------------- limits


class BadDocument(ValueError):
    """A file's text is not a TOML document imshare can use; ``str()`` says why, in words
    that follow "FILE " (the caller names the file and adds what to do)."""


def parse_toml(raw: bytes) -> dict[str, Any]:
    """The TOML document in ``raw``, bounded like every file imshare reads: UTF-8 only, and
    at most ``MAX_DEPTH`` levels of tables or arrays (deeper ones are refused, never recursed
    into). Raises :class:`BadDocument`."""
    import tomllib  # here: `imshare --version` and `locate` read no TOML

    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadDocument("is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise BadDocument(f"is not valid TOML: {error}") from None
    except RecursionError:
        data = None
    if data is None or nesting_depth(data) > MAX_DEPTH:
        raise BadDocument(f"nests tables or arrays more than {MAX_DEPTH} levels deep")
    return data


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply dicts and lists nest in ``value``, counted without recursion; stops
    counting at ``limit + 1`` (and never loops on a structure that contains itself)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest
