"""Checkout: one completed order, pending subscriptions and one SubscriptionPurchased
per line, all in one unit of work; a cart checks out once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import httpx

from services.ordering.bootstrap import build_app
from shared.catalog import load_catalog
from shared.clock import FixedClock
from shared.events.topics import ORDERING_SUBSCRIPTIONS, SUBSCRIPTIONS_STATE
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    NOW,
    SETTINGS,
    auth,
    checked_out_order,
    emitted,
    line,
    new_cart,
    new_customer,
    stored,
)

MIXED_CART = (
    line(partnerId="4711", friendlyName="CRM for sales"),  # USD 100.00 / year, window P14D
    line(
        offerId="contoso-helpdesk",
        planId="basic",
        quantity=3,
        termDuration="P1M",
        billingCycle="monthly",
        autoRenewEnabled=False,
    ),  # EUR 4.50 / month, default PT24H
    line(
        offerId="fabrikam-backup",
        planId="team",
        quantity=7,
        termDuration="P1Y",
        billingCycle="monthly",
    ),  # USD 7.49 / month, window PT72H
    line(offerId="fabrikam-backup", planId="enterprise", quantity=10),  # JPY 12000 / year, P30D
)


async def test_checkout_places_one_completed_order_with_a_line_per_cart_item(
    client: httpx.AsyncClient,
) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid, *MIXED_CART)

    response = await client.post(f"/v1/customers/{cid}/carts/{cart['id']}/checkout", headers=auth())

    assert response.status_code == 201
    body = response.json()
    assert body["orderErrors"] == []
    [order] = body["orders"]
    assert set(order) == {"id", "customerId", "status", "creationDate", "lineItems"}
    assert (order["customerId"], order["status"]) == (cid, "completed")
    assert order["creationDate"] == "2030-01-31T12:00:00Z"
    assert [li["lineItemNumber"] for li in order["lineItems"]] == [0, 1, 2, 3]
    first = order["lineItems"][0]
    assert {k: v for k, v in first.items() if k != "subscriptionId"} == {
        "lineItemNumber": 0,
        "offerId": "contoso-crm",
        "planId": "standard",
        "quantity": 5,
        "termDuration": "P1Y",
        "billingCycle": "annual",
        "friendlyName": "CRM for sales",
        "partnerIdOnRecord": "4711",
    }
    assert order["lineItems"][1]["friendlyName"] == "Contoso Helpdesk"
    assert order["lineItems"][1]["partnerIdOnRecord"] is None
    ids = [li["subscriptionId"] for li in order["lineItems"]]
    assert len(set(ids)) == 4 and all(uuid.UUID(i).version == 4 for i in ids)


async def test_checkout_emits_one_subscription_purchased_per_line_priced_from_the_catalog(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client, name="Acme Corp")
    order = await checked_out_order(client, cid, *MIXED_CART)

    events = await emitted(store)

    assert [e.subject for e in events] == [li["subscriptionId"] for li in order["lineItems"]]
    expected = [  # (currency, price per billing period, refundable until)
        ("USD", Decimal("100.00"), NOW + timedelta(days=14)),
        ("EUR", Decimal("4.50"), NOW + timedelta(hours=24)),
        ("USD", Decimal("7.49"), NOW + timedelta(hours=72)),
        ("JPY", Decimal("12000"), NOW + timedelta(days=30)),
    ]
    assert [
        (e.data.currency, e.data.price_per_seat, e.data.refundable_until) for e in events
    ] == expected
    # Each purchase starts its own correlation: the subscription's, which every later
    # event about it carries.
    assert len({uuid.UUID(e.correlation_id) for e in events}) == len(events)
    for number, event in enumerate(events):
        assert (event.type, event.source, event.time) == ("SubscriptionPurchased", "ordering", NOW)
        subscription = await stored(store, event.subject)
        assert subscription is not None
        assert event.correlation_id == subscription.correlation_id
        assert event.causation_id is None
        data = event.data
        assert data.subscription_id == event.subject
        assert (data.order_id, data.line_item_number) == (order["id"], number)
        assert (data.csp_partner_id, data.purchased_by) == ("partner-a", "alice")
        assert (data.customer_id, data.customer_name) == (cid, "Acme Corp")
        assert data.purchased_at == NOW
    crm, helpdesk, backup, _ = (e.data for e in events)
    assert (crm.publisher_id, crm.offer_name, crm.plan_name) == (
        "contoso",
        "Contoso CRM",
        "Standard",
    )
    assert (crm.friendly_name, crm.reseller_mpn_id, crm.auto_renew_enabled) == (
        "CRM for sales",
        "4711",
        True,
    )
    assert (crm.quantity, crm.term_duration, crm.billing_cycle) == (5, "P1Y", "annual")
    assert (helpdesk.friendly_name, helpdesk.auto_renew_enabled) == ("Contoso Helpdesk", False)
    assert (backup.publisher_id, backup.term_duration, backup.billing_cycle) == (
        "fabrikam",
        "P1Y",
        "monthly",
    )


async def test_purchase_events_go_to_the_ordering_topic_keyed_by_subscription(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    order = await checked_out_order(client, cid, line(), line(quantity=2))

    claimed = await store.claim_outbox("probe", 100, NOW, NOW)
    events, states = claimed[:2], claimed[2:]  # the events first, then the new states

    sids = [li["subscriptionId"] for li in order["lineItems"]]
    assert [c.message.topic for c in events] == [ORDERING_SUBSCRIPTIONS] * 2
    assert [c.message.key for c in events] == sids
    assert all(c.message.headers["ce-type"] == "SubscriptionPurchased" for c in events)
    assert [c.message.topic for c in states] == [SUBSCRIPTIONS_STATE] * 2
    assert [c.message.key for c in states] == [f"{sid}/partner" for sid in sids]


async def test_checkout_twice_is_a_conflict_and_emits_nothing_more(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid, line(), line(quantity=9))
    url = f"/v1/customers/{cid}/carts/{cart['id']}/checkout"
    assert (await client.post(url, headers=auth())).status_code == 201

    again = await client.post(url, headers=auth())

    assert again.status_code == 409
    assert again.json()["error"]["code"] == "Conflict"
    assert len(await emitted(store)) == 2
    orders = await client.get(f"/v1/customers/{cid}/orders", headers=auth())
    assert orders.json()["totalCount"] == 1


async def test_the_cart_shows_it_was_ordered(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid)
    assert cart["status"] == "active"
    order = (
        await client.post(f"/v1/customers/{cid}/carts/{cart['id']}/checkout", headers=auth())
    ).json()

    after = await client.get(f"/v1/customers/{cid}/carts/{cart['id']}", headers=auth())

    assert after.status_code == 200
    assert (after.json()["status"], after.json()["orderId"]) == (
        "ordered",
        order["orders"][0]["id"],
    )


async def test_failed_checkouts_emit_nothing_and_place_nothing(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid)
    url = f"/v1/customers/{cid}/carts/{cart['id']}/checkout"

    foreign = await client.post(url, headers=auth(partner_id="partner-b"))
    read_only = await client.post(url, headers=auth(roles=["SalesAgent"]))
    unknown_cart = await client.post(f"/v1/customers/{cid}/carts/nope/checkout", headers=auth())
    unknown_customer = await client.post(
        f"/v1/customers/nope/carts/{cart['id']}/checkout", headers=auth()
    )

    assert [r.status_code for r in (foreign, read_only, unknown_cart, unknown_customer)] == [
        404,
        403,
        404,
        404,
    ]
    assert await emitted(store) == []
    assert (await client.get(f"/v1/customers/{cid}/subscriptions", headers=auth())).json()[
        "totalCount"
    ] == 0
    assert (await client.get(f"/v1/customers/{cid}/carts/{cart['id']}", headers=auth())).json()[
        "status"
    ] == "active"


async def test_checkout_is_all_or_nothing_when_the_catalog_stopped_selling_a_line(
    client: httpx.AsyncClient, store: MemoryStore
) -> None:
    cid = await new_customer(client)
    cart = await new_cart(client, cid, line(), line(planId="premium"))
    # The service restarts with a catalog that no longer has the premium plan.
    catalog = load_catalog()
    crm = catalog.offer("contoso-crm")
    assert crm is not None
    shrunk = catalog.model_copy(
        update={"offers": [crm.model_copy(update={"plans": crm.plans[:1]})]}
    )
    restarted = build_app(SETTINGS, store=store, clock=FixedClock(NOW), catalog=shrunk)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=restarted), base_url="http://t"
    ) as other:
        response = await other.post(
            f"/v1/customers/{cid}/carts/{cart['id']}/checkout", headers=auth()
        )

    assert response.status_code == 409
    assert response.json()["error"]["target"] == "lineItems[1].planId"
    assert await emitted(store) == []
    assert (await client.get(f"/v1/customers/{cid}/orders", headers=auth())).json()[
        "totalCount"
    ] == 0
    assert (await client.get(f"/v1/customers/{cid}/subscriptions", headers=auth())).json()[
        "totalCount"
    ] == 0
    assert (await client.get(f"/v1/customers/{cid}/carts/{cart['id']}", headers=auth())).json()[
        "status"
    ] == "active"


async def test_orders_are_read_back_and_listed_per_customer(client: httpx.AsyncClient) -> None:
    cid = await new_customer(client)
    other_cid = await new_customer(client, name="Other")
    first = await checked_out_order(client, cid)
    second = await checked_out_order(client, cid, line(quantity=3))
    await checked_out_order(client, other_cid)

    one = await client.get(
        f"/v1/customers/{cid}/orders/{first['id']}", headers=auth(roles=["HelpdeskAgent"])
    )
    listed = await client.get(f"/v1/customers/{cid}/orders", headers=auth())
    wrong_customer = await client.get(
        f"/v1/customers/{other_cid}/orders/{first['id']}", headers=auth()
    )

    assert one.status_code == 200 and one.json() == first
    assert listed.json() == {"totalCount": 2, "items": [first, second]}
    assert wrong_customer.status_code == 404
