"""Emit an event from inside a unit of work: it is published only if the work commits."""

from __future__ import annotations

from shared.events.envelope import Event
from shared.store.port import OutboxMessage, UnitOfWork


def emit(uow: UnitOfWork, event: Event) -> None:
    uow.add_outbox(
        OutboxMessage(
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
    )
