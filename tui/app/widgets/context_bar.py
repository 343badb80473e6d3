"""The context bar: which cloud, region, project and user the app is really talking to.

It shows the token's own project (not the config's wish), because deciding for the wrong project
is the mistake that matters here, plus a token countdown and an activity indicator. The project
and user names come from Keystone's answer, so they pass ``safe_text`` like any cloud text.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual.content import Content
from textual.widgets import Static

from tui.app.store import VIEWS, view_label
from tui.cloud.auth import host_of
from tui.cloud.models import MemberStatus, Token
from tui.formatting import cell_width, countdown, safe_text, short_id

_SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


def utc_now() -> datetime:
    return datetime.now(UTC)


class ContextBar(Static):
    """One line: cloud · region · project (id) · user · token countdown · activity."""

    DEFAULT_CSS = """
    ContextBar { height: 1; background: $panel; color: $foreground; padding: 0 1; }
    """

    # Tests freeze time here so snapshots do not depend on the clock.
    clock: Callable[[], datetime] = staticmethod(utc_now)
    animate_spinner = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.token: Token | None = None
        #: Where the current token is read each second, so a re-login anywhere (a decision,
        #: a member record) shows at once in the countdown.
        self.token_source: Callable[[], Token | None] | None = None
        self.fallback = ""
        self.activity = ""
        #: "auto-refresh 60s, last 12:03" with --refresh: that it is on and when it ran.
        self.refresh_note = ""
        #: Instead of the token's project: "all 12 projects" when every project is shown.
        self.scope_label = ""
        self.read_only = False
        #: TLS certificates are not checked (OS_INSECURE, verify: false): shown next to
        #: READ-ONLY, because a password sent that way can be read on the network.
        self.insecure = False
        self._frame = 0
        self._shown: Text | None = None

    def on_mount(self) -> None:
        self.set_interval(1.0, self._tick)
        self.set_interval(0.1, self._spin)
        self._render_bar()

    def seconds_left(self, token: Token) -> float:
        """Separate so snapshot tests can pin the countdown."""
        return token.seconds_left(self.clock())

    def set_token(self, token: Token | None) -> None:
        self.token = token
        self._render_bar()

    def set_scope_label(self, text: str) -> None:
        if text != self.scope_label:
            self.scope_label = text
            self._render_bar()

    def set_activity(self, text: str) -> None:
        self.activity = text
        self._render_bar()

    def _tick(self) -> None:
        if self.token_source is not None:
            current = self.token_source()
            if current is not None:
                self.token = current
        self._render_bar()

    def _spin(self) -> None:
        if self.activity and self.animate_spinner:
            self._frame = (self._frame + 1) % len(_SPINNER)
            self._render_bar()

    def _render_bar(self) -> None:
        token = self.token
        parts: list[tuple[str, str]] = []  # (text, style), most important first
        if token is None:
            parts.append((safe_text(self.fallback) or "not logged in", "dim"))
        else:
            where = host_of(token.auth_url)
            if token.region and not self.scope_label:  # every project: regions are per row
                where += f" {token.region}"
            parts.append((safe_text(where), "bold"))
            project = safe_text(token.project_name) or "?"
            if self.scope_label:
                parts.append((self.scope_label, "bold"))
            else:
                parts.append((f"{project} ({short_id(token.project_id)})", "bold"))
            left = self.seconds_left(token)
            parts.append((f"token {countdown(left)}", "bold red" if left < 600 else ""))
            parts.append((safe_text(token.user_name), ""))
        if self.activity:
            spinner = _SPINNER[self._frame] if self.animate_spinner else "…"
            # Progress matters more than the user name: it goes right after the context.
            parts.insert(min(len(parts), 3), (f"{spinner} {self.activity}", "italic"))
        if self.refresh_note:
            parts.append((self.refresh_note, "dim"))
        if self.insecure:
            parts.insert(1, ("INSECURE", "bold reverse red"))
        if self.read_only:
            parts.insert(1, ("READ-ONLY", "bold reverse"))
        width = (self.size.width or 80) - 2
        while len(parts) > 2 and sum(cell_width(t) + 3 for t, _ in parts) - 3 > width:
            parts.pop()
        text = Text(no_wrap=True, overflow="ellipsis")
        for index, (chunk, style) in enumerate(parts):
            if index:
                text.append(" │ ")
            text.append(chunk, style=style)
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)  # one fixed line: no re-layout of the screen

    def on_resize(self) -> None:
        self._render_bar()


class ViewTabs(Static):
    """``1 Pending (12)  2 Accepted (5) ...``: the status views with their counts, clickable."""

    DEFAULT_CSS = """
    ViewTabs { height: 1; padding: 0 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.counts: dict[MemberStatus | None, int] = dict.fromkeys(VIEWS, 0)
        self.current: MemberStatus | None = MemberStatus.PENDING
        self.extra = ""
        self.incomplete: set[MemberStatus | None] = set()
        self.loading = False
        self._shown: tuple[str, str] | None = None

    def set_state(
        self,
        counts: dict[MemberStatus | None, int],
        current: MemberStatus | None,
        extra: str,
        *,
        incomplete: set[MemberStatus | None] | None = None,
        loading: bool = False,
    ) -> None:
        """``incomplete``: views whose count is a lower bound (a listing failed): ``96+?``;
        ``loading``: no listing is complete yet, so the counts read ``…``, not ``0``."""
        self.counts, self.current, self.extra = counts, current, extra
        self.incomplete = set(incomplete or ())
        self.loading = loading
        self._render_tabs()

    def on_mount(self) -> None:
        self._render_tabs()

    def _render_tabs(self) -> None:
        # Markup here holds only our own words and numbers; no server text reaches it.
        parts: list[str] = []
        for number, view in enumerate(VIEWS, start=1):
            more = "+?" if view in self.incomplete else ""
            count = "…" if self.loading else str(self.counts.get(view, 0))
            label = f" {number} {view_label(view)} {count}{more} "
            style = "bold reverse " if view == self.current else ""
            parts.append(f"[{style}@click=screen.show_view({number - 1})]{label}[/]")
        markup = "".join(parts)
        if (markup, self.extra) == self._shown:
            return
        self._shown = (markup, self.extra)
        content = Content.from_markup(markup)
        if self.extra:
            content = content + Content.styled("  " + self.extra, "dim")
        self.update(content, layout=False)  # one fixed line: no re-layout of the screen
