"""Decode wire bytes into the right Event subclass by its `type` field.

Unknown types are not errors: a newer producer may emit types this consumer does
not know yet: skip and count, never crash (docs/architecture.md).
"""

from __future__ import annotations

import json
from typing import Any

from shared.events.envelope import Event


class UnknownEventType(Exception):
    def __init__(self, event_type: Any) -> None:
        super().__init__(f"unknown event type {event_type!r}")
        self.event_type = event_type


class EventRegistry:
    def __init__(self, *types: type[Event]) -> None:
        self._by_name: dict[str, type[Event]] = {t.model_fields["type"].default: t for t in types}

    @property
    def names(self) -> list[str]:
        return sorted(self._by_name)

    def decode(self, raw: bytes) -> Event:
        """Raises UnknownEventType, or ValueError (incl. pydantic's) for a poison message."""
        body = json.loads(raw)
        if not isinstance(body, dict):
            raise ValueError("event body is not a JSON object")
        event_type = body.get("type")
        model = self._by_name.get(event_type) if isinstance(event_type, str) else None
        if model is None:
            raise UnknownEventType(event_type)
        return model.model_validate(body)
