"""Provisioning on the real broker: the running service, a purchase producer, a topic reader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.provisioning.bootstrap import build_app
from services.provisioning.settings import ProvisioningSettings
from shared.catalog import Catalog
from shared.events import provisioning as facts
from shared.events.envelope import Event
from shared.events.registry import EventRegistry
from shared.events.topics import ORDERING_SUBSCRIPTIONS, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from tests.support.topics import read_records

_OUT = EventRegistry(
    facts.ActivationLinkIssued,
    facts.LicensesAssigned,
    facts.ActivationCompleted,
    facts.QuantityChangeAccepted,
    facts.QuantityChangeRejected,
    facts.SubscriptionSuspended,
    facts.SubscriptionReinstated,
    facts.SubscriptionCancelled,
    facts.CancellationScheduled,
    facts.SubscriptionRenewed,
    facts.SubscriptionExpired,
)


@dataclass
class RunningProvisioning:
    app: FastAPI
    runtime: ServiceRuntime
    http: httpx.AsyncClient
    consumer: EventConsumer
    producer: KafkaBroker

    async def publish_purchase(self, event: Event) -> None:
        """Any event of ordering's (a purchase or a later request), keyed as ordering does."""
        await self.producer.publish(
            event.to_bytes(),
            topic=ORDERING_SUBSCRIPTIONS,
            key=event.subject.encode(),
        )

    async def outbox_flushed(self) -> bool:
        return await self.runtime.store.pending_outbox() == 0


@asynccontextmanager
async def running_provisioning(
    bootstrap: str, data_dir: Path, catalog: Catalog | None = None
) -> AsyncIterator[RunningProvisioning]:
    """The real app (SQLite store in `data_dir`, wall clock) started as serving starts it
    (its lifespan: runtime and due work, every 0.2 s here)."""
    settings = ProvisioningSettings(
        kafka_bootstrap_servers=bootstrap,
        csp_data_dir=data_dir,
        csp_due_work_interval_seconds=0.2,
    )
    app = build_app(settings, catalog=catalog)
    runtime: ServiceRuntime = app.state.runtime
    producer = make_broker(bootstrap, client_id="provisioning-test-producer")
    async with app.router.lifespan_context(app):
        await producer.start()
        try:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                (consumer,) = runtime.consumers
                yield RunningProvisioning(app, runtime, http, consumer, producer)
        finally:
            await producer.stop()


async def read_output(
    bootstrap: str, subject: str, *, at_least: int, timeout: float = 30.0
) -> list[Event]:
    """This subscription's events on provisioning.subscriptions, read to the end."""
    records = await read_records(
        bootstrap,
        PROVISIONING_SUBSCRIPTIONS,
        at_least=at_least,
        timeout=timeout,
        where=lambda record: record.key == subject.encode(),
    )
    return [_OUT.decode(record.value) for record in records]
