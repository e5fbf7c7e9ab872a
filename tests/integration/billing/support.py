"""Helpers for billing's real-broker tests: a running service, a producer, a ledger reader."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.billing.bootstrap import build_app
from services.billing.settings import BillingSettings
from shared.events.billing import ChargePosted, CreditNoteIssued, InvoiceIssued
from shared.events.envelope import Event
from shared.events.registry import EventRegistry
from shared.events.topics import BILLING_LEDGER, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from tests.support.topics import read_records


class Publish:
    """Put raw event bytes on provisioning.subscriptions, keyed by the subscription."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def __call__(self, event: Event, raw: bytes | None = None) -> None:
        await self._broker.publish(
            raw if raw is not None else event.to_bytes(),
            topic=PROVISIONING_SUBSCRIPTIONS,
            key=event.subject.encode(),
        )


@dataclass
class RunningBilling:
    app: FastAPI
    http: httpx.AsyncClient
    consumer: EventConsumer
    publish: Publish


@asynccontextmanager
async def running_billing(bootstrap: str, data_dir: Path) -> AsyncIterator[RunningBilling]:
    """The billing runtime (SQLite store, real broker) plus an HTTP client and a producer."""
    app = build_app(BillingSettings(kafka_bootstrap_servers=bootstrap, csp_data_dir=data_dir))
    runtime = app.state.runtime
    producer = make_broker(bootstrap, client_id="billing-test-producer")
    await runtime.start()
    try:
        await producer.start()
        try:
            transport = httpx.ASGITransport(app=app)  # the runtime runs; the lifespan does not
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
                [consumer] = runtime.consumers
                yield RunningBilling(app, http, consumer, Publish(producer))
        finally:
            await producer.stop()
    finally:
        await runtime.stop()


_LEDGER_EVENTS = EventRegistry(ChargePosted, InvoiceIssued, CreditNoteIssued)


async def read_ledger(bootstrap: str, *, at_least: int, timeout: float = 30.0) -> list[Event]:
    """Every event on billing.ledger, read to the end once `at_least` have arrived."""
    records = await read_records(bootstrap, BILLING_LEDGER, at_least=at_least, timeout=timeout)
    return [_LEDGER_EVENTS.decode(record.value) for record in records]
