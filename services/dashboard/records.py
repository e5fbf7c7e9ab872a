"""One record read from a topic, and the event envelope in it.

The dashboard reads the envelope only (shared.events.envelope.Event with any `data`), so
event types it has never heard of still show, with their payload as it was sent.
"""

from __future__ import annotations

import json
import sys
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


# An event whose record is larger than this keeps no payload (a note of its size instead):
# one oversized record must not cost what a thousand ordinary ones do. DashboardSettings
# passes CSP_DASHBOARD_MAX_PAYLOAD_BYTES.
MAX_PAYLOAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class SeenEvent:
    """An event as the dashboard keeps it: where it was, its envelope, and the record's
    bytes (the payload is parsed from them when asked for: a parsed payload costs about
    three times its bytes, and most are never looked at).

    Slots and shared strings (topic, type, subject and correlation id are interned) keep
    one event at about its record's size plus ~0.5 KB."""

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
    raw: bytes  # the record's value; b"" when it was over the payload limit
    raw_size: int = 0  # the record's size in bytes

    @property
    def payload(self) -> Any:
        """The envelope's `data` as sent (parsed now), or a note when it was not kept."""
        if not self.raw and self.raw_size:
            return f"(payload not kept: the record is {self.raw_size} bytes, over the dashboard's limit)"
        try:
            body = json.loads(self.raw)
        except ValueError:  # cannot happen: it was parsed once to be taken
            return None
        return body.get("data") if isinstance(body, dict) else None

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


def decode_event(
    record: TopicRecord, *, max_payload_bytes: int = MAX_PAYLOAD_BYTES
) -> SeenEvent | None:
    """The envelope of `record`, or None when it holds none (not JSON, fields missing)."""
    try:
        body = json.loads(record.value)
        if not isinstance(body, dict):
            return None
        envelope = Event.model_validate(body)
    except (ValueError, ValidationError):
        return None
    occurred = envelope.time if envelope.time.tzinfo else envelope.time.replace(tzinfo=UTC)
    size = len(record.value)
    return SeenEvent(
        topic=sys.intern(record.topic),
        partition=record.partition,
        offset=record.offset,
        recorded_ms=record.timestamp_ms,
        event_id=str(envelope.id),
        type=sys.intern(envelope.type),
        occurred_at=occurred,
        subject=sys.intern(envelope.subject),
        correlation_id=sys.intern(envelope.correlation_id),
        causation_id=envelope.causation_id,
        raw=bytes(record.value) if size <= max_payload_bytes else b"",
        raw_size=size,
    )
