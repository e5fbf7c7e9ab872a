"""How an event becomes an outbox row: the bytes and headers exactly as they go out."""

from __future__ import annotations

from shared.events.envelope import Event
from shared.store.port import OutboxMessage


def outbox_message(event: Event) -> OutboxMessage:
    return OutboxMessage(
        topic=event.TOPIC,
        key=event.subject,
        payload=event.to_bytes(),
        headers={
            "content-type": "application/json",
            "ce-type": event.type,
            "ce-id": str(event.id),
            "correlation-id": event.correlation_id,
        },
    )
