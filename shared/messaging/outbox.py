"""How an event becomes an outbox row: the bytes and headers exactly as they go out.

The value is the whole envelope as JSON (its schema: the producer's AsyncAPI document).
The headers repeat what a reader needs without parsing it: type, id, source, time,
version, correlation and (when there is one) causation id.
"""

from __future__ import annotations

from shared.events.envelope import Event
from shared.store.port import OutboxMessage


def outbox_message(event: Event) -> OutboxMessage:
    headers = {
        "content-type": "application/json",
        "ce-type": event.type,
        "ce-id": str(event.id),
        "ce-source": event.source,
        "ce-time": event.time.isoformat(),
        "event-version": str(event.version),
        "correlation-id": event.correlation_id,
        # Where FastStream reads a message's correlation id (and where the AsyncAPI
        # document says it is); without it FastStream would put a random one there.
        "correlation_id": event.correlation_id,
    }
    if event.causation_id is not None:
        headers["causation-id"] = event.causation_id
    return OutboxMessage(
        topic=event.TOPIC, key=event.key(), payload=event.to_bytes(), headers=headers
    )
