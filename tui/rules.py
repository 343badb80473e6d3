"""rules.toml: decisions the user wrote down once, for shares that keep coming.

The user's own file in the config directory; imshare reads it and never writes it or changes
its mode (it warns when others may write it: whoever can edit it decides what gets accepted)::

    max_per_run = 20                  # a run that would decide more decides none

    [[rules]]
    name = "platform ubuntu"
    owner = "Platform team"           # a name from owners.toml, or a project id
    image = "ubuntu-*"                # a glob on the image name, ignoring case
    action = "accept"

Match terms (every one given must match): ``owner`` (a project id, or a name from
owners.toml), ``image`` (a glob on the image name, ignoring case), ``os`` (a glob on the OS
version or the OS type), ``disk_format``, ``min_size`` / ``max_size`` (bytes, or ``"10GiB"``),
``member`` (the receiving project's name or id) and ``region``. ``action`` is ``accept`` or
``reject``; ``vault_id`` is the CBR vault a rule's full-ECS images are accepted into.

Rules act on pending shares only; the first matching rule in file order wins; a blocked owner
is never decided by a rule (such a match is reported as skipped). ``plan`` says what a run
would do, and ``send`` is the one place a rule's decisions go to the cloud, so the CLI and the
app decide alike (and the decision journal hears every one of them with ``how`` = ``rule
NAME``).

No Textual here.
"""

from __future__ import annotations

import fnmatch
import re
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tui import files, journaled
from tui.cloud.models import Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession, ProgressCallback
from tui.formatting import safe_text
from tui.journal import Journal
from tui.settings.owners import OwnerBook

FILE_NAME = "rules.toml"
DEFAULT_MAX_PER_RUN = 20
_ACTIONS = {"accept": MemberStatus.ACCEPTED, "reject": MemberStatus.REJECTED}
#: The keys a rule may have, and what each one is (for messages).
RULE_KEYS: dict[str, str] = {
    "name": "the rule's name (shown in every listing and the journal)",
    "action": "accept or reject",
    "owner": "the sharing project: its id, or its name from owners.toml",
    "image": "a glob on the image name, ignoring case (e.g. 'ubuntu-22.04-*')",
    "os": "a glob on the OS version or OS type, ignoring case (e.g. 'Ubuntu*')",
    "disk_format": "the disk format (qcow2, vhd, zvhd2, raw…)",
    "min_size": "the smallest image size: bytes, or text like '10GiB'",
    "max_size": "the largest image size: bytes, or text like '500MB'",
    "member": "the receiving project: its name or id",
    "region": "the receiving project's region",
    "vault_id": "the CBR server-backup vault full-ECS images are accepted into",
}
_MATCH_KEYS = ("owner", "image", "os", "disk_format", "min_size", "max_size", "member", "region")
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?)(b?)\s*", re.IGNORECASE)


class RulesError(ValueError):
    """rules.toml cannot be used; the message names the file, the rule and the key."""


@dataclass(frozen=True, slots=True)
class Rule:
    """One ``[[rules]]`` entry; ``number`` is its place in the file (1 is the first)."""

    name: str
    action: MemberStatus
    number: int
    owner: str = ""
    image: str = ""
    os: str = ""
    disk_format: str = ""
    min_size: int | None = None
    max_size: int | None = None
    member: str = ""
    region: str = ""
    vault_id: str = ""

    @property
    def how(self) -> str:
        """How its decisions were made, as the journal records it."""
        return f"rule {self.name}"

    @property
    def label(self) -> str:
        """The rule's name as shown (it is the user's text, but shown safely all the same)."""
        return safe_text(self.name)

    def matches(self, image: SharedImage, owners: OwnerBook) -> bool:
        """Whether every match term of this rule holds for ``image`` (its status aside)."""
        if self.owner and not owners.matches(image.owner, self.owner):
            return False
        if self.image and not _glob(self.image, image.name):
            return False
        if self.os and not (_glob(self.os, image.os_version) or _glob(self.os, image.os_type)):
            return False
        if self.disk_format and self.disk_format.casefold() != image.disk_format.casefold():
            return False
        if self.min_size is not None or self.max_size is not None:
            size = image.size_bytes
            if size is None:
                return False  # a size rule cannot vouch for an image of unknown size
            if self.min_size is not None and size < self.min_size:
                return False
            if self.max_size is not None and size > self.max_size:
                return False
        if self.member and self.member not in (image.member_id, image.member_name):
            return False
        return not (self.region and self.region != image.region)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """The rules of rules.toml in file order, and how many decisions one run may make."""

    rules: tuple[Rule, ...] = ()
    max_per_run: int = DEFAULT_MAX_PER_RUN
    path: Path | None = None

    def __bool__(self) -> bool:
        return bool(self.rules)

    def first_match(self, image: SharedImage, owners: OwnerBook) -> Rule | None:
        """The first rule (in file order) whose terms hold for ``image``, whatever its status
        and owner's trust (``plan`` applies those)."""
        for rule in self.rules:
            if rule.matches(image, owners):
                return rule
        return None


def _glob(pattern: str, text: str) -> bool:
    """A case-insensitive shell glob on the text as shown (a control character the cloud sent
    is matched as the ``�`` the user sees, as the filter does)."""
    return fnmatch.fnmatchcase(safe_text(text).casefold(), pattern.casefold())


# ----------------------------------------------------------------------------- planning


@dataclass(frozen=True, slots=True)
class Skipped:
    """A pending share a rule matched but that a run does not decide, and why."""

    image: SharedImage
    rule: Rule
    reason: str


@dataclass(slots=True)
class Plan:
    """What one run of the rules would do to the shares it was given."""

    decide: list[tuple[SharedImage, Rule]] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    max_per_run: int = DEFAULT_MAX_PER_RUN

    @property
    def over_limit(self) -> bool:
        """More decisions than ``max_per_run``: the run decides none (unless forced)."""
        return len(self.decide) > self.max_per_run

    def by_rule(self) -> list[tuple[Rule, list[SharedImage]]]:
        """The decisions grouped by rule, rules in file order, images in plan order."""
        groups: dict[int, tuple[Rule, list[SharedImage]]] = {}
        for image, rule in self.decide:
            groups.setdefault(rule.number, (rule, []))[1].append(image)
        return [groups[number] for number in sorted(groups)]

    def rule_of(self, key_of: Any) -> dict[str, Rule]:
        """Each decided row's rule, keyed by ``key_of(image)``."""
        return {key_of(image): rule for image, rule in self.decide}


def plan(images: Iterable[SharedImage], rules: RuleSet, owners: OwnerBook) -> Plan:
    """What the rules would decide among ``images``: pending ones only, the first matching
    rule wins, a blocked owner's image is skipped, a full-ECS image to be accepted by a rule
    without ``vault_id`` is skipped as needing one."""
    result = Plan(max_per_run=rules.max_per_run)
    if not rules:
        return result
    for image in images:
        if image.status is not MemberStatus.PENDING:
            continue
        rule = rules.first_match(image, owners)
        if rule is None:
            continue
        if owners.is_blocked(image.owner):
            who = owners.name_of(image.owner) or image.owner
            result.skipped.append(Skipped(image, rule, f"owner {who} is blocked (owners.toml)"))
        elif rule.action is MemberStatus.ACCEPTED and image.needs_vault and not rule.vault_id:
            result.skipped.append(
                Skipped(
                    image,
                    rule,
                    "full-ECS image: needs a CBR vault; give the rule a vault_id",
                )
            )
        else:
            result.decide.append((image, rule))
    return result


async def send(
    groups: Sequence[tuple[CloudSession, Sequence[SharedImage]]],
    rule: Rule,
    *,
    warn: journaled.Warn,
    journal: Journal | None = None,
    recorder: journaled.Recorder | None = None,
    concurrency: int = 8,
    on_progress: ProgressCallback | None = None,
) -> list[Decision]:
    """Send one rule's decisions, each project's images (``groups``) with its own session.

    The one place rules reach the cloud, through the same path as ``accept`` and ``reject``
    (OTC's batch API where there is one, the vault rules, reading back what is unclear), and
    journalled as made by ``rule NAME``: one operation per rule and run (``recorder`` shares
    it between calls).
    """
    return (
        await journaled.decide(
            [
                (session, [journaled.subject_of(image, session) for image in images])
                for session, images in groups
            ],
            rule.action,
            how=rule.how,
            warn=warn,
            journal=journal,
            recorder=recorder,
            vault_id=rule.vault_id,
            concurrency=concurrency,
            on_progress=on_progress,
        )
    ).decisions


# ----------------------------------------------------------------------------- reading


def rules_file() -> Path:
    """Beside config.toml; ``IMSHARE_CONFIG_DIR`` moves it with the rest."""
    return files.config_dir() / FILE_NAME


def parse_size(value: Any) -> int:
    """``10737418240``, ``"10GiB"``, ``"500 MB"``, ``"1.5TiB"`` -> bytes (ValueError if not)."""
    if isinstance(value, bool):
        raise ValueError(f"not a size: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"a size cannot be negative: {value}")
        return value
    if not isinstance(value, str):
        raise ValueError(f"not a size: {value!r}")
    found = _SIZE.fullmatch(value)
    if not found:
        raise ValueError(f"not a size: {value!r} (write bytes, or e.g. '10GiB', '500MB')")
    number, letter, binary, _b = found.groups()
    if binary and not letter:
        raise ValueError(f"not a size: {value!r} (write bytes, or e.g. '10GiB', '500MB')")
    power = " kmgtp".index(letter.lower()) if letter else 0
    return int(float(number) * (1024 if binary else 1000) ** power)


def _text_key(where: str, rule: dict[str, Any], key: str) -> str:
    value = rule.get(key, "")
    if not isinstance(value, str):
        raise RulesError(f"{where}: {key} must be a string ({RULE_KEYS[key]}), not {value!r}")
    return value.strip()


def _rule(path: Path, number: int, entry: Any) -> Rule:
    if not isinstance(entry, dict):
        raise RulesError(f"rules file {path}: rule #{number} must be a [[rules]] table")
    raw_name = entry.get("name")
    if not isinstance(raw_name, str) or not raw_name.strip():
        raise RulesError(
            f'rules file {path}: rule #{number} needs a name (name = "…"): its decisions are '
            "listed and journalled under it"
        )
    name = raw_name.strip()
    where = f"rules file {path}: rule #{number} ({safe_text(name)!r})"
    unknown = sorted(set(entry) - set(RULE_KEYS))
    if unknown:
        raise RulesError(
            f"{where}: unknown key {unknown[0]!r}; a rule's keys are {', '.join(RULE_KEYS)}"
        )
    action = entry.get("action")
    if not isinstance(action, str) or action.strip().lower() not in _ACTIONS:
        raise RulesError(f'{where}: action must be "accept" or "reject", not {action!r}')
    sizes: dict[str, int | None] = {}
    for key in ("min_size", "max_size"):
        if key in entry:
            try:
                sizes[key] = parse_size(entry[key])
            except ValueError as error:
                raise RulesError(f"{where}: {key}: {error}") from None
    if not any(key in entry for key in _MATCH_KEYS):
        raise RulesError(
            f"{where}: has no match term, so it would decide every pending share; give it at "
            f"least one of {', '.join(_MATCH_KEYS)}"
        )
    rule = Rule(
        name=name,
        action=_ACTIONS[action.strip().lower()],
        number=number,
        owner=_text_key(where, entry, "owner"),
        image=_text_key(where, entry, "image"),
        os=_text_key(where, entry, "os"),
        disk_format=_text_key(where, entry, "disk_format"),
        min_size=sizes.get("min_size"),
        max_size=sizes.get("max_size"),
        member=_text_key(where, entry, "member"),
        region=_text_key(where, entry, "region"),
        vault_id=_text_key(where, entry, "vault_id"),
    )
    for key in _MATCH_KEYS:
        if key in entry and getattr(rule, key) in ("", None):
            raise RulesError(f"{where}: {key} is empty; remove it or give it a value")
    if rule.min_size is not None and rule.max_size is not None and rule.min_size > rule.max_size:
        raise RulesError(f"{where}: min_size is larger than max_size, so it matches nothing")
    return rule


def load(path: Path | None = None) -> tuple[RuleSet, list[str]]:
    """The rules in ``path`` (default: rules.toml in the config directory) and warnings about
    the file; no file is no rules. Raises ``RulesError`` naming the file, rule and key."""
    path = path or rules_file()
    try:
        raw = files.read_user_file(path, "rules file")
    except OSError as error:
        raise RulesError(f"cannot read {path}: {files.reason(error)}") from None
    if raw is None:
        return RuleSet(path=path), []
    warnings = []
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        mode = 0
    if mode & 0o022:
        warnings.append(
            f"rules file {path} can be changed by other users (mode {mode:04o}), and its rules "
            f"decide what your project accepts; imshare leaves its mode alone: run "
            f"`chmod go-w {path}`"
        )
    try:
        data = files.parse_toml(raw)
    except files.BadDocument as problem:
        raise RulesError(f"rules file {path} {problem}; fix it") from None
    unknown = sorted(set(data) - {"rules", "max_per_run"})
    if unknown:
        raise RulesError(
            f"rules file {path}: unknown key {unknown[0]!r} at the top; it holds max_per_run "
            "and [[rules]] tables"
        )
    limit = data.get("max_per_run", DEFAULT_MAX_PER_RUN)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise RulesError(f"rules file {path}: max_per_run must be a whole number of at least 1")
    entries = data.get("rules", [])
    if not isinstance(entries, list):
        raise RulesError(f"rules file {path}: rules must be [[rules]] tables")
    rules = tuple(_rule(path, number, entry) for number, entry in enumerate(entries, 1))
    names = [rule.name for rule in rules]
    for rule in rules:
        if names.count(rule.name) > 1:
            raise RulesError(
                f"rules file {path}: two rules are named {rule.label!r}; the journal tells "
                "rules apart by name: rename one"
            )
    return RuleSet(rules, limit, path), warnings


def load_or_empty(path: Path | None = None) -> tuple[RuleSet, list[str]]:
    """The rules, or none with the message why among the warnings (the app goes on)."""
    try:
        return load(path)
    except RulesError as error:
        return RuleSet(path=path or rules_file()), [f"{error} (no rules are applied)"]
