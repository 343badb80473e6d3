"""The filter language (tui/filter_language.py) that the app's `/` and `imshare list --filter`
share: AND of terms, fields, negation, quotes, case, and the messages for what it cannot read.

The images are plain ``SharedImage`` values written out here, each expected answer a set of
their names chosen by reading the table below, not by running the code.
"""

from __future__ import annotations

import pytest

from tui.cloud.models import MemberStatus, SharedImage
from tui.filter_language import FIELDS, compile_filter, haystack

PENDING, ACCEPTED, REJECTED = MemberStatus.PENDING, MemberStatus.ACCEPTED, MemberStatus.REJECTED

OWNER_A = "907a5c0e11f24e7c9a3b3c2e4f5a6b7c"
OWNER_B = "c381e88f38c0c8fd8712b8bc076f3787"


def image(name: str, **fields: object) -> SharedImage:
    values: dict[str, object] = {
        "id": f"id-{name.lower().replace(' ', '-')}",
        "owner": OWNER_B,
        "status": PENDING,
    }
    values.update(fields)
    return SharedImage(name=name, **values)  # type: ignore[arg-type]


IMAGES = [
    image("Ubuntu 22.04 base", owner=OWNER_A, os_version="Ubuntu 22.04 server 64bit",
          os_type="Linux", platform="Ubuntu", disk_format="qcow2", member_id="p-de",
          member_name="eu-de_demo", region="eu-de"),
    image("Ubuntu 20.04 k8s", owner=OWNER_B, os_version="Ubuntu 20.04 server 64bit",
          os_type="Linux", platform="Ubuntu", disk_format="raw", status=ACCEPTED,
          member_id="p-de", member_name="eu-de_demo", region="eu-de"),
    image("Windows 2022 Datacenter", owner=OWNER_A, os_version="Windows Server 2022",
          os_type="Windows", platform="Windows", disk_format="zvhd2", status=REJECTED,
          member_id="p-nl", member_name="eu-nl_team03", region="eu-nl"),
    image("Windows 2019 (2022 build)", owner=OWNER_B, os_version="Windows Server 2019",
          os_type="Windows", platform="Windows", disk_format="vhd", member_id="p-nl",
          member_name="eu-nl_team03", region="eu-nl"),
    image("qcow2 converter", owner=OWNER_B, os_version="Debian 12", os_type="Linux",
          platform="Debian", disk_format="raw", status=ACCEPTED),
    image("Tools: base", owner=OWNER_B, os_version="Debian 12", os_type="Linux",
          platform="Debian", disk_format="qcow2", status=REJECTED),
]  # fmt: skip


def names(text: str) -> set[str]:
    flt = compile_filter(text)
    assert not flt.problems, flt.problems
    return {i.name for i in IMAGES if flt(i)}


def test_several_terms_must_all_match():
    # Issue 11, item 8: today "ubuntu 907a" is one substring and finds nothing.
    assert names("ubuntu 907a") == {"Ubuntu 22.04 base"}
    assert names("907a ubuntu") == {"Ubuntu 22.04 base"}
    assert names("windows 907a") == {"Windows 2022 Datacenter"}


def test_a_repeated_field_is_and_too():
    assert names("os:ubuntu os:22") == {"Ubuntu 22.04 base"}
    assert names("name:windows name:2019") == {"Windows 2019 (2022 build)"}


def test_plain_terms_match_name_id_owner_os_version_and_platform_only():
    assert names("id-tools") == {"Tools: base"}
    assert names("c381e88f") == {i.name for i in IMAGES if i.owner == OWNER_B}
    assert names("server 2019") == {"Windows 2019 (2022 build)"}  # the OS version
    assert names("debian") == {"qcow2 converter", "Tools: base"}  # platform / OS version
    # The disk format is not free text (as in the app): "qcow2" is the one name holding it.
    assert names("qcow2") == {"qcow2 converter"}
    # ...and neither are the member project and region.
    assert names("eu-nl") == set()


def test_a_term_never_matches_across_two_fields():
    # The name of the first image ends in "base", its id starts with "id-": no "baseid".
    assert names("baseid") == set()
    assert names("base\nid") == {"Ubuntu 22.04 base", "Tools: base"}  # two terms


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name:ubuntu", {"Ubuntu 22.04 base", "Ubuntu 20.04 k8s"}),
        ("name:qcow2", {"qcow2 converter"}),
        ("id:id-windows-2022", {"Windows 2022 Datacenter"}),
        (f"owner:{OWNER_A[:6]}", {"Ubuntu 22.04 base", "Windows 2022 Datacenter"}),
        ("os:linux", {"Ubuntu 22.04 base", "Ubuntu 20.04 k8s", "qcow2 converter",
                      "Tools: base"}),  # the OS type
        ("os:2019", {"Windows 2019 (2022 build)"}),  # the OS version
        ("format:qcow2", {"Ubuntu 22.04 base", "Tools: base"}),
        ("format:vhd", {"Windows 2022 Datacenter", "Windows 2019 (2022 build)"}),  # zvhd2 too
        ("status:accepted", {"Ubuntu 20.04 k8s", "qcow2 converter"}),
        ("status:rej", {"Windows 2022 Datacenter", "Tools: base"}),
        # A prefix of the status, not any substring: the "p" in "accepted" is no match.
        ("status:p", {"Ubuntu 22.04 base", "Windows 2019 (2022 build)"}),
        ("member:team03", {"Windows 2022 Datacenter", "Windows 2019 (2022 build)"}),
        ("member:p-de", {"Ubuntu 22.04 base", "Ubuntu 20.04 k8s"}),
        ("region:eu-nl", {"Windows 2022 Datacenter", "Windows 2019 (2022 build)"}),
    ],
)  # fmt: skip
def test_field_terms(text, expected):
    assert names(text) == expected


def test_negation_of_plain_and_field_terms():
    assert names("!ubuntu") == {i.name for i in IMAGES} - {"Ubuntu 22.04 base",
                                                             "Ubuntu 20.04 k8s"}  # fmt: skip
    assert names("!status:pending") == {"Ubuntu 20.04 k8s", "Windows 2022 Datacenter",
                                        "qcow2 converter", "Tools: base"}  # fmt: skip
    assert names("windows !status:rejected") == {"Windows 2019 (2022 build)"}
    assert names("debian !format:raw") == {"Tools: base"}


def test_case_is_ignored_in_terms_field_names_and_values():
    assert names("UBUNTU 907A") == {"Ubuntu 22.04 base"}
    assert names("Name:WINDOWS Status:Pending") == {"Windows 2019 (2022 build)"}


def test_quoted_terms():
    assert names('name:"Windows 2022"') == {"Windows 2022 Datacenter"}
    assert names('"2022 build"') == {"Windows 2019 (2022 build)"}
    assert names('!"2022 build" windows') == {"Windows 2022 Datacenter"}
    # A quoted colon is text, not a field.
    assert names('"tools: base"') == {"Tools: base"}
    # An unclosed quote runs to the end: a filter being typed already filters.
    assert names('name:"Windows 20') == {"Windows 2022 Datacenter", "Windows 2019 (2022 build)"}


def test_the_parsed_terms_are_there_for_the_app():
    flt = compile_filter('ubuntu !status:rej name:"Windows 2022"')
    assert [(t.field, t.text, t.negated) for t in flt.terms] == [
        ("", "ubuntu", False),
        ("status", "rej", True),
        ("name", "Windows 2022", False),
    ]
    assert [str(t) for t in flt.terms] == ["ubuntu", "!status:rej", 'name:"Windows 2022"']


def test_empty_and_unfinished_terms_match_everything():
    for text in ("", "   ", "name:", "!", '""', "!name:"):
        flt = compile_filter(text)
        assert flt.empty and not flt.problems, text
        assert all(flt(i) for i in IMAGES)
    assert names("name: ubuntu") == {"Ubuntu 22.04 base", "Ubuntu 20.04 k8s"}


def test_an_unknown_field_is_a_problem_naming_the_fields_and_matches_nothing():
    flt = compile_filter("ubuntu foo:bar")
    assert len(flt.problems) == 1
    message = flt.problems[0]
    assert "'foo:'" in message
    assert all(f"{name}:" in message for name in FIELDS)
    assert '"a:b"' in message  # how to search for a colon
    assert not any(flt(i) for i in IMAGES)
    assert flt.error == message
    # Text with a colon after a number is no field name (a time, a ratio): plain text.
    assert not compile_filter("10:30").problems


def test_a_status_that_is_none_is_a_problem():
    flt = compile_filter("status:deleted")
    assert flt.problems and "status:pending" in flt.problems[0]
    assert not any(flt(i) for i in IMAGES)


def test_statuses_says_which_listings_can_match():
    assert compile_filter("ubuntu").statuses == {PENDING, ACCEPTED, REJECTED}
    assert compile_filter("status:acc").statuses == {ACCEPTED}
    assert compile_filter("!status:pending").statuses == {ACCEPTED, REJECTED}
    assert compile_filter("status:pending !status:pending").statuses == set()
    assert compile_filter("status:p").names_status and not compile_filter("x").names_status


def test_text_is_matched_as_shown():
    # A control character the cloud sent is shown as U+FFFD; typing what is seen finds it.
    evil = image("evil\x1b[2J name", owner=OWNER_A)
    assert compile_filter("evil\ufffd[2j")(evil)
    assert not compile_filter("\x1b")(evil)


def test_select_keeps_the_order_and_takes_prebuilt_haystacks():
    flt = compile_filter("windows")
    hays = [haystack(i) for i in IMAGES]
    picked = flt.select(IMAGES, hays)
    assert [i.name for i in picked] == ["Windows 2022 Datacenter", "Windows 2019 (2022 build)"]
    assert flt.select(IMAGES) == picked
    assert compile_filter("").select(IMAGES) == IMAGES


@pytest.mark.parametrize(
    ("wider", "narrower", "narrows"),
    [
        ("ubu", "ubun", True),
        ("ubu", "ubu 22", True),
        ("ubu", "22 ubuntu", True),
        ("name:ubu", "name:ubun", True),
        ("name:ubu", "ubun", False),  # a plain term also finds the id, owner and OS
        ("ubu", "name:ubun", False),
        ("!ubun", "!ubu", True),  # not containing "ubu" implies not containing "ubun"
        ("!ubu", "!ubun", False),  # typing on after "!" widens the filter
        ("status:p", "status:pe", True),
        ("status:pe", "status:p", False),
        ("", "ubu", True),
        ("ubu", "", False),
        ("colour:red", "colour:redx", False),  # matched nothing: nothing to narrow
    ],
)
def test_narrows_only_when_every_match_of_the_narrower_filter_matches_the_wider(
    wider, narrower, narrows
):
    assert compile_filter(narrower).narrows(compile_filter(wider)) is narrows


def test_narrows_never_drops_a_match():
    """Against the images of the tests: whenever ``narrows`` says so, every image the
    narrower filter matches, the wider one matches too."""
    texts = ["", "u", "ub", "ubu", "!u", "!ub", "name:u", "name:ub", "os:u", "status:p",
             "status:pe", "!status:p", "u b", "ub u", "1", "12", "!1", "!12"]  # fmt: skip
    hays = [haystack(image) for image in IMAGES]
    checked = 0
    for wide_text in texts:
        for narrow_text in texts:
            wide, narrow = compile_filter(wide_text), compile_filter(narrow_text)
            if narrow.narrows(wide):
                checked += 1
                for hay in hays:
                    assert not narrow.matches(hay) or wide.matches(hay), (wide_text, narrow_text)
    assert checked > len(texts)
