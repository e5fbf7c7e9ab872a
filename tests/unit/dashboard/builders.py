"""Records as the dashboard reads them off the topics, without a broker: each topic an
append-only list of positions, each event in the real envelope (shared.events)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from services.dashboard.records import TopicRecord
from services.dashboard.view import PipelineView
from shared.events.envelope import Event
from shared.events.topics import (
    BILLING_LEDGER,
    ORDERING_SUBSCRIPTIONS,
    PROVISIONING_SUBSCRIPTIONS,
)
from shared.messaging.dead_letters import dead_letter_headers

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)

TOPIC_OF = {
    "SubscriptionPurchased": ORDERING_SUBSCRIPTIONS,
    "QuantityChangeRequested": ORDERING_SUBSCRIPTIONS,
    "CancellationRequested": ORDERING_SUBSCRIPTIONS,
    "ActivationLinkIssued": PROVISIONING_SUBSCRIPTIONS,
    "LicensesAssigned": PROVISIONING_SUBSCRIPTIONS,
    "ActivationCompleted": PROVISIONING_SUBSCRIPTIONS,
    "SubscriptionCancelled": PROVISIONING_SUBSCRIPTIONS,
    "SubscriptionExpired": PROVISIONING_SUBSCRIPTIONS,
    "ChargePosted": BILLING_LEDGER,
    "InvoiceIssued": BILLING_LEDGER,
}
FLOW = (
    "SubscriptionPurchased",
    "ActivationLinkIssued",
    "LicensesAssigned",
    "ActivationCompleted",
    "ChargePosted",
)


def envelope(
    event_type: str,
    subscription_id: str,
    *,
    at: datetime = T0,
    correlation_id: str = "corr-1",
    causation_id: str | None = None,
    event_id: uuid.UUID | None = None,
    data: dict[str, Any] | None = None,
) -> Event:
    return Event(
        id=event_id or uuid.uuid4(),
        type=event_type,
        source=TOPIC_OF.get(event_type, "ordering.x").split(".")[0],
        time=at,
        subject=subscription_id,
        correlation_id=correlation_id,
        causation_id=causation_id,
        data=data if data is not None else {"subscriptionId": subscription_id},
    )


class Topics:
    """Appends to topics (one partition each unless told) and hands the records to a view."""

    def __init__(self, view: PipelineView | None = None) -> None:
        self.view = view if view is not None else PipelineView()
        self._next: dict[tuple[str, int], int] = defaultdict(int)
        self.records: list[TopicRecord] = []

    def append(
        self,
        topic: str,
        value: bytes,
        *,
        at_ms: int = T0_MS,
        partition: int = 0,
        key: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> TopicRecord:
        offset = self._next[(topic, partition)]
        self._next[(topic, partition)] += 1
        record = TopicRecord(topic, partition, offset, at_ms, key, value, headers or {})
        self.records.append(record)
        self.view.add(record)
        return record

    def publish(self, event: Event, *, at_ms: int | None = None, topic: str | None = None) -> Event:
        """The event on its topic, recorded by the broker at `at_ms` (default: its time)."""
        recorded = at_ms if at_ms is not None else int(event.time.timestamp() * 1000)
        self.append(
            topic or TOPIC_OF[event.type],
            event.to_bytes(),
            at_ms=recorded,
            key=event.subject.encode(),
        )
        return event

    def flow(
        self, subscription_id: str, stages: int, *, start: datetime = T0, step_s: float = 1
    ) -> list[Event]:
        """The first `stages` events of the happy path, `step_s` apart."""
        return [
            self.publish(envelope(kind, subscription_id, at=start + timedelta(seconds=step_s * i)))
            for i, kind in enumerate(FLOW[:stages])
        ]

    def dead_letter(
        self, topic: str, payload: bytes, error: Exception, *, consumer: str, at_ms: int = T0_MS
    ) -> TopicRecord:
        headers = dead_letter_headers(
            {"ce-type": "ChargePosted"},
            error,
            topic=topic,
            consumer=consumer,
            partition=0,
            offset=7,
        )
        return self.append(f"{topic}.dlq", payload, at_ms=at_ms, headers=headers)
