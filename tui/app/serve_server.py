"""textual-serve's server with a token, an Origin/Host check, a local-only page and plain logs.

textual-serve (tested: 1.1.3) has no hook for authentication, so :class:`ImshareServer`
subclasses its ``Server`` and overrides exactly these methods (see each one's docstring):

* ``_make_app``: adds the guard middleware and the security headers to the application it
  builds. Its routes (``/``, ``/ws``, ``/download/{key}``, ``/static``) stay as they are.
* ``handle_index``: serves our page instead of upstream's template, which loads a stylesheet
  from Google Fonts in its ``<head>`` (where that request hangs, the page stays on its
  loading screen until it times out) and names the server with absolute URLs (an SSH tunnel
  on another local port breaks).
* ``initialize_logging``: upstream logs through rich with ``tracebacks_show_locals=True``; a
  local can hold the user's password or this server's token.
* ``on_startup``: upstream prints a banner with the app's command line and the URL without
  the token; ``imshare serve`` prints the one URL to use instead.
* ``on_shutdown`` (empty upstream): ends the open sessions at once on Ctrl-C.
* ``serve``: upstream binds inside ``web.run_app`` (so the real port of ``--port 0`` is never
  known), keeps aiohttp's access log (which would log the token in the query string) and
  turns on Textual's devtools in the app for ``debug``.

This module imports textual-serve and aiohttp, the ``serve`` extra; ``tui.app.serve`` imports
it only when ``imshare serve`` runs.
"""

from __future__ import annotations

import asyncio
import html
import logging
import socket
import sys
import threading
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from textual_serve.server import Server

from tui import logsetup
from tui.app.serve_auth import (
    TOKEN_PARAMETER,
    is_loopback_host,
    is_same_origin,
    token_matches,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# Loggers that can write in the serve process: textual-serve's own, aiohttp's, asyncio's.
_SERVER_LOGGERS = ("textual-serve", "aiohttp", "asyncio")
# After Ctrl-C, how long open browser sessions get to close before they are cancelled.
_SHUTDOWN_TIMEOUT = 3.0

FORBIDDEN_TOKEN = "403: Forbidden. Open the URL that `imshare serve` printed (with ?token=…).\n"
FORBIDDEN_HOST = "403: Forbidden. Use http://127.0.0.1:PORT/ (or localhost, or [::1]).\n"
FORBIDDEN_ORIGIN = "403: Forbidden. Cross-origin request refused.\n"

# Sent with every response, the 403s and the websocket handshake included.
SECURITY_HEADERS = {
    # No page of another origin may frame ours: cookies are not port-specific, so a page on
    # another local port could otherwise show the app in a hidden frame and take clicks.
    "Content-Security-Policy": "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Frame-Options": "DENY",
    # The first load's URL carries the token: never send it on as a Referer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


def cookie_name(port: int) -> str:
    """The cookie's name names the port, so two servers on one machine don't overwrite it."""
    return f"imshare-serve-{port}"


def bind_loopback(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port`` (0: a free port the kernel picks).

    Binding here rather than in aiohttp tells us the real port before anything is printed,
    and connections made as soon as the URL is printed wait in the backlog, not fail.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


class ImshareServer(Server):
    """A ``textual_serve.server.Server`` that only the holder of ``token`` can use."""

    def __init__(
        self,
        command: str,
        *,
        token: str,
        host: str,
        port: int,
        title: str = "imshare",
        log_debug: bool = False,
    ) -> None:
        super().__init__(command, host=host, port=port, title=title)
        self.token = token
        self.log_debug = log_debug
        self._socket: socket.socket | None = None
        self._sessions: set[asyncio.Task[object]] = set()

    # ------------------------------------------------------------------ listening

    def listen(self) -> str:
        """Bind and listen now; return the URL to open (``http://HOST:PORT/?token=…``).

        Raises ``OSError`` when the port is taken or not allowed.
        """
        if self._socket is None:
            self._socket = bind_loopback(self.host, self.port)
            self.port = int(self._socket.getsockname()[1])
            self.public_url = f"http://{self.host}:{self.port}"
        return f"{self.public_url}/?{TOKEN_PARAMETER}={self.token}"

    def serve(self, debug: bool = False) -> None:
        """Run until SIGINT / SIGTERM (overrides ``Server.serve``).

        Upstream passes host and port to ``web.run_app``, so with port 0 nobody learns the
        port; we hand it the socket from :meth:`listen`. It also leaves aiohttp's access log
        on (each line would carry ``?token=…``) and, for ``debug``, sets Textual's devtools
        in every app (``AppService(debug=…)``: the app would connect to a devtools server any
        local user can run). ``debug`` is therefore ignored here: ``imshare --debug serve``
        passes ``--debug`` to the app's command line (``tui.app.serve.app_command``), and
        :meth:`initialize_logging` logs at DEBUG when ``log_debug`` is set.
        """
        self.debug = False
        self.initialize_logging()
        self.listen()
        assert self._socket is not None
        web.run_app(
            self._make_app(),
            sock=self._socket,
            # Signal handlers can only be installed in the main thread.
            handle_signals=threading.current_thread() is threading.main_thread(),
            shutdown_timeout=_SHUTDOWN_TIMEOUT,
            access_log=None,
            print=None,
        )

    def initialize_logging(self) -> None:
        """Plain logging, never locals (overrides ``Server.initialize_logging``).

        Upstream installs rich's handler on the root logger with ``rich_tracebacks=True`` and
        ``tracebacks_show_locals=True``: a crash in a websocket handler would print the
        request, its cookie (the token) and whatever the frames hold. Here the server's
        loggers write through the ``imshare`` logger's handlers (set up by ``logsetup``:
        warnings on stderr, the private debug log with ``--debug``, secrets redacted), whose
        formatter prints a standard traceback: file, line and source, no values. The root
        logger is left alone.
        """
        handlers = list(logging.getLogger(logsetup.LOGGER_NAME).handlers)
        if not handlers:  # not started through ``imshare``'s main: warnings on stderr
            handler = logging.StreamHandler(sys.stderr)
            handler.setLevel(logging.WARNING)
            handler.setFormatter(logging.Formatter("imshare: %(name)s: %(message)s"))
            handler.addFilter(logsetup.RedactingFilter())
            handlers = [handler]
        for name in _SERVER_LOGGERS:
            logger = logging.getLogger(name)
            for old in list(logger.handlers):
                logger.removeHandler(old)
            for handler in handlers:
                logger.addHandler(handler)
            logger.setLevel(logging.DEBUG if self.log_debug else logging.WARNING)
            logger.propagate = False

    async def on_shutdown(self, app: web.Application) -> None:
        """End the open browser sessions now (overrides the empty ``Server.on_shutdown``).

        aiohttp would otherwise wait ``shutdown_timeout`` for each websocket to close by
        itself. Cancelling the handler is what upstream expects on shutdown: it closes the
        websocket and tells the app to quit.
        """
        for task in self._sessions:
            task.cancel()
        if self._sessions:
            await asyncio.wait(set(self._sessions), timeout=_SHUTDOWN_TIMEOUT)

    async def on_startup(self, app: web.Application) -> None:
        """Print nothing (overrides ``Server.on_startup``, which prints a banner).

        ``imshare serve`` has already printed the URL, token included, once it was listening.
        """

    # ------------------------------------------------------------------ the guard

    async def _make_app(self) -> web.Application:
        """Upstream's application, every route behind :meth:`guard` (overrides ``_make_app``).

        ``Server._make_app`` builds the ``web.Application`` and its routes in one go and
        offers no hook; the middleware list can still be extended until the app starts.
        """
        app = await super()._make_app()
        app.middlewares.append(self.guard)
        app.on_response_prepare.append(_add_security_headers)
        return app

    @web.middleware
    async def guard(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Refuse (403) what does not come from the token holder's own loopback page.

        In order: the ``Host`` must be loopback (DNS rebinding); the token must come with the
        request, in ``?token=`` or in the cookie; a websocket (upgrade, or ``/ws`` at all)
        must carry an ``Origin`` equal to ``http://`` + ``Host``, and so must any other request
        that carries an ``Origin`` (other pages' scripts). A page load authorised by
        ``?token=`` gets the cookie.
        """
        host = request.headers.get(hdrs.HOST)
        if not is_loopback_host(host):
            return _forbidden(FORBIDDEN_HOST)
        name = cookie_name(self.port)
        by_query = token_matches(request.query.get(TOKEN_PARAMETER), self.token)
        if not by_query and not token_matches(request.cookies.get(name), self.token):
            return _forbidden(FORBIDDEN_TOKEN)
        origin = request.headers.get(hdrs.ORIGIN)
        upgrade = request.headers.get(hdrs.UPGRADE, "").lower()
        websocket = request.path == "/ws" or "websocket" in upgrade
        if (websocket or origin is not None) and not is_same_origin(origin, host):
            return _forbidden(FORBIDDEN_ORIGIN)
        if websocket:  # to be ended on shutdown
            session = asyncio.current_task()
            if session is not None:
                self._sessions.add(session)
                session.add_done_callback(self._sessions.discard)
        response = await handler(request)
        if by_query and request.path == "/" and not response.prepared:
            response.set_cookie(name, self.token, path="/", httponly=True, samesite="Strict")
        return response

    # ------------------------------------------------------------------ the page

    async def handle_index(self, request: web.Request) -> web.Response:  # type: ignore[override]
        """Our page, not upstream's template (overrides ``Server.handle_index``).

        Upstream's template asks fonts.googleapis.com for a stylesheet (no network: the page
        hangs on its loading screen until that times out) and gets absolute
        ``http://127.0.0.1:PORT/…`` URLs, which break a tunnel on another local port. This
        page uses the Roboto Mono that textual-serve ships, only relative URLs, works the
        websocket URL out from where the browser is, and gives the terminal keyboard focus.
        """
        font_size = _font_size(request.query.get("fontsize", ""))
        page = PAGE.replace("{title}", html.escape(self.title)).replace(
            "{font_size}", str(font_size)
        )
        return web.Response(
            text=page,
            content_type="text/html",
            charset="utf-8",
            headers={hdrs.CACHE_CONTROL: "no-store"},
        )


def _forbidden(text: str) -> web.Response:
    return web.Response(status=403, text=text, headers={hdrs.CACHE_CONTROL: "no-store"})


async def _add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)


def _font_size(text: str) -> int:
    try:
        size = int(text)
    except ValueError:
        return 16
    return min(max(size, 6), 64)


# The page. textual.js (textual-serve's bundle) reads the terminal's data attributes and
# sets -first-byte / -closed on <body>; it also injects the terminal's own size rules.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<title>{title}</title>
<link rel="icon" href="data:,">
<link rel="preload" href="static/fonts/RobotoMono-VariableFont_wght.ttf" as="font"
      type="font/ttf" crossorigin>
<link rel="stylesheet" href="static/css/xterm.css">
<style>
@font-face {
  font-family: "Roboto Mono";
  src: url("static/fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
  font-weight: 100 700;
  font-style: normal;
  font-display: block;
}
@font-face {
  font-family: "Roboto Mono";
  src: url("static/fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype");
  font-weight: 100 700;
  font-style: italic;
  font-display: block;
}
body { background: #0c181f; margin: 0; }
.dialog {
  position: absolute; inset: 0; z-index: 10;
  display: flex; align-items: center; justify-content: center;
}
.box {
  padding: 32px 48px; background: #12232d; color: rgba(255, 255, 255, 0.95);
  font: 16px "Roboto Mono", Menlo, monospace; text-align: center;
}
button {
  margin: 16px auto 0; padding: 12px 32px; display: block; border: none; cursor: pointer;
  background: #5e0ba7; color: rgba(255, 255, 255, 0.95); font: inherit;
}
button:hover { background: #ac5af4; }
#start { display: none; }
#start.-delay { display: block; }
body.-first-byte .intro { display: none; }
.textual-terminal { opacity: 0; transition: opacity 0.3s ease-out; }
body.-first-byte .textual-terminal { opacity: 1; }
.closed { display: none; }
body.-closed .closed { display: flex; }
</style>
<script src="static/js/textual.js"></script>
</head>
<body>
<div class="dialog intro"><div class="box">Starting {title}…
  <button type="button" id="start">Start</button></div></div>
<div class="dialog closed"><div class="box">Session ended.
  <button type="button" id="restart">Restart</button></div></div>
<div id="terminal" class="textual-terminal" data-session-websocket-url="ws"
     data-font-size="{font_size}"></div>
<script>
(function () {
  "use strict";
  // The token is in the cookie now: take it out of the address bar and the history.
  var here = new URL(window.location.href);
  if (here.searchParams.has("token")) {
    here.searchParams.delete("token");
    window.history.replaceState(null, "", here.pathname + here.search + here.hash);
  }
  // The websocket where the browser is (a tunnel may use another port than the server).
  var terminal = document.getElementById("terminal");
  var base = new URL("ws", window.location.href);
  base.protocol = window.location.protocol === "https:" ? "wss:" : "ws:";
  terminal.dataset.sessionWebsocketUrl = base.href;

  function startUrl() {
    var url = new URL(window.location.href);
    url.searchParams.delete("delay");
    url.searchParams.delete("token");
    return url.pathname + url.search;
  }
  function restart() { window.location.href = startUrl(); }
  document.getElementById("start").addEventListener("click", restart);
  document.getElementById("restart").addEventListener("click", restart);

  // textual.js starts the terminal in window.onload; start it once the font is there (xterm
  // measures its cells when it opens), then give it the keyboard.
  var startTerminal = window.onload;
  window.onload = function (event) {
    var size = terminal.dataset.fontSize + "px";
    var font = document.fonts ? document.fonts.load(size + ' "Roboto Mono"') : null;
    Promise.resolve(font).catch(function () {}).then(function () {
      if (typeof startTerminal === "function") { startTerminal.call(window, event); }
      var keys = terminal.querySelector(".xterm-helper-textarea");
      if (keys) { keys.focus(); }
    });
  };
})();
</script>
</body>
</html>
"""
