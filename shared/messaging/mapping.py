"""Domain events -> the versioned wire envelope: one mapping per service.

The domain records plain dataclasses; each service declares once which wire event
each becomes (`services/<name>/adapters/wire_events.py`). Fields are carried by name
from the domain event into the wire event's `data`; `convert` supplies the few that
differ (money in minor units -> a decimal string, say). The envelope (id, source,
time, subject, correlation and causation ids) is filled in here, the same way for all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel

from shared.domain.aggregate import DomainEvent
from shared.events.envelope import Event

Convert = Callable[[Any], dict[str, Any]]


class EventMapping:
    def __init__(
        self,
        source: str,
        routes: Mapping[type[DomainEvent], type[Event]],
        *,
        convert: Mapping[type[DomainEvent], Convert] | None = None,
    ) -> None:
        self.source = source
        self._routes = dict(routes)
        self._convert = dict(convert or {})

    @property
    def publishes(self) -> list[type[Event]]:
        """The wire types this service produces (declared for the AsyncAPI document)."""
        return list(dict.fromkeys(self._routes.values()))

    def merged(self, other: EventMapping) -> EventMapping:
        """This mapping plus another module's (the test clock's), under this source."""
        return EventMapping(
            self.source,
            {**self._routes, **other._routes},
            convert={**self._convert, **other._convert},
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
        fields = dataclasses.asdict(event)
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
