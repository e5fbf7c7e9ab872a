"""Carts over HTTP: 201 with defaults filled, and a 400 naming the bad field otherwise."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.unit.ordering.helpers import auth, line, new_cart, new_customer


async def test_a_cart_is_created_active_with_defaults_filled(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    response = await client.post(
        f"/v1/customers/{cid}/carts",
        json={
            "lineItems": [
                line(),
                line(friendlyName="Sales CRM", partnerId="0012345678", autoRenewEnabled=False),
            ]
        },
        headers=auth(roles=["AdminAgent"]),
    )

    assert response.status_code == 201
    cart = response.json()
    assert uuid.UUID(cart["id"])
    assert (cart["status"], cart["customerId"], cart["creationDate"]) == (
        "active",
        cid,
        "2030-01-31T12:00:00Z",
    )
    assert cart["lineItems"] == [
        {
            "id": 0,
            "offerId": "contoso-crm",
            "planId": "standard",
            "quantity": 5,
            "termDuration": "P1Y",
            "billingCycle": "annual",
            "friendlyName": "Contoso CRM",
            "partnerId": None,
            "autoRenewEnabled": True,
        },
        {
            "id": 1,
            "offerId": "contoso-crm",
            "planId": "standard",
            "quantity": 5,
            "termDuration": "P1Y",
            "billingCycle": "annual",
            "friendlyName": "Sales CRM",
            "partnerId": "0012345678",
            "autoRenewEnabled": False,
        },
    ]


async def test_a_cart_reads_back_as_created(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid)

    response = await client.get(
        f"/v1/customers/{cid}/carts/{cart['id']}", headers=auth(roles=["SalesAgent"])
    )

    assert response.status_code == 200
    assert response.json() == cart


async def test_an_unknown_cart_or_a_cart_of_another_customer_is_not_found(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    sister = await new_customer(client, name="Sister")
    cart = await new_cart(client, cid)

    assert (await client.get(f"/v1/customers/{cid}/carts/nope", headers=auth())).status_code == 404
    assert (
        await client.get(f"/v1/customers/{sister}/carts/{cart['id']}", headers=auth())
    ).status_code == 404
    checkout = await client.post(
        f"/v1/customers/{sister}/carts/{cart['id']}/checkout", headers=auth()
    )
    assert checkout.status_code == 404


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({}, "lineItems"),
        ({"lineItems": []}, "lineItems"),
        ({"lineItems": "all of them"}, "lineItems"),
        ({"lineItems": [line(offerId="nope")]}, "lineItems[0].offerId"),
        ({"lineItems": [line(offerId=...)]}, "lineItems[0].offerId"),
        ({"lineItems": [line(planId="nope")]}, "lineItems[0].planId"),
        ({"lineItems": [line(planId=...)]}, "lineItems[0].planId"),
        ({"lineItems": [line(), line(offerId="contoso-helpdesk")]}, "lineItems[1].planId"),
        (
            {"lineItems": [line(planId="premium", billingCycle="monthly")]},
            "lineItems[0].billingCycle",
        ),
        (
            {
                "lineItems": [
                    line(
                        offerId="fabrikam-backup",
                        planId="enterprise",
                        quantity=10,
                        termDuration="P1M",
                        billingCycle="monthly",
                    )
                ]
            },
            "lineItems[0].termDuration",
        ),
        ({"lineItems": [line(termDuration="P2Y")]}, "lineItems[0].termDuration"),
        ({"lineItems": [line(termDuration=...)]}, "lineItems[0].termDuration"),
        ({"lineItems": [line(billingCycle="quarterly")]}, "lineItems[0].billingCycle"),
        ({"lineItems": [line(quantity=0)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity=501)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity=-1)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity="5")]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity=2.5)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity=None)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(quantity=...)]}, "lineItems[0].quantity"),
        ({"lineItems": [line(partnerId="12345678901")]}, "lineItems[0].partnerId"),
        ({"lineItems": [line(partnerId="MPN-42")]}, "lineItems[0].partnerId"),
        ({"lineItems": [line(partnerId="")]}, "lineItems[0].partnerId"),
        ({"lineItems": [line(partnerId=4711)]}, "lineItems[0].partnerId"),
        ({"lineItems": [line(autoRenewEnabled="yes")]}, "lineItems[0].autoRenewEnabled"),
        ({"lineItems": [line(friendlyName="")]}, "lineItems[0].friendlyName"),
    ],
)
async def test_a_bad_cart_is_a_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], target: str
) -> None:
    cid = await new_customer(client)

    response = await client.post(f"/v1/customers/{cid}/carts", json=body, headers=auth())

    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert (error["code"], error["target"]) == ("BadRequest", target)
    assert error["message"]


async def test_a_body_that_is_not_json_is_a_400(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    response = await client.post(
        f"/v1/customers/{cid}/carts",
        content=b"{not json",
        headers={**auth(), "content-type": "application/json"},
    )
    assert response.status_code == 400
