"""imshare speed-and-scale benchmark (issue 5). Run on its own, never by pytest::

    python tests/perf/bench.py [--sizes 1000,10000,50000] [--quick] [--json PATH]

For every size N it starts ``imshare demo-server --images N`` as a separate process, reads its
``export OS_*=...`` lines and measures, each in a fresh process:

1. ``imshare list --status all --json`` wall time, with a cached token (interleaved with the
   floor, ``floor_list.py``: bare httpx + asyncio making the same three listings with the
   same token) and without one;
2. the app (headless, ``app_probe.py``): first rows drawn, all rows loaded, from process start;
   each run followed by a bare Textual app (``bare_probe.py``, one ``Static``): its first frame;
3. filter keystrokes and cursor moves in the app (p50/p95), at sizes >= 10,000;
4. (once, on its own demo cloud with 50 ms latency) accepting 200 images through
   ``CloudSession.set_status_many`` with the app's concurrency (8);
5. the app's peak resident memory once every row is loaded;
6. ``openstack image list --shared --member-status all -f json`` against the same cloud, when
   python-openstackclient is installed in a separate venv (``--osc``, or
   ``/tmp/osc-venv/bin/openstack``);
7. the inbox (issue 12, ``--skip inbox`` leaves it out): ``imshare list --all-projects -f json``
   against ``demo-server --projects P --regions eu-de,eu-nl`` with about 20 shares per project
   and 50 ms latency, with warm tokens and with none, at P = 10, 50, 200 (time and peak memory),
   the app's first rows after its first request at P = 50, and the same figures for one
   project with 20 shares.

It prints a table of every figure with its target and PASS/FAIL and writes JSON (default
``tests/perf/results/latest.json``). See tests/perf/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import itertools
import json
import math
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DEFAULT_JSON = HERE / "results" / "latest.json"
DEFAULT_OSC = Path("/tmp/osc-venv/bin/openstack")
PROBE = HERE / "app_probe.py"
YARDSTICK = HERE / "datatable_probe.py"
BARE = HERE / "bare_probe.py"
FLOOR = HERE / "floor_list.py"
#: Interleaved runs of imshare and of the floor, at least, for the ratio (issue 14, item 4).
FLOOR_RUNS = 7
FLOOR_LIMIT = 1.15

BULK_IMAGES = 200
BULK_LATENCY_MS = 50
APP_CONCURRENCY = 8  # tui.screens.main.DECISION_CONCURRENCY
GROWTH_LIMIT = 5.0
# App first rows at 10,000 shares over a bare Textual app's first frame (issue 14, item 3).
BARE_LIMIT = 1.3
# Runs of the app probe and the bare probe, interleaved, at every size (at least).
STARTUP_PAIRS = 3
# The DataTable yardstick runs at the keystroke targets' size only: at 50,000 rows its
# filter (clear and re-add the matches) takes seconds per key, half an hour for 72 keys.
YARDSTICK_IMAGES = 10000

# The inbox (issue 12): every project of the user, 20 shares each, 50 ms per request.
INBOX_PROJECTS = 50
INBOX_GROWTH = (10, 50, 200)
INBOX_REGIONS = "eu-de,eu-nl"
INBOX_SHARES = 20
INBOX_LATENCY_MS = 50

_SCRUB_PREFIXES = ("OS_",)
_SCRUB_NAMES = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}


# ----------------------------------------------------------------------------- helpers


def _compile_bytecode() -> dict[str, Any]:
    """Compile imshare's modules to ``__pycache__`` as ``pip install`` does, before anything is
    timed. An editable install writes them on first import, unless ``PYTHONDONTWRITEBYTECODE``
    is set (it is in some shells here): then every imshare run compiled its ~40 modules from
    source (~0.14 s), which no installed imshare does, while the floor's httpx came compiled."""
    import compileall

    ok = compileall.compile_dir(str(REPO / "tui"), quiet=1)
    return {
        "compiled": bool(ok),
        "PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
    }


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _imshare_command() -> list[str]:
    """The installed ``imshare`` script next to this interpreter, else ``python -m tui``."""
    script = Path(sys.executable).with_name("imshare")
    if script.exists():
        return [str(script)]
    found = shutil.which("imshare")
    return [found] if found else [sys.executable, "-m", "tui"]


def _base_env() -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUB_PREFIXES) and k.upper() not in _SCRUB_NAMES
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env.pop("TEXTUAL", None)
    return env


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu or platform.processor(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "loadavg_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


#: ``imshare demo-server`` with the listen backlog of a real cloud's front end. The demo's
#: ``ThreadingHTTPServer`` keeps socketserver's default of 5 pending connections: a client that
#: opens 16 at once (the inbox does) overflows it, and each dropped SYN costs a 1 s
#: retransmit (seen as ``TcpExtListenOverflows`` in ``nstat``) that no real cloud would add.
_DEMO_WITH_BACKLOG = (
    "import sys; from tui.democloud import server; server._Server.request_queue_size = 128; "
    "from tui.cli.main import main; sys.exit(main(sys.argv[1:]))"
)


class DemoServer:
    """``imshare demo-server`` in its own process; ``env`` holds its ``OS_*`` variables.

    ``extra`` options go to the server (``--projects 50 --regions eu-de,eu-nl``); with
    ``backlog`` it runs with a real cloud's listen backlog (see ``_DEMO_WITH_BACKLOG``).
    """

    def __init__(
        self,
        images: int,
        latency_ms: float,
        workdir: Path,
        extra: tuple[str, ...] = (),
        *,
        backlog: bool = False,
    ) -> None:
        self.images = images
        self.latency_ms = latency_ms
        self.workdir = workdir
        self.extra = extra
        self.backlog = backlog
        self.env: dict[str, str] = {}
        self.process: subprocess.Popen[bytes] | None = None
        self.seed_seconds = 0.0

    def __enter__(self) -> DemoServer:
        name = f"server-{self.images}-{self.latency_ms:g}-{'-'.join(self.extra)}"
        out = self.workdir / f"{name}.env"
        err = self.workdir / f"{name}.log"
        program = [sys.executable, "-c", _DEMO_WITH_BACKLOG] if self.backlog else []
        command = [
            *(program or _imshare_command()),
            "demo-server",
            "--images",
            str(self.images),
            "--latency-ms",
            str(self.latency_ms),
            *self.extra,
        ]
        started = time.perf_counter()
        with out.open("wb") as stdout, err.open("wb") as stderr:
            self.process = subprocess.Popen(
                command, stdout=stdout, stderr=stderr, env=_base_env(), cwd=self.workdir
            )
        deadline = time.monotonic() + 300
        # The banner on stderr comes after the export lines were flushed to stdout.
        while b"demo cloud on" not in err.read_bytes():
            if self.process.poll() is not None:
                raise RuntimeError(f"demo-server exited: {err.read_text(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError("demo-server did not start in time")
            time.sleep(0.05)
        self.seed_seconds = time.perf_counter() - started
        for line in out.read_text().splitlines():
            if line.startswith("export ") and "=" in line:
                name, _, value = line[len("export ") :].partition("=")
                self.env[name] = _unquote(value)
        if "OS_AUTH_URL" not in self.env:
            raise RuntimeError(f"no export lines from demo-server: {out.read_text()!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _unquote(value: str) -> str:
    import shlex

    parts = shlex.split(value)
    return parts[0] if parts else ""


@contextmanager
def _config_dir(parent: Path, name: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _run(command: list[str], env: dict[str, str], *, timeout: float = 600) -> tuple[float, bytes]:
    """Wall time of one process, and its stdout; fails loudly on a non-zero exit."""
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, timeout=timeout, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])}... exited {done.returncode}: "
            f"{done.stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed, done.stdout


def _run_rss(command: list[str], env: dict[str, str]) -> tuple[float, bytes, float, float]:
    """Like ``_run``, and the process's own peak resident set in MB and CPU seconds (user +
    system) from ``wait4``'s rusage: this child's alone, not the maximum over every child so
    far. CPU time moves less than wall time when other work shares the machine. Output goes to
    files, so the wait needs no reader; imshare's own ``--timeout`` (120 s) bounds it."""
    # ``ru_maxrss`` of a child we spawn starts at our own high-water mark (the kernel keeps the
    # mark of the memory map an ``exec`` replaces), and this process holds the listings of
    # 50,000 shares: every child read 300 MB and more. GNU time is a small process; what it
    # forks and waits for starts from its mark, a megabyte or two.
    gnu_time = shutil.which("time") if platform.system() == "Linux" else None
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as report,
    ):
        argv = [gnu_time, "-q", "-f", "%M", "-o", report.name, *command] if gnu_time else command
        started = time.perf_counter()
        process = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        process.returncode = code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
        peak_kb = float(report.read().split()[-1]) if gnu_time else usage.ru_maxrss
    if code != 0:
        raise RuntimeError(
            f"{' '.join(command[:4])}... exited {code}: {stderr.decode(errors='replace')[-2000:]}"
        )
    return elapsed, stdout, peak_kb / 1024, usage.ru_utime + usage.ru_stime


def _timed_runs(runs: int, one: Callable[[], float], *, warmup: int = 1) -> dict[str, Any]:
    for _ in range(warmup):
        one()
    samples = [one() for _ in range(runs)]
    return {"best": min(samples), "median": _median(samples), "samples": samples}


# ----------------------------------------------------------------------------- measurements


def _floor_env(config: Path) -> dict[str, str]:
    """What ``floor_list.py`` needs from the token ``imshare login`` cached: the token, the
    image endpoint and the project (``Token.to_cache``'s keys in ``tokens.json``)."""
    entries = list(json.loads((config / "tokens.json").read_text())["tokens"].values())
    if len(entries) != 1:
        raise RuntimeError(f"expected one cached token after `imshare login`, found {len(entries)}")
    (entry,) = entries
    return {
        "FLOOR_TOKEN": entry["token"],
        "FLOOR_IMAGE_URL": entry["image_endpoint"],
        "FLOOR_PROJECT_ID": entry["project_id"],
    }


def _listed(out: bytes, who: str, expected: int) -> int:
    listed = len(json.loads(out))
    if listed != expected:
        raise RuntimeError(f"{who} returned {listed} images, expected {expected}")
    return listed


def measure_cli(server: DemoServer, workdir: Path, runs: int) -> dict[str, Any]:
    """``imshare list --status all --json``: cached token, interleaved with the floor
    (``floor_list.py``, bare httpx + asyncio, the same token); then a fresh config dir each run.

    The two alternate run by run (at least ``FLOOR_RUNS`` each, after one warm-up of both), so
    load from other work hits both alike; each sample has its wall and CPU time."""
    command = [*_imshare_command(), "list", "--status", "all", "--json"]
    floor_command = [sys.executable, str(FLOOR)]
    result: dict[str, Any] = {}
    with _config_dir(workdir, "cached") as config:
        env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(config)}
        _run([*_imshare_command(), "login"], env)
        floor_env = {**_base_env(), **_floor_env(config)}
        listed = _listed(_run(command, env)[1], "imshare list", server.images)
        _listed(_run(floor_command, floor_env)[1], "floor_list.py", server.images)
        wall: dict[str, list[float]] = {"cached": [], "floor": []}
        cpu: dict[str, list[float]] = {"cached": [], "floor": []}
        for _ in range(max(runs, FLOOR_RUNS)):
            for name, (argv, run_env) in (
                ("cached", (command, env)),
                ("floor", (floor_command, floor_env)),
            ):
                elapsed, _out, _rss, used = _run_rss(argv, run_env)
                wall[name].append(elapsed)
                cpu[name].append(used)
        for name in wall:
            result[name] = {
                "best": min(wall[name]),
                "median": _median(wall[name]),
                "samples": wall[name],
                "cpu_median": _median(cpu[name]),
                "cpu_samples": cpu[name],
            }
        result["ratio_to_floor"] = result["cached"]["median"] / result["floor"]["median"]
    result["listed"] = listed

    def uncached() -> float:
        with _config_dir(workdir, "fresh") as fresh:
            env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(fresh)}
            return _run(command, env)[0]

    result["uncached"] = _timed_runs(runs, uncached, warmup=0)
    return result


def measure_osc(server: DemoServer, osc: Path, runs: int) -> dict[str, Any]:
    command = [str(osc), "image", "list", "--shared", "--member-status", "all", "-f", "json"]
    env = {**_base_env(), **server.env, "OS_IDENTITY_API_VERSION": "3"}
    _, out = _run(command, env)
    listed = len(json.loads(out))
    samples = [_run(command, env)[0] for _ in range(runs)]
    return {"best": min(samples), "median": _median(samples), "samples": samples, "listed": listed}


def _probe(command: list[str], env: dict[str, str], what: str) -> dict[str, Any]:
    """One probe process, timed from just before its spawn; its JSON line."""
    spawned_at = time.perf_counter()
    command = [*command, "--spawned-at", repr(spawned_at)]
    done = subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr.decode(errors='replace')}")
    return json.loads(done.stdout.decode().strip().splitlines()[-1])


def measure_app(server: DemoServer, workdir: Path, runs: int, *, interact: bool) -> dict[str, Any]:
    """The app probe in a fresh process per run, with a cached token, each run followed by a
    run of the bare Textual app (``bare_probe.py``) so that both see the same load."""
    outputs: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with _config_dir(workdir, "app") as config:
        env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(config)}
        _run([*_imshare_command(), "login"], env)
        for index in range(max(runs, STARTUP_PAIRS)):
            # Keystrokes are timed in the first run only: they are many samples already.
            command = [sys.executable, str(PROBE), "--expect", str(server.images)]
            if interact and index == 0:
                command.append("--interact")
            outputs.append(_probe(command, env, "app probe"))
            bare.append(_probe([sys.executable, str(BARE)], env, "bare probe"))
    result: dict[str, Any] = {"runs": outputs, "bare_runs": bare}
    for key in ("startup", "imports", "first_rows", "all_rows", "rss_mb"):
        values = [o[key] for o in outputs]
        result[key] = {"median": _median(values), "best": min(values), "samples": values}
    frames = [b["first_frame"] for b in bare]
    result["bare_first_frame"] = {"median": _median(frames), "best": min(frames), "samples": frames}
    pairs = [o["first_rows"] / b["first_frame"] for o, b in zip(outputs, bare, strict=True)]
    result["first_rows_vs_bare"] = {
        "ratio_of_medians": result["first_rows"]["median"] / result["bare_first_frame"]["median"],
        "pair_ratios": pairs,
    }
    interactive = [o["interact"] for o in outputs if "interact" in o]
    if interactive:
        result["interact"] = interactive[0]
    if interactive and server.images == YARDSTICK_IMAGES:
        # Textual's DataTable with the same shares, driven by the same keys, in this run.
        with _config_dir(workdir, "yardstick") as config:
            env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(config)}
            _run([*_imshare_command(), "login"], env)
            _, out = _run([sys.executable, str(YARDSTICK)], env, timeout=900)
        result["datatable"] = json.loads(out.decode().strip().splitlines()[-1])["interact"]
    return result


QUICK_COMMANDS = (("--version",), ("--help",), ("locate",))
STARTUP_LIMIT = 3.0


def _child_cpu() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure_startup(workdir: Path, runs: int) -> dict[str, Any]:
    """``imshare --version``, ``--help`` and ``locate`` against ``python -c pass``: wall and CPU
    time of each process (spawn to exit), the commands interleaved so that load hits all alike."""
    floor_command = [sys.executable, "-c", "pass"]
    commands = {" ".join(args): [*_imshare_command(), *args] for args in QUICK_COMMANDS}
    wall: dict[str, list[float]] = {name: [] for name in ("python -c pass", *commands)}
    cpu: dict[str, list[float]] = {name: [] for name in wall}
    with _config_dir(workdir, "startup") as config:
        env = {**_base_env(), "IMSHARE_CONFIG_DIR": str(config)}
        everything = {"python -c pass": floor_command, **commands}
        for _ in range(1):  # warm the page cache and the .pyc files
            for command in everything.values():
                _run(command, env)
        for _ in range(max(runs, 5) * 2):
            for name, command in everything.items():
                before = _child_cpu()
                elapsed, _ = _run(command, env)
                wall[name].append(elapsed)
                cpu[name].append(_child_cpu() - before)
    result: dict[str, Any] = {}
    floor = _median(wall["python -c pass"])
    for name in wall:
        result[name] = {
            "median": _median(wall[name]),
            "best": min(wall[name]),
            "cpu_median": _median(cpu[name]),
            "ratio": _median(wall[name]) / floor,
            "samples": wall[name],
        }
    return result


WIRE_SIZES = ((120, 36), (80, 24), (200, 50))
WIRE_CURSOR_LIMIT = 3 * 1024
WIRE_FILTER_LIMIT = 4 * 1024
WIRE_WORD = "ubuntu"


class _Tmux:
    """The app in a real terminal: a tmux server of its own, everything the app writes to its
    pane appended to a file (``pipe-pane``), keys sent with ``send-keys``."""

    def __init__(self, workdir: Path, width: int, height: int, command: list[str], env: dict):
        self.socket = f"imshare-bench-{os.getpid()}-{width}x{height}"
        self.out = workdir / f"wire-{width}x{height}.bytes"
        self.out.write_bytes(b"")
        shell = " ".join(shlex.quote(part) for part in command)
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "bench", "-x", str(width),
                   "-y", str(height), f"env {exports} {shell}")  # fmt: skip
        self._tmux("set-option", "-g", "status", "off")
        self._tmux("pipe-pane", "-t", "bench", "-o", f"cat >> {shlex.quote(str(self.out))}")

    def _tmux(self, *args: str) -> None:
        subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True)

    def written(self) -> int:
        return self.out.stat().st_size

    def settle(self, quiet: float, limit: float = 120.0) -> int:
        """Bytes written so far, once nothing was written for ``quiet`` seconds."""
        deadline = time.monotonic() + limit
        last, since = self.written(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.02)
            now = self.written()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return self.written()

    def key(self, key: str, quiet: float) -> int:
        """Bytes the app wrote for one key (it has gone quiet before and after)."""
        before = self.settle(quiet)
        self._tmux("send-keys", "-t", "bench", key)
        return self.settle(quiet) - before

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], check=False, capture_output=True)


def measure_wire(workdir: Path, images: int) -> dict[str, Any]:
    """Bytes ``imshare --demo`` writes to a real terminal (tmux) per cursor move, per filter
    keystroke and in 3 idle seconds, at three terminal sizes."""
    if shutil.which("tmux") is None:
        return {"note": "skipped: tmux not found"}
    result: dict[str, Any] = {"images": images}
    for width, height in WIRE_SIZES:
        with _config_dir(workdir, "wire") as config:
            env = {"IMSHARE_CONFIG_DIR": str(config), "COLORTERM": "truecolor"}
            command = [*_imshare_command(), "--demo", "--demo-images", str(images)]
            term = _Tmux(workdir, width, height, command, env)
            try:
                startup = term.settle(2.0, limit=300)
                # The first move loads a share record and may grow the detail pane once.
                term.key("Down", 0.6)
                cursor = [term.key("Down", 0.6) for _ in range(8)]
                cursor += [term.key("Up", 0.6) for _ in range(2)]
                before = term.settle(0.6)
                time.sleep(3.0)
                idle = term.written() - before
                # The field's cursor blinks every 0.5 s, restarted by each key: 0.3 s of quiet
                # ends a keystroke before its first blink.
                term.key("/", 0.3)
                keys = [*WIRE_WORD, *["BSpace"] * len(WIRE_WORD)]
                filtering = [term.key(key, 0.3) for key in keys]
            finally:
                term.close()
        result[f"{width}x{height}"] = {
            "startup": startup,
            "cursor": cursor,
            "cursor_median": _median([float(c) for c in cursor]),
            "cursor_max": max(cursor),
            "idle_3s": idle,
            "filter": filtering,
            "filter_median": _median([float(f) for f in filtering]),
            "filter_max": max(filtering),
        }
    return result


def measure_bulk(workdir: Path, concurrencies: list[int]) -> dict[str, Any]:
    """Accept 200 pending images at 50 ms latency through the app's own session call."""
    sys.path.insert(0, str(REPO))
    from tui.cloud.models import MemberStatus
    from tui.cloud.session import CloudSession
    from tui.cloud.token_cache import TokenCache
    from tui.settings.model import Settings
    from tui.settings.sources import apply_environment

    images = BULK_IMAGES * (len(concurrencies) + 1) * 3
    result: dict[str, Any] = {"latency_ms": BULK_LATENCY_MS, "images": BULK_IMAGES, "runs": {}}
    with (
        DemoServer(images, BULK_LATENCY_MS, workdir) as server,
        _config_dir(workdir, "bulk") as config,
    ):
        creds = server.env
        settings = apply_environment(Settings(), creds)

        async def run() -> None:
            cache = TokenCache(config / "tokens.json")
            async with CloudSession(settings, cache) as session:
                await session.token()
                pending = [
                    image.id
                    for image in await session.list_shared([MemberStatus.PENDING])
                    if not image.needs_vault
                ]
                # A warm pool, as in the app after its listing.
                await session.get_member(pending[-1])
                chunks = iter(
                    [pending[n : n + BULK_IMAGES] for n in range(0, len(pending), BULK_IMAGES)]
                )
                accepts = inspect.signature(session.set_status_many).parameters
                # As the app calls it (automatic: OTC's batch API where the cloud has one),
                # then one PUT per image at several concurrencies.
                plans: list[tuple[str, int, dict[str, Any]]] = [("app", APP_CONCURRENCY, {})]
                if "use_batch" in accepts:
                    plans += [(f"put-{c}", c, {"use_batch": False}) for c in concurrencies]
                for name, concurrency, extra in plans:
                    chunk = next(chunks, [])
                    if len(chunk) < BULK_IMAGES:
                        raise RuntimeError("not enough pending images for the bulk runs")
                    before = session.stats.requests
                    started = time.perf_counter()
                    decisions = await session.set_status_many(
                        chunk, MemberStatus.ACCEPTED, concurrency=concurrency, **extra
                    )
                    elapsed = time.perf_counter() - started
                    result["runs"][name] = {
                        "concurrency": concurrency,
                        "seconds": elapsed,
                        "failed": sum(1 for d in decisions if not d.ok),
                        "requests": session.stats.requests - before,
                    }

        asyncio.run(run())
    result["seconds"] = result["runs"]["app"]["seconds"]
    put = result["runs"].get(f"put-{APP_CONCURRENCY}")
    if put is not None:
        # One PUT per image: what concurrency keeps 200 of them under 2 s at this latency.
        per_request = put["seconds"] * APP_CONCURRENCY / BULK_IMAGES
        result["put_seconds_per_request"] = per_request
        result["sequential_estimate"] = per_request * BULK_IMAGES
        result["concurrency_needed_for_2s"] = math.ceil(per_request * BULK_IMAGES / 2.0)
    return result


def _inbox_images(projects: int) -> int:
    """``--images`` for about ``INBOX_SHARES`` shares per project: the demo gives share k to
    project k mod N and a tenth of them (``DOUBLE_SHARE_RATE``) to a second project too."""
    sys.path.insert(0, str(REPO))
    from tui.democloud.seed import DOUBLE_SHARE_RATE

    return round(projects * INBOX_SHARES / (1 + DOUBLE_SHARE_RATE))


def _samples(values: list[float]) -> dict[str, Any]:
    return {"median": _median(values), "best": min(values), "samples": values}


def measure_listing(
    server: DemoServer, workdir: Path, runs: int, command: list[str], *, scoped: bool
) -> dict[str, Any]:
    """One listing command, each run a fresh process: with warm tokens (a config dir that one
    run of the same command filled: on the all-projects scope every project's token) and with
    none (a fresh config dir per run: one password login, then re-scoping). Every run must
    exit 0 and list the same rows as the first; peak memory is each process's own."""
    result: dict[str, Any] = {}
    with _config_dir(workdir, "warm") as config:
        env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(config)}
        out = _run_rss(command, env)[1]
        rows = json.loads(out)
        result["rows"] = len(rows)
        if scoped:
            per_project = Counter(row["member_id"] for row in rows)
            result["projects_with_rows"] = len(per_project)
            result["rows_per_project"] = {
                "min": min(per_project.values(), default=0),
                "mean": statistics.fmean(per_project.values()) if per_project else 0.0,
                "max": max(per_project.values(), default=0),
            }
        warm = [_run_rss(command, env) for _ in range(runs)]
    cold = []
    for _ in range(runs):
        with _config_dir(workdir, "cold") as fresh:
            env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(fresh)}
            cold.append(_run_rss(command, env))
    for run in warm + cold:
        if len(json.loads(run[1])) != result["rows"]:
            raise RuntimeError(f"{' '.join(command[1:])}: the rows changed between runs")
    for name, runs_of in (("warm", warm), ("cold", cold)):
        result[name] = _samples([run[0] for run in runs_of])
        result[f"{name}_rss_mb"] = _samples([run[2] for run in runs_of])
        result[f"{name}_cpu"] = _samples([run[3] for run in runs_of])
    return result


def measure_inbox_app(
    server: DemoServer, workdir: Path, runs: int, expect: int, *, scoped: bool
) -> dict[str, Any]:
    """The app probe with warm tokens (primed by the CLI): from its first HTTP request to the
    first screen update with rows, and the rest of ``measure_app``'s figures."""
    prime = [*_imshare_command(), "list", "--status", "all", "--json"]
    outputs: list[dict[str, Any]] = []
    with _config_dir(workdir, "inbox-app") as config:
        env = {**_base_env(), **server.env, "IMSHARE_CONFIG_DIR": str(config)}
        _run([*prime, "--all-projects"] if scoped else prime, env)
        for _ in range(runs):
            command = [sys.executable, str(PROBE), "--expect", str(expect)]
            if scoped:
                command.append("--all-projects")
            command += ["--spawned-at", repr(time.perf_counter())]
            done = subprocess.run(command, env=env, capture_output=True, timeout=900, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"app probe failed: {done.stderr.decode(errors='replace')}")
            outputs.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    result: dict[str, Any] = {"runs": outputs}
    keys = ("first_request", "rows_after_request", "first_rows", "all_rows", "rss_mb")
    for key in keys:
        result[key] = _samples([o[key] for o in outputs])
    return result


def measure_inbox(workdir: Path, runs: int, app_runs: int, growth: list[int]) -> dict[str, Any]:
    """The all-projects CLI at each project count (and the app at ``INBOX_PROJECTS``), then
    the same figures for one project with ``INBOX_SHARES`` shares on the same latency."""
    listing = [*_imshare_command(), "list", "--all-projects", "-f", "json"]
    result: dict[str, Any] = {
        "latency_ms": INBOX_LATENCY_MS,
        "regions": INBOX_REGIONS,
        "shares_per_project": INBOX_SHARES,
        "projects": {},
    }
    for count in growth:
        images = _inbox_images(count)
        _log(f"   {count} projects in {INBOX_REGIONS}, {images} images ...")
        extra = ("--projects", str(count), "--regions", INBOX_REGIONS)
        figures: dict[str, Any] = {"images": images}
        with DemoServer(images, INBOX_LATENCY_MS, workdir, extra, backlog=True) as server:
            figures["server_start_seconds"] = server.seed_seconds
            figures["pending"] = measure_listing(server, workdir, runs, listing, scoped=True)
            if count == INBOX_PROJECTS:
                every = [*listing, "--status", "all"]
                figures["all"] = measure_listing(server, workdir, runs, every, scoped=True)
                if figures["all"]["projects_with_rows"] != count:
                    raise RuntimeError(
                        f"{figures['all']['projects_with_rows']} of {count} projects listed"
                    )
                _log("   app probe, all projects ...")
                figures["app"] = measure_inbox_app(
                    server, workdir, app_runs, figures["all"]["rows"], scoped=True
                )
        result["projects"][str(count)] = figures
    _log(f"   one project with {INBOX_SHARES} shares ...")
    single: dict[str, Any] = {}
    with DemoServer(
        INBOX_SHARES, INBOX_LATENCY_MS, workdir, ("--projects", "1"), backlog=True
    ) as server:
        plain = [*_imshare_command(), "list", "-f", "json"]
        single["pending"] = measure_listing(server, workdir, runs, plain, scoped=False)
        every = [*plain, "--status", "all"]
        single["all"] = measure_listing(server, workdir, runs, every, scoped=False)
        if single["all"]["rows"] != INBOX_SHARES:
            raise RuntimeError(f"one project lists {single['all']['rows']} of {INBOX_SHARES}")
        single["app"] = measure_inbox_app(
            server, workdir, app_runs, single["all"]["rows"], scoped=False
        )
    result["single"] = single
    return result


# ----------------------------------------------------------------------------- report


def _checks(data: dict[str, Any]) -> list[dict[str, Any]]:
    sizes: dict[str, Any] = data["sizes"]
    rows: list[dict[str, Any]] = []

    def add(figure: str, value: float | None, target: str, ok: bool | None, unit: str = "s"):
        rows.append({"figure": figure, "value": value, "unit": unit, "target": target, "pass": ok})

    for n_text, size in sizes.items():
        n = int(n_text)
        label = f"{n:,}"
        cli = size.get("cli")
        if cli:
            cached = cli["cached"]["median"]
            uncached = cli["uncached"]["median"]
            cpu = (
                f" (cpu {cli['cached']['cpu_median']:.2f} s)"
                if "cpu_median" in cli["cached"]
                else ""
            )
            if n == 1000:
                add(f"CLI list {label}, cached token{cpu}", cached, "<= 0.35 s", cached <= 0.35)
            elif n == 10000:
                add(f"CLI list {label}, cached token{cpu}", cached, "<= 1.0 s", cached <= 1.0)
            else:
                add(f"CLI list {label}, cached token{cpu}", cached, "(growth)", None)
            floor = cli.get("floor")
            if floor:
                add(
                    f"floor: bare httpx list {label} (yardstick, cpu {floor['cpu_median']:.2f} s)",
                    floor["median"],
                    "(yardstick)",
                    None,
                )
                ratio = cli["ratio_to_floor"]
                if n == 1000:
                    limit = f"<= {FLOOR_LIMIT:g}x"
                    add(f"CLI list / floor, {label}", ratio, limit, ratio <= FLOOR_LIMIT, "x")
                else:
                    add(f"CLI list / floor, {label}", ratio, "(info)", None, "x")
            add(f"CLI list {label}, no cached token", uncached, "(info)", None)
        osc = size.get("osc")
        if osc and cli:
            ratio = cli["cached"]["median"] / osc["median"]
            add(f"openstack image list {label}", osc["median"], "(yardstick)", None)
            if n == 1000:
                add(f"CLI / openstack, {label}", ratio, "<= 0.25x", ratio <= 0.25, "x")
            else:
                add(f"CLI / openstack, {label}", ratio, "(info)", None, "x")
        elif size.get("osc_note"):
            add(f"CLI / openstack, {label}", None, size["osc_note"], None, "x")
        app = size.get("app")
        if app:
            first = app["first_rows"]["median"]
            every = app["all_rows"]["median"]
            rss = app["rss_mb"]["median"]
            if n == 10000:
                add(f"app first rows {label}, cached", first, "<= 0.6 s", first <= 0.6)
                add(f"app all rows {label}", every, "<= 2.0 s", every <= 2.0)
                add(f"app peak memory {label}", rss, "<= 100 MB", rss <= 100, "MB")
            else:
                add(f"app first rows {label}, cached", first, "(info)", None)
                add(f"app all rows {label}", every, "(info)", None)
                add(f"app peak memory {label}", rss, "(info)", None, "MB")
            bare = app.get("bare_first_frame")
            if bare:
                add(
                    f"bare Textual app first frame, beside {label} (yardstick)",
                    bare["median"],
                    "(yardstick)",
                    None,
                )
                ratio = app["first_rows_vs_bare"]["ratio_of_medians"]
                target = n == 10000
                add(
                    f"app first rows {label} / bare first frame",
                    ratio,
                    f"<= {BARE_LIMIT:g}x" if target else "(info)",
                    ratio <= BARE_LIMIT if target else None,
                    "x",
                )
            inter = app.get("interact")
            if inter:
                fp95 = inter["filter"]["p95"]
                cp95 = inter["cursor"]["p95"]
                add(f"filter keystroke {label} p50", inter["filter"]["p50"], "(info)", None)
                add(
                    f"filter keystroke {label} p95",
                    fp95,
                    "<= 33 ms" if n == 10000 else "(growth)",
                    fp95 <= 0.033 if n == 10000 else None,
                )
                yard = app.get("datatable")
                if yard:
                    for what in ("filter", "cursor"):
                        mine, theirs = inter[what]["p95"], yard[what]["p95"]
                        add(
                            f"DataTable {what} {label} p95 (yardstick)", theirs, "(yardstick)", None
                        )
                        add(
                            f"{what} p95 / DataTable's, {label}",
                            mine / theirs,
                            "<= 1.0x",
                            mine <= theirs,
                            "x",
                        )
                add(f"cursor move {label} p50", inter["cursor"]["p50"], "(info)", None)
                add(
                    f"cursor move {label} p95",
                    cp95,
                    "<= 16 ms" if n == 10000 else "(growth)",
                    cp95 <= 0.016 if n == 10000 else None,
                )
    wire = data.get("wire")
    if wire and "note" not in wire:
        for name, figures in wire.items():
            if name == "images":
                continue
            main = name == "120x36"
            cursor, filtering = figures["cursor_median"], figures["filter_median"]
            add(
                f"wire {name}, {wire['images']:,} shares: cursor move median "
                f"(max {figures['cursor_max'] / 1024:.1f} KB)",
                cursor / 1024,
                "<= 3 KB" if main else "(info)",
                cursor <= WIRE_CURSOR_LIMIT if main else None,
                "KB",
            )
            add(
                f"wire {name}: filter keystroke median (max {figures['filter_max'] / 1024:.1f} KB)",
                filtering / 1024,
                "<= 4 KB" if main else "(info)",
                filtering <= WIRE_FILTER_LIMIT if main else None,
                "KB",
            )
            if main:
                worst = figures["filter_max"]
                add(
                    f"wire {name}: filter keystroke max (the rows on screen all change)",
                    worst / 1024,
                    "<= 4 KB",
                    worst <= WIRE_FILTER_LIMIT,
                    "KB",
                )
            add(
                f"wire {name}: idle 3 s",
                figures["idle_3s"] / 1024,
                "0 KB",
                not figures["idle_3s"],
                "KB",
            )
    elif wire:
        add("wire", None, wire["note"], None, "KB")
    startup = data.get("startup")
    if startup:
        floor = startup["python -c pass"]
        add("python -c pass (yardstick)", floor["median"], "(yardstick)", None)
        for name, figure in startup.items():
            if name == "python -c pass":
                continue
            add(
                f"imshare {name} (cpu {figure['cpu_median'] * 1000:.0f} ms)",
                figure["median"],
                "(info)",
                None,
            )
            ratio = figure["ratio"]
            add(
                f"imshare {name} / python -c pass",
                ratio,
                f"<= {STARTUP_LIMIT:g}x",
                ratio <= STARTUP_LIMIT,
                "x",
            )
    bulk = data.get("bulk")
    if bulk:
        app = bulk["runs"]["app"]
        add(
            f"bulk accept {BULK_IMAGES} @ {BULK_LATENCY_MS} ms, as the app does "
            f"({app['requests']} requests)",
            app["seconds"],
            "<= 2.0 s",
            app["seconds"] <= 2.0 and not app["failed"],
        )
        for name, run in bulk["runs"].items():
            if name == "app":
                continue
            concurrency = run["concurrency"]
            at_app = concurrency == APP_CONCURRENCY
            add(
                f"bulk accept {BULK_IMAGES}, one PUT each, concurrency {concurrency}",
                run["seconds"],
                "<= 2.0 s" if at_app else "(info)",
                (run["seconds"] <= 2.0 and not run["failed"]) if at_app else None,
            )
    inbox = data.get("inbox")
    if inbox:
        rows.extend(_inbox_checks(inbox))
    # Growth from 10,000 to 50,000 for every figure measured at both sizes.
    if "10000" in sizes and "50000" in sizes:
        for name, a, b in _growth_pairs(rows):
            if a is None or b is None:
                add(f"growth 10k->50k: {name}", None, "not measured at both sizes", False, "x")
                continue
            ratio = b / a if a else float("inf")
            ok = ratio <= GROWTH_LIMIT
            add(f"growth 10k->50k: {name}", ratio, f"<= {GROWTH_LIMIT}x", ok, "x")
    return rows


def _inbox_checks(inbox: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue-12 targets at ``INBOX_PROJECTS`` projects, the ratios to one project, and
    growth from each project count to the next (at most linear: the ratio of the counts)."""
    rows: list[dict[str, Any]] = []

    def add(figure: str, value: float | None, target: str, ok: bool | None, unit: str = "s"):
        rows.append({"figure": figure, "value": value, "unit": unit, "target": target, "pass": ok})

    single = inbox.get("single", {})
    at = inbox["projects"].get(str(INBOX_PROJECTS))
    n = INBOX_PROJECTS
    if at:
        warm = at["pending"]["warm"]["median"]
        cold = at["pending"]["cold"]["median"]
        add(f"inbox {n} projects: CLI list, warm tokens", warm, "<= 1.0 s", warm <= 1.0)
        add(f"inbox {n} projects: CLI list, no cached token", cold, "<= 2.0 s", cold <= 2.0)
        add(
            f"inbox {n} projects: CLI list --status all, warm / cold",
            at["all"]["warm"]["median"],
            f"(info; cold {at['all']['cold']['median']:.2f} s)",
            None,
        )
        add(
            f"inbox {n} projects: CLI peak memory",
            at["pending"]["warm_rss_mb"]["median"],
            "(info)",
            None,
            "MB",
        )
        app = at["app"]
        first = app["rows_after_request"]["median"]
        add(f"inbox {n} projects: app first rows after its first request", first, "<= 0.3 s",
            first <= 0.3)  # fmt: skip
        add(f"inbox {n} projects: app first rows from spawn", app["first_rows"]["median"],
            "(info)", None)  # fmt: skip
        add(f"inbox {n} projects: app all rows from spawn", app["all_rows"]["median"],
            "(info)", None)  # fmt: skip
        add(f"inbox {n} projects: app peak memory", app["rss_mb"]["median"], "(info)", None, "MB")
    if single:
        # The same figures for one project with as many shares, and the ratios to them.
        pairs = (
            ("CLI list, warm", ("pending", "warm")),
            ("CLI list, no cached token", ("pending", "cold")),
            ("CLI list --status all, warm", ("all", "warm")),
            ("app first rows after first request", ("app", "rows_after_request")),
        )
        for name, (part, key) in pairs:
            one = single[part][key]["median"]
            add(f"one project: {name}", one, "(info)", None)
            if at:
                many = at[part][key]["median"]
                ratio = many / one if one else float("inf")
                add(f"inbox {n} / one project: {name}", ratio, "(info)", None, "x")
    counts = sorted(int(c) for c in inbox["projects"])
    for small, large in itertools.pairwise(counts):
        a, b = inbox["projects"][str(small)], inbox["projects"][str(large)]
        limit = large / small
        for name, key in (
            ("CLI time, warm", "warm"),
            ("CLI time, no cached token", "cold"),
            ("CLI peak memory, warm", "warm_rss_mb"),
            ("CLI peak memory, no cached token", "cold_rss_mb"),
        ):
            ratio = b["pending"][key]["median"] / a["pending"][key]["median"]
            add(f"growth {small}->{large} projects: {name}", ratio, f"<= {limit:g}x",
                ratio <= limit, "x")  # fmt: skip
    for count in counts:
        figures = inbox["projects"][str(count)]["pending"]
        add(f"inbox {count} projects: CLI warm / cold / peak memory", figures["warm"]["median"],
            f"(info; cold {figures['cold']['median']:.2f} s, "
            f"{figures['warm_rss_mb']['median']:.0f} MB)", None)  # fmt: skip
        add(f"inbox {count} projects: CLI CPU time, warm", figures["warm_cpu"]["median"],
            f"(info; cold {figures['cold_cpu']['median']:.2f} s)", None)  # fmt: skip
    return rows


def _growth_pairs(rows: list[dict[str, Any]]) -> list[tuple[str, float | None, float | None]]:
    """Every figure printed for 10,000 shares with the same figure for 50,000: found by the
    label, so a figure added to either size is paired without a list to keep in step. A
    figure one size has and the other lacks is a pair with ``None`` (printed as not measured,
    never dropped). Ratios of two figures and the yardsticks are left out: the ratios' parts
    are paired already, and a yardstick is not imshare's to grow."""
    small: dict[str, float | None] = {}
    large: dict[str, float | None] = {}
    for row in rows:
        # Without the parts in brackets (a CPU time, a maximum): they differ between sizes.
        figure = re.sub(r"\s*\([^)]*\)", "", row["figure"])
        if row["unit"] == "x" or figure.startswith(("growth", "wire")):
            continue  # the bytes on the wire are measured at one size (--wire-images)
        if row["target"] == "(yardstick)":
            continue
        for label, into in (("10,000", small), ("50,000", large)):
            if label in figure:
                into[figure.replace(label, "N")] = row["value"]
    return [(name, small.get(name), large.get(name)) for name in {**small, **large}]


def _format_value(row: dict[str, Any]) -> str:
    value = row["value"]
    if value is None:
        return "-"
    if row["unit"] == "s":
        return f"{value * 1000:.1f} ms" if value < 0.1 else f"{value:.2f} s"
    if row["unit"] == "MB":
        return f"{value:.0f} MB"
    if row["unit"] == "KB":
        return f"{value:.1f} KB"
    return f"{value:.2f}x"


def render_table(rows: list[dict[str, Any]]) -> str:
    header = ("figure", "value", "target", "result")
    body = [
        (
            row["figure"],
            _format_value(row),
            row["target"],
            "PASS" if row["pass"] else ("FAIL" if row["pass"] is False else ""),
        )
        for row in rows
    ]
    widths = [max(len(r[i]) for r in (header, *body)) for i in range(4)]
    lines = ["| " + " | ".join(h.ljust(widths[i]) for i, h in enumerate(header)) + " |"]
    lines.append("| " + " | ".join("-" * w for w in widths) + " |")
    lines += ["| " + " | ".join(c.ljust(widths[i]) for i, c in enumerate(r)) + " |" for r in body]
    return "\n".join(lines)


# ----------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="imshare speed-and-scale benchmark")
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated N")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (a smoke run)")
    parser.add_argument("--runs", type=int, default=None, help="repeats per CLI figure")
    parser.add_argument("--latency-ms", type=float, default=0.0, help="demo cloud latency")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, help="where to write JSON")
    parser.add_argument("--osc", type=Path, default=None, help="path to `openstack`")
    parser.add_argument("--osc-max", type=int, default=1000, help="largest N for openstack")
    parser.add_argument(
        "--skip", default="", help="comma list of: startup,cli,osc,app,bulk,wire,inbox"
    )
    parser.add_argument(
        "--wire-images", type=int, default=10000, help="shares of the demo for the wire figures"
    )
    parser.add_argument(
        "--inbox-projects",
        default=",".join(str(n) for n in INBOX_GROWTH),
        help=f"project counts of the inbox section (the targets are at {INBOX_PROJECTS})",
    )
    args = parser.parse_args(argv)

    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    runs = args.runs or (2 if args.quick else 5)
    app_runs = 1 if args.quick else 3
    skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    osc = args.osc or (DEFAULT_OSC if DEFAULT_OSC.exists() else None)
    osc_note = ""
    if osc is None or not Path(osc).exists():
        osc_note = "skipped: python-openstackclient not found (--osc PATH)"
        osc = None

    data: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "options": {
            "sizes": sizes,
            "runs": runs,
            "app_runs": app_runs,
            "latency_ms": args.latency_ms,
            "quick": args.quick,
            "skip": sorted(skip),
        },
        "sizes": {},
    }
    data["bytecode"] = _compile_bytecode()
    workdir = Path(tempfile.mkdtemp(prefix="imshare-bench-"))
    try:
        if "startup" not in skip:
            _log("== start-up: --version, --help, locate vs python -c pass")
            data["startup"] = measure_startup(workdir, runs)
        if "wire" not in skip:
            _log(f"== bytes on the wire (tmux), {args.wire_images:,} shares")
            data["wire"] = measure_wire(workdir, args.wire_images)
        for n in sizes if {"cli", "osc", "app"} - skip else []:
            _log(f"== {n:,} shared images")
            size: dict[str, Any] = {}
            with DemoServer(n, args.latency_ms, workdir) as server:
                size["server_start_seconds"] = server.seed_seconds
                if "cli" not in skip:
                    _log("   imshare list ...")
                    size["cli"] = measure_cli(server, workdir, runs)
                if "osc" not in skip:
                    if osc is not None and n <= args.osc_max:
                        _log("   openstack image list ...")
                        size["osc"] = measure_osc(server, osc, 1 if args.quick else 3)
                    elif osc is None:
                        size["osc_note"] = osc_note
                if "app" not in skip:
                    _log("   app probe ...")
                    size["app"] = measure_app(server, workdir, app_runs, interact=n >= 10000)
            data["sizes"][str(n)] = size
        if "bulk" not in skip:
            _log(f"== bulk accept of {BULK_IMAGES} at {BULK_LATENCY_MS} ms")
            concurrencies = [APP_CONCURRENCY] if args.quick else [4, APP_CONCURRENCY, 16]
            data["bulk"] = measure_bulk(workdir, concurrencies)
        if "inbox" not in skip:
            _log(f"== inbox: every project, {INBOX_SHARES} shares each, {INBOX_LATENCY_MS} ms")
            growth = [int(c) for c in args.inbox_projects.split(",") if c.strip()]
            data["inbox"] = measure_inbox(workdir, runs, app_runs, growth)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    rows = _checks(data)
    data["checks"] = rows
    data["machine"]["loadavg_at_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    machine = data["machine"]
    print(
        f"imshare benchmark, {data['date']}: {machine['nproc']} cores, {machine['cpu']}, "
        f"Python {machine['python']}"
    )
    print(render_table(rows))
    failed = [row for row in rows if row["pass"] is False]
    print(f"{len(rows) - len(failed)} of {len(rows)} rows ok; {len(failed)} target(s) missed")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=2) + "\n")
    print(f"JSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
