"""Aggregates record what happened to them; the unit of work takes it from there.

After cosmicpython's `domain/model.py` (`self.events.append(...)`): a method of an
aggregate changes its state and records a domain event; it never emits, publishes
or knows a wire format. The unit of work collects the recorded events of every
aggregate it loaded or added and writes them to the outbox in the same commit.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, PrivateAttr

from shared.domain.record import Record
from shared.store.port import due_stamp


class DomainEvent(Record):
    """Past tense, plain data. Every event is about one subscription: its Kafka key."""

    subscription_id: str


# One order across all aggregates of a process: the unit of work writes the events of
# several aggregates in the order they were recorded.
_recorded = itertools.count()


class Aggregate(BaseModel):
    """A consistency boundary stored as one document under its `id`.

    Mutable on purpose: methods check a rule, change the state, record an event.
    `correlation_id`, where an aggregate has one, is the purchase that started it all;
    events recorded here carry it unless the work was caused by an event that has one.
    """

    model_config = ConfigDict(validate_assignment=False, extra="ignore")
    COLLECTION: ClassVar[str]  # where the repository keeps documents of this type

    id: str
    # A default (copied per instance), not default_factory=list: pydantic 2.13 inspects a
    # factory's signature on every instance, 0.3 ms each, most of a 100-item list page.
    _events: list[tuple[int, DomainEvent]] = PrivateAttr(default=[])

    def record(self, event: DomainEvent) -> None:
        self._events.append((next(_recorded), event))

    @property
    def events(self) -> list[DomainEvent]:
        """Recorded and not yet taken by a commit, oldest first (tests read this)."""
        return [event for _, event in self._events]

    def take_events(self) -> list[tuple[int, DomainEvent]]:
        """For the unit of work: the recorded events with their global order, once."""
        taken, self._events = self._events, []
        return taken

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy starts with no recorded events: they belong to the original."""
        copy = super().model_copy(update=update, deep=deep)
        copy._events = []
        return copy

    def due_times(self) -> Mapping[str, datetime | None]:
        """When the aggregate next falls due for its service's due work, by field name
        (None: never). Stored beside its fields, read back by nobody but the store's
        `find_due`: the due work reads what is due, not every live aggregate."""
        return {}

    def document(self) -> dict[str, object]:
        document: dict[str, object] = self.model_dump(mode="json")
        for name, moment in self.due_times().items():
            document[name] = None if moment is None else due_stamp(moment)
        return document
