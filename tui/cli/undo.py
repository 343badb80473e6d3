"""``imshare undo [--last N] [--yes]``: the app's ``z`` for scripts and terminals.

The last N operations of this user on this cloud (from the journal), newest first, each
image set back to its status before, after a y/N on the terminal — or at once with ``--yes``.
Without ``--yes`` and without a terminal to ask on, nothing is sent (exit 2).

Exit codes: 0 every image that could be undone was; 1 a decision of the undo failed, or
there was nothing of this user's to undo; 2 no ``--yes`` and no terminal.
"""

from __future__ import annotations

from tui import journaled, undo
from tui.cli.commands import CliExit, Context, _stdin_is_tty, err, journal_warning, out
from tui.cloud.session import CloudSession
from tui.formatting import safe_text


def _ask(question: str) -> bool:
    try:
        answer = input(question)
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


async def run(session: CloudSession, context: Context) -> int:
    args = context.args
    await session.token()  # one login (or prompt) first; the identity is Keystone's
    who = journaled.who_for(session, "cli undo")
    skipped_lines: list[str] = []
    try:
        found = undo.journal_entries(skipped=skipped_lines)
    except OSError as error:
        raise CliExit(1, f"cannot read the journal: {error}") from None
    if skipped_lines:
        err(f"warning: skipped {len(skipped_lines)} unreadable line(s) of the journal")
    operations = undo.last_operations(found, who, args.last)
    if not operations:
        raise CliExit(
            1,
            f"nothing to undo: the journal has no decision of {safe_text(who.user)} "
            f"({safe_text(who.domain)}) at {safe_text(who.auth_url)}",
        )
    session_for = undo.sessions_from(session)
    plans = await undo.plan(operations, session_for)
    for plan in plans:
        for line in plan.describe():
            err(safe_text(line))
    if not any(plan.todo for plan in plans):
        err("nothing to undo: every image named above is left as it is")
        return 0
    if not args.yes:
        if not _stdin_is_tty():
            raise CliExit(
                2, "undo asks before it sends anything: run it in a terminal, or add --yes"
            )
        count = sum(len(plan.todo) for plan in plans)
        if not _ask(f"Set these {count} image(s) back? [y/N] "):
            err("nothing was changed")
            return 1
    warn = journal_warning()
    failed = 0
    for plan in plans:
        if not plan.todo:
            continue
        recorded = await undo.run(
            plan, session_for, who=who, warn=warn, concurrency=args.concurrency
        )
        by_id = {item.entry.image_id: item for item in plan.todo}
        for decision in recorded.decisions:
            if decision.ok:
                out(f"{decision.status.value} {decision.image_id}")
            else:
                failed += 1
                item = by_id.get(decision.image_id)
                label = item.label if item is not None else decision.image_id
                err(f"{safe_text(label)}: {safe_text(undo.explain(decision))}")
        err(f"undo of {plan.operation} is operation {recorded.operation}")
    return 1 if failed else 0
