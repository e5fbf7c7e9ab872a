"""The billing HTTP API without a broker: shapes, money format, order, isolation, 404s."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI

from services.billing.bootstrap import build_app
from services.billing.settings import BillingSettings
from shared.clock import FixedClock
from shared.events.provisioning import (
    ActivationCompleted,
    QuantityChangeAccepted,
    SubscriptionCancelled,
    SubscriptionSuspended,
)
from shared.http.auth import mint_token
from shared.store.memory import MemoryStore
from tests.unit.billing.builders import NOW, activation_completed, fact

SETTINGS = BillingSettings()


def bearer(claims: dict[str, object]) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(SETTINGS.csp_jwt_secret, claims)}"}


PARTNER_A = bearer({"sub": "alice", "partnerId": "partner-a", "roles": ["GlobalAdmin"]})
PARTNER_A_BILLING = bearer({"sub": "bob", "partnerId": "partner-a", "roles": ["BillingAdmin"]})
PARTNER_B = bearer({"sub": "carol", "partnerId": "partner-b", "roles": ["AdminAgent"]})
NO_ROLE = bearer({"sub": "dave", "partnerId": "partner-a", "roles": []})
PUBLISHER = bearer({"sub": "contoso-app", "publisherId": "contoso"})


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def app(clock: FixedClock) -> FastAPI:
    return build_app(SETTINGS, store=MemoryStore(), clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)  # the lifespan does not run: no broker
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


async def activate(app: FastAPI, **fields: object) -> ActivationCompleted:
    """Through the very consumer the runtime subscribes, minus Kafka."""
    event = activation_completed(**fields)  # type: ignore[arg-type]
    [consumer] = app.state.runtime.consumers
    assert await consumer.handle(event.to_bytes()) == "handled"
    return event


def charges_url(event: ActivationCompleted, customer_id: str | None = None) -> str:
    cid = customer_id or event.data.customer_id
    return f"/v1/customers/{cid}/subscriptions/{event.data.subscription_id}/charges"


async def test_invoice_reads_back_with_line_items_and_money_strings(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(app, quantity=5, price_per_seat="10.00")
    listing = (await client.get("/v1/invoices", headers=PARTNER_A)).json()
    assert listing["totalCount"] == 1
    invoice_id = listing["items"][0]["id"]

    response = await client.get(f"/v1/invoices/{invoice_id}", headers=PARTNER_A_BILLING)
    assert response.status_code == 200
    body = response.json()
    assert body == listing["items"][0]
    assert set(body) == {
        "id",
        "number",
        "kind",
        "customerId",
        "currency",
        "issuedAt",
        "total",
        "lineItems",
    }
    assert (body["number"], body["kind"], body["customerId"]) == ("INV-000001", "invoice", "cust-1")
    assert (body["currency"], body["total"]) == ("USD", "50.00")
    assert body["issuedAt"].startswith("2026-11-22T09:31:00")
    assert body["lineItems"] == [
        {
            "subscriptionId": event.data.subscription_id,
            "description": "Contoso CRM / standard: 5 seats, 2026-11-22 to 2026-12-21",
            "type": "charge",
            "quantity": 5,
            "unitPrice": "10.00",
            "periodStart": "2026-11-22T09:30:00Z",
            "periodEnd": "2026-12-22T09:30:00Z",
            "amount": "50.00",
        }
    ]


async def test_charges_list_every_line_with_balance(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(
        app,
        currency="JPY",
        price_per_seat="1200",
        quantity=10,
        term_duration="P1Y",
        billing_cycle="monthly",
    )
    response = await client.get(charges_url(event), headers=PARTNER_A)
    assert response.status_code == 200
    body = response.json()
    assert (body["totalCount"], body["balance"]) == (1, "12000")
    [charge] = body["items"]
    invoice = (await client.get(f"/v1/invoices/{charge['invoiceId']}", headers=PARTNER_A)).json()
    assert invoice["total"] == "12000" and invoice["lineItems"][0]["unitPrice"] == "1200"
    assert set(charge) == {
        "id",
        "type",
        "amount",
        "currency",
        "periodStart",
        "periodEnd",
        "eventId",
        "postedAt",
        "invoiceId",
    }
    assert (charge["type"], charge["amount"], charge["currency"]) == ("charge", "12000", "JPY")
    assert charge["eventId"] == str(event.id)
    assert (charge["periodStart"], charge["periodEnd"]) == (
        "2026-11-22T09:30:00Z",
        "2026-12-22T09:30:00Z",
    )  # monthly billing of a P1Y term: the first month only, ending where the next starts


async def test_invoices_are_listed_newest_first(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    await activate(app, customer_id="cust-1")
    await activate(app, customer_id="cust-2")  # same issuedAt: the higher number first
    clock.advance(timedelta(days=1))
    await activate(app, customer_id="cust-1")
    body = (await client.get("/v1/invoices", headers=PARTNER_A)).json()
    assert [i["number"] for i in body["items"]] == ["INV-000003", "INV-000002", "INV-000001"]
    issued = [i["issuedAt"] for i in body["items"]]
    assert issued[0] > issued[1] == issued[2]


async def test_invoices_filter_by_customer(app: FastAPI, client: httpx.AsyncClient) -> None:
    await activate(app, customer_id="cust-1")
    await activate(app, customer_id="cust-2")
    response = await client.get("/v1/invoices", params={"customerId": "cust-2"}, headers=PARTNER_A)
    body = response.json()
    assert body["totalCount"] == 1 and body["items"][0]["customerId"] == "cust-2"
    unknown = await client.get("/v1/invoices?customerId=nobody", headers=PARTNER_A)
    assert unknown.json() == {"totalCount": 0, "items": []}


async def test_empty_customer_filter_is_a_400_naming_it(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/invoices?customerId=", headers=PARTNER_A)
    assert response.status_code == 400
    assert response.json()["error"]["target"] == "customerId"


async def test_partner_sees_only_its_own_invoices_and_charges(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    mine = await activate(app, partner_id="partner-a")
    theirs = await activate(app, partner_id="partner-b")

    a_list = (await client.get("/v1/invoices", headers=PARTNER_A)).json()
    b_list = (await client.get("/v1/invoices", headers=PARTNER_B)).json()
    assert a_list["totalCount"] == b_list["totalCount"] == 1
    a_invoice, b_invoice = a_list["items"][0]["id"], b_list["items"][0]["id"]
    assert a_invoice != b_invoice

    assert (await client.get(f"/v1/invoices/{b_invoice}", headers=PARTNER_A)).status_code == 404
    assert (await client.get(f"/v1/invoices/{a_invoice}", headers=PARTNER_B)).status_code == 404
    assert (await client.get(charges_url(theirs), headers=PARTNER_A)).status_code == 404
    assert (await client.get(charges_url(mine), headers=PARTNER_B)).status_code == 404
    assert (await client.get(charges_url(mine), headers=PARTNER_A)).status_code == 200


async def test_unknown_invoice_or_subscription_is_404(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(app)
    unknown_invoice = await client.get("/v1/invoices/no-such-invoice", headers=PARTNER_A)
    assert unknown_invoice.status_code == 404
    assert unknown_invoice.json()["error"]["code"] == "NotFound"
    never_seen = "/v1/customers/cust-1/subscriptions/never-activated/charges"
    assert (await client.get(never_seen, headers=PARTNER_A)).status_code == 404
    wrong_customer = charges_url(event, customer_id="cust-other")
    assert (await client.get(wrong_customer, headers=PARTNER_A)).status_code == 404


@pytest.mark.parametrize(
    "path", ["/v1/invoices", "/v1/invoices/x", "/v1/customers/c/subscriptions/s/charges"]
)
async def test_publisher_or_roleless_token_is_403_and_no_token_is_401(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(path, headers=PUBLISHER)).status_code == 403
    assert (await client.get(path, headers=NO_ROLE)).status_code == 403
    assert (await client.get(path)).status_code == 401
    bad = {"Authorization": "Bearer not-a-jwt"}
    assert (await client.get(path, headers=bad)).status_code == 401


async def test_prorations_and_credit_notes_show_newest_first_with_negative_amounts(
    app: FastAPI, client: httpx.AsyncClient, clock: FixedClock
) -> None:
    event = await activate(app, quantity=5, price_per_seat="10.00")
    sid = event.data.subscription_id
    [consumer] = app.state.runtime.consumers
    clock.advance(timedelta(days=10))
    decrease = fact(
        QuantityChangeAccepted,
        sid,
        quantity=3,
        previous_quantity=5,
        accepted_at=clock.now(),
        accepted_by="timeout",
    )
    assert await consumer.handle(decrease.to_bytes()) == "handled"
    clock.advance(timedelta(hours=1))
    cancel = fact(SubscriptionCancelled, sid, cancelled_at=clock.now())
    assert await consumer.handle(cancel.to_bytes()) == "handled"

    body = (await client.get("/v1/invoices", headers=PARTNER_A)).json()
    assert [(i["number"], i["kind"], i["total"]) for i in body["items"]] == [
        ("CN-000002", "creditNote", "-36.67"),  # the cancellation: 50.00 - 13.33 back
        ("CN-000001", "creditNote", "-13.33"),  # 2 seats fewer for 20 of 30 days
        ("INV-000001", "invoice", "50.00"),
    ]
    credit_note = body["items"][0]
    assert (
        credit_note
        == (await client.get(f"/v1/invoices/{credit_note['id']}", headers=PARTNER_A)).json()
    )
    [item] = credit_note["lineItems"]
    assert (item["type"], item["quantity"], item["unitPrice"], item["amount"]) == (
        "credit",
        -3,
        "10.00",
        "-36.67",
    )
    charges = (await client.get(charges_url(event), headers=PARTNER_A)).json()
    assert [(c["type"], c["amount"]) for c in charges["items"]] == [
        ("charge", "50.00"),
        ("proration", "-13.33"),
        ("credit", "-36.67"),
    ]
    assert (charges["balance"], charges["status"]) == ("0.00", "ended")
    assert charges["items"][2]["eventId"] == str(cancel.id)


async def test_charges_name_the_subscriptions_billing_status(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    event = await activate(app)
    assert (await client.get(charges_url(event), headers=PARTNER_A)).json()["status"] == "active"
    [consumer] = app.state.runtime.consumers
    suspend = fact(
        SubscriptionSuspended, event.data.subscription_id, suspended_at=event.data.term_start
    )
    await consumer.handle(suspend.to_bytes())
    body = (await client.get(charges_url(event), headers=PARTNER_A)).json()
    assert body["status"] == "suspended"
