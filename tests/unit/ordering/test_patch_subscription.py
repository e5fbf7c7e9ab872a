"""PATCH /v1/customers/{cid}/subscriptions/{sid} through the app: the answer, the
request events in the outbox, and the 400 / 403 / 404 / 409 refusals (which change
nothing and emit nothing)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.clock import FixedClock
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    NOW,
    Purchase,
    auth,
    checked_out_order,
    emitted,
    new_customer,
    publisher_auth,
    view,
)

WINDOW = timedelta(days=14)  # the purchase's refund window: annual billing, P14D


async def patch(
    client: httpx.AsyncClient, p: Purchase, body: Any, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.patch(p.url, json=body, headers=headers or auth())


async def requests_emitted(store: MemoryStore) -> list[Any]:
    """The outbox after the purchase: the change requests, oldest first."""
    events = await emitted(store)
    assert events[0].type == "SubscriptionPurchased"
    return events[1:]


async def test_details_change_at_once_answering_the_subscription_as_get_shows_it(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    response = await patch(
        client,
        active,
        {"friendlyName": " Sales team ", "partnerId": "1234567", "autoRenewEnabled": False},
        auth(roles=["AdminAgent"], sub="bob"),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body == await view(client, active)
    assert (body["friendlyName"], body["partnerId"], body["autoRenewEnabled"]) == (
        "Sales team",
        "1234567",
        False,
    )
    assert (body["status"], body["pendingChange"], body["lastChange"]) == ("active", None, None)

    [event] = await requests_emitted(store)
    assert (event.type, event.subject, event.correlation_id, event.causation_id) == (
        "SubscriptionDetailsChanged",
        active.subscription_id,
        active.correlation_id,  # the purchase's, like every event about it
        None,
    )
    assert event.data.to_wire() == {
        "subscriptionId": active.subscription_id,
        "operationId": event.data.operation_id,
        "requestedBy": "bob",
        "requestedAt": "2030-01-31T12:00:00Z",
        "friendlyName": "Sales team",
        "resellerMpnId": "1234567",
        "autoRenewEnabled": False,
    }
    assert uuid.UUID(event.data.operation_id).version == 4


async def test_a_null_partner_id_clears_the_indirect_reseller(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    await patch(client, active, {"partnerId": "4711"})
    cleared = await patch(client, active, {"partnerId": None})

    assert cleared.status_code == 200
    assert cleared.json()["partnerId"] is None
    assert [e.data.reseller_mpn_id for e in await requests_emitted(store)] == ["4711", None]


async def test_a_seat_change_is_pending_until_the_publisher_answers(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    response = await patch(client, active, {"quantity": 8})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["quantity"] == 5
    operation_id = body["pendingChange"]["operationId"]
    assert body["pendingChange"] == {"quantity": 8, "operationId": operation_id}
    [event] = await requests_emitted(store)
    assert event.type == "QuantityChangeRequested"
    assert (event.data.operation_id, event.data.quantity, event.data.previous_quantity) == (
        operation_id,
        8,
        5,
    )

    second = await patch(client, active, {"quantity": 9})
    assert second.status_code == 409
    error = second.json()["error"]
    assert (error["code"], error["target"]) == ("Conflict", "quantity")
    assert "pending" in error["message"]


async def test_suspend_then_reactivate(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    suspended = await patch(client, active, {"status": "suspended"})
    assert (suspended.status_code, suspended.json()["status"]) == (200, "suspended")
    assert (await patch(client, active, {"quantity": 6})).status_code == 409  # not active

    reactivated = await patch(client, active, {"status": "active"})
    assert (reactivated.status_code, reactivated.json()["status"]) == (200, "active")
    events = await requests_emitted(store)
    assert [e.type for e in events] == ["SuspensionRequested", "ReinstatementRequested"]
    assert events[0].data.operation_id != events[1].data.operation_id


async def test_cancelling_inside_the_refund_window_deletes_it_now(
    client: httpx.AsyncClient, store: MemoryStore, clock: FixedClock, active: Purchase
) -> None:
    clock.advance(WINDOW - timedelta(seconds=1))

    response = await patch(client, active, {"status": "deleted"})

    assert (response.status_code, response.json()["status"]) == (200, "deleted")
    [event] = await requests_emitted(store)
    assert (event.type, event.data.immediate) == ("CancellationRequested", True)
    listed = await client.get(
        f"/v1/customers/{active.customer_id}/subscriptions?status=deleted", headers=auth()
    )
    assert [s["id"] for s in listed.json()["items"]] == [active.subscription_id]
    assert (await patch(client, active, {"quantity": 4})).status_code == 409  # deleted
    renamed = await patch(client, active, {"friendlyName": "Gone"})
    assert renamed.status_code == 200  # a deleted subscription keeps taking its nickname


async def test_cancelling_from_the_windows_end_on_is_scheduled_for_term_end(
    client: httpx.AsyncClient, store: MemoryStore, clock: FixedClock, active: Purchase
) -> None:
    clock.advance(WINDOW)

    response = await patch(client, active, {"status": "deleted"})

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["autoRenewEnabled"]) == ("active", False)
    [event] = await requests_emitted(store)
    assert (event.type, event.data.immediate) == ("CancellationRequested", False)
    assert event.data.requested_at == NOW + WINDOW


async def test_a_pending_subscription_is_cancelled_at_once(
    client: httpx.AsyncClient, store: MemoryStore, clock: FixedClock, purchase: Purchase
) -> None:
    clock.advance(WINDOW * 2)  # never activated: the window does not matter
    response = await patch(client, purchase, {"status": "deleted"})
    assert (response.status_code, response.json()["status"]) == (200, "deleted")
    [event] = await requests_emitted(store)
    assert event.data.immediate is True


async def test_the_same_values_again_answer_200_and_emit_nothing(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    before = await view(client, active)
    response = await patch(
        client,
        active,
        {
            "friendlyName": before["friendlyName"],
            "quantity": 5,
            "autoRenewEnabled": True,
            "partnerId": None,
            "status": "active",
        },
    )
    assert response.status_code == 200
    assert response.json() == before
    assert await requests_emitted(store) == []


@pytest.mark.parametrize(
    ("body", "target", "words"),
    [
        ({}, None, "nothing to change"),
        ({"nickname": "x"}, "nickname", "not permitted"),  # unknown fields are refused
        ({"friendlyName": "ok", "autoRenew": False}, "autoRenew", "not permitted"),
        ({"friendlyName": ""}, "friendlyName", "1 to 128"),
        ({"friendlyName": "n" * 129}, "friendlyName", "1 to 128"),
        ({"friendlyName": None}, "friendlyName", "null"),
        ({"friendlyName": 7}, "friendlyName", "string"),
        ({"quantity": 0}, "quantity", "between 1 and 500"),
        ({"quantity": 501}, "quantity", "between 1 and 500"),
        ({"quantity": "8"}, "quantity", "integer"),
        ({"quantity": 8.5}, "quantity", "integer"),
        ({"quantity": True}, "quantity", "integer"),
        ({"quantity": None}, "quantity", "null"),
        ({"autoRenewEnabled": "false"}, "autoRenewEnabled", "boolean"),
        ({"autoRenewEnabled": None}, "autoRenewEnabled", "null"),
        ({"partnerId": "12345678901"}, "partnerId", "1 to 10 digits"),
        ({"partnerId": ""}, "partnerId", "1 to 10 digits"),
        ({"partnerId": "MPN-1"}, "partnerId", "1 to 10 digits"),
        ({"partnerId": 4711}, "partnerId", "string"),
        ({"status": "pending"}, "status", "'suspended', 'active' or 'deleted'"),
        ({"status": "cancelled"}, "status", "'suspended', 'active' or 'deleted'"),
        ({"status": None}, "status", "null"),
        (["status", "deleted"], "body", "dictionary"),
        ({"status": "deleted", "autoRenewEnabled": True}, "autoRenewEnabled", "cancellation"),
    ],
)
async def test_a_bad_change_is_a_400_naming_the_field_and_changes_nothing(
    client: httpx.AsyncClient,
    store: MemoryStore,
    active: Purchase,
    body: Any,
    target: str | None,
    words: str,
) -> None:
    before = await view(client, active)

    response = await patch(client, active, body)

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error.get("target")) == ("BadRequest", target)
    assert words in error["message"]
    assert await view(client, active) == before
    assert await requests_emitted(store) == []


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": 8},
        {"status": "suspended"},
        {"status": "active"},
        {"friendlyName": "Fine", "status": "suspended"},  # one broken rule: nothing applies
    ],
)
async def test_a_change_the_state_forbids_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, store: MemoryStore, purchase: Purchase, body: dict[str, Any]
) -> None:
    before = await view(client, purchase)  # still pending: never activated

    response = await patch(client, purchase, body)

    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "Conflict"
    assert error["target"] in body and "pending" in error["message"]
    assert await view(client, purchase) == before
    assert await requests_emitted(store) == []


@pytest.mark.parametrize("role", ["HelpdeskAgent", "SalesAgent", "BillingAdmin"])
async def test_read_only_roles_may_not_change_a_subscription(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase, role: str
) -> None:
    response = await patch(client, active, {"friendlyName": "Mine"}, auth(roles=[role]))
    assert (response.status_code, response.json()["error"]["code"]) == (403, "Forbidden")
    assert await requests_emitted(store) == []


async def test_a_publisher_token_or_none_at_all_is_refused(
    client: httpx.AsyncClient, active: Purchase
) -> None:
    assert (await patch(client, active, {"quantity": 8}, publisher_auth())).status_code == 403
    anonymous = await client.patch(active.url, json={"quantity": 8})
    assert anonymous.status_code == 401


async def test_another_partners_or_customers_subscription_is_not_found(
    client: httpx.AsyncClient, store: MemoryStore, active: Purchase
) -> None:
    sister = await new_customer(client, name="Sister")
    other = await new_customer(client, "partner-b")
    theirs = await checked_out_order(client, other, partner_id="partner-b")
    sid = active.subscription_id
    base = "/v1/customers"

    answers = [
        await patch(client, active, {"friendlyName": "x"}, auth("partner-b")),
        await client.patch(f"{base}/{sister}/subscriptions/{sid}", json={}, headers=auth()),
        await client.patch(
            f"{base}/{active.customer_id}/subscriptions/nope", json={"quantity": 6}, headers=auth()
        ),
        await client.patch(
            f"{base}/{other}/subscriptions/{theirs['lineItems'][0]['subscriptionId']}",
            json={"status": "deleted"},
            headers=auth(),
        ),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert all(a.json()["error"]["code"] == "NotFound" for a in answers)
    assert [e.type for e in await emitted(store)] == ["SubscriptionPurchased"] * 2
