"""The one rule for cloud text (``tui.formatting``), checked against the hostile corpus and
against every Unicode code point; the surfaces are tested in tests/app and tests/cli."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hostile import ATTACKS, CJK, HOSTILE, HOSTILE_SHOWN, MARKUP, SHOWN, forbidden

from tui import formatting
from tui.formatting import (
    cell_width,
    fit_cells,
    fit_cells_middle,
    safe_json,
    safe_json_lines,
    safe_text,
    short_id,
)

LAYOUT = "\t\n\r\u2028\u2029"


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_attack_is_inert_on_one_line(name):
    assert safe_text(f"a{ATTACKS[name]}b") == f"a{SHOWN[name]}b"


def test_the_whole_corpus_on_one_line():
    assert safe_text(HOSTILE) == HOSTILE_SHOWN
    assert safe_text(CJK + MARKUP) == CJK + MARKUP  # wide text and markup are not touched


def test_every_code_point_on_one_line():
    """Forbidden characters and lone surrogates become U+FFFD, tabs and breaks a space, and
    every other character of Unicode stays exactly as it was."""
    everything = "".join(chr(code) for code in range(0x110000))
    expected = "".join(
        " " if ch in LAYOUT else "\ufffd" if forbidden(ch) or 0xD800 <= ord(ch) <= 0xDFFF else ch
        for ch in everything
    )
    shown = safe_text(everything)
    assert shown == expected
    shown.encode("utf-8")  # printable: a lone surrogate would raise here


def test_multiline_keeps_tabs_and_every_spelling_of_a_break():
    text = "one\r\ntwo\rthree\u2028four\u2029five\nsix\tseven\x1b[2J\x0b\x0c"
    assert safe_text(text, multiline=True) == (
        "one\ntwo\nthree\nfour\nfive\nsix\tseven\ufffd[2J\ufffd\ufffd"
    )
    assert forbidden(safe_text(HOSTILE, multiline=True)) == []


def test_plain_text_is_returned_as_is():
    name = "Ubuntu_22.04_k8s_node_20250101 — 中文 [b]x[/] «ok»"
    assert safe_text(name) is name


def test_short_ids_are_safe_too():
    assert short_id("\x1b]2;pwned") == "\ufffd]2;pwne"


def test_json_escapes_what_json_leaves_raw_and_keeps_the_rest():
    value = {"name": HOSTILE, "tags": [CJK, "\ud800 lone", "\u2028"], "n": 1}
    text = safe_json(value)
    assert forbidden(text) == []
    text.encode("utf-8")
    assert json.loads(text) == value  # nothing lost
    for escape in ("\\u001b", "\\u009b", "\\u007f", "\\u202e", "\\u2066", "\\ud800", "\\u2028"):
        assert escape in text
    assert CJK in text and "\\u4e2d" not in text  # readable, not ensure_ascii
    assert json.loads(safe_json(value, indent=2)) == value


def test_json_of_every_code_point_round_trips():
    # Surrogates apart: a high one followed by a low one is a pair in JSON, whatever the
    # encoder does (and a cloud's JSON cannot produce them side by side).
    everything = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    text = safe_json([everything, "\ud800", "\udfff"])
    assert forbidden(text) == []
    assert json.loads(text) == [everything, "\ud800", "\udfff"]


@pytest.mark.parametrize("c_encoder", [True, False], ids=["C encoder", "no C encoder"])
def test_json_lines_are_each_items_safe_json(c_encoder, monkeypatch):
    """``list --json`` writes many objects with one pass of the sanitiser over the whole
    text: the same bytes as each object's own ``safe_json``, one per line, all of it inert."""
    if not c_encoder:  # as on a Python without json's C accelerator
        monkeypatch.setattr(formatting, "_C_ENCODE", None)
    everything = "".join(chr(code) for code in range(0x110000) if not 0xD800 <= code <= 0xDFFF)
    items = [
        {"name": HOSTILE, "tags": [CJK, "\ud800 lone", "\u2028", MARKUP], "n": 1, "x": None},
        {"name": everything, "ok": True, "size": 2**40, "t": []},
        {"name": "plain", "nested": {"a": [1, 2.5, "\x85"]}},
    ]
    text = safe_json_lines(items)
    assert text == ",\n".join(safe_json(item) for item in items)
    assert forbidden(text) == []
    assert [json.loads(line.removesuffix(",")) for line in text.split("\n")] == items
    assert safe_json_lines([]) == ""


def cells(text: str) -> int:
    """Cells by Unicode's East Asian Width, independent of the code under test."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


@pytest.mark.parametrize("text", [f"{CJK}abc", "ab中文字", "e\u0301tude 中", "plain ascii name"])
def test_fitting_never_splits_a_wide_character(text):
    assert cell_width(text) == cells(text)
    for width in range(1, cells(text) + 3):
        for right in (False, True):
            fitted = fit_cells(text, width, right=right)
            assert cells(fitted) == width, (text, width, fitted)
            if cells(text) > width:
                kept = fitted[:-1].rstrip(" ")
                assert fitted.endswith("…") and text.startswith(kept)
            else:
                assert fitted.strip(" ") == text


def test_a_middle_cut_keeps_the_end_of_a_name():
    # The issue's own example: the date suffix that tells versions apart stays.
    assert fit_cells_middle("Standard_Windows_2022_SQL_20250208", 25) == "Standard_Win…SQL_20250208"
    assert fit_cells_middle("short", 8) == "short   "


@pytest.mark.parametrize(
    "text", [f"{CJK}abc{CJK}", "ab中文字xyz", "e\u0301tude 中 fin", "plain ascii"]
)
def test_a_middle_cut_never_splits_a_wide_character(text):
    for width in range(1, cells(text) + 3):
        fitted = fit_cells_middle(text, width)
        assert cells(fitted) == width, (text, width, fitted)
        if cells(text) <= width:
            assert fitted.rstrip(" ") == text
        elif width > 2:
            head, tail = fitted.split("…")
            assert text.startswith(head.rstrip(" ")) and text.endswith(tail.lstrip(" "))
            assert cells(tail) >= cells(head)  # the end gets the larger half
