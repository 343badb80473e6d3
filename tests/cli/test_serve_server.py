"""``imshare serve`` end to end: the real server, a real app, aiohttp's client as the browser.

One ``imshare serve --demo --port 0`` per module (per xdist worker) in a subprocess, so the
demo cloud is the only cloud anything talks to. Every wait polls against a deadline: a slow
2-core CI machine only makes a test slower, never wrong.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import IO

import aiohttp
import pytest
from yarl import URL

STARTUP_DEADLINE = 30.0  # the server prints its URL well within 2 s; CI may be slow
APP_OUTPUT_DEADLINE = 30.0  # a session's app (python -m tui --demo) starts in ~2 s
URL_LINE = re.compile(r"^http://127\.0\.0\.1:(?P<port>\d+)/\?token=(?P<token>[A-Za-z0-9_-]{43})$")


@dataclass
class Served:
    """A running ``imshare serve`` and everything it has written so far."""

    process: subprocess.Popen[str]
    url: str
    port: int
    token: str
    chunks: list[str]  # stdout and stderr lines as they come (the apps' stderr included)

    @property
    def base(self) -> URL:
        return URL(f"http://127.0.0.1:{self.port}/")

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def cookie_name(self) -> str:
        return f"imshare-serve-{self.port}"

    def output(self) -> str:
        return "".join(list(self.chunks))


def _drain(stream: IO[str], sink: list[str], lines: queue.Queue[str] | None) -> None:
    for line in stream:
        sink.append(line)  # list.append is atomic: two readers can share the sink
        if lines is not None:
            lines.put(line)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve")
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OS_") and "PROXY" not in name.upper()
    }
    env.update(
        IMSHARE_CONFIG_DIR=str(home / "config"),
        XDG_CONFIG_HOME=str(home / "xdg-config"),
        XDG_STATE_HOME=str(home / "xdg-state"),
        XDG_CACHE_HOME=str(home / "xdg-cache"),
        PYTHONUNBUFFERED="1",
    )
    env.pop("IMSHARE_PROFILE", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "tui", "serve", "--demo", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=home,
        start_new_session=True,  # so the teardown can end the apps it started too
    )
    chunks: list[str] = []
    stdout_lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None and process.stderr is not None
    for stream, lines in ((process.stdout, stdout_lines), (process.stderr, None)):
        threading.Thread(target=_drain, args=(stream, chunks, lines), daemon=True).start()
    try:
        first = stdout_lines.get(timeout=STARTUP_DEADLINE).strip()
    except queue.Empty:
        _stop(process)
        pytest.fail(f"imshare serve printed no URL in {STARTUP_DEADLINE} s: {''.join(chunks)}")
    match = URL_LINE.match(first)
    if match is None:
        _stop(process)
        pytest.fail(f"not a URL with a token: {first!r}; output: {''.join(chunks)}")
    try:
        yield Served(process, first, int(match["port"]), match["token"], chunks)
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[str]) -> None:
    """Ctrl-C, as a user would; then make sure no app process outlives the test."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=5)


@contextlib.asynccontextmanager
async def client(**options: object) -> AsyncIterator[aiohttp.ClientSession]:
    """A browser-ish client; its cookie jar accepts cookies from 127.0.0.1 as a browser does."""
    jar = aiohttp.CookieJar(unsafe=True)
    timeout = aiohttp.ClientTimeout(total=STARTUP_DEADLINE)
    async with aiohttp.ClientSession(cookie_jar=jar, timeout=timeout, **options) as session:  # type: ignore[arg-type]
        yield session


async def _open_page(
    session: aiohttp.ClientSession, served: Served, base: URL | None = None
) -> None:
    """Load the printed URL (through ``base``, a tunnel's end, if given), as a browser does."""
    base = base or served.base
    async with session.get(base.with_query(token=served.token)) as response:
        assert response.status == 200


def _has_cookie(session: aiohttp.ClientSession, served: Served) -> bool:
    return any(cookie.key == served.cookie_name for cookie in session.cookie_jar)


async def _first_app_output(websocket: aiohttp.ClientWebSocketResponse) -> bytes:
    """The first bytes the app sends to the browser's terminal (its screen)."""
    deadline = time.monotonic() + APP_OUTPUT_DEADLINE
    while (left := deadline - time.monotonic()) > 0:
        message = await websocket.receive(timeout=left)
        if message.type == aiohttp.WSMsgType.BINARY and message.data:
            return bytes(message.data)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
            pytest.fail(f"the session closed before the app wrote anything: {message!r}")
    pytest.fail(f"no app output in {APP_OUTPUT_DEADLINE} s")


async def _refused(
    session: aiohttp.ClientSession, url: URL, *, origin: str | None, **options: object
) -> int:
    """The HTTP status a websocket upgrade was refused with (fails if it was accepted)."""
    try:
        async with session.ws_connect(url, origin=origin, **options):  # type: ignore[arg-type]
            pass
    except aiohttp.WSServerHandshakeError as refusal:
        return refusal.status
    pytest.fail(f"websocket {url} with Origin {origin!r} was accepted")


def _ws(base: URL, **query: str) -> URL:
    return base.with_path("/ws").with_query({"width": "80", "height": "24", **query})


# --------------------------------------------------------------------------- listening


def test_the_printed_url_names_the_real_port_and_a_token(served: Served) -> None:
    assert served.port != 0  # --port 0: the kernel's pick, not 0
    with socket.create_connection(("127.0.0.1", served.port), timeout=5):
        pass
    assert served.token not in " ".join(served.process.args)  # type: ignore[arg-type]


def test_it_listens_on_127_0_0_1_only(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", served.port), timeout=5):
        pass
    # Another loopback address of this machine: a server on 0.0.0.0 would answer there too.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.2", served.port), timeout=5):
        pass
    listening = Path("/proc/net/tcp")
    if listening.exists():  # Linux: the one listening socket on this port is 127.0.0.1's
        port_hex = f"{served.port:04X}"
        local = [
            line.split()[1]
            for line in listening.read_text().splitlines()[1:]
            if line.split()[1].endswith(":" + port_hex) and line.split()[3] == "0A"
        ]
        assert local == [f"0100007F:{port_hex}"]


# --------------------------------------------------------------------------- HTTP routes


@pytest.mark.parametrize(
    "path", ["/", "/static/js/textual.js", "/static/css/xterm.css", "/download/anything", "/ws"]
)
async def test_every_route_without_the_token_is_forbidden(served: Served, path: str) -> None:
    async with client() as session, session.get(served.base.with_path(path)) as response:
        assert response.status == 403
        assert "token" in await response.text()
        assert "Set-Cookie" not in response.headers


async def test_a_wrong_token_or_cookie_is_forbidden(served: Served) -> None:
    wrong = served.token[:-1] + ("A" if served.token[-1] != "A" else "B")
    async with client() as session:
        async with session.get(served.base.with_query(token=wrong)) as response:
            assert response.status == 403
        session.cookie_jar.update_cookies({served.cookie_name: wrong}, served.base)
        async with session.get(served.base) as response:
            assert response.status == 403


async def test_the_token_opens_the_page_and_its_cookie_reloads_it(served: Served) -> None:
    async with client() as session:
        async with session.get(served.base.with_query(token=served.token)) as response:
            assert response.status == 200
            cookies = SimpleCookie()
            for header in response.headers.getall("Set-Cookie", []):
                cookies.load(header)
        cookie = cookies[served.cookie_name]
        assert cookie.value == served.token
        assert cookie["httponly"] is True
        assert cookie["samesite"] == "Strict"
        assert cookie["path"] == "/"
        # A reload without ?token=, and the page's own requests, go in on the cookie.
        for path in ("/", "/static/js/textual.js"):
            async with session.get(served.base.with_path(path)) as response:
                assert response.status == 200, path


async def test_the_page_loads_nothing_from_elsewhere_and_uses_relative_urls(
    served: Served,
) -> None:
    async with client() as session:
        async with session.get(served.base.with_query(token=served.token)) as response:
            assert response.status == 200
            page = await response.text()
            headers = response.headers
        assert "fonts.googleapis" not in page and "fonts.gstatic" not in page
        assert not re.search(r"(?:https?|wss?)://", page)  # nothing absolute, no other host
        assert f":{served.port}" not in page  # works through a tunnel on another port
        # No other page may frame it (a page on another local port gets our cookie too).
        assert headers.get("X-Frame-Options") == "DENY"
        assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", "")
        # Every file the page names is there (the bundled font instead of Google's).
        references = re.findall(r'(?:src|href)="([^"#]+)"|url\("([^"]+)"\)', page)
        files = {a or b for a, b in references if not (a or b).startswith("data:")}
        assert "static/fonts/RobotoMono-VariableFont_wght.ttf" in files
        for name in files:
            async with session.get(served.base.join(URL(name))) as response:
                assert response.status == 200, name
        # The terminal takes the keyboard once it is open.
        assert ".xterm-helper-textarea" in page and ".focus()" in page


async def test_a_host_that_is_not_loopback_is_forbidden(served: Served) -> None:
    """DNS rebinding: evil.example pointed at 127.0.0.1 sends ``Host: evil.example``."""
    url = served.base.with_query(token=served.token)
    async with client() as session:
        for host in (f"evil.example:{served.port}", "127.0.0.1.nip.io", "[::2]"):
            async with session.get(url, headers={"Host": host}) as response:
                assert response.status == 403, host
        async with session.get(url, headers={"Host": f"localhost:{served.port}"}) as response:
            assert response.status == 200


# --------------------------------------------------------------------------- websocket


async def test_a_websocket_without_the_token_is_refused(served: Served) -> None:
    wrong = "x" * len(served.token)
    async with client() as session:
        assert await _refused(session, _ws(served.base), origin=served.origin) == 403
        url = _ws(served.base, token=wrong)
        assert await _refused(session, url, origin=served.origin) == 403
        session.cookie_jar.update_cookies({served.cookie_name: wrong}, served.base)
        assert await _refused(session, _ws(served.base), origin=served.origin) == 403


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",  # a web page anywhere
        "http://127.0.0.1:1",  # a page from another local port
        "http://localhost",  # ... or another local origin
        "https://127.0.0.1:{port}",  # not our scheme
        "null",  # a sandboxed frame or a file:// page
        None,  # browsers always send Origin on a websocket
    ],
)
async def test_a_websocket_from_another_origin_is_refused_even_with_the_token(
    served: Served, origin: str | None
) -> None:
    if origin is not None:
        origin = origin.format(port=served.port)
    async with client() as session:
        await _open_page(session, served)  # its cookie goes along, as in a browser
        url = _ws(served.base, token=served.token)
        assert await _refused(session, url, origin=origin) == 403


async def test_the_page_s_websocket_runs_the_app(served: Served) -> None:
    """What the browser does: load the printed URL, then open the websocket on the cookie."""
    async with client() as session:
        await _open_page(session, served)
        assert _has_cookie(session, served)
        async with session.ws_connect(_ws(served.base), origin=served.origin) as websocket:
            assert await _first_app_output(websocket)


async def test_a_tunnel_on_another_local_port_works_and_origin_must_match_it(
    served: Served,
) -> None:
    """``ssh -L LOCAL:127.0.0.1:PORT``: the browser sees port LOCAL, the server PORT."""
    async with _forwarder(served.port) as local_port:
        tunnel = URL(f"http://127.0.0.1:{local_port}/")
        async with client() as session:
            async with session.get(tunnel.with_query(token=served.token)) as response:
                page = await response.text()
            assert response.status == 200
            assert f":{served.port}" not in page  # the page names no port: relative URLs
            # The server's own port is not where this page came from: refused.
            url = _ws(tunnel, token=served.token)
            assert await _refused(session, url, origin=served.origin) == 403
            origin = f"http://127.0.0.1:{local_port}"
            async with session.ws_connect(url, origin=origin) as websocket:
                assert await _first_app_output(websocket)


async def test_a_crash_in_a_session_is_logged_without_locals(served: Served) -> None:
    """A message the server cannot parse: the traceback is logged, the values are not."""
    marker = "local-value-" + "q7z" * 8
    async with client() as session:
        await _open_page(session, served)
        url = _ws(served.base, token=served.token)
        async with session.ws_connect(url, origin=served.origin) as websocket:
            await _first_app_output(websocket)
            await websocket.send_str(f"not json {marker}")
            # Read on, as a browser does, so the server's closing handshake is answered.
            deadline = time.monotonic() + APP_OUTPUT_DEADLINE
            while not websocket.closed and (left := deadline - time.monotonic()) > 0:
                await websocket.receive(timeout=left)
        while "JSONDecodeError" not in served.output():
            assert time.monotonic() < deadline, served.output()
            await asyncio.sleep(0.05)
    output = served.output()
    assert "Traceback" in output
    assert marker not in output  # rich's show_locals would print the message it was parsing
    assert served.token not in output.replace(served.url, "")  # nor the cookie or the token


@contextlib.asynccontextmanager
async def _forwarder(target_port: int) -> AsyncIterator[int]:
    """A TCP forwarder from a free local port to ``target_port``: an SSH tunnel's two ends."""
    pipes: set[asyncio.Task[None]] = set()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target_reader, target_writer = await asyncio.open_connection("127.0.0.1", target_port)
        for task in (pipe(reader, target_writer), pipe(target_reader, writer)):
            pipes.add(asyncio.create_task(task))

    server = await asyncio.start_server(connect, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
        await server.wait_closed()
