"""Telling the user about new shares beyond the toast: the terminal bell, or a desktop
notification through the terminal (OSC 9 or OSC 777), when they asked for one.

Off by default (``[ui] notify`` or ``--notify``: ``off``, ``bell``, ``desktop``). A desktop
notification is sent only to a terminal known to show one, recognised from the environment:

* OSC 9 (``ESC ] 9 ; TEXT BEL``): iTerm2 (``TERM_PROGRAM=iTerm.app``, or ``LC_TERMINAL=iTerm2``,
  which survives ssh and tmux), WezTerm, ghostty, kitty (``TERM=xterm-kitty`` or
  ``KITTY_WINDOW_ID``), Windows Terminal (``WT_SESSION``), ConEmu (``ConEmuANSI=ON``);
* OSC 777 (``ESC ] 777 ; notify ; TITLE ; BODY BEL``): foot (``TERM=foot…``) and urxvt
  (``TERM=rxvt-unicode…``, with its notify extension).

``IMSHARE_NOTIFY_OSC=9`` or ``777`` names the protocol for any other terminal. Anywhere else
``desktop`` rings the bell instead, and the app says so once. Inside tmux (``TMUX``) the
sequence is wrapped in tmux's passthrough (``ESC P tmux ; … ESC \\``, inner ESCs doubled), which
tmux 3.3+ forwards with ``set -g allow-passthrough on``.

Everything written is built from text the cloud sent (image names) and the user wrote (owner
names): it goes through ``safe_text`` (no control character: no BEL, ESC or ST can end the OSC
early) and loses ``;`` (OSC 777's separator; in OSC 9 a leading ``4;`` would be ConEmu's
progress bar), and it starts with a fixed word, never a digit. It is written through the app's
driver, in order with the screen's own output, so nothing is drawn over.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tui.formatting import safe_text

MODES = ("off", "bell", "desktop")
BEL = "\x07"
ESC = "\x1b"
#: Longest body sent: a notification shows a line or two.
MAX_BODY = 200
OVERRIDE_VARIABLE = "IMSHARE_NOTIFY_OSC"


class NotifyModeError(ValueError):
    """A ``notify`` value that is not one of ``MODES``; the message says which are."""


def parse_mode(value: object, where: str) -> str:
    text = str(value).strip().lower()
    if text not in MODES:
        raise NotifyModeError(
            f"{where}: notify must be one of {', '.join(MODES)}, not {safe_text(str(value))!r}"
        )
    return text


def desktop_protocol(environ: Mapping[str, str]) -> str:
    """``"9"`` or ``"777"`` for a terminal known to show that OSC as a notification, else ""."""
    forced = environ.get(OVERRIDE_VARIABLE, "").strip()
    if forced in ("9", "777"):
        return forced
    term = environ.get("TERM", "")
    program = environ.get("TERM_PROGRAM", "")
    if term.startswith(("foot", "rxvt-unicode")):
        return "777"
    if (
        program in ("iTerm.app", "WezTerm", "ghostty")
        or environ.get("LC_TERMINAL") == "iTerm2"
        or term in ("xterm-kitty", "xterm-ghostty", "wezterm")
        or environ.get("KITTY_WINDOW_ID")
        or environ.get("WT_SESSION")
        or environ.get("ConEmuANSI") == "ON"
    ):
        return "9"
    return ""


def clean(text: str, limit: int = MAX_BODY) -> str:
    """One line of inert text for inside an OSC: no control characters, no ``;``."""
    shown = safe_text(text).replace(";", ",")
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def osc(protocol: str, title: str, body: str) -> str:
    """The notification sequence, its text cleaned."""
    if protocol == "777":
        return f"{ESC}]777;notify;{clean(title, 60)};{clean(body)}{BEL}"
    return f"{ESC}]9;{clean(f'{title}: {body}')}{BEL}"


def tmux_passthrough(sequence: str) -> str:
    """``sequence`` for tmux to hand to the terminal outside it."""
    return f"{ESC}Ptmux;{sequence.replace(ESC, ESC + ESC)}{ESC}\\"


@dataclass(frozen=True, slots=True)
class Notifier:
    """What to write when new shares appear; ``write`` puts raw text to the terminal."""

    mode: str
    protocol: str
    in_tmux: bool
    write: Callable[[str], None]

    @classmethod
    def for_terminal(
        cls, mode: str, environ: Mapping[str, str], write: Callable[[str], None]
    ) -> Notifier:
        protocol = desktop_protocol(environ) if mode == "desktop" else ""
        return cls(mode, protocol, bool(environ.get("TMUX")), write)

    @property
    def unsupported(self) -> str:
        """Why ``desktop`` rings the bell instead ("" when it does not)."""
        if self.mode != "desktop" or self.protocol:
            return ""
        return (
            "Desktop notifications: this terminal is not one known to show them (OSC 9 or "
            f"777), so new shares ring the bell instead; {OVERRIDE_VARIABLE}=9 or 777 names one."
        )

    def announce(self, title: str, body: str) -> None:
        if self.mode == "off":
            return
        if self.mode == "bell" or not self.protocol:
            self.write(BEL)
            return
        sequence = osc(self.protocol, title, body)
        self.write(tmux_passthrough(sequence) if self.in_tmux else sequence)
