"""What this run said: every failed request, every decision with its outcome, every warning.

A toast fades; the log (``@``) keeps each line with its time, so nothing said is ever said
only once in passing. It is kept in memory for the run (bounded), newest last.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

#: Lines kept; the oldest go first when a very long run says more.
MAX_ENTRIES = 5000


class Level(StrEnum):
    INFO = "info"
    DONE = "done"  # a decision the cloud confirmed
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class LogEntry:
    time: datetime
    level: Level
    text: str


class MessageLog:
    """The run's messages, newest last; listeners hear of each new one."""

    def __init__(self, clock: Callable[[], datetime] | None = None) -> None:
        self._entries: deque[LogEntry] = deque(maxlen=MAX_ENTRIES)
        self._clock = clock or (lambda: datetime.now(UTC))
        self._listeners: list[Callable[[LogEntry], None]] = []

    def add(self, level: Level, text: str) -> LogEntry:
        entry = LogEntry(self._clock(), level, text)
        self._entries.append(entry)
        for listener in list(self._listeners):
            listener(entry)
        return entry

    def listen(self, listener: Callable[[LogEntry], None]) -> Callable[[], None]:
        """Call ``listener`` for every new entry; returns a function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def __iter__(self) -> Iterator[LogEntry]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def count(self, level: Level) -> int:
        return sum(1 for entry in self._entries if entry.level is level)
