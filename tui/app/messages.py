"""What workers tell the screens, and what screens tell the app.

Workers do the I/O and post these; handlers on the screen change the store and redraw. Progress
messages carry everything known so far (not a delta), so when they arrive faster than the
screen handles them, Textual merges them (``can_replace``) and only the newest is handled.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual import events
from textual.message import Message
from textual.worker import Worker, WorkerState

from tui.app.crash import survivable
from tui.cloud.errors import ApiError
from tui.cloud.models import Decision, Member, MemberStatus, SharedImage, Token
from tui.undo import UndoPlan


@dataclass
class ListingProgress(Message):
    """Pages of listing ``generation`` so far: every image received, and the token in use."""

    generation: int
    images: tuple[SharedImage, ...]
    token: Token | None

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ListingProgress) and message.generation == self.generation


@dataclass
class ListingFinished(Message):
    """Listing ``generation`` ended: ``images`` of the statuses that were listed completely,
    ``failed`` the statuses that were not (and why); ``error`` when nothing could be listed."""

    generation: int
    images: tuple[SharedImage, ...] | None
    error: ApiError | None
    token: Token | None
    failed: dict[MemberStatus, ApiError] = field(default_factory=dict)
    #: All projects: the projects (by name) that could not be listed, and why.
    failed_projects: dict[str, ApiError] = field(default_factory=dict)
    #: ... and their project ids: only their rows are kept (as not confirmed).
    failed_members: frozenset[str] = frozenset()


@dataclass
class MemberLoaded(Message):
    """The member record of one image arrived, or could not be read."""

    image_id: str
    member: Member | None
    error: ApiError | None


@dataclass
class DecisionStarted(Message):
    """A decision run was confirmed and its requests are about to go out."""

    operation: int
    status: MemberStatus
    image_ids: tuple[str, ...]


@dataclass
class DecisionProgress(Message):
    """Outcomes of run ``operation`` so far, in the order they became known."""

    operation: int
    status: MemberStatus
    decisions: tuple[Decision, ...]
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, DecisionProgress) and message.operation == self.operation


@dataclass
class DecisionFinished(Message):
    """Run ``operation`` ended; ``decisions`` holds every outcome the cloud gave."""

    operation: int
    status: MemberStatus
    images: tuple[SharedImage, ...]
    decisions: tuple[Decision, ...]


@dataclass
class UndoFinished(Message):
    """An undo (``z``) ended: the plan it ran and every outcome the cloud gave."""

    plan: UndoPlan
    decisions: tuple[Decision, ...]
    operation: str


@dataclass
class WorkerFailed(Message):
    """A worker raised something it did not handle; bubbles to the app's one error funnel."""

    worker_name: str
    error: BaseException


# Building or tearing down a node: an error here leaves nothing worth keeping.
_LIFECYCLE = (events.Compose, events.Mount, events.Unmount, events.Load)


class ReportsWorkerFailures:
    """Mixin for the app and its screens: their errors go to the app's funnel.

    ``Worker.StateChanged`` does not bubble, so each forwards a failed worker as
    ``WorkerFailed``; and a message handler that raises is reported the same way instead of
    stopping this node's message loop for good (Textual's answer, which would leave a screen
    on display that no longer updates).
    """

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)  # type: ignore[misc]
        except Exception as error:
            if isinstance(message, _LIFECYCLE) or not survivable(error):
                raise
            name = f"{type(self).__name__}.{message.handler_name}"
            self.post_message(WorkerFailed(name, error))  # type: ignore[attr-defined]

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.state == WorkerState.ERROR and worker.error is not None:
            event.stop()
            self.post_message(WorkerFailed(worker.name, worker.error))  # type: ignore[attr-defined]
