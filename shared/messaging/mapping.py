"""Domain events -> the versioned wire envelope: one mapping per service.

The domain records plain dataclasses; each service declares once which wire event
each becomes (`services/<name>/adapters/wire_events.py`). Fields are carried by name
from the domain event into the wire event's `data`; `convert` supplies the few that
differ (money in minor units -> a decimal string, say). The envelope (id, source,
time, subject, correlation and causation ids) is filled in here, the same way for all.
A service that owns a part of a subscription's state (shared.events.state) names here
too which aggregate is that part and how it is shown (`with_state`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.domain.aggregate import Aggregate, DomainEvent
from shared.domain.record import plain_fields
from shared.events.envelope import Event
from shared.events.state import StatePart, SubscriptionStateChanged, SubscriptionStateData

Convert = Callable[[Any], dict[str, Any]]
StateView = Callable[[Any], dict[str, Any]]  # the aggregate -> its part, as its API shows it


class EventMapping:
    def __init__(
        self,
        source: str,
        routes: Mapping[type[DomainEvent], type[Event]],
        *,
        convert: Mapping[type[DomainEvent], Convert] | None = None,
        states: Mapping[type[Aggregate], tuple[StatePart, StateView]] | None = None,
    ) -> None:
        self.source = source
        self._routes = dict(routes)
        self._convert = dict(convert or {})
        self._states = dict(states or {})

    @property
    def publishes(self) -> list[type[Event]]:
        """The wire types this service produces (declared for the AsyncAPI document)."""
        produced = list(dict.fromkeys(self._routes.values()))
        return produced + [SubscriptionStateChanged] if self._states else produced

    def merged(self, other: EventMapping) -> EventMapping:
        """This mapping plus another module's (the test clock's), under this source."""
        return EventMapping(
            self.source,
            {**self._routes, **other._routes},
            convert={**self._convert, **other._convert},
            states={**self._states, **other._states},
        )

    def with_state(
        self, aggregate: type[Aggregate], part: StatePart, view: StateView
    ) -> EventMapping:
        """This mapping, and `aggregate` is this service's part of the subscriptions'
        state: `view` of it is written to subscriptions.state whenever it changes."""
        return EventMapping(
            self.source,
            self._routes,
            convert=self._convert,
            states={**self._states, aggregate: (part, view)},
        )

    def state_of(
        self,
        aggregate: Aggregate,
        *,
        time: datetime,
        correlation_id: str,
        causation_id: str | None,
    ) -> Event | None:
        """The aggregate's part of its subscription's state, if it is one."""
        owned = self._states.get(type(aggregate))
        if owned is None:
            return None
        part, view = owned
        return SubscriptionStateChanged(
            source=self.source,
            time=time,
            subject=aggregate.id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=SubscriptionStateData(part=part, state=view(aggregate)),
        )

    def to_wire(
        self,
        event: DomainEvent,
        *,
        time: datetime,
        correlation_id: str,
        causation_id: str | None,
    ) -> Event:
        wire = self._routes.get(type(event))
        if wire is None:
            raise TypeError(f"{self.source} has no wire event for {type(event).__name__}")
        fields = plain_fields(event)
        convert = self._convert.get(type(event))
        if convert is not None:
            fields.update(convert(event))
        data_model = wire.model_fields["data"].annotation
        return wire(
            source=self.source,
            time=time,
            subject=event.subscription_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data_model.model_validate(fields),  # type: ignore[union-attr]
        )


C = TypeVar("C")


def command_from(data: BaseModel, kind: type[C], **overrides: Any) -> C:
    """The inbound direction: a command (a dataclass) made of the wire payload's fields
    of the same names; `overrides` gives the ones that differ or are not there."""
    names = [f.name for f in dataclasses.fields(kind)]  # type: ignore[arg-type]
    values = {n: getattr(data, n) for n in names if n not in overrides and hasattr(data, n)}
    return kind(**values, **overrides)
