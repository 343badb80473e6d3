"""``imshare apply``: what the rules of rules.toml would decide, and (``--yes``) deciding it.

A dry run by default: it lists every pending share a rule matches, with the rule and the action,
and what it skips and why (a blocked owner, a full-ECS image without a vault), then exits 3 when
there is something to do and 0 when there is nothing. ``--yes`` sends the decisions — through
``tui.rules.send``, the same path as ``accept`` and ``reject`` — one line per image, and exits 1
if any failed. A run that would decide more than ``max_per_run`` images decides none and exits
4, unless ``--force``; a second run after ``--yes`` finds nothing left to do.

``--all-projects`` applies the rules to the pending shares of every project of the user (each
decision goes to its own project, with that project's token).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tui import journaled, rules
from tui.cli.commands import (
    CliExit,
    Context,
    StdoutFailed,
    err,
    journal_warning,
    out,
    owner_book,
    regions_of,
)
from tui.cli.output import json_array
from tui.cli.table import render as render_table
from tui.cloud.errors import ApiError
from tui.cloud.inbox import Inbox
from tui.cloud.models import Decision, MemberStatus, SharedImage
from tui.cloud.session import CloudSession
from tui.formatting import safe_text, short_id
from tui.journal import Journal
from tui.settings.owners import OwnerBook

EXIT_TO_DO = 3
EXIT_OVER_LIMIT = 4
#: Decisions of one rule in flight at once (per project).
CONCURRENCY = 8


def _load_rules() -> rules.RuleSet:
    try:
        rule_set, warnings = rules.load()
    except rules.RulesError as error:
        raise CliExit(2, str(error)) from None
    for warning in warnings:
        err(f"warning: {warning}")
    return rule_set


async def _pending(
    session: CloudSession, context: Context
) -> tuple[list[SharedImage], dict[str, CloudSession], list[str]]:
    """The pending shares in scope, the session each must be decided with (by row key), and
    one line per project that could not be listed."""
    if not getattr(context.args, "all_projects", False):
        listing = await session.list_shares([MemberStatus.PENDING])
        if listing.failed:
            raise next(iter(listing.failed.values()))
        return listing.images, {}, []
    inbox = Inbox(session, regions=regions_of(context))
    found = await inbox.list_all([MemberStatus.PENDING])
    sessions: dict[str, CloudSession] = {}
    for image in found.images:
        scope = inbox.scope_of(image)
        if scope is not None:
            sessions[image.key] = scope.session
    problems = [
        f"could not list {safe_text(gone.project.name)}"
        f"{' (' + gone.region + ')' if gone.region else ''}: {safe_text(gone.reason)}; "
        "its shares are not in this run"
        for gone in found.failed
    ]
    return found.images, sessions, problems


def _where(image: SharedImage, every_project: bool) -> str:
    return f" in {safe_text(image.member_name or image.member_id)}" if every_project else ""


def _plan_rows(plan: rules.Plan) -> list[tuple[str, SharedImage, rules.Rule, str]]:
    """``(what, image, rule, note)`` for every image the plan names, decisions first."""
    rows = [(rule.action.verb, image, rule, "") for image, rule in plan.decide]
    rows += [("skip", skip.image, skip.rule, skip.reason) for skip in plan.skipped]
    return rows


def _print_plan(plan: rules.Plan, book: OwnerBook, fmt: str, every_project: bool) -> None:
    rows = _plan_rows(plan)
    if fmt == "json":
        out(
            json_array(
                [
                    {
                        "action": rule.action.verb if what != "skip" else "skip",
                        "rule": rule.name,
                        "image_id": image.id,
                        "image_name": image.name,
                        "owner": image.owner,
                        "owner_name": book.name_of(image.owner) or None,
                        "member_id": image.member_id,
                        "member_name": image.member_name,
                        "region": image.region,
                        "reason": note or None,
                    }
                    for what, image, rule, note in rows
                ]
            )
        )
        return
    if not rows:
        return
    header = ["Action", "Rule", "ID", "Name", "Owner"] + (["Member"] if every_project else [])
    header.append("Note")
    body = []
    for what, image, rule, note in rows:
        line = [
            what,
            safe_text(rule.name),
            image.id,
            safe_text(image.name) or "-",
            safe_text(book.label(image.owner, unknown="-")),
        ]
        if every_project:
            line.append(safe_text(image.member_name or image.member_id) or "-")
        line.append(note or "-")
        body.append(line)
    out(render_table(header, body, right=[False] * len(header), max_width=0))


async def apply(session: CloudSession, context: Context) -> int:
    """Dry run (exit 3 with something to do, 0 without), or ``--yes`` (exit 1 if any failed);
    exit 4 when the run would decide more than ``max_per_run`` and ``--force`` is not given."""
    args = context.args
    fmt = args.format
    every_project = bool(getattr(args, "all_projects", False))
    rule_set = _load_rules()
    if not rule_set:
        err(f"no rules in {rules.rules_file()}: nothing to apply (the README shows an example)")
        if fmt == "json":
            out("[]")
        return 0
    book = owner_book()
    await session.token()  # one login (or prompt) before the listing starts
    images, sessions, problems = await _pending(session, context)
    images.sort(key=lambda image: (image.name.lower(), image.id, image.member_name))
    plan = rules.plan(images, rule_set, book)
    for problem in problems:
        err(problem)
    if plan.over_limit and not args.force:
        _print_plan(plan, book, fmt, every_project)
        err(
            f"the rules would decide {len(plan.decide)} images, more than max_per_run "
            f"({plan.max_per_run}) in {rules.rules_file()}: nothing was decided; check the "
            "list, then run again with --force (or raise max_per_run)"
        )
        return EXIT_OVER_LIMIT
    if not args.yes:
        _print_plan(plan, book, fmt, every_project)
        if fmt == "table":
            if plan.decide:
                images = (
                    "1 pending image"
                    if len(plan.decide) == 1
                    else (f"{len(plan.decide)} pending images")
                )
                count = len(plan.by_rule())
                rules_word = "1 rule" if count == 1 else f"{count} rules"
                err(f"{images} to decide by {rules_word} (a dry run: imshare apply --yes does it)")
            else:
                err("the rules decide none of the pending shares")
        if problems:
            return 1
        return EXIT_TO_DO if plan.decide else 0
    results = await _decide(session, sessions, plan, every_project, fmt)
    for skip in plan.skipped:
        err(
            f"{skip.image.id}{_where(skip.image, every_project)}: skipped "
            f"(rule {skip.rule.label!r}): {skip.reason}"
        )
    failed = [decision for decision, _image, _rule in results if not decision.ok]
    if fmt == "json":
        out(
            json_array(
                [
                    {
                        "rule": rule.name,
                        "image_id": image.id,
                        "image_name": image.name,
                        "member_id": image.member_id,
                        "region": image.region,
                        "status": decision.status.value,
                        "outcome": "done" if decision.ok else "failed",
                        "error": decision.error.reason if decision.error else None,
                    }
                    for decision, image, rule in results
                ]
            )
        )
    if failed:
        err(f"{len(failed)} of {len(results)} decisions failed")
    return 1 if failed or problems else 0


async def _decide(
    session: CloudSession,
    sessions: dict[str, CloudSession],
    plan: rules.Plan,
    every_project: bool,
    fmt: str,
) -> list[tuple[Decision, SharedImage, rules.Rule]]:
    """Every rule's decisions, one rule after the other (each rule's images per project at
    once); one line per decision as it is known."""
    results: list[tuple[Decision, SharedImage, rules.Rule]] = []
    warn = journal_warning()
    for rule, images in plan.by_rule():
        groups: dict[int, tuple[CloudSession, list[SharedImage]]] = {}
        for image in images:
            target = sessions.get(image.key, session) if every_project else session
            groups.setdefault(id(target), (target, []))[1].append(image)
        # One journal operation per rule and run, whatever the projects.
        recorder = journaled.Recorder(Journal(), journaled.who_for(session, rule.how), warn)
        outcomes = await asyncio.gather(
            *(_one_group(target, rule, group, recorder, warn) for target, group in groups.values())
        )
        for group_results in outcomes:
            for decision, image in group_results:
                results.append((decision, image, rule))
                if fmt != "json":
                    _say(decision, image, rule, every_project)
    return results


async def _one_group(
    target: CloudSession,
    rule: rules.Rule,
    images: Sequence[SharedImage],
    recorder: journaled.Recorder,
    warn: journaled.Warn,
) -> list[tuple[Decision, SharedImage]]:
    try:
        decisions = await rules.send(
            [(target, images)],
            rule,
            warn=warn,
            recorder=recorder,
            concurrency=CONCURRENCY,
        )
    except ApiError as error:  # not even one request could be made (a login failed)
        decisions = [
            Decision(image.id, rule.action, error=error, member_id=image.member_id)
            for image in images
        ]
    by_id = {image.id: image for image in images}
    return [(decision, by_id[decision.image_id]) for decision in decisions]


def _say(decision: Decision, image: SharedImage, rule: rules.Rule, every_project: bool) -> None:
    name = safe_text(image.name) or short_id(image.id)
    where = _where(image, every_project)
    if decision.ok:
        line = f"{decision.status.done} {image.id} ({name}){where} by rule {rule.label!r}"
        try:
            out(line)
        except StdoutFailed:  # the decisions go on; what was decided is still said
            err(line)
    else:
        reason = decision.error.reason if decision.error else "not confirmed by the cloud"
        err(f"{image.id} ({name}){where}: rule {rule.label!r}: {safe_text(reason)}")
