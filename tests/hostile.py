"""Hostile text, as another project can put it into the images it shares with you.

Whoever shares an image controls its name, description and properties; a server or a proxy
controls its error bodies; Keystone's answer names projects and users. The corpus below is what
such text can carry to a terminal (issue 10): the expected results are written out here, by
hand, and never computed with the code under test.
"""

from __future__ import annotations

import re
from typing import Any

#: Each attack, as a terminal would act on it.
ATTACKS: dict[str, str] = {
    "OSC 2 window title": "\x1b]2;pwned\x07",
    "OSC 52 clipboard": "\x1b]52;c;ZWNobyBwd25lZAo=\x07",  # base64 of "echo pwned\n"
    "CSI clear screen": "\x1b[2J",
    "CSI leave alternate screen": "\x1b[?1049l",
    "8-bit CSI": "\x9b2J",
    "DEL": "\x7f",
    "RLO bidi override": "\u202e",
    "LRI bidi isolate": "\u2066",
    "NUL": "\x00",
    "BEL": "\x07",
    "backspace": "\x08",
    "carriage return": "\r",
}

#: What each attack looks like once made safe, on one line: every control character is one
#: U+FFFD, a carriage return a space (written out by hand, per the rule in the README).
SHOWN: dict[str, str] = {
    "OSC 2 window title": "\ufffd]2;pwned\ufffd",
    "OSC 52 clipboard": "\ufffd]52;c;ZWNobyBwd25lZAo=\ufffd",
    "CSI clear screen": "\ufffd[2J",
    "CSI leave alternate screen": "\ufffd[?1049l",
    "8-bit CSI": "\ufffd2J",
    "DEL": "\ufffd",
    "RLO bidi override": "\ufffd",
    "LRI bidi isolate": "\ufffd",
    "NUL": "\ufffd",
    "BEL": "\ufffd",
    "backspace": "\ufffd",
    "carriage return": " ",
}

#: Text that is not an attack but breaks careless code: wide characters and markup.
CJK = "中文の名前"
MARKUP = "[b]x[/]"

#: Everything at once, between visible words, so a test can also find what is left of it.
HOSTILE = "evil " + " ".join(ATTACKS.values()) + f" {CJK} {MARKUP} end"
#: ``HOSTILE`` as every one-line surface must show it.
HOSTILE_SHOWN = "evil " + " ".join(SHOWN.values()) + f" {CJK} {MARKUP} end"
#: A name longer than any column or toast.
LONG = "L" + "ong" * 100 + " " + "".join(ATTACKS.values()) + " tail"

# What must never reach a terminal, written out independently of tui.formatting: C0 controls
# (tab and line feed are checked where a line must stay one line), DEL, C1 controls, and
# Unicode's Bidi_Control characters.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f\x80-\x9f"
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069]"
)


def forbidden(text: str) -> list[str]:
    """The forbidden characters in ``text``, as escapes (empty when there are none)."""
    return sorted({f"U+{ord(ch):04X}" for ch in _FORBIDDEN.findall(text)})


# The sequences Textual itself writes to a terminal while drawing (colours, cursor moves,
# the mouse pointer's shape). Nothing from the cloud is drawn as one of these: what is left
# after removing them must hold no control character at all.
_TEXTUAL_OWN = re.compile(
    r"\x1b\[[0-9;]*m"  # SGR colours and styles
    r"|\x1b\[[0-9]+;[0-9]+H"  # cursor position
    r"|\x1b\[\?2026[hl]"  # synchronized output
    r"|\x1b\[\?25[hl]"  # cursor shown / hidden
    r"|\x1b\]22;[a-z-]+\x07"  # pointer shape (OSC 22)
)


def terminal_leftovers(written: str) -> str:
    """What the app wrote to the terminal, minus Textual's own drawing sequences."""
    return _TEXTUAL_OWN.sub("", written)


def hostile_doc(template: dict[str, Any], image_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """An image document with hostile text in every field the sharer controls."""
    doc = dict(template)
    doc.update(
        {
            "id": image_id,
            "name": name,
            "self": f"/v2/images/{image_id}",
            "file": f"/v2/images/{image_id}/file",
            "__description": f"first line\nsecond\tline\r\n{HOSTILE}",
            "__os_version": HOSTILE,
            "__os_type": HOSTILE,
            "__os_bit": HOSTILE,
            "__platform": HOSTILE,
            "disk_format": HOSTILE,
            "container_format": HOSTILE,
            "__imagetype": HOSTILE,
            "virtual_env_type": HOSTILE,
            "hw_firmware_type": HOSTILE,
            "__support_kvm_gpu_type": HOSTILE,
            "tags": [HOSTILE, CJK, MARKUP],
        }
    )
    doc.update(extra)
    return doc


#: The ids of the hostile images ``share_hostile_images`` adds; the first one is hostile too.
HOSTILE_IDS = {
    "all fields": "00-hostile-a\u202e\x1b[2J\x7f",
    "full-ECS CJK": "00-hostile-b",
    "long": "00-hostile-c",
}
#: How the first id looks on screen, in the clipboard and in one-line CLI output.
SHOWN_ID = "00-hostile-a\ufffd\ufffd[2J\ufffd"


def share_hostile_images(cloud: Any) -> dict[str, str]:
    """Share three hostile images with the demo project and give its projects hostile names.

    The first image is hostile in every field (its id and image status too), the second is a
    full-ECS image with a wide (CJK) name, the third has a very long name and a hostile owner.
    Names start with "!" so they sort first. Returns ``HOSTILE_IDS``.
    """
    template = cloud.image(cloud.shared_image_ids("pending")[0])
    project = cloud.project_id
    ids = HOSTILE_IDS
    cloud.add_image(
        hostile_doc(template, ids["all fields"], f"!a {HOSTILE}", status=HOSTILE),
        {project: "pending"},
    )
    cloud.add_image(
        hostile_doc(template, ids["full-ECS CJK"], f"!b {CJK * 6} {HOSTILE}", __whole_image="true"),
        {project: "pending"},
    )
    owner = template["owner"]
    cloud.add_image(
        hostile_doc(template, ids["long"], f"!c {LONG}", owner=f"{HOSTILE}{owner}"),
        {project: "pending"},
    )
    mine, staging = cloud.data.demo_user.projects[:2]
    mine.name = f"{mine.name} {HOSTILE}"
    staging.name = f"staging {HOSTILE}"
    return dict(ids)
