"""The partner's requests on the real broker, the service's own due work on the wall
clock and its SQLite store, webhooks to a real local server: request in, webhook out,
the publisher's answer, the facts on provisioning.subscriptions."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.events import ordering as asks
from shared.events import provisioning as facts
from tests.integration.provisioning.support import (
    RunningProvisioning,
    read_output,
    running_provisioning,
)
from tests.support.polling import eventually
from tests.unit.provisioning.support import (
    API,
    CATALOG,
    catalog_with,
    publisher_headers,
    purchase,
    request,
)
from tests.unit.provisioning.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.broker
SUBS = "/api/saas/subscriptions"
SECRET = CATALOG.publisher("contoso").webhook_secret  # type: ignore[union-attr]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver().running() as running:
        yield running


async def activated(svc: RunningProvisioning, kafka_bootstrap: str) -> str:
    event = purchase(quantity=3)
    await svc.publish_purchase(event)
    await read_output(kafka_bootstrap, event.subject, at_least=1)
    sid, headers = event.subject, publisher_headers()
    seats = {"assignments": [{"userId": "u1"}]}
    assert (
        await svc.http.put(f"{SUBS}/{sid}/licenses{API}", headers=headers, json=seats)
    ).status_code == 200
    plan = {"planId": "standard", "quantity": 3}
    assert (
        await svc.http.post(f"{SUBS}/{sid}/activate{API}", headers=headers, json=plan)
    ).status_code == 200
    return sid


async def test_a_seat_change_goes_to_the_publisher_and_its_answer_comes_back_as_a_fact(
    kafka_bootstrap: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    catalog = catalog_with(webhook_url=receiver.url, acceptance_timeout="PT5M")
    async with running_provisioning(kafka_bootstrap, tmp_path, catalog) as svc:
        sid = await activated(svc, kafka_bootstrap)
        ask = request(asks.QuantityChangeRequested, sid, quantity=5, previous_quantity=3)
        await svc.publish_purchase(ask)

        await eventually(
            lambda: _received(receiver), lambda n: n >= 1, what="the ChangeQuantity webhook"
        )
        (received,) = receiver.received
        assert received.body["id"] == ask.data.operation_id
        expected = hmac.new(SECRET.encode(), received.raw, hashlib.sha256).hexdigest()
        assert received.headers["x-csp-signature"] == expected
        answered = await svc.http.patch(
            f"{SUBS}/{sid}/operations/{ask.data.operation_id}{API}",
            headers=publisher_headers(),
            json={"status": "Success", "quantity": 5},
        )
        assert answered.status_code == 200, answered.text

        events = await read_output(kafka_bootstrap, sid, at_least=4)
        assert [e.type for e in events] == [
            "ActivationLinkIssued",
            "LicensesAssigned",
            "ActivationCompleted",
            "QuantityChangeAccepted",
        ]
        accepted = events[-1]
        assert isinstance(accepted, facts.QuantityChangeAccepted)
        assert (accepted.data.operation_id, accepted.data.quantity) == (ask.data.operation_id, 5)
        assert accepted.data.accepted_by == "publisher"
        got = await svc.http.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())
        assert got.json()["quantity"] == 5


async def test_suspend_then_reinstate_reach_the_publisher_in_order_once_each(
    kafka_bootstrap: str, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    async with running_provisioning(
        kafka_bootstrap, tmp_path, catalog_with(webhook_url=receiver.url)
    ) as svc:
        sid = await activated(svc, kafka_bootstrap)
        suspend = request(asks.SuspensionRequested, sid)
        await svc.publish_purchase(suspend)
        await svc.publish_purchase(suspend)  # a redelivery
        await svc.publish_purchase(request(asks.ReinstatementRequested, sid))

        await eventually(lambda: _received(receiver), lambda n: n >= 2, what="both webhooks")
        events = await read_output(kafka_bootstrap, sid, at_least=5)
        assert [e.type for e in events][3:] == ["SubscriptionSuspended", "SubscriptionReinstated"]
        assert receiver.actions() == ["Suspend", "Reinstate"]
        listed = await svc.http.get(f"{SUBS}/{sid}/operations{API}", headers=publisher_headers())
        assert [o["action"] for o in listed.json()["operations"]] == ["Reinstate", "Suspend"]


async def _received(receiver: WebhookReceiver) -> int:
    return len(receiver.received)
