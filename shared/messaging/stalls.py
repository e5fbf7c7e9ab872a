"""What a consumer keeps about partitions stopped on a failing event
(`shared.messaging.consumer`): where a message sits, the stall record `/readyz` shows,
the exception `handle` raises to stop a partition, the pause before the next try, and
the pending resumes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class Origin:
    """Where a delivered message sits; `handle` without one is partition 0, no offset."""

    partition: int = 0
    offset: int | None = None
    key: str | None = None


@dataclass
class Stall:
    """A partition stopped at an event its handler keeps failing on."""

    partition: int
    offset: int | None
    event_id: str | None
    event_type: str | None
    subject: str | None
    since: datetime
    attempts: int = 0  # handler attempts that failed, in place and after pauses
    rounds: int = 0  # deliveries that ended in a pause
    cause: str = "handler"  # or "infrastructure" (the store or the network)
    last_error: str = ""
    retry_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "partition": self.partition,
            "offset": self.offset,
            "eventId": self.event_id,
            "eventType": self.event_type,
            "subject": self.subject,
            "since": self.since.isoformat(),
            "attempts": self.attempts,
            "rounds": self.rounds,
            "cause": self.cause,
            "lastError": self.last_error,
            "retryAt": self.retry_at.isoformat() if self.retry_at else None,
        }


class PartitionStalled(Exception):
    """`handle` could not handle the event now: its offset must not be committed, and
    its partition waits `retry_in` seconds before the event is tried again."""

    def __init__(self, consumer: str, stall: Stall, retry_in: float, error: BaseException):
        super().__init__(
            f"{consumer}: partition {stall.partition} stopped at offset {stall.offset} "
            f"({stall.event_type} {stall.event_id}): {type(error).__name__}: {error}"
        )
        self.stall = stall
        self.retry_in = retry_in
        self.error = error


@dataclass(frozen=True)
class StallBackoff:
    """The pause before a stalled event is tried again: `first` s, doubling per failed
    round, at most `most` s."""

    first: float = 1.0
    most: float = 30.0

    def after(self, rounds: int) -> float:
        return min(self.most, self.first * 2 ** max(rounds - 1, 0))


@dataclass
class ResumeTimers:
    """Pending resumes of paused partitions, by partition."""

    handles: dict[int, asyncio.TimerHandle] = field(default_factory=dict)

    def replace(self, partition: int, handle: asyncio.TimerHandle) -> None:
        self.cancel(partition)
        self.handles[partition] = handle

    def cancel(self, partition: int) -> None:
        handle = self.handles.pop(partition, None)
        if handle is not None:
            handle.cancel()
