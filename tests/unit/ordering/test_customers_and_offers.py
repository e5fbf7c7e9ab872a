"""Customers (create, read) and the offer catalog as partners see it."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.unit.ordering.helpers import auth


async def test_creating_a_customer_answers_201_with_the_customer(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/v1/customers",
        json={"companyName": "  Acme Corp ", "domain": "acme.example"},
        headers=auth(),
    )

    assert response.status_code == 201
    body = response.json()
    assert uuid.UUID(body["id"])
    assert body == {
        "id": body["id"],
        "companyName": "Acme Corp",
        "domain": "acme.example",
        "partnerId": "partner-a",
        "creationDate": "2030-01-31T12:00:00Z",
    }
    again = await client.get(f"/v1/customers/{body['id']}", headers=auth())
    assert again.json() == body


async def test_domain_is_optional(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/customers", json={"companyName": "Acme"}, headers=auth())
    assert response.status_code == 201
    assert response.json()["domain"] is None


@pytest.mark.parametrize(
    ("body", "target"),
    [
        ({}, "companyName"),
        ({"companyName": ""}, "companyName"),
        ({"companyName": "   "}, "companyName"),
        ({"companyName": 42}, "companyName"),
        ({"companyName": None}, "companyName"),
        ({"companyName": "Acme", "domain": 7}, "domain"),
    ],
)
async def test_a_bad_customer_is_a_400_naming_the_field(
    client: httpx.AsyncClient, body: dict[str, Any], target: str
) -> None:
    response = await client.post("/v1/customers", json=body, headers=auth())

    assert response.status_code == 400
    assert response.json()["error"]["target"] == target
    assert (await client.get("/v1/customers", headers=auth())).json()["totalCount"] == 0


async def test_an_unknown_customer_is_not_found(client: httpx.AsyncClient) -> None:
    assert (await client.get(f"/v1/customers/{uuid.uuid4()}", headers=auth())).status_code == 404


async def test_offers_list_plans_and_prices_as_decimal_strings(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/offers", headers=auth(roles=["BillingAdmin"]))

    assert response.status_code == 200
    body = response.json()
    assert body["totalCount"] == len(body["items"]) == 3
    crm = next(o for o in body["items"] if o["offerId"] == "contoso-crm")
    assert (crm["publisherId"], crm["name"]) == ("contoso", "Contoso CRM")
    standard = next(p for p in crm["plans"] if p["planId"] == "standard")
    assert (standard["currency"], standard["minQuantity"], standard["maxQuantity"]) == (
        "USD",
        1,
        500,
    )
    assert standard["prices"][0] == {
        "termDuration": "P1M",
        "billingCycle": "monthly",
        "pricePerSeat": "10.00",
    }
    backup = next(o for o in body["items"] if o["offerId"] == "fabrikam-backup")
    enterprise = next(p for p in backup["plans"] if p["planId"] == "enterprise")
    assert enterprise["prices"][0]["pricePerSeat"] == "12000"  # JPY has no minor digits
    helpdesk = next(o for o in body["items"] if o["offerId"] == "contoso-helpdesk")
    assert helpdesk["plans"][0]["prices"][0]["pricePerSeat"] == "4.50"


async def test_offers_never_reveal_publisher_secrets(client: httpx.AsyncClient) -> None:
    text = (await client.get("/v1/offers", headers=auth())).text
    assert "webhook" not in text.lower()
    assert "dev-webhook-secret" not in text
