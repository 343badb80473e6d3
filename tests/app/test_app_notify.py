"""New shares found by auto-refresh: the toast names the owner, and ``notify`` rings the bell
or sends an OSC 9 / OSC 777 desktop notification — only to a terminal known to show one,
through tmux's passthrough inside tmux, and never with a byte of the cloud's text that could
end the sequence early. The bytes are those the app's driver was given (under Pilot)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomli_w
from app_support import wait_for, wait_loaded
from test_app_hostile_text import record_terminal

from tui.app import notify

SIZE = (120, 36)
NEW_ID = "11111111-2222-4333-8444-555555555555"
#: An image name that tries to end the notification and start sequences of its own.
HOSTILE_NAME = "!n \x1b]2;pwned\x07 4;x \x9cst\x1b\\ end"
#: The same, as it must arrive inside the OSC: each control character one U+FFFD, no ";".
HOSTILE_INERT = "!n \ufffd]2,pwned\ufffd 4,x \ufffdst\ufffd\\ end"
OSC_PIECES = ("\x1b]9;", "\x1b]777;", "\x1bPtmux;")


def share_new_image(cloud: Any, name: str) -> str:
    template = cloud.image(cloud.shared_image_ids("pending")[0])
    return cloud.add_image(dict(template, id=NEW_ID, name=name), {cloud.project_id: "pending"})


def name_owner(config_dir: Path, owner: str, name: str) -> None:
    config_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (config_dir / "owners.toml").write_text(
        tomli_w.dumps({"owners": {owner: {"name": name}}}), encoding="utf-8"
    )


def terminal_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    for name in ("TMUX", "TERM_PROGRAM", "LC_TERMINAL", "KITTY_WINDOW_ID", "WT_SESSION",
                 "ConEmuANSI", notify.OVERRIDE_VARIABLE):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    for name, value in env.items():
        monkeypatch.setenv(name, value)


async def new_share_toast(app: Any, pilot: Any, cloud: Any, name: str) -> Any:
    main = await wait_loaded(pilot)
    share_new_image(cloud, name)
    await wait_for(pilot, lambda: main.store.get(NEW_ID) is not None, what="the new share")
    await wait_for(
        pilot,
        lambda: any("new image is shared" in (n.title or "") for n in app._notifications),
        what="the toast",
    )
    return next(n for n in app._notifications if "new image" in (n.title or ""))


async def test_desktop_notification_in_tmux_is_wrapped_and_inert(
    cloud: Any, make_app: Any, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = cloud.image(cloud.shared_image_ids("pending")[0])["owner"]
    name_owner(config_dir, owner, "Platform team")
    terminal_env(monkeypatch, TERM="tmux-256color", TMUX="/tmp/tmux-0/default,1,0",
                 LC_TERMINAL="iTerm2")  # fmt: skip
    app = make_app(cloud)
    app.refresh_seconds = 0.3  # the option's minimum is 5 s; the test need not wait that long
    app.notify_mode = "desktop"
    written = record_terminal(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        toast = await new_share_toast(app, pilot, cloud, HOSTILE_NAME)
        await pilot.pause()
    assert "from Platform team" in toast.message  # the owner, by the name the user gave it
    sent = [w for w in written if any(piece in w for piece in OSC_PIECES)]
    inner = f"\x1b]9;1 new image is shared with you: {HOSTILE_INERT} from Platform team\x07"
    wrapped = "\x1bPtmux;" + inner.replace("\x1b", "\x1b\x1b") + "\x1b\\"
    assert sent == [wrapped]


async def test_osc_777_for_foot_and_the_owners_short_id(
    cloud: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = cloud.image(cloud.shared_image_ids("pending")[0])["owner"]
    terminal_env(monkeypatch, TERM="foot")
    app = make_app(cloud)
    app.refresh_seconds = 0.3
    app.notify_mode = "desktop"
    written = record_terminal(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        toast = await new_share_toast(app, pilot, cloud, "Fresh; share")
        await pilot.pause()
    short = owner[:8]  # no name in owners.toml: the first 8 characters of the id, as the table
    assert f"Fresh; share from {short}" in toast.message
    sent = [w for w in written if any(piece in w for piece in OSC_PIECES)]
    assert sent == [f"\x1b]777;notify;1 new image is shared with you;Fresh, share from {short}\x07"]


async def test_bell_and_off(cloud: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    terminal_env(monkeypatch, TERM_PROGRAM="iTerm.app")
    for mode, bells in (("bell", 1), ("off", 0)):
        app = make_app(cloud)
        app.refresh_seconds = 0.3
        app.notify_mode = mode
        written = record_terminal(app)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await new_share_toast(app, pilot, cloud, f"Fresh {mode}")
            await pilot.pause()
        assert written.count("\x07") == bells, mode
        assert not [w for w in written if any(piece in w for piece in OSC_PIECES)], mode
        cloud.delete_image(NEW_ID)


async def test_desktop_where_the_terminal_shows_none_rings_the_bell_and_says_so(
    cloud: Any, make_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    terminal_env(monkeypatch, TERM="xterm-256color")
    app = make_app(cloud)
    app.refresh_seconds = 0.3
    app.notify_mode = "desktop"
    written = record_terminal(app)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await new_share_toast(app, pilot, cloud, "Fresh share")
        said = [n.message for n in app._notifications]
        await pilot.pause()
    assert any("not one known to show them" in text for text in said)
    assert written.count("\x07") == 1
    assert not [w for w in written if any(piece in w for piece in OSC_PIECES)]


def test_a_notify_value_it_cannot_use_is_a_warning_and_off(cloud: Any, make_app: Any) -> None:
    from tui.app.app import ImshareApp

    app = ImshareApp(make_app(cloud).settings, cache=None, ui_prefs={"notify": "loud"})
    assert app.notify_mode == "off"
    assert any(
        "notify must be one of off, bell, desktop, not 'loud'" in w for w in app._startup_warnings
    )


@pytest.mark.parametrize(
    ("environ", "protocol"),
    [
        ({"TERM_PROGRAM": "iTerm.app"}, "9"),
        ({"TERM": "tmux-256color", "TMUX": "x", "LC_TERMINAL": "iTerm2"}, "9"),
        ({"TERM": "xterm-kitty"}, "9"),
        ({"WT_SESSION": "abc"}, "9"),
        ({"TERM": "foot-extra"}, "777"),
        ({"TERM": "rxvt-unicode-256color"}, "777"),
        ({"TERM": "xterm-256color"}, ""),
        ({"TERM": "tmux-256color", "TMUX": "x", "TERM_PROGRAM": "tmux"}, ""),
        ({"TERM": "xterm-256color", "IMSHARE_NOTIFY_OSC": "777"}, "777"),
    ],
)
def test_which_terminals_get_a_desktop_notification(environ: dict[str, str], protocol: str):
    assert notify.desktop_protocol(environ) == protocol


def test_the_sequence_is_inert_whatever_text_it_is_given():
    # The app passes text it already made safe; the sequence is built safely all the same.
    assert notify.osc("9", "New", HOSTILE_NAME) == f"\x1b]9;New: {HOSTILE_INERT}\x07"
    assert notify.osc("777", "a;\x07b", HOSTILE_NAME) == (
        f"\x1b]777;notify;a,\ufffdb;{HOSTILE_INERT}\x07"
    )
