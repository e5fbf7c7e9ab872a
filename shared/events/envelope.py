"""The one envelope every event travels in (CloudEvents names where they fit)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class CamelModel(BaseModel):
    """Frozen, camelCase on the wire, snake_case in Python."""

    model_config = ConfigDict(
        frozen=True, alias_generator=to_camel, populate_by_name=True, extra="ignore"
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)


class Event(CamelModel):
    """Base of every event. Subclasses pin `type` with a Literal and type `data`."""

    TOPIC: ClassVar[str]  # where the producing service publishes this type

    id: uuid.UUID = Field(default_factory=uuid.uuid4)
    type: str
    version: int = 1
    source: str
    time: datetime
    subject: str  # the subscription id; also the Kafka message key
    correlation_id: str  # the purchase that started it all
    causation_id: str | None = None  # the event (or request) that caused this one
    data: Any

    def key(self) -> str:
        """The Kafka message key: the subscription id, so its events keep their order."""
        return self.subject

    def to_bytes(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()
