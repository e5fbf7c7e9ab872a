"""Ordering against the real broker: the outbox relay publishes purchases and the
partner's change requests, and the subscription view follows provisioning's events
(HTTP via ASGITransport while the runtime runs)."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.ordering.bootstrap import build_app
from services.ordering.settings import OrderingSettings
from shared.events.ordering import SubscriptionPurchased
from shared.events.topics import ORDERING_SUBSCRIPTIONS, PROVISIONING_SUBSCRIPTIONS
from shared.messaging.kafka import make_broker
from tests.support.polling import eventually
from tests.support.topics import Record, read_records
from tests.unit.ordering.helpers import (
    COMMITMENT_END_DATE,
    LINK,
    ORDERING_EVENTS,
    SETTINGS,
    TERM_START,
    activation_completed,
    auth,
    line,
    link_issued,
    quantity_accepted,
)

pytestmark = pytest.mark.broker


@asynccontextmanager
async def running_ordering(
    bootstrap: str, data_dir: Path
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = OrderingSettings(
        kafka_bootstrap_servers=bootstrap,
        csp_data_dir=data_dir,
        csp_jwt_secret=SETTINGS.csp_jwt_secret,
    )
    app = build_app(settings)
    runtime = app.state.runtime
    await runtime.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://ordering") as client:
            yield app, client
    finally:
        await runtime.stop()


async def checkout(client: httpx.AsyncClient, *items: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A new customer (unique per test) and its checked-out order."""
    customer = await client.post(
        "/v1/customers", json={"companyName": f"Acme {uuid.uuid4()}"}, headers=auth()
    )
    cid = customer.json()["id"]
    cart = await client.post(
        f"/v1/customers/{cid}/carts", json={"lineItems": list(items)}, headers=auth()
    )
    placed = await client.post(
        f"/v1/customers/{cid}/carts/{cart.json()['id']}/checkout", headers=auth()
    )
    assert placed.status_code == 201, placed.text
    return cid, placed.json()["orders"][0]


async def read_purchases(bootstrap: str, wanted: set[str]) -> list[Record]:
    """Records on ordering.subscriptions whose key is one of `wanted`, from the start."""
    return await read_records(
        bootstrap,
        ORDERING_SUBSCRIPTIONS,
        at_least=len(wanted),
        where=lambda record: record.key is not None and record.key.decode() in wanted,
    )


async def test_checkout_publishes_one_purchase_per_line_through_the_outbox_relay(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_ordering(kafka_bootstrap, tmp_path) as (app, client):
        cid, order = await checkout(
            client, line(), line(offerId="contoso-helpdesk", planId="basic", quantity=2)
        )
        subscription_ids = {li["subscriptionId"] for li in order["lineItems"]}

        records = await read_purchases(kafka_bootstrap, subscription_ids)

        events = [SubscriptionPurchased.model_validate_json(r.value) for r in records]
        assert sorted(e.subject for e in events) == sorted(subscription_ids)
        assert all(r.key.decode() == e.subject for r, e in zip(records, events, strict=True))
        assert {(e.data.customer_id, e.data.order_id) for e in events} == {(cid, order["id"])}
        assert {e.data.currency for e in events} == {"USD", "EUR"}
        # each purchase starts its own correlation (its subscription's), not the request's
        assert len({e.correlation_id for e in events}) == len(events)
        assert all(e.causation_id is None for e in events)
        store = app.state.runtime.store
        await eventually(store.pending_outbox, lambda n: n == 0, what="outbox drained")


async def test_provisioning_events_turn_a_purchase_into_action_needed_then_active(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_ordering(kafka_bootstrap, tmp_path) as (app, client):
        cid, order = await checkout(client, line())
        sid = order["lineItems"][0]["subscriptionId"]
        url = f"/v1/customers/{cid}/subscriptions/{sid}"
        links_url = f"/v1/customers/{cid}/orders/{order['id']}/lineitems/0/activationlinks"
        [view] = app.state.runtime.consumers

        async def subscription() -> dict[str, Any]:
            return dict((await client.get(url, headers=auth())).json())

        producer = make_broker(kafka_bootstrap, client_id="test-provisioning")
        await producer.start()
        try:

            async def publish(raw: bytes, key: str) -> None:
                await producer.publish(raw, topic=PROVISIONING_SUBSCRIPTIONS, key=key.encode())

            ghost = link_issued(f"unknown-{uuid.uuid4()}", "corr")
            await publish(ghost.to_bytes(), ghost.subject)  # not ours: ignored, never blocks
            issued = link_issued(sid, "corr").to_bytes()
            await publish(issued, sid)
            await publish(issued, sid)  # redelivery of the very same event

            pending = await eventually(
                subscription, lambda s: s["actionNeeded"], what="action needed"
            )
            assert (pending["status"], pending["activationLink"]) == ("pending", LINK)
            links = (await client.get(links_url, headers=auth())).json()
            assert links["items"] == [{"lineItemNumber": 0, "link": {"uri": LINK, "method": "GET"}}]

            await publish(activation_completed(sid, "corr", licenses=4).to_bytes(), sid)
            active = await eventually(
                subscription, lambda s: s["status"] == "active", what="active"
            )
        finally:
            await producer.stop()

        assert active["actionNeeded"] is False
        assert active["licensesAssigned"] == 4
        assert active["effectiveStartDate"] == TERM_START.isoformat().replace("+00:00", "Z")
        assert active["commitmentEndDate"] == COMMITMENT_END_DATE  # the day before TERM_END
        assert active["activationLink"] == LINK

        async def stats() -> Counter[str]:
            return view.stats

        # ghost + link + completion handled; the redelivered link skipped by the inbox
        await eventually(stats, lambda s: s["handled"] == 3, what="three events handled")
        assert view.stats["duplicate"] == 1
        assert view.stats["dead_lettered"] == 0


async def test_a_seat_change_is_published_after_its_purchase_and_its_acceptance_followed(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    async with running_ordering(kafka_bootstrap, tmp_path) as (app, client):
        cid, order = await checkout(client, line())
        sid = order["lineItems"][0]["subscriptionId"]
        url = f"/v1/customers/{cid}/subscriptions/{sid}"

        async def subscription() -> dict[str, Any]:
            return dict((await client.get(url, headers=auth())).json())

        producer = make_broker(kafka_bootstrap, client_id="test-provisioning")
        await producer.start()
        try:
            activated = activation_completed(sid, "corr").to_bytes()
            await producer.publish(activated, topic=PROVISIONING_SUBSCRIPTIONS, key=sid.encode())
            await eventually(subscription, lambda s: s["status"] == "active", what="active")

            asked = await client.patch(url, json={"quantity": 8}, headers=auth())
            assert asked.status_code == 200, asked.text
            operation_id = asked.json()["pendingChange"]["operationId"]

            # On the purchase's key, after it: provisioning sees them in this order.
            records = await read_records(
                kafka_bootstrap,
                ORDERING_SUBSCRIPTIONS,
                at_least=2,
                where=lambda record: record.key == sid.encode(),
            )
            events = [ORDERING_EVENTS.decode(r.value) for r in records]
            assert [e.type for e in events] == ["SubscriptionPurchased", "QuantityChangeRequested"]
            assert len({r.partition for r in records}) == 1
            requested = events[1]
            assert (requested.data.operation_id, requested.data.quantity) == (operation_id, 8)
            assert requested.correlation_id == events[0].correlation_id

            accepted = quantity_accepted(sid, "corr", operation_id, 8).to_bytes()
            await producer.publish(accepted, topic=PROVISIONING_SUBSCRIPTIONS, key=sid.encode())
            seen = await eventually(
                subscription, lambda s: s["quantity"] == 8, what="the accepted seats"
            )
        finally:
            await producer.stop()

        assert seen["pendingChange"] is None
        assert (seen["lastChange"]["operationId"], seen["lastChange"]["status"]) == (
            operation_id,
            "accepted",
        )
