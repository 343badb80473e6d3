"""``imshare watch``: list the scope every ``--interval`` seconds and print one JSON line per
new share (and, with ``--apply``, per rule decision), for a cron job or a systemd unit to
mail or alert on.

Lines on stdout, one JSON object each, written and flushed one at a time, every text from the
cloud through the JSON guard (``safe_json``, then ``out``):

* ``new_share`` — pending now and not pending at the last complete listing of that project
  (the "seen" state of :mod:`tui.watch_state`); the first run reports every pending share;
* ``decision`` — a rule decided it (``--apply``): exactly what ``imshare apply --yes`` would
  have decided, through the same plan, the same sending path, journalled as ``rule NAME``;
* ``skipped`` — a rule matched a new share but does not decide it (a blocked owner, a
  full-ECS image without the rule's vault), said once, when the share is new;
* ``over_limit`` — the rules would decide more than ``max_per_run``: nothing decided (unless
  ``--force``), said again only when what they would decide changes; watching goes on;
* ``error`` — a cycle (or one project of it) failed: the listing, the network, a 5xx. The
  watch never ends over one: it tries again, backing off (``interval``, then twice, then four
  times it, at most 15 minutes — never less than ``interval``).

A refused login (a wrong password, a disabled user) is not transient: it ends the watch (exit
1, or 2 without a password to log in with), as every command does. SIGTERM or SIGINT ends it
with 0: a listing in flight is dropped (it changes nothing), decisions in flight finish and are
printed, and no further rule starts; a second signal stops those too (their journal lines say
``unknown``). ``--timeout`` limits each cycle, never the whole run.

``--once`` does one cycle: exit 0, or 1 if it failed (or a project or a decision failed), or 4
when ``--apply`` would decide more than ``max_per_run`` — as ``imshare apply --yes`` would.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tui import files, journaled, rules
from tui.cli.commands import (
    EXIT_CLOSED_PIPE,
    CliExit,
    Context,
    StdoutFailed,
    err,
    journal_warning,
    out,
    require_usable,
    terminal_password_prompt,
)
from tui.cli.watch_args import (  # noqa: F401 (re-exported: the watch's own names)
    DEFAULT_INTERVAL,
    MIN_INTERVAL,
    MIN_INTERVAL_VARIABLE,
    add_arguments,
    interval_type,
    min_interval,
)
from tui.cloud.errors import ApiError
from tui.cloud.inbox import Inbox
from tui.cloud.models import Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession, PasswordRequired
from tui.formatting import safe_json, safe_text
from tui.journal import Journal
from tui.settings import owners
from tui.settings.owners import OwnerBook
from tui.watch_state import SeenState, StateUnreadable, scope_key

#: Backing off never waits longer than this (unless the interval itself is longer)...
MAX_BACKOFF = 15 * 60.0
#: ...nor more than this many intervals.
BACKOFF_INTERVALS = 4
EXIT_OVER_LIMIT = 4
#: Decisions of one rule in flight at once (per project), as ``apply``.
CONCURRENCY = 8
#: Login errors that no retry can fix: the password, the user or the project is refused.
_REFUSED = (400, 401, 403, 404)


def backoff(interval: float, failures: int) -> float:
    """The wait after ``failures`` failed cycles in a row: the interval, then doubling, capped
    at four intervals or 15 minutes, whichever is less — never less than the interval."""
    cap = max(interval, min(interval * BACKOFF_INTERVALS, MAX_BACKOFF))
    return min(interval * 2 ** max(0, failures - 1), cap)


def refused_login(error: ApiError) -> bool:
    """A login the cloud refused, or one nobody can give a password for: waiting won't help."""
    return isinstance(error, PasswordRequired) or (error.login and error.status in _REFUSED)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(slots=True)
class Listed:
    """One cycle's pending shares: the scopes listed completely (``(member_id, region)``),
    the session each share is decided with, and the projects that could not be listed."""

    images: list[SharedImage]
    complete: list[tuple[str, str]]
    sessions: dict[str, CloudSession] = field(default_factory=dict)
    failed: list[dict[str, Any]] = field(default_factory=list)
    inbox: Inbox | None = None


@dataclass(slots=True)
class Cycle:
    """How one cycle went, for the exit code of ``--once`` and for backing off."""

    failed: bool = False  # nothing could be listed: back off
    error: str = ""  # why, when it failed as a whole
    partial: bool = False  # a project (or the rules file) failed; the rest went on
    decisions_failed: bool = False
    over_limit: bool = False

    @property
    def exit_code(self) -> int:
        if self.over_limit:
            return EXIT_OVER_LIMIT
        return 1 if self.failed or self.partial or self.decisions_failed else 0


class Watcher:
    """One ``imshare watch`` run: cycles, the seen state, signals and the exit code."""

    def __init__(self, session: CloudSession, context: Context) -> None:
        args = context.args
        self.session = session
        self.context = context
        self.interval: float = args.interval
        self.once: bool = args.once
        self.apply: bool = args.apply
        self.force: bool = args.force
        self.every_project: bool = bool(args.all_projects)
        # --region, else the config's `regions`, as `list --all-projects` and `apply` do.
        self.regions: list[str] = [
            r.strip() for given in (args.region or []) for r in given.split(",") if r.strip()
        ] or list(context.settings.regions)
        self.state = SeenState()
        self.stop = asyncio.Event()
        self.signals = 0
        self.deciding = False
        self.cycle_task: asyncio.Task[Cycle] | None = None
        self.lost: StdoutFailed | None = None
        self.rule_set = rules.RuleSet()
        self._said: set[str] = set()
        self._over_limit_said: frozenset[str] | None = None
        self._warn = journal_warning()

    # ------------------------------------------------------------------ output

    def emit(self, event: dict[str, Any]) -> None:
        """One JSON line on stdout, at once. When stdout fails (a full disk), the line and
        the rest go to stderr and the watch stops after this cycle; after a closed pipe
        nobody reads: it stops quietly."""
        line = safe_json({"event": event.pop("event"), "time": _now(), **event})
        if self.lost is None:
            try:
                out(line)
                return
            except StdoutFailed as failure:
                self.lost = failure
                self.stop.set()
                if not failure.closed_pipe:
                    err(f"cannot write to standard output ({failure.reason}); stopping")
        if not self.lost.closed_pipe:
            err(line)

    def say_once(self, text: str) -> None:
        """A warning about our own files (stderr), once a run: a watch runs for weeks."""
        if text not in self._said:
            self._said.add(text)
            err(f"warning: {text}")

    def _share(self, event: str, image: SharedImage, book: OwnerBook) -> dict[str, Any]:
        return {
            "event": event,
            "member_id": image.member_id,
            "member_name": image.member_name,
            "region": image.region,
            "image_id": image.id,
            "image_name": image.name,
            "owner": image.owner,
            "owner_name": book.name_of(image.owner) or None,
        }

    # ------------------------------------------------------------------ the run

    async def run(self) -> int:
        if self.apply:
            self.rule_set = self._load_rules(first=True)
        try:
            self.state.load()
        except StateUnreadable as problem:
            self.say_once(
                f"{problem}: every pending share is reported as new this time, and the "
                "file is replaced by a good one"
            )
        loop = asyncio.get_running_loop()
        failures = 0
        last = Cycle()
        # The first login may ask for a password on the terminal: Ctrl-C must still work there.
        await self._first_login()
        handled = self._install_signals(loop)
        try:
            while True:
                last = await self._one_cycle()
                failures = failures + 1 if last.failed else 0
                delay = backoff(self.interval, failures) if failures else self.interval
                if last.error:
                    retry = None if self.once or self.stop.is_set() else delay
                    self.emit({"event": "error", "message": last.error, "retry_in": retry})
                if self.stop.is_set() or self.once:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.stop.wait(), delay)
                if self.stop.is_set():
                    break
        finally:
            for signum in handled:
                loop.remove_signal_handler(signum)
        if self.lost is not None:
            return EXIT_CLOSED_PIPE if self.lost.closed_pipe else 1
        if self.signals:
            return 0
        return last.exit_code if self.once else 0

    async def _first_login(self) -> None:
        """Log in once before cycling; a transient failure is left to the first cycle."""
        try:
            await self.session.token()
        except ApiError as error:
            if refused_login(error):
                raise

    def _install_signals(self, loop: asyncio.AbstractEventLoop) -> list[int]:
        handled = []
        for signum in (signal.SIGTERM, signal.SIGINT):
            try:
                loop.add_signal_handler(signum, self._on_signal)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
                continue
            handled.append(signum)
        return handled

    def _on_signal(self) -> None:
        """First signal: stop after what is in flight; a listing is dropped (it changes
        nothing), decisions finish. A second signal stops the decisions too."""
        self.signals += 1
        self.stop.set()
        task = self.cycle_task
        if task is not None and (not self.deciding or self.signals > 1):
            task.cancel()

    async def _one_cycle(self) -> Cycle:
        self.cycle_task = asyncio.create_task(self._timed_cycle())
        try:
            return await self.cycle_task
        except asyncio.CancelledError:
            if not self.stop.is_set():
                raise
            return Cycle()
        finally:
            self.cycle_task = None
            self.context.flush_warnings()  # a token cache it could not write: said once

    async def _timed_cycle(self) -> Cycle:
        timeout = self.context.timeout
        try:
            async with asyncio.timeout(timeout or None):
                return await self._cycle()
        except TimeoutError:
            return Cycle(
                failed=True,
                error=f"gave up this cycle after {timeout:g} s: the cloud did not finish "
                "answering in time (--timeout SECONDS sets the limit per cycle; 0: none)",
            )
        except ApiError as error:
            if refused_login(error):
                raise
            return Cycle(failed=True, error=safe_text(error.summary))

    # ------------------------------------------------------------------ one cycle

    async def _cycle(self) -> Cycle:
        result = Cycle()
        book = self._owner_book()
        rule_set: rules.RuleSet | None = self.rule_set
        if self.apply:
            rule_set = self._load_rules(first=False)
            if rule_set is None:
                result.partial = True
        listed = await self._list()
        try:
            for failure in listed.failed:
                self.emit({"event": "error", **failure})
            if listed.failed:
                result.partial = True
                if not listed.complete:
                    result.failed = True
                    return result
            listed.images.sort(key=lambda i: (i.name.lower(), i.id, i.member_name))
            new = self._new_shares(listed)
            for image in new:
                self.emit(self._share("new_share", image, book))
            if self.apply and rule_set:
                await self._apply(listed, rule_set, book, new, result)
            return result
        finally:
            if listed.inbox is not None:
                await listed.inbox.aclose()

    def _owner_book(self) -> OwnerBook:
        book, problem = owners.load_or_empty()
        if problem:
            self.say_once(problem)
        return book

    def _load_rules(self, *, first: bool) -> rules.RuleSet | None:
        """rules.toml, read each cycle (an edit applies from the next one). At the start a
        broken file ends the watch (exit 2); later, that cycle decides nothing, and says so."""
        try:
            rule_set, warnings = rules.load()
        except rules.RulesError as error:
            if first:
                raise CliExit(2, str(error)) from None
            text = f"{error}; no rule decides anything until it is fixed"
            if text not in self._said:
                self._said.add(text)
                self.emit({"event": "error", "message": text})
            return None
        for warning in warnings:
            self.say_once(warning)
        if first and not rule_set:
            self.say_once(
                f"no rules in {rules.rules_file()}: watch --apply reports new shares only "
                "(the README shows an example)"
            )
        self.rule_set = rule_set
        return rule_set

    async def _list(self) -> Listed:
        if not self.every_project:
            listing = await self.session.list_shares([MemberStatus.PENDING])
            if listing.failed:
                raise next(iter(listing.failed.values()))
            token = await self.session.token()
            return Listed(listing.images, [(token.project_id, token.region)])
        inbox = Inbox(self.session, regions=self.regions)
        try:
            found = await inbox.list_all([MemberStatus.PENDING])
        except BaseException:
            await inbox.aclose()
            raise
        gone = {(u.project.id, u.region) for u in found.failed}
        complete = [
            (scope.project.id, scope.region)
            for scope in found.scopes
            if (scope.project.id, scope.region) not in gone and (scope.project.id, "") not in gone
        ]
        sessions = {}
        for image in found.images:
            scope = inbox.scope_of(image)
            if scope is not None:
                sessions[image.key] = scope.session
        failed = [
            {
                "member_id": u.project.id,
                "member_name": u.project.name,
                "region": u.region or None,
                "message": f"could not list this project (its shares are not in this "
                f"cycle): {safe_text(u.reason)}",
            }
            for u in found.failed
        ]
        return Listed(found.images, complete, sessions, failed, inbox)

    def _new_shares(self, listed: Listed) -> list[SharedImage]:
        """The shares pending now that were not at the last complete listing of their
        scope; the state remembers this listing (and is written at once)."""
        auth_url = self.session.settings.auth_url
        by_scope: dict[str, list[SharedImage]] = {
            scope_key(auth_url, member, region): [] for member, region in listed.complete
        }
        for image in listed.images:
            rows = by_scope.get(scope_key(auth_url, image.member_id, image.region))
            if rows is not None:
                rows.append(image)
        new: set[str] = set()
        for key, images in by_scope.items():
            fresh = set(self.state.new_ids(key, [image.id for image in images]))
            new.update(image.key for image in images if image.id in fresh)
        try:
            self.state.save()
        except OSError as error:
            self.say_once(
                f"cannot write the watch state {self.state.path}: {files.reason(error)}; "
                "new shares are remembered only while this watch runs"
            )
        return [image for image in listed.images if image.key in new]

    # ------------------------------------------------------------------ rules

    async def _apply(
        self,
        listed: Listed,
        rule_set: rules.RuleSet,
        book: OwnerBook,
        new: Sequence[SharedImage],
        result: Cycle,
    ) -> None:
        plan = rules.plan(listed.images, rule_set, book)
        fresh = {image.key for image in new}
        for skip in plan.skipped:
            if skip.image.key in fresh:
                event = self._share("skipped", skip.image, book)
                self.emit({**event, "rule": skip.rule.name, "reason": skip.reason})
        if plan.over_limit and not self.force:
            result.over_limit = True
            keys = frozenset(image.key for image, _rule in plan.decide)
            if keys != self._over_limit_said:
                self._over_limit_said = keys
                self.emit(
                    {
                        "event": "over_limit",
                        "count": len(plan.decide),
                        "max_per_run": plan.max_per_run,
                        "message": f"the rules would decide {len(plan.decide)} images, more "
                        f"than max_per_run ({plan.max_per_run}) in {rules.rules_file()}: "
                        "nothing was decided; check them with imshare apply, then run "
                        "imshare apply --yes --force (or raise max_per_run)",
                    }
                )
            return
        self._over_limit_said = None
        self.deciding = True
        try:
            for rule, images in plan.by_rule():
                if self.stop.is_set():
                    break  # stopping: what was in flight finished, no further rule starts
                decisions = await self._send(listed, rule, images, book)
                if any(not decision.ok for decision in decisions):
                    result.decisions_failed = True
        finally:
            self.deciding = False

    async def _send(
        self, listed: Listed, rule: rules.Rule, images: list[SharedImage], book: OwnerBook
    ) -> list[Decision]:
        """One rule's decisions, each project's with its own session, as ``apply --yes``
        sends them (one journal operation per rule and run); a line per decision as its
        answer comes."""
        groups: dict[int, tuple[CloudSession, list[SharedImage]]] = {}
        for image in images:
            target = listed.sessions.get(image.key, self.session)
            groups.setdefault(id(target), (target, []))[1].append(image)
        recorder = journaled.Recorder(
            Journal(), journaled.who_for(self.session, rule.how), self._warn
        )
        by_key = {(image.member_id, image.id): image for image in images}
        said: set[tuple[str, str]] = set()

        def say(decision: Decision) -> None:
            image = by_key.get((decision.member_id, decision.image_id))
            if image is None:
                image = next((i for i in images if i.id == decision.image_id), None)
            if image is None or (image.member_id, image.id) in said:
                return
            said.add((image.member_id, image.id))
            outcome, _code, message = journaled.outcome_of(decision)
            event = self._share("decision", image, book)
            self.emit(
                {
                    **event,
                    "rule": rule.name,
                    "status": decision.status.value,
                    "outcome": outcome,
                    "error": (decision.error.reason if decision.error else message) or None,
                    "operation": recorder.id,
                }
            )

        async def one(target: CloudSession, group: list[SharedImage]) -> list[Decision]:
            try:
                return await rules.send(
                    [(target, group)],
                    rule,
                    warn=self._warn,
                    recorder=recorder,
                    concurrency=CONCURRENCY,
                    on_progress=say,
                )
            except ApiError as error:  # not even one request could be made (a login failed)
                if refused_login(error) and target is self.session:
                    raise
                return [
                    Decision(image.id, rule.action, error=error, member_id=image.member_id)
                    for image in group
                ]

        outcomes = await asyncio.gather(*(one(t, g) for t, g in groups.values()))
        decisions = [decision for group in outcomes for decision in group]
        for decision in decisions:
            say(decision)  # any the progress callback did not hear of
        return decisions


def run(context: Context) -> int:
    """Run the watch in a fresh event loop. No deadline for the whole run: ``--timeout``
    limits each cycle (``Watcher._timed_cycle``)."""
    require_usable(context)
    if context.args.force and not context.args.apply:
        raise CliExit(2, "--force goes with --apply (it lifts max_per_run for the rules)")
    if context.args.region and not context.args.all_projects:
        raise CliExit(
            2,
            "--region needs --all-projects (without it, watch lists the configured project "
            "in its configured region)",
        )

    async def main() -> int:
        session = CloudSession(
            context.settings,
            context.cache,
            ask_password=terminal_password_prompt(context.settings),
        )
        async with session:
            try:
                return await Watcher(session, context).run()
            finally:
                context.flush_warnings()

    return asyncio.run(main())
