"""``imshare demo-server`` / ``python -m tui.democloud``: run the demo cloud in the foreground.

Prints ``export OS_...=...`` lines (for the demo user's project 0) on stdout once
listening (so ``eval "$(...)"`` or a parent process can pick them up), then on stderr the
vault ids, each region's image endpoint and port and the user's projects with their
regions; logs one line per request to stderr and exits cleanly on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
import signal
import sys
import threading
from types import FrameType

from .cloud import DemoCloud
from .faults import Faults
from .glance import FOREIGN_REGION_ERRORS
from .seed import DEFAULT_PROJECTS, REGION, check_world


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def _names(text: str) -> list[str]:
    """A comma-separated list (``eu-de,eu-nl``); blanks around names are ignored."""
    return [part.strip() for part in text.split(",") if part.strip()]


def _regions(text: str) -> tuple[str, ...]:
    try:
        return check_world(0, 1, _names(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _failure(text: str) -> tuple[str, int]:
    """``NAME`` (403) or ``NAME=STATUS`` for ``--fail-project``."""
    name, sep, status = text.partition("=")
    if not name.strip():
        raise argparse.ArgumentTypeError(f"expected NAME or NAME=STATUS, got {text!r}")
    try:
        code = int(status) if sep else 403
    except ValueError:
        raise argparse.ArgumentTypeError(f"status must be a number, got {status!r}") from None
    if not 400 <= code <= 599:
        raise argparse.ArgumentTypeError(f"status must be 400-599, got {code}")
    return name.strip(), code


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the demo server's options to ``parser``."""
    net = parser.add_argument_group("server")
    net.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only)")
    net.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host (the demo cloud has fixed, public passwords)",
    )
    net.add_argument("--port", type=_non_negative_int, default=0, help="port (0: any free)")
    data = parser.add_argument_group("data")
    data.add_argument(
        "--images", type=_non_negative_int, default=300, help="images shared with the demo user"
    )
    data.add_argument("--seed", type=int, default=1, help="seed for the generated data")
    data.add_argument(
        "--projects",
        type=_positive_int,
        default=DEFAULT_PROJECTS,
        metavar="N",
        help=f"projects of the demo user, round-robin over the regions ({DEFAULT_PROJECTS})",
    )
    data.add_argument(
        "--regions",
        type=_regions,
        default=(REGION,),
        metavar="R1[,R2...]",
        help=f"regions, each with its image API on its own port (default {REGION})",
    )
    data.add_argument(
        "--foreign-region-error",
        choices=FOREIGN_REGION_ERRORS,
        default="unauthorized",
        help="answer to a token of another region's project (default: 401 unauthorized)",
    )
    data.add_argument("--latency-ms", type=float, default=0.0, help="delay added to every request")
    data.add_argument(
        "--token-ttl", type=float, default=86400.0, metavar="SECONDS", help="token lifetime"
    )
    flt = parser.add_argument_group("faults (image API only)")
    flt.add_argument("--revoke-after", type=_non_negative_int, metavar="N",
                     help="revoke all tokens after N image-API requests")  # fmt: skip
    flt.add_argument("--error-rate", type=_rate, default=0.0, metavar="F", help="500/502/503")
    flt.add_argument("--throttle-rate", type=_rate, default=0.0, metavar="F",
                     help="429 with Retry-After")  # fmt: skip
    flt.add_argument("--flow-control-rate", type=_rate, default=0.0, metavar="F",
                     help="400 IMG.0060")  # fmt: skip
    flt.add_argument("--drop-rate", type=_rate, default=0.0, metavar="F",
                     help="close the connection mid-response")  # fmt: skip
    flt.add_argument("--malformed-rate", type=_rate, default=0.0, metavar="F",
                     help="200 with broken JSON")  # fmt: skip
    flt.add_argument("--slow-ms", type=float, default=0.0, help="extra delay per image request")
    flt.add_argument("--fault-seed", type=int, default=None, help="seed for fault decisions")
    flt.add_argument("--faults-on-writes", action="store_true",
                     help="also inject faults into member updates")  # fmt: skip
    flt.add_argument("--auth-faults", action="store_true", help="also inject faults into Keystone")
    flt.add_argument("--fault-projects", type=_names, default=[], metavar="NAME[,NAME]",
                     help="only requests of these projects (names or ids) get faults")  # fmt: skip
    flt.add_argument("--fail-project", type=_failure, action="append", default=[],
                     metavar="NAME[=STATUS]",
                     help="every image request of the project fails (403); repeatable")  # fmt: skip


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def faults_from_args(args: argparse.Namespace) -> Faults | None:
    """The :class:`Faults` the options describe, or None when there are none."""
    faults = Faults(
        revoke_after=args.revoke_after,
        error_rate=args.error_rate,
        throttle_rate=args.throttle_rate,
        flow_control_rate=args.flow_control_rate,
        drop_rate=args.drop_rate,
        malformed_rate=args.malformed_rate,
        slow_ms=args.slow_ms,
        fault_seed=args.fault_seed,
        apply_to_writes=args.faults_on_writes,
        auth_faults=args.auth_faults,
        projects=frozenset(getattr(args, "fault_projects", None) or ()),
    )
    return faults if faults.active else None


def run(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit code."""
    if not _is_loopback(args.host) and not args.allow_remote:
        print(
            f"refusing to listen on {args.host}: the demo cloud has well-known passwords; "
            "pass --allow-remote if you really mean it",
            file=sys.stderr,
        )
        return 2
    try:
        faults = faults_from_args(args)
    except ValueError as exc:
        print(f"invalid fault options: {exc}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    cloud = DemoCloud(
        images=args.images,
        seed=args.seed,
        latency_ms=args.latency_ms,
        token_ttl_seconds=args.token_ttl,
        host=args.host,
        port=args.port,
        log=sys.stderr,
        faults=faults,
        projects=args.projects,
        regions=args.regions,
        foreign_region_error=args.foreign_region_error,
    )
    named = [*args.fault_projects, *(name for name, _ in args.fail_project)]
    unknown = [name for name in named if cloud.state.lookup_project(name) is None]
    if unknown:
        print(f"unknown project: {', '.join(unknown)}", file=sys.stderr)
        return 2
    for name, status in args.fail_project:
        cloud.fail_project(name, status)
    try:
        cloud.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        for name, value in cloud.credentials.items():
            print(f"export {name}={shlex.quote(value)}")
        sys.stdout.flush()
        print(
            f"demo cloud on {cloud.base_url} ({args.images} shared images, seed {args.seed}); "
            f"vault ids: {', '.join(cloud.vault_ids)}; Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        print(describe(cloud), file=sys.stderr, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        cloud.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def describe(cloud: DemoCloud) -> str:
    """The regions (image endpoint, port) and the demo user's projects, for the operator.

    The export lines are for project 0; another project needs its name and region, e.g.
    ``OS_PROJECT_NAME=eu-nl_demo_staging OS_REGION_NAME=eu-nl``.
    """
    ports = cloud.region_ports()
    lines = [
        f"region {region}: image API {cloud.image_url_for(region)} (port {ports[region]})"
        for region in cloud.regions
    ]
    lines.append("projects of user demo (OS_PROJECT_NAME, OS_REGION_NAME, id):")
    lines.extend(
        f"  {p.name} {p.region} {p.id}" + ("  <- the export lines" if n == 0 else "")
        for n, p in enumerate(cloud.user_projects())
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m tui.democloud``."""
    parser = argparse.ArgumentParser(
        prog="python -m tui.democloud",
        description="Run the imshare demo cloud (Keystone v3 + Glance v2 image sharing).",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
