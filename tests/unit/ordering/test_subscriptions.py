"""Reading subscriptions and activation links right after checkout."""

from __future__ import annotations

import httpx
import pytest

from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import auth, checked_out_order, emitted, line, new_customer

SUBSCRIPTION_FIELDS = {
    "id",
    "customerId",
    "orderId",
    "offerId",
    "planId",
    "publisherId",
    "friendlyName",
    "quantity",
    "status",
    "actionNeeded",
    "activationLink",
    "licensesAssigned",
    "autoRenewEnabled",
    "partnerId",
    "termDuration",
    "billingCycle",
    "creationDate",
    "effectiveStartDate",
    "commitmentEndDate",
    "refundableUntil",
    "pendingChange",
    "lastChange",  # the publisher's answer to the latest seat change
}


async def test_a_checked_out_subscription_is_pending_with_exactly_the_documented_fields(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(
        client,
        cid,
        line(
            offerId="contoso-helpdesk",
            planId="basic",
            quantity=3,
            termDuration="P1M",
            billingCycle="monthly",
            partnerId="987654",
            friendlyName="Support desk",
            autoRenewEnabled=False,
        ),
    )
    sid = order["lineItems"][0]["subscriptionId"]

    response = await client.get(
        f"/v1/customers/{cid}/subscriptions/{sid}", headers=auth(roles=["SalesAgent"])
    )

    assert response.status_code == 200
    assert response.json() == {
        "id": sid,
        "customerId": cid,
        "orderId": order["id"],
        "offerId": "contoso-helpdesk",
        "planId": "basic",
        "publisherId": "contoso",
        "friendlyName": "Support desk",
        "quantity": 3,
        "status": "pending",
        "actionNeeded": False,
        "activationLink": None,
        "licensesAssigned": 0,
        "autoRenewEnabled": False,
        "partnerId": "987654",
        "termDuration": "P1M",
        "billingCycle": "monthly",
        "creationDate": "2030-01-31T12:00:00Z",
        "effectiveStartDate": None,
        "commitmentEndDate": None,
        "refundableUntil": "2030-02-01T12:00:00Z",
        "pendingChange": None,
        "lastChange": None,
    }
    assert set(response.json()) == SUBSCRIPTION_FIELDS


async def test_subscriptions_list_per_customer_and_filter_by_status(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    other = await new_customer(client, name="Other")
    order = await checked_out_order(client, cid, line(), line(quantity=7))
    await checked_out_order(client, other)
    base = f"/v1/customers/{cid}/subscriptions"

    everything = (await client.get(base, headers=auth())).json()
    pending = (await client.get(f"{base}?status=pending", headers=auth())).json()
    active = (await client.get(f"{base}?status=active", headers=auth())).json()

    assert everything["totalCount"] == 2
    assert [s["id"] for s in everything["items"]] == [
        li["subscriptionId"] for li in order["lineItems"]
    ]
    assert pending == everything
    assert active == {"totalCount": 0, "items": []}


@pytest.mark.parametrize("status", ["bogus", "Active", ""])
async def test_an_unknown_status_filter_is_a_400_naming_status(
    client: httpx.AsyncClient, status: str
) -> None:
    cid = await new_customer(client)
    response = await client.get(
        f"/v1/customers/{cid}/subscriptions", params={"status": status}, headers=auth()
    )
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "status"


async def test_an_unknown_subscription_is_not_found(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    assert (
        await client.get(f"/v1/customers/{cid}/subscriptions/nope", headers=auth())
    ).status_code == 404


async def test_activation_links_are_empty_until_the_link_is_issued(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid, line(), line(quantity=2))

    for n in (0, 1):
        url = f"/v1/customers/{cid}/orders/{order['id']}/lineitems/{n}/activationlinks"
        response = await client.get(url, headers=auth())
        assert response.status_code == 200
        assert response.json() == {"totalCount": 0, "items": []}
    assert len(await emitted(store)) == 2


@pytest.mark.parametrize("line_item", ["2", "-1", "x", "01x"])
async def test_activation_links_of_an_unknown_line_item_are_not_found(
    client: httpx.AsyncClient, line_item: str
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid, line(), line(quantity=2))
    url = f"/v1/customers/{cid}/orders/{order['id']}/lineitems/{line_item}/activationlinks"
    assert (await client.get(url, headers=auth())).status_code == 404


async def test_activation_links_of_an_unknown_order_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    url = f"/v1/customers/{cid}/orders/nope/lineitems/0/activationlinks"
    assert (await client.get(url, headers=auth())).status_code == 404
