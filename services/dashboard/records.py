"""One record read from a topic, and the event envelope in it.

The dashboard reads the envelope only (shared.events.envelope.Event with any `data`), so
event types it has never heard of still show, with their payload as it was sent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from shared.events.envelope import Event


@dataclass(frozen=True)
class TopicRecord:
    topic: str
    partition: int
    offset: int
    timestamp_ms: int  # when the broker got it (CreateTime): the clock of rates and ages
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    @classmethod
    def of(cls, record: Any) -> TopicRecord:
        """From an aiokafka ConsumerRecord."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            timestamp_ms=record.timestamp,
            key=record.key,
            value=record.value or b"",
            headers={k: (v or b"").decode(errors="replace") for k, v in record.headers},
        )


@dataclass(frozen=True)
class SeenEvent:
    """An event as the dashboard keeps it: where it was, its envelope, its raw payload."""

    topic: str
    partition: int
    offset: int
    recorded_ms: int
    event_id: str
    type: str
    occurred_at: datetime
    subject: str
    correlation_id: str
    causation_id: str | None
    payload: Any

    @property
    def order(self) -> tuple[datetime, str, int, int]:
        """As they happened: occurredAt, then topic, partition and offset."""
        return (self.occurred_at, self.topic, self.partition, self.offset)

    def to_wire(self, *, with_subscription: bool = False) -> dict[str, Any]:
        """The timeline's item; `with_subscription` adds the subject (a correlation's
        timeline spans several subscriptions)."""
        extra = {"subscriptionId": self.subject} if with_subscription else {}
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "type": self.type,
            "eventId": self.event_id,
            "occurredAt": self.occurred_at.isoformat(),
            "correlationId": self.correlation_id,
            "causationId": self.causation_id,
            "payload": self.payload,
            **extra,
        }


def decode_event(record: TopicRecord) -> SeenEvent | None:
    """The envelope of `record`, or None when it holds none (not JSON, fields missing)."""
    try:
        body = json.loads(record.value)
        if not isinstance(body, dict):
            return None
        envelope = Event.model_validate(body)
    except (ValueError, ValidationError):
        return None
    occurred = envelope.time if envelope.time.tzinfo else envelope.time.replace(tzinfo=UTC)
    return SeenEvent(
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        recorded_ms=record.timestamp_ms,
        event_id=str(envelope.id),
        type=envelope.type,
        occurred_at=occurred,
        subject=envelope.subject,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        payload=body.get("data"),
    )
