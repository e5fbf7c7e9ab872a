"""Webhooks to a real HTTP server on 127.0.0.1: the signed payload, what each reply
means, retries with backoff in business time, and one subscription's webhooks in order.
Business time moves only through the FixedClock; the due work is called directly."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from datetime import timedelta

import pytest

from services.provisioning.domain.operations import MAX_ATTEMPTS
from services.provisioning.settings import ProvisioningSettings
from shared.events import ordering as asks
from shared.events import provisioning as facts
from shared.messaging.embedded_broker import free_port
from tests.unit.provisioning.support import (
    API,
    CATALOG,
    SUBS,
    T0,
    Harness,
    catalog_with,
    publisher_headers,
    request,
)
from tests.unit.provisioning.webhook_receiver import WebhookReceiver

SECRET = CATALOG.publisher("contoso").webhook_secret  # type: ignore[union-attr]


@pytest.fixture(scope="module")
def server() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as running:
        yield running


@pytest.fixture
def receiver(server: WebhookReceiver) -> Iterator[WebhookReceiver]:
    server.reset()
    yield server
    server.reset()


def harness(url: str, **settings: object) -> Harness:
    """Webhooks through the real HTTP sender to `url`."""
    return Harness(
        catalog=catalog_with(webhook_url=url),
        webhooks=None,
        settings=ProvisioningSettings(**settings),  # type: ignore[arg-type]
    )


async def test_the_payload_is_the_operation_and_the_subscription_signed_with_the_secret(
    receiver: WebhookReceiver,
) -> None:
    h = harness(receiver.url)
    sid = await h.activated()
    ask = request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5)
    await h.deliver(ask)

    await h.due("webhook_deliveries")

    (received,) = receiver.received
    expected = hmac.new(SECRET.encode(), received.raw, hashlib.sha256).hexdigest()
    assert received.headers["x-csp-signature"] == expected
    assert received.headers["content-type"] == "application/json"
    body = received.body
    view = await h.client.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())
    operation = await h.client.get(
        f"{SUBS}/{sid}/operations/{ask.data.operation_id}{API}", headers=publisher_headers()
    )
    assert list(body) == [
        "id",
        "activityId",
        "subscriptionId",
        "publisherId",
        "offerId",
        "planId",
        "quantity",
        "timeStamp",
        "action",
        "status",
        "operationRequestSource",
        "subscription",
    ]
    assert {k: v for k, v in body.items() if k in operation.json()} == operation.json()
    assert (body["action"], body["status"], body["quantity"]) == ("ChangeQuantity", "InProgress", 8)
    assert body["operationRequestSource"] == "Partner"
    assert body["subscription"] == view.json()  # as the publisher's GET shows it: 5 seats
    assert body["subscription"]["quantity"] == 5
    stored = await h.operation(ask.data.operation_id)
    assert stored is not None
    assert (stored.delivery_state, stored.delivery_attempts, stored.last_error) == (
        "delivered",
        1,
        None,
    )
    assert await h.events() == []  # a 2xx reply decides nothing


async def test_a_4xx_reply_rejects_the_seat_change_and_is_not_retried(
    receiver: WebhookReceiver,
) -> None:
    receiver.answer(409)
    h = harness(receiver.url)
    sid = await h.activated()
    ask = request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5)
    await h.deliver(ask)

    await h.due("webhook_deliveries")
    h.clock.advance(timedelta(minutes=10))
    await h.due()

    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeRejected)
    assert fact.data.reason == "rejected by the publisher's webhook (HTTP 409)"
    assert len(receiver.received) == 1
    stored = await h.operation(ask.data.operation_id)
    assert stored is not None
    assert (stored.status, stored.delivery_state, stored.last_error) == (
        "Failed",
        "rejected",
        "HTTP 409",
    )


async def test_5xx_replies_are_retried_with_backoff_then_given_up_after_8_attempts(
    receiver: WebhookReceiver,
) -> None:
    receiver.answer(503)
    h = harness(receiver.url)
    sid = await h.activated()
    ask = request(asks.SuspensionRequested, sid)
    await h.deliver(ask)

    # Attempts at 0 s, then 2, 4, 8, ... seconds after each failure (business time).
    schedule = [0, 2, 6, 14, 30, 62, 126, 254]
    assert len(schedule) == MAX_ATTEMPTS
    for attempt, offset in enumerate(schedule, start=1):
        if offset:
            h.clock.at = T0 + timedelta(seconds=offset - 1)
            await h.due("webhook_deliveries")
            assert len(receiver.received) == attempt - 1, f"attempt {attempt} came early"
        h.clock.at = T0 + timedelta(seconds=offset)
        await h.due("webhook_deliveries")
        assert len(receiver.received) == attempt, f"attempt {attempt} did not come"

    h.clock.advance(timedelta(hours=1))
    await h.due("webhook_deliveries")
    assert len(receiver.received) == MAX_ATTEMPTS
    stored = await h.operation(ask.data.operation_id)
    assert stored is not None
    assert (stored.delivery_state, stored.delivery_attempts, stored.last_error) == (
        "gaveUp",
        8,
        "HTTP 503",
    )
    assert stored.status == "Succeeded"  # the suspension happened whatever the webhook


async def test_a_later_webhook_waits_while_an_earlier_one_is_retried(
    receiver: WebhookReceiver,
) -> None:
    h = harness(receiver.url)
    sid = await h.activated()
    other = await h.activated()
    await h.deliver(request(asks.SuspensionRequested, sid))
    await h.deliver(request(asks.ReinstatementRequested, sid))
    await h.deliver(request(asks.SuspensionRequested, other))
    receiver.answer_for(sid, 500, 200)  # sid's first POST fails, its later ones succeed

    await h.due("webhook_deliveries")  # sid's Suspend fails; other's goes through
    h.clock.advance(timedelta(seconds=1))
    await h.due("webhook_deliveries")  # sid's Reinstate waits behind its Suspend
    sent = [(r.body["subscriptionId"], r.body["action"], r.answered) for r in receiver.received]
    assert sorted(sent) == sorted([(sid, "Suspend", 500), (other, "Suspend", 200)])

    h.clock.advance(timedelta(seconds=1))
    await h.due("webhook_deliveries")  # the retry
    await h.due("webhook_deliveries")  # then the next one
    ours = [
        (r.body["action"], r.answered) for r in receiver.received if r.body["subscriptionId"] == sid
    ]
    assert ours == [("Suspend", 500), ("Suspend", 200), ("Reinstate", 200)]


async def test_no_connection_is_a_failed_attempt_retried_later() -> None:
    h = harness(f"http://127.0.0.1:{free_port()}/webhook")  # nobody listens there
    sid = await h.activated()
    ask = request(asks.SuspensionRequested, sid)
    await h.deliver(ask)

    await h.due("webhook_deliveries")

    stored = await h.operation(ask.data.operation_id)
    assert stored is not None
    assert (stored.delivery_state, stored.delivery_attempts) == ("pending", 1)
    assert stored.next_attempt_at == T0 + timedelta(seconds=2)
    assert stored.last_error is not None and "Connect" in stored.last_error


async def test_a_reply_slower_than_the_timeout_is_a_failed_attempt(
    receiver: WebhookReceiver,
) -> None:
    receiver.delay_seconds = 1.0
    h = harness(receiver.url, csp_webhook_timeout_seconds=0.2)
    sid = await h.activated()
    ask = request(asks.SuspensionRequested, sid)
    await h.deliver(ask)

    await h.due("webhook_deliveries")

    stored = await h.operation(ask.data.operation_id)
    assert stored is not None
    assert (stored.delivery_state, stored.delivery_attempts) == ("pending", 1)
    assert stored.last_error is not None and stored.last_error.startswith("timed out")
