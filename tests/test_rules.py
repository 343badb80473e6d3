"""rules.toml: how rules are read (every error names the rule and the key) and what a plan
decides (pending only, first match wins, never a blocked owner, vaults, max_per_run)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tui import rules
from tui.cloud.models import MemberStatus, SharedImage
from tui.settings.owners import Owner, OwnerBook, Trust

PLATFORM = "311624273bfd1d338d0038ec42650644"
SHADY = "93b05a04cd085b71ba6676b3651c5253"
BOOK = OwnerBook.of(
    [Owner(PLATFORM, "Platform team", Trust.TRUSTED), Owner(SHADY, "Shady", Trust.BLOCKED)]
)
GIB = 1024**3


def _image(n: int, name: str, owner: str = PLATFORM, **fields: object) -> SharedImage:
    fields.setdefault("status", MemberStatus.PENDING)
    return SharedImage(f"id-{n}", name, owner, **fields)  # type: ignore[arg-type]


def _write(config_dir: Path, text: str) -> Path:
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_is_no_rules(config_dir: Path) -> None:
    rule_set, warnings = rules.load()
    assert not rule_set and warnings == []


def test_rules_are_read_in_file_order_with_their_terms(config_dir: Path) -> None:
    _write(
        config_dir,
        """
max_per_run = 5
[[rules]]
name = "platform ubuntu"
owner = "Platform team"
image = "Ubuntu_*"
action = "accept"
[[rules]]
name = "huge raw"
disk_format = "raw"
min_size = "10GiB"
max_size = 21474836480
action = "Reject"
vault_id = "v-1"
""",
    )
    rule_set, _ = rules.load()
    assert rule_set.max_per_run == 5
    first, second = rule_set.rules
    assert (first.name, first.number, first.action) == ("platform ubuntu", 1, MemberStatus.ACCEPTED)
    assert (second.min_size, second.max_size) == (10 * GIB, 20 * GIB)
    assert second.action is MemberStatus.REJECTED and second.vault_id == "v-1"
    assert first.how == "rule platform ubuntu"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[rules]]\nname = "a"\nimage = "x"\naction = "accept"\ncolour = "red"\n',
         "rule #1 ('a'): unknown key 'colour'"),
        ('[[rules]]\nname = "a"\nimage = "x"\naction = "approve"\n',
         "rule #1 ('a'): action must be \"accept\" or \"reject\""),
        ('[[rules]]\nname = "a"\nimage = "x"\naction = "accept"\n'
         '[[rules]]\nname = "b"\nmin_size = "ten"\naction = "accept"\n',
         "rule #2 ('b'): min_size: not a size"),
        ('[[rules]]\nname = "a"\naction = "accept"\n', "rule #1 ('a'): has no match term"),
        ('[[rules]]\nimage = "x"\naction = "accept"\n', "rule #1 needs a name"),
        ('[[rules]]\nname = "a"\nowner = 7\naction = "accept"\n', "rule #1 ('a'): owner must be"),
        ('[[rules]]\nname = "a"\nregion = ""\naction = "reject"\n', "('a'): region is empty"),
        ('max_per_run = 0\n', "max_per_run must be a whole number of at least 1"),
        ('limit = 3\n', "unknown key 'limit' at the top"),
        ('[[rules]]\nname = "a"\nimage = "x"\naction = "accept"\n'
         '[[rules]]\nname = "a"\nimage = "y"\naction = "reject"\n', "two rules are named 'a'"),
        ('[[rules]\nname = "a"', "not valid TOML"),
    ],
)  # fmt: skip
def test_every_error_names_the_file_the_rule_and_the_key(
    config_dir: Path, text: str, words: str
) -> None:
    path = _write(config_dir, text)
    with pytest.raises(rules.RulesError) as caught:
        rules.load()
    assert words in str(caught.value)
    assert str(path) in str(caught.value)


def test_a_broken_file_gives_no_rules_and_a_message(config_dir: Path) -> None:
    _write(config_dir, '[[rules]]\nname = "a"\naction = "accept"\n')
    rule_set, warnings = rules.load_or_empty()
    assert not rule_set
    assert len(warnings) == 1 and "has no match term" in warnings[0]


def test_a_writable_file_is_warned_about_and_never_changed(config_dir: Path) -> None:
    path = _write(config_dir, '[[rules]]\nname = "a"\nimage = "x*"\naction = "accept"\n')
    os.chmod(path, 0o666)
    before = path.read_bytes()
    rule_set, warnings = rules.load()
    assert len(rule_set.rules) == 1
    assert len(warnings) == 1 and "can be changed by other users (mode 0666)" in warnings[0]
    assert stat.S_IMODE(path.stat().st_mode) == 0o666  # the user's file: never chmodded
    assert path.read_bytes() == before


def test_an_oversized_file_is_refused(config_dir: Path) -> None:
    _write(config_dir, "# padding\n" * 200_000)
    with pytest.raises(rules.RulesError, match="larger than"):
        rules.load()


def test_only_pending_shares_are_planned_and_the_first_matching_rule_wins() -> None:
    rule_set = rules.RuleSet(
        (
            rules.Rule("ubuntu 22", MemberStatus.ACCEPTED, 1, image="ubuntu_22*"),
            rules.Rule("all ubuntu", MemberStatus.REJECTED, 2, image="UBUNTU*"),
        )
    )
    images = [
        _image(1, "Ubuntu_22.04_base"),
        _image(2, "Ubuntu_24.04_base"),
        _image(3, "ubuntu_22.04_old", status=MemberStatus.ACCEPTED),
        _image(4, "Debian_12"),
    ]
    plan = rules.plan(images, rule_set, BOOK)
    assert [(image.id, rule.name) for image, rule in plan.decide] == [
        ("id-1", "ubuntu 22"),
        ("id-2", "all ubuntu"),
    ]
    assert [rule.name for rule, _ in plan.by_rule()] == ["ubuntu 22", "all ubuntu"]


def test_a_blocked_owner_is_never_decided_and_is_reported_as_skipped() -> None:
    rule_set = rules.RuleSet((rules.Rule("raw", MemberStatus.REJECTED, 1, disk_format="RAW"),))
    images = [_image(1, "a", SHADY, disk_format="raw"), _image(2, "b", PLATFORM, disk_format="raw")]
    plan = rules.plan(images, rule_set, BOOK)
    assert [image.id for image, _ in plan.decide] == ["id-2"]
    assert [(s.image.id, s.reason) for s in plan.skipped] == [
        ("id-1", "owner Shady is blocked (owners.toml)")
    ]


def test_owner_terms_match_the_name_or_the_id() -> None:
    by_name = rules.Rule("n", MemberStatus.ACCEPTED, 1, owner="platform TEAM")
    by_id = rules.Rule("i", MemberStatus.ACCEPTED, 1, owner=PLATFORM)
    image = _image(1, "x")
    stranger = _image(2, "x", "ffff0000")
    assert by_name.matches(image, BOOK) and by_id.matches(image, BOOK)
    assert not by_name.matches(stranger, BOOK) and not by_id.matches(stranger, BOOK)


def test_sizes_os_member_and_region_terms() -> None:
    rule = rules.Rule(
        "w",
        MemberStatus.ACCEPTED,
        1,
        os="windows*",
        min_size=20 * GIB,
        max_size=40 * GIB,
        member="eu-de_demo",
        region="eu-de",
    )
    fits = dict(
        os_version="Windows Server 2022", size_bytes=30 * GIB, member_name="eu-de_demo",
        member_id="p0", region="eu-de",
    )  # fmt: skip
    assert rule.matches(_image(1, "w", **fits), BOOK)
    assert not rule.matches(_image(2, "w", **{**fits, "size_bytes": 19 * GIB}), BOOK)
    assert not rule.matches(_image(3, "w", **{**fits, "size_bytes": 41 * GIB}), BOOK)
    assert not rule.matches(_image(4, "w", **{**fits, "size_bytes": None}), BOOK)
    assert not rule.matches(_image(5, "w", **{**fits, "region": "eu-nl"}), BOOK)
    assert not rule.matches(_image(6, "w", **{**fits, "member_name": "other"}), BOOK)
    assert rule.matches(_image(7, "w", **{**fits, "member_name": "", "member_id": "eu-de_demo"}),
                        BOOK)  # fmt: skip
    assert not rule.matches(_image(8, "w", **{**fits, "os_version": "Ubuntu"}), BOOK)


def test_full_ecs_images_need_the_rules_vault() -> None:
    without = rules.RuleSet((rules.Rule("a", MemberStatus.ACCEPTED, 1, image="*"),))
    with_vault = rules.RuleSet(
        (rules.Rule("a", MemberStatus.ACCEPTED, 1, image="*", vault_id="v"),)
    )
    rejecting = rules.RuleSet((rules.Rule("r", MemberStatus.REJECTED, 1, image="*"),))
    whole = [_image(1, "ecs", whole_image=True)]
    plan = rules.plan(whole, without, BOOK)
    assert not plan.decide and "needs a CBR vault" in plan.skipped[0].reason
    assert len(rules.plan(whole, with_vault, BOOK).decide) == 1
    assert len(rules.plan(whole, rejecting, BOOK).decide) == 1  # rejecting needs no vault


def test_more_than_max_per_run_is_over_the_limit() -> None:
    rule_set = rules.RuleSet((rules.Rule("all", MemberStatus.ACCEPTED, 1, image="*"),), 3)
    assert not rules.plan([_image(n, "x") for n in range(3)], rule_set, BOOK).over_limit
    assert rules.plan([_image(n, "x") for n in range(4)], rule_set, BOOK).over_limit


@pytest.mark.parametrize(
    ("text", "size"),
    [("10GiB", 10 * GIB), ("500MB", 500_000_000), ("1.5 TiB", int(1.5 * 1024**4)), (42, 42)],
)
def test_sizes(text: object, size: int) -> None:
    assert rules.parse_size(text) == size


@pytest.mark.parametrize("text", ["ten", "-3", "5 iB", True, -1, 1.5, "10 GiBs"])
def test_not_sizes(text: object) -> None:
    with pytest.raises(ValueError):
        rules.parse_size(text)
