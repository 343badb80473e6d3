"""The filter language of the app's ``/`` field and of ``imshare list --filter``.

One language for both surfaces, so a filter typed in the app can be pasted into a script:

* words separated by spaces are **terms**, and an image must match **every** term (AND, also
  when a field repeats: ``os:ubuntu os:22`` is Ubuntu 22);
* a plain term matches what the app's free-text filter always matched: the name, id, owner
  (its id, or the name the user gave it in owners.toml), OS version or platform;
* ``field:text`` matches one field (see ``FIELDS``); ``status:`` takes a status or a prefix
  of one (``status:acc``);
* ``!term`` or ``!field:text`` matches the images the term does not;
* ``"two words"`` (also ``name:"Windows 2022"``) is one term; a quoted colon is plain text;
* matching is case-insensitive and by substring, on the text as it is shown (a control
  character the cloud sent is matched as the ``�`` the user sees).

Nothing here imports Textual: the CLI uses it, and the app filters 10,000 rows per keystroke
with it, so an image's lower-cased texts are built once (``haystack``) and a term is then one
substring test.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from tui.cloud.models import ALL_STATUSES, MemberStatus, SharedImage
from tui.formatting import safe_text

#: Every field a term can name, and what it matches (for help texts and error messages).
FIELDS: dict[str, str] = {
    "name": "the image name",
    "id": "the image id",
    "owner": "the sharing project's id, or the name you gave it (owners.toml)",
    "os": "the OS version or OS type",
    "status": "your member status: pending, accepted or rejected (a prefix will do)",
    "format": "the disk format",
    "member": "the receiving project's name or id",
    "region": "the receiving project's region",
}

# Positions in a haystack. PLAIN is what a term without a field matches.
_PLAIN, _NAME, _ID, _OWNER, _OS, _STATUS, _FORMAT, _MEMBER, _REGION = range(9)
_INDEX: dict[str, int] = {
    "name": _NAME,
    "id": _ID,
    "owner": _OWNER,
    "os": _OS,
    "status": _STATUS,
    "format": _FORMAT,
    "member": _MEMBER,
    "region": _REGION,
}
# Joins the texts of one haystack entry. A needle typed by a user never holds it, so a term
# can never match across two fields ("bunt" + "u2" is not "ubuntu2").
_SEP = "\x00"

#: An image's texts as the filter sees them, lower-cased once; see ``haystack``.
Haystack = tuple[str, ...]

_FIELD = re.compile(r"([A-Za-z_]+):")


def _fold(text: str) -> str:
    """What a user sees, case-folded: the filter matches the text on screen."""
    return safe_text(text).casefold()


#: The name the user gave an owner (``OwnerBook.name_of``), "" when none.
OwnerNames = Callable[[str], str]


def haystack(image: SharedImage, owner_name: str = "") -> Haystack:
    """Everything a filter can test about ``image``; build it once per image and keep it
    (again when its owner is renamed: ``owner_name`` is in it).

    Computing it is about 20 times the cost of matching one filter against it.
    """
    name, image_id = _fold(image.name), _fold(image.id)
    owner = _fold(image.owner)
    if owner_name:
        owner = f"{owner}{_SEP}{_fold(owner_name)}"
    os_version = _fold(image.os_version)
    status = image.status.value if image.status else ""
    return (
        _SEP.join((name, image_id, owner, os_version, _fold(image.platform))),
        name,
        image_id,
        owner,
        f"{os_version}{_SEP}{_fold(image.os_type)}",
        # The separator in front makes a substring test a prefix test: "status:p" is
        # pending, not the "p" inside "accepted".
        f"{_SEP}{status}",
        _fold(image.disk_format),
        f"{_fold(image.member_id)}{_SEP}{_fold(image.member_name)}",
        _fold(image.region),
    )


@dataclass(frozen=True, slots=True)
class Term:
    """One understood term: ``field`` is "" for a plain term; ``text`` as the user wrote it."""

    field: str
    text: str
    negated: bool = False

    def __str__(self) -> str:
        text = f'"{self.text}"' if (" " in self.text or ":" in self.text) else self.text
        return f"{'!' if self.negated else ''}{self.field + ':' if self.field else ''}{text}"


@dataclass(frozen=True, slots=True)
class Filter:
    """A compiled filter: call it with a ``SharedImage``, or ``matches`` a ``haystack``.

    ``problems`` holds one message per term that could not be understood (an unknown field, a
    status that is none); such a filter matches **no** image, so a typo never looks like an
    answer. An empty filter (no terms) matches every image.
    """

    text: str
    terms: tuple[Term, ...] = ()
    problems: tuple[str, ...] = ()
    _checks: tuple[tuple[int, str, bool], ...] = field(default=(), repr=False, compare=False)

    @property
    def empty(self) -> bool:
        """Nothing to filter by: every image matches."""
        return not self.terms and not self.problems

    @property
    def error(self) -> str:
        """All problems in one message ("" when the whole filter was understood)."""
        return "; ".join(self.problems)

    def matches(self, hay: Haystack) -> bool:
        """Whether an image, given as its ``haystack``, passes every term."""
        if self.problems:
            return False
        # A plain loop: all() over a generator costs a third more per image.
        for index, needle, negated in self._checks:  # noqa: SIM110
            if (needle in hay[index]) is negated:
                return False
        return True

    def narrows(self, wider: Filter) -> bool:
        """Whether every image this filter matches is matched by ``wider`` too, so that only
        the images ``wider`` matched need testing: true of a filter typed one more key.

        Each term of ``wider`` must have a term here on the same field that implies it: a
        term whose text contains its text, or, negated, a text contained in its text.
        """
        if wider.problems:
            return False
        for index, needle, negated in wider._checks:
            for mine, text, also_negated in self._checks:
                implied = (text in needle) if negated else (needle in text)
                if mine == index and also_negated == negated and implied:
                    break
            else:
                return False
        return True

    def __call__(self, image: SharedImage, owner_names: OwnerNames | None = None) -> bool:
        return self.matches(haystack(image, owner_names(image.owner) if owner_names else ""))

    def select(
        self,
        images: Sequence[SharedImage],
        haystacks: Sequence[Haystack] | None = None,
        owner_names: OwnerNames | None = None,
    ) -> list[SharedImage]:
        """The images that match, in their order; ``haystacks`` (parallel) saves building them;
        ``owner_names`` lets ``owner:`` find an owner by the name the user gave it."""
        if self.empty:
            return list(images)
        if haystacks is not None:
            hays = haystacks
        else:
            names = owner_names or (lambda _owner: "")
            hays = [haystack(image, names(image.owner)) for image in images]
        matches = self.matches
        return [image for image, hay in zip(images, hays, strict=True) if matches(hay)]

    @property
    def statuses(self) -> frozenset[MemberStatus]:
        """The member statuses an image may have and still match (every status when the
        filter has no ``status:`` term): which listings are worth asking the cloud for."""
        allowed = set(ALL_STATUSES)
        for term in self.terms:
            if term.field == "status":
                named = {s for s in ALL_STATUSES if s.value.startswith(term.text.casefold())}
                allowed = allowed - named if term.negated else allowed & named
        return frozenset(allowed)

    @property
    def names_status(self) -> bool:
        """Whether a term is about the member status."""
        return any(term.field == "status" for term in self.terms)


def field_list() -> str:
    """``name: id: owner: …`` for messages."""
    return " ".join(f"{name}:" for name in FIELDS)


def compile_filter(text: str) -> Filter:
    """Parse ``text`` once into a ``Filter``; never raises (problems are in the result)."""
    terms: list[Term] = []
    problems: list[str] = []
    checks: list[tuple[int, str, bool]] = []
    for pieces in _tokens(text):
        term, problem = _term(pieces)
        if problem:
            problems.append(problem)
        elif term is not None:
            terms.append(term)
            index = _INDEX[term.field] if term.field else _PLAIN
            needle = term.text.casefold()
            if index == _STATUS:
                needle = _SEP + needle
            checks.append((index, needle, term.negated))
    # Cheap and selective checks first would need statistics; the user's order is kept.
    return Filter(text, tuple(terms), tuple(problems), tuple(checks))


def with_field(text: str, name: str, value: str) -> str:
    """``text`` with its ``name:`` terms replaced by ``name:value`` (dropped when ``value`` is
    empty): picking a project in the app's project list narrows the filter the user typed
    instead of replacing it. Every other term is kept as written."""
    kept: list[str] = []
    for pieces in _tokens(text):
        term, _problem = _term(pieces)
        if term is not None and term.field == name and not term.negated:
            continue
        kept.append(_written(pieces))
    if value:
        kept.append(str(Term(name, value)))
    return " ".join(kept)


def _written(pieces: list[_Piece]) -> str:
    """A token as the user could have typed it (quotes around quoted pieces)."""
    return "".join(f'"{text}"' if quoted else text for text, quoted in pieces)


# ----------------------------------------------------------------------------- parsing

# A token is a list of (text, quoted) pieces: `name:"Windows 2022"` is [("name:", False),
# ("Windows 2022", True)]. Only unquoted text can be a field name or a "!".
_Piece = tuple[str, bool]


def _tokens(text: str) -> Iterable[list[_Piece]]:
    """Split on whitespace outside double quotes; an unclosed quote runs to the end (so a
    filter being typed, ``name:"Windows 20``, already filters)."""
    pieces: list[_Piece] = []
    current: list[str] = []
    quoted = False
    had_quote = False
    for char in text:
        if char == '"':
            if current or quoted:
                pieces.append(("".join(current), quoted))
            current = []
            quoted = not quoted
            had_quote = True
        elif char.isspace() and not quoted:
            if current:
                pieces.append(("".join(current), False))
                current = []
            if pieces or had_quote:
                yield pieces
            pieces, had_quote = [], False
        else:
            current.append(char)
    if current:
        pieces.append(("".join(current), quoted))
    if pieces or had_quote:
        yield pieces


def _term(pieces: list[_Piece]) -> tuple[Term | None, str]:
    """One token as a term (None: nothing to match, e.g. a lone ``!`` or ``name:``)."""
    negated = False
    if pieces and not pieces[0][1] and pieces[0][0].startswith("!"):
        negated = True
        pieces = [(pieces[0][0][1:], False), *pieces[1:]]
    name = ""
    if pieces and not pieces[0][1]:
        found = _FIELD.match(pieces[0][0])
        if found:
            name = found.group(1).lower()
            pieces = [(pieces[0][0][found.end() :], False), *pieces[1:]]
            if name not in FIELDS:
                shown = "!" * negated + found.group(0)
                return None, (
                    f"unknown filter field {shown!r}: the fields are {field_list()} "
                    '(to find text with a colon, quote it: "a:b")'
                )
    value = "".join(text for text, _quoted in pieces)
    if not value:
        return None, ""
    if name == "status" and not any(s.value.startswith(value.casefold()) for s in ALL_STATUSES):
        return None, (
            f"status:{value} is not a member status: use status:pending, status:accepted or "
            "status:rejected (a prefix will do)"
        )
    return Term(name, value, negated), ""
