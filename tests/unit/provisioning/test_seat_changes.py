"""Seats: the publisher in the loop (docs/subscription-lifecycle.md). It answers by
PATCHing the operation, or by rejecting the webhook, or says nothing until the
acceptance deadline; the operation's API shows where it stands."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from services.provisioning.domain.operations import DeliveryAttempt
from shared.events import ordering as asks
from shared.events import provisioning as facts
from tests.unit.provisioning.support import (
    API,
    SUBS,
    T0,
    Harness,
    catalog_with,
    publisher_headers,
    request,
)

DEADLINE = T0 + timedelta(seconds=10)  # the default acceptance timeout, PT10S


async def seat_change(h: Harness, quantity: int = 8) -> tuple[str, str]:
    """An active subscription of 5 seats with a change to `quantity` waiting; (sid, op id)."""
    sid = await h.activated()
    ask = request(asks.QuantityChangeRequested, sid, quantity=quantity, previous_quantity=5)
    assert await h.deliver(ask) == "handled"
    return sid, ask.data.operation_id


async def answer(
    h: Harness, sid: str, operation_id: str, body: Any, publisher: str = "contoso"
) -> httpx.Response:
    return await h.client.patch(
        f"{SUBS}/{sid}/operations/{operation_id}{API}",
        headers=publisher_headers(publisher),
        json=body,
    )


async def get_operation(h: Harness, sid: str, operation_id: str) -> httpx.Response:
    return await h.client.get(
        f"{SUBS}/{sid}/operations/{operation_id}{API}", headers=publisher_headers()
    )


# --- silence ---


@pytest.mark.parametrize(
    ("after_deadline", "accepted"),
    [(timedelta(seconds=-1), False), (timedelta(0), True), (timedelta(seconds=1), True)],
)
async def test_silence_accepts_from_the_deadline_on(
    after_deadline: timedelta, accepted: bool
) -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)
    await h.due("webhook_deliveries")  # a 2xx reply is not an answer
    h.clock.at = DEADLINE + after_deadline

    await h.due("acceptance_timeouts")

    events = await h.events()
    stored = await h.stored(sid)
    operation = await h.operation(operation_id)
    assert stored is not None and operation is not None
    if not accepted:
        assert events == []
        assert (operation.status, stored.quantity) == ("InProgress", 5)
        return
    (fact,) = events
    assert isinstance(fact, facts.QuantityChangeAccepted)
    assert fact.data.model_dump() == {
        "subscription_id": sid,
        "operation_id": operation_id,
        "quantity": 8,
        "previous_quantity": 5,
        "accepted_at": DEADLINE,  # silence answered at the deadline
        "accepted_by": "timeout",
    }
    assert (operation.status, operation.decided_at, stored.quantity) == (
        "Succeeded",
        DEADLINE,
        8,
    )


async def test_the_offers_acceptance_timeout_sets_the_deadline() -> None:
    h = Harness(catalog=catalog_with(acceptance_timeout="PT60S"))
    _, operation_id = await seat_change(h)

    operation = await h.operation(operation_id)
    assert operation is not None and operation.acceptance_deadline == T0 + timedelta(seconds=60)


async def test_silence_is_accepted_once_however_often_the_due_work_runs() -> None:
    h = Harness()
    await seat_change(h)
    h.clock.at = DEADLINE + timedelta(seconds=5)

    await h.due()
    await h.due()

    assert [type(e) for e in await h.events()] == [facts.QuantityChangeAccepted]


async def test_a_4xx_reply_to_the_webhook_rejects_the_change() -> None:
    h = Harness()
    h.recorded.answers = [DeliveryAttempt("rejected", "HTTP 400")]
    sid, operation_id = await seat_change(h)

    await h.due("webhook_deliveries")
    h.clock.at = DEADLINE + timedelta(seconds=1)
    await h.due("acceptance_timeouts")

    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeRejected)
    assert fact.data.reason == "rejected by the publisher's webhook (HTTP 400)"
    assert (fact.data.quantity, fact.data.current_quantity, fact.data.rejected_at) == (8, 5, T0)
    operation = await h.operation(operation_id)
    assert operation is not None
    assert (operation.status, operation.delivery_state) == ("Failed", "rejected")


# --- the publisher's PATCH ---


async def test_success_accepts_the_change_and_applies_the_quantity() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)
    h.clock.advance(timedelta(seconds=3))

    r = await answer(h, sid, operation_id, {"status": "Success", "quantity": 8})

    assert (r.status_code, r.content) == (200, b"")
    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeAccepted)
    assert (fact.data.accepted_by, fact.data.accepted_at) == (
        "publisher",
        T0 + timedelta(seconds=3),
    )
    assert (fact.data.quantity, fact.data.previous_quantity) == (8, 5)
    got = await h.client.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())
    assert got.json()["quantity"] == 8
    assert (await get_operation(h, sid, operation_id)).json()["status"] == "Succeeded"
    # Decided: neither another answer nor the deadline changes it.
    again = await answer(h, sid, operation_id, {"status": "Failure"})
    assert again.status_code == 409
    assert "Succeeded" in again.json()["error"]["message"]
    h.clock.at = DEADLINE + timedelta(seconds=1)
    await h.due("acceptance_timeouts")
    assert await h.events() == []


async def test_failure_rejects_the_change() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)

    r = await answer(h, sid, operation_id, {"status": "Failure"})

    assert r.status_code == 200
    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeRejected)
    assert (fact.data.reason, fact.data.current_quantity) == ("rejected by the publisher", 5)
    assert (await get_operation(h, sid, operation_id)).json()["status"] == "Failed"
    stored = await h.stored(sid)
    assert stored is not None and stored.quantity == 5


async def test_an_operation_that_needs_no_answer_is_a_conflict() -> None:
    h = Harness()
    sid = await h.activated()
    suspend = request(asks.SuspensionRequested, sid)
    await h.deliver(suspend)
    await h.events()

    r = await answer(h, sid, suspend.data.operation_id, {"status": "Success"})

    assert r.status_code == 409
    assert await h.events() == []


async def test_an_unknown_operation_or_another_subscriptions_is_not_found() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)
    other = await h.activated()

    unknown = await answer(h, sid, str(uuid.uuid4()), {"status": "Success"})
    elsewhere = await answer(h, other, operation_id, {"status": "Success"})
    unknown_get = await get_operation(h, sid, str(uuid.uuid4()))
    elsewhere_get = await get_operation(h, other, operation_id)

    assert [r.status_code for r in (unknown, elsewhere, unknown_get, elsewhere_get)] == [404] * 4
    assert elsewhere.json()["error"]["target"] == "operationId"
    operation = await h.operation(operation_id)
    assert operation is not None and operation.status == "InProgress"


async def test_another_publishers_subscription_is_forbidden() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)

    patched = await answer(h, sid, operation_id, {"status": "Success"}, publisher="fabrikam")
    got = await h.client.get(
        f"{SUBS}/{sid}/operations/{operation_id}{API}", headers=publisher_headers("fabrikam")
    )
    listed = await h.client.get(
        f"{SUBS}/{sid}/operations{API}", headers=publisher_headers("fabrikam")
    )

    assert (patched.status_code, got.status_code, listed.status_code) == (403, 403, 403)
    assert await h.events() == []


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({}, "status"),
        ({"status": "Succeeded"}, "status"),
        ({"status": None}, "status"),
        ({"quantity": 8}, "status"),
        ({"status": "Success", "quantity": 7}, "quantity"),
        ({"status": "Success", "quantity": "many"}, "quantity"),
        ({"status": "Success", "planId": "premium"}, "planId"),
        ([], "body"),
    ],
)
async def test_a_bad_answer_is_a_400_naming_the_field_and_decides_nothing(
    body: Any, target: str
) -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)

    r = await answer(h, sid, operation_id, body)

    assert r.status_code == 400, r.text
    assert r.json()["error"]["target"] == target
    assert await h.events() == []
    operation = await h.operation(operation_id)
    assert operation is not None and operation.status == "InProgress"


async def test_a_body_that_is_not_json_is_a_400() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)

    r = await h.client.patch(
        f"{SUBS}/{sid}/operations/{operation_id}{API}",
        headers={**publisher_headers(), "Content-Type": "application/json"},
        content=b"{status",
    )

    assert r.status_code == 400


async def test_the_answer_matches_the_plan_and_quantity_of_the_operation() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h, quantity=3)

    r = await answer(
        h, sid, operation_id, {"status": "Success", "planId": "standard", "quantity": 3}
    )

    assert r.status_code == 200
    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeAccepted) and fact.data.quantity == 3


# --- the operations API ---


async def test_operations_are_listed_newest_first_decided_ones_included() -> None:
    h = Harness()
    sid, change = await seat_change(h)
    await answer(h, sid, change, {"status": "Success"})
    h.clock.advance(timedelta(minutes=1))
    suspend = request(asks.SuspensionRequested, sid)
    await h.deliver(suspend)

    r = await h.client.get(f"{SUBS}/{sid}/operations{API}", headers=publisher_headers())

    assert r.status_code == 200
    listed = r.json()["operations"]
    assert [(o["id"], o["action"], o["status"]) for o in listed] == [
        (suspend.data.operation_id, "Suspend", "Succeeded"),
        (change, "ChangeQuantity", "Succeeded"),
    ]
    assert listed[1] == (await get_operation(h, sid, change)).json()


async def test_an_operation_shows_as_the_spec_names_its_fields() -> None:
    h = Harness()
    sid, operation_id = await seat_change(h)

    r = await get_operation(h, sid, operation_id)

    body = r.json()
    assert set(body) == {
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
    }
    assert (body["id"], body["subscriptionId"], body["publisherId"]) == (
        operation_id,
        sid,
        "contoso",
    )
    assert (body["offerId"], body["planId"], body["quantity"]) == (
        "contoso-crm",
        "standard",
        8,
    )
    assert (body["timeStamp"], body["action"], body["status"]) == (
        "2025-01-31T09:30:00Z",
        "ChangeQuantity",
        "InProgress",
    )
    assert uuid.UUID(body["activityId"])
