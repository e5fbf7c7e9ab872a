"""Ordering's app over a MemoryStore and a FixedClock, driven without its lifespan
(so no broker is needed); its subscription view's consumer fed by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from services.ordering.bootstrap import build_app
from services.ordering.entrypoints.consumers import SUBSCRIPTION_VIEW
from shared.clock import FixedClock
from shared.messaging.consumer import EventConsumer
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    NOW,
    SETTINGS,
    Purchase,
    activation_completed,
    checked_out_order,
    emitted,
    feed,
    new_customer,
)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def store(clock: FixedClock) -> MemoryStore:
    return MemoryStore(clock=clock)


@pytest.fixture
def app(store: MemoryStore, clock: FixedClock) -> FastAPI:
    return build_app(SETTINGS, store=store, clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def dead_letters() -> list[tuple[str, bytes]]:
    return []


@pytest.fixture
def consumer(app: FastAPI, dead_letters: list[tuple[str, bytes]]) -> EventConsumer:
    """The subscription view's consumer (`ordering.subscription-view`) on the app's bus."""

    async def dead_letter(topic: str, payload: bytes, headers: dict[str, str]) -> None:
        dead_letters.append((topic, payload))

    return SUBSCRIPTION_VIEW.consumer(app.state.bus, dead_letter)


@pytest.fixture
async def purchase(client: httpx.AsyncClient, store: MemoryStore) -> Purchase:
    """One pending subscription: Contoso CRM standard, 5 seats, P1Y billed annually
    (refund window P14D), bought at NOW by partner-a."""
    cid = await new_customer(client)
    order = await checked_out_order(client, cid)
    [event] = await emitted(store)
    return Purchase(cid, order["id"], event.subject, event.correlation_id)


@pytest.fixture
async def active(consumer: EventConsumer, purchase: Purchase) -> Purchase:
    """The same subscription, activated by provisioning's ActivationCompleted."""
    outcome = await feed(
        consumer, activation_completed(purchase.subscription_id, purchase.correlation_id)
    )
    assert outcome == ["handled"]
    return purchase
