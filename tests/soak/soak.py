"""imshare soak test (issue 10, item 10). Run on its own, never by pytest::

    python tests/soak/soak.py [--minutes 10] [--cli-runs 200] [--json PATH]

1. Starts ``imshare demo-server --images 2000`` with faults on (5xx, 429, dropped connections,
   broken JSON, faults on member updates too, all tokens revoked once, tokens that live six
   minutes) as a separate process and reads its ``export OS_*=`` lines.
2. Runs the app headless in its own process (``soak_app.py``) with ``--refresh 5`` for
   ``--minutes``, pressing keys like a user every two seconds; once a minute it reports
   resident memory, asyncio tasks, open sockets, workers and live objects.
3. Runs the CLI ``--cli-runs`` times in a row (``list``, ``show``, ``accept``, ``pending``),
   counting exit codes, tracebacks and decisions reported that the cloud did not make.
4. Prints every figure with PASS/FAIL against: memory after the first minute never more than
   10 % above the first minute's, and at most 2 % more over the second half (a leak keeps
   growing, a cache levels off); no growth in tasks or sockets (the second half of the run
   never above the first half's peak plus a small slack); no traceback anywhere; no decision
   reported that the cloud did not make; the demo server's sockets back to where they were.
   Writes JSON (default ``tests/soak/results/latest.json``, git-ignored). Exit status 0 only
   if everything passed.

See tests/soak/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
APP = HERE / "soak_app.py"
DEFAULT_JSON = HERE / "results" / "latest.json"

DEFAULT_FAULTS = (
    "--error-rate 0.03 --throttle-rate 0.01 --drop-rate 0.02 --malformed-rate 0.02 "
    "--faults-on-writes --revoke-after 500 --token-ttl 360 --fault-seed 10"
)
MEMORY_GROWTH_LIMIT = 0.10
#: A leak keeps growing; caches level off. Growth over the second half of the run:
SECOND_HALF_LIMIT = 0.02
TASK_SLACK = 2
SOCKET_SLACK = 1
CLI_TIMEOUT = 180
EXPORT = re.compile(r"^export (OS_[A-Z_]+)=(.*)$")


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def imshare() -> list[str]:
    return [sys.executable, "-m", "tui"]


def base_env(config_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("OS_") and k.upper() not in {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
    }
    env["NO_PROXY"] = "127.0.0.1,localhost"
    env["IMSHARE_CONFIG_DIR"] = str(config_dir)
    env["PYTHONPATH"] = str(REPO)
    return env


def process_sockets(pid: int) -> int:
    count = 0
    for entry in os.scandir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(entry.path).startswith("socket:"):
                count += 1
        except OSError:
            continue
    return count


def process_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


# ----------------------------------------------------------------------------- demo server


class DemoServer:
    """``imshare demo-server`` as a child process; its credentials from its export lines."""

    def __init__(self, images: int, faults: str, workdir: Path) -> None:
        self.args = [*imshare(), "demo-server", "--images", str(images), *faults.split()]
        self.workdir = workdir
        self.proc: subprocess.Popen[str] | None = None
        self.credentials: dict[str, str] = {}
        self.log_path = workdir / "demo-server.log"

    def __enter__(self) -> DemoServer:
        log(f"starting: {' '.join(self.args[2:])}")
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            self.args,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=base_env(self.workdir / "server-config"),
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"demo-server ended early; see {self.log_path}")
            match = EXPORT.match(line.strip())
            if match:
                self.credentials[match.group(1)] = match.group(2).strip("'\"")
            if "OS_REGION_NAME" in self.credentials:
                return self
        raise RuntimeError("demo-server printed no credentials within 120 s")

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def env(self, config_dir: Path) -> dict[str, str]:
        return {**base_env(config_dir), **self.credentials}


# ----------------------------------------------------------------------------- the app


def run_app(server: DemoServer, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    config_dir = workdir / "app-config"
    stderr_path = workdir / "app.stderr"
    command = [
        sys.executable,
        str(APP),
        "--minutes",
        str(args.minutes),
        "--refresh",
        "5",
        "--sample-seconds",
        str(args.sample_seconds),
    ]
    log(f"app: {args.minutes} min, --refresh 5, a sample every {args.sample_seconds:g} s")
    samples: list[dict[str, Any]] = []
    server_samples: list[dict[str, int]] = []
    with stderr_path.open("w") as stderr:
        proc = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=stderr, text=True, env=server.env(config_dir)
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                log(f"app said: {line.rstrip()}")
                continue
            samples.append(record)
            server_samples.append(
                {
                    "t": record["t"],
                    "rss_kb": process_rss_kb(server.pid),
                    "sockets": process_sockets(server.pid),
                }
            )
            log(
                f"  t={record['t']:7.1f}s rss={record['rss_kb'] / 1024:6.1f} MB "
                f"tasks={record['tasks']:3} sockets={record['sockets']:2} "
                f"workers={record['workers']:2} objects={record['gc_objects']:7} "
                f"cached={record['cache_entries']:6} "
                f"listings={record['listings_ok']}+{record['listings_failed']} failed "
                f"decisions={record['decisions_ok']}+{record['decisions_failed']} failed"
                + ("" if record["quiet"] else " (not quiet)")
            )
        code = proc.wait(timeout=120)
    stderr_text = stderr_path.read_text(errors="replace")
    return {
        "exit_code": code,
        "samples": samples,
        "server": server_samples,
        "stderr_tracebacks": stderr_text.count("Traceback"),
        "stderr_bytes": len(stderr_text),
    }


# ----------------------------------------------------------------------------- the CLI


def cli(
    server: DemoServer, config_dir: Path, *command: str
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    proc = subprocess.run(
        [*imshare(), *command],
        env=server.env(config_dir),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        check=False,
    )
    return proc, time.perf_counter() - started


def listed(server: DemoServer, config_dir: Path, status: str) -> set[str] | None:
    """The ids in ``status``, from a listing that succeeded (faults: up to five tries)."""
    for _ in range(5):
        proc, _ = cli(server, config_dir, "list", "--status", status, "-f", "value", "-c", "ID")
        if proc.returncode == 0:
            return set(proc.stdout.split())
    return None


def run_cli(server: DemoServer, args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    config_dir = workdir / "cli-config"
    rng = random.Random(args.seed)
    log(f"CLI: {args.cli_runs} runs in a row")
    pending = listed(server, config_dir, "pending") or set()
    everything = listed(server, config_dir, "all") or set()
    if not pending or not everything:
        raise RuntimeError("could not list the demo cloud's shares to start the CLI runs")
    codes: dict[str, int] = {}
    durations: list[float] = []
    tracebacks = 0
    unexplained = 0
    misreported = 0
    verified = 0
    accepted_last: list[str] = []
    messages: dict[str, int] = {}
    kinds = ("list", "show", "accept", "pending")
    for n in range(args.cli_runs):
        kind = kinds[n % len(kinds)]
        if kind == "list":
            command = ["list", "--status", rng.choice(["pending", "all", "accepted"])]
            command += rng.choice([[], ["-f", "json"], ["-f", "value", "-c", "ID"]])
        elif kind == "show":
            command = ["show", rng.choice(sorted(everything))]
        elif kind == "accept":
            accepted_last = rng.sample(sorted(pending), k=min(3, len(pending)))
            command = ["accept", *accepted_last, *rng.choice([[], ["--no-batch"]])]
        else:
            command = ["pending", *accepted_last]
        proc, seconds = cli(server, config_dir, *command)
        durations.append(seconds)
        codes[str(proc.returncode)] = codes.get(str(proc.returncode), 0) + 1
        if "Traceback" in proc.stderr or "Traceback" in proc.stdout:
            tracebacks += 1
            log(f"  run {n}: traceback in `imshare {' '.join(command[:2])} …`")
        if proc.returncode == 1:
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
            key = re.sub(r"[0-9a-f-]{36}", "ID", last)[:160]
            messages[key] = messages.get(key, 0) + 1
        if proc.returncode not in (0, 1) or (
            proc.returncode == 1 and not proc.stderr.startswith("imshare: ")
        ):
            unexplained += 1
            log(f"  run {n}: exit {proc.returncode}: {proc.stderr.strip()[:200]}")
        if kind == "accept":
            reported = {line.split()[-1] for line in proc.stdout.splitlines()}
            now_accepted = listed(server, config_dir, "accepted")
            if now_accepted is not None:
                verified += 1
                wrong = reported - now_accepted
                misreported += len(wrong)
                if wrong:
                    log(f"  run {n}: reported accepted but not: {sorted(wrong)}")
        if (n + 1) % 50 == 0:
            log(f"  {n + 1} runs; exit codes {codes}")
    ordered = sorted(durations)
    return {
        "runs": args.cli_runs,
        "exit_codes": codes,
        "exit_1_messages": messages,
        "tracebacks": tracebacks,
        "unexplained_failures": unexplained,
        "accept_runs_verified": verified,
        "misreported_decisions": misreported,
        "seconds_median": round(statistics.median(ordered), 3),
        "seconds_p95": round(ordered[int(0.95 * (len(ordered) - 1))], 3),
        "seconds_max": round(ordered[-1], 3),
    }


# ----------------------------------------------------------------------------- verdict


def growth_check(values: list[int], slack: int) -> tuple[bool, str]:
    """No growth: the second half never above the first half's peak plus ``slack``."""
    if len(values) < 2:
        return True, "too few samples"
    half = len(values) // 2
    first, second = max(values[:half]), max(values[half:])
    return second <= first + slack, f"first half peak {first}, second half peak {second}"


def verdict(
    app: dict[str, Any], cli_result: dict[str, Any], server_after: int, server_before: int
) -> list[tuple[str, str, str, bool]]:
    samples = [s for s in app["samples"] if not s.get("final")]
    rows: list[tuple[str, str, str, bool]] = []
    after_first = [s for s in samples if s["t"] >= 55]
    if after_first:
        base = after_first[0]["rss_kb"]
        peak = max(s["rss_kb"] for s in after_first)
        last = after_first[-1]["rss_kb"]
        growth = peak / base - 1
        rows.append(
            (
                "app memory after the first minute",
                f"{base / 1024:.1f} MB at {after_first[0]['t']:.0f} s, peak {peak / 1024:.1f} MB "
                f"(+{growth:.1%}), last {last / 1024:.1f} MB",
                f"<= +{MEMORY_GROWTH_LIMIT:.0%}",
                growth <= MEMORY_GROWTH_LIMIT,
            )
        )
        half = after_first[len(after_first) // 2 :]
        mid, end = half[0]["rss_kb"], max(s["rss_kb"] for s in half)
        rows.append(
            (
                "app memory over the second half",
                f"{mid / 1024:.1f} MB at {half[0]['t']:.0f} s, peak after it {end / 1024:.1f} MB "
                f"(+{end / mid - 1:.1%})",
                f"<= +{SECOND_HALF_LIMIT:.0%}",
                end / mid - 1 <= SECOND_HALF_LIMIT,
            )
        )
    else:
        rows.append(("app memory after the first minute", "no samples", "", False))
    quiet = [s for s in samples if s["quiet"]]
    ok, text = growth_check([s["tasks"] for s in quiet], TASK_SLACK)
    rows.append(("app asyncio tasks (quiet samples)", text, f"no growth (+{TASK_SLACK})", ok))
    ok, text = growth_check([s["sockets"] for s in quiet], SOCKET_SLACK)
    rows.append(("app open sockets (quiet samples)", text, f"no growth (+{SOCKET_SLACK})", ok))
    ok, text = growth_check([s["workers"] for s in quiet], TASK_SLACK)
    rows.append(("app Textual workers (quiet samples)", text, f"no growth (+{TASK_SLACK})", ok))
    final = next((s for s in app["samples"] if s.get("final")), {})
    rows.append(
        (
            "app: no crash, no traceback, no unexpected error",
            f"exit {app['exit_code']}, {app['stderr_tracebacks']} tracebacks, "
            f"{len(final.get('unexpected', []))} unexpected errors, crash: "
            f"{final.get('crash_line')}",
            "0 / 0 / 0 / none",
            app["exit_code"] == 0
            and app["stderr_tracebacks"] == 0
            and not final.get("unexpected")
            and not final.get("crash_line"),
        )
    )
    rows.append(
        (
            "app work done",
            f"{final.get('listings_ok', 0)} listings (+{final.get('listings_failed', 0)} failed), "
            f"{final.get('decisions_ok', 0)} decisions (+{final.get('decisions_failed', 0)} "
            f"failed), {final.get('cloud_error_toasts', 0)} error toasts",
            "listings > 0",
            final.get("listings_ok", 0) > 0,
        )
    )
    rows.append(
        (
            f"CLI {cli_result['runs']} runs: exit codes",
            ", ".join(f"{k}: {v}" for k, v in sorted(cli_result["exit_codes"].items())),
            "only 0 and 1 (with a message)",
            cli_result["unexplained_failures"] == 0,
        )
    )
    rows.append(
        (
            "CLI tracebacks",
            str(cli_result["tracebacks"]),
            "0",
            cli_result["tracebacks"] == 0,
        )
    )
    rows.append(
        (
            "CLI decisions reported but not made",
            f"{cli_result['misreported_decisions']} "
            f"({cli_result['accept_runs_verified']} accept runs checked)",
            "0",
            cli_result["misreported_decisions"] == 0,
        )
    )
    rows.append(
        (
            "CLI run time median / p95 / max",
            f"{cli_result['seconds_median']} / {cli_result['seconds_p95']} / "
            f"{cli_result['seconds_max']} s",
            "(figure)",
            True,
        )
    )
    rows.append(
        (
            "demo server sockets after all clients ended",
            f"{server_after} (before any client: {server_before})",
            "back to before",
            server_after <= server_before,
        )
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="app run (default 10)")
    parser.add_argument("--cli-runs", type=int, default=200, help="CLI runs (default 200)")
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--faults", default=DEFAULT_FAULTS, help="demo-server fault options")
    parser.add_argument("--sample-seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args()

    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="imshare-soak-") as tmp:
        workdir = Path(tmp)
        with DemoServer(args.images, args.faults, workdir) as server:
            server_before = process_sockets(server.pid)
            app = run_app(server, args, workdir)
            cli_result = run_cli(server, args, workdir)
            time.sleep(2)  # let the server notice the last client's closed connections
            server_after = process_sockets(server.pid)
            server_rss = process_rss_kb(server.pid)
    rows = verdict(app, cli_result, server_after, server_before)

    width = max(len(r[0]) for r in rows)
    print(
        f"\nimshare soak, {started:%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, {args.images} images, faults: {args.faults}"
    )
    for name, value, target, ok in rows:
        print(f"{name:<{width}}  {'PASS' if ok else 'FAIL'}  {value}  [{target}]")
    for message, count in sorted(cli_result["exit_1_messages"].items(), key=lambda m: -m[1]):
        print(f"  CLI exit 1 x{count}: {message}")
    passed = all(r[3] for r in rows)
    print("all passed" if passed else "SOME CHECKS FAILED")

    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "started": started.isoformat(),
                "finished": datetime.now(UTC).isoformat(),
                "machine": {
                    "cores": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_average": os.getloadavg(),
                },
                "options": {k: str(v) for k, v in vars(args).items()},
                "app": app,
                "cli": cli_result,
                "server": {
                    "sockets_before": server_before,
                    "sockets_after": server_after,
                    "rss_kb_end": server_rss,
                },
                "checks": [
                    {"check": n, "value": v, "target": t, "passed": ok} for n, v, t, ok in rows
                ],
            },
            indent=2,
        )
    )
    log(f"JSON: {args.json}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
