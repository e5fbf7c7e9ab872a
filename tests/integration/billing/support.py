"""Helpers for billing's real-broker tests: a running service, a producer, a ledger reader."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI
from faststream.kafka import KafkaBroker

from services.billing.bootstrap import build_app
from shared.events.billing import ChargePosted, InvoiceIssued
from shared.events.envelope import Event
from shared.events.registry import EventRegistry
from shared.events.topics import BILLING_LEDGER, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.settings import Settings


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
    app = build_app(Settings(kafka_bootstrap_servers=bootstrap, csp_data_dir=data_dir))
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


_LEDGER_EVENTS = EventRegistry(ChargePosted, InvoiceIssued)


async def read_ledger(bootstrap: str, *, at_least: int, timeout: float = 30.0) -> list[Event]:
    """Every event on billing.ledger, read to the end once `at_least` have arrived."""
    reader = AIOKafkaConsumer(
        BILLING_LEDGER, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await reader.start()
    try:
        events: list[Event] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            batches = await reader.getmany(timeout_ms=500)
            for records in batches.values():
                events += [_LEDGER_EVENTS.decode(record.value) for record in records]
            if len(events) >= at_least and await _at_end(reader):
                return events
            await asyncio.sleep(0)
        raise AssertionError(f"billing.ledger: wanted {at_least} events, read {len(events)}")
    finally:
        await reader.stop()


async def _at_end(reader: AIOKafkaConsumer) -> bool:
    """Caught up with the fetched high watermark (the broker's ListOffsets is unreliable)."""
    partitions = reader.assignment()
    if not partitions:
        return False
    for tp in partitions:
        high = reader.highwater(tp)
        if high is None or await reader.position(tp) < high:
            return False
    return True
