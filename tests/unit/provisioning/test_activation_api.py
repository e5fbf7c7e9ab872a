"""activate + licenses over HTTP: the events they emit, once, in the same unit of work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from shared.events.provisioning import ActivationCompleted, LicensesAssigned
from tests.unit.provisioning.support import API, Harness, publisher_headers, purchase

SUBS = "/api/saas/subscriptions"


def seats(*ids: str) -> dict[str, Any]:
    return {"assignments": [{"userId": i, "email": f"{i}@customer.example"} for i in ids]}


async def activate(h: Harness, sid: str, plan: str = "standard", qty: int = 5) -> httpx.Response:
    return await h.client.post(
        f"{SUBS}/{sid}/activate{API}",
        headers=publisher_headers(),
        json={"planId": plan, "quantity": qty},
    )


async def licenses(h: Harness, sid: str, body: dict[str, Any]) -> httpx.Response:
    return await h.client.put(f"{SUBS}/{sid}/licenses{API}", headers=publisher_headers(), json=body)


async def test_licenses_then_activate_emits_one_activation_completed_with_every_field() -> None:
    h = Harness()
    event = purchase(
        quantity=5,
        term_duration="P1Y",
        billing_cycle="annual",
        price_per_seat=Decimal("100.00"),
        auto_renew_enabled=False,
    )
    await h.purchased(event)
    sid = event.subject

    r = await licenses(h, sid, seats("u1", "u2"))
    assert r.status_code == 200
    assert r.json() == {"subscriptionId": sid, "assignedCount": 2, "quantity": 5}
    (assigned,) = await h.events()
    assert isinstance(assigned, LicensesAssigned)
    assert (assigned.data.assigned_count, assigned.data.quantity) == (2, 5)
    assert (assigned.causation_id, assigned.correlation_id) == (None, event.correlation_id)

    h.clock.advance(timedelta(hours=3))
    r = await activate(h, sid)
    assert (r.status_code, r.content) == (200, b"")

    (done,) = await h.events()
    assert isinstance(done, ActivationCompleted)
    start = datetime(2025, 1, 31, 12, 30, tzinfo=UTC)
    assert done.data.model_dump() == {
        "subscription_id": sid,
        "csp_partner_id": "partner-1",
        "customer_id": event.data.customer_id,
        "publisher_id": "contoso",
        "offer_id": "contoso-crm",
        "offer_name": "Contoso CRM",
        "plan_id": "standard",
        "quantity": 5,
        "licenses_assigned": 2,
        "term_duration": "P1Y",
        "billing_cycle": "annual",
        "currency": "USD",
        "price_per_seat": Decimal("100.00"),
        "auto_renew_enabled": False,
        "term_start": start,
        "term_end": datetime(2026, 1, 31, 12, 30, tzinfo=UTC),  # exclusive: the anniversary
    }
    assert (done.subject, done.correlation_id, done.time) == (sid, event.correlation_id, start)


async def test_activate_then_licenses_completes_on_the_licenses_call() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)

    assert (await activate(h, event.subject)).status_code == 200
    assert await h.events() == []
    assert (await activate(h, event.subject)).status_code == 200  # retry while waiting: no-op
    assert await h.events() == []

    assert (await licenses(h, event.subject, seats("u1"))).status_code == 200
    assert [e.type for e in await h.events()] == ["LicensesAssigned", "ActivationCompleted"]

    r = await h.client.get(f"{SUBS}/{event.subject}{API}", headers=publisher_headers())
    body = r.json()
    assert body["saasSubscriptionStatus"] == "Subscribed"
    assert body["term"]["startDate"] == "2025-01-31T09:30:00Z"
    # endDate is the term's last day (its exclusive end, Jan 31 + P1M = Feb 28, - 1 day)
    assert body["term"]["endDate"] == "2025-02-27T09:30:00Z"


async def test_activate_after_completion_is_a_bad_request_and_emits_nothing() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    await licenses(h, event.subject, seats("u1"))
    await activate(h, event.subject)
    await h.events()

    r = await activate(h, event.subject)
    assert r.status_code == 400 and "already activated" in r.json()["error"]["message"]
    assert await h.events() == []


@pytest.mark.parametrize(
    ("plan", "qty", "target"), [("premium", 5, "planId"), ("standard", 6, "quantity")]
)
async def test_activate_with_another_plan_or_quantity_is_a_bad_request(
    plan: str, qty: int, target: str
) -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    await licenses(h, event.subject, seats("u1"))
    await h.events()

    r = await activate(h, event.subject, plan, qty)

    assert (r.status_code, r.json()["error"]["target"]) == (400, target)
    assert await h.events() == []


@pytest.mark.parametrize(
    "body", [{}, {"planId": "standard"}, {"planId": "standard", "quantity": "x"}]
)
async def test_activate_with_an_incomplete_body_is_a_bad_request(body: dict[str, Any]) -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    path = f"{SUBS}/{event.subject}/activate{API}"
    r = await h.client.post(path, headers=publisher_headers(), json=body)
    assert r.status_code == 400


async def test_same_licenses_again_change_nothing_and_emit_nothing() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    await licenses(h, event.subject, seats("u1", "u2"))
    await h.events()

    r = await licenses(h, event.subject, seats("u2", "u1"))

    assert r.json()["assignedCount"] == 2
    assert await h.events() == []


async def test_licenses_replace_the_whole_set() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    await licenses(h, event.subject, seats("u1", "u2", "u3"))
    await h.events()

    r = await licenses(h, event.subject, seats("u4"))

    assert r.json()["assignedCount"] == 1
    (changed,) = await h.events()
    assert isinstance(changed, LicensesAssigned) and changed.data.assigned_count == 1


@pytest.mark.parametrize(
    "body",
    [
        {"assignments": []},
        seats("u1", "u2", "u3", "u4", "u5", "u6"),  # six users, five seats
        seats("u1", "u1"),  # duplicate userIds are refused, not merged
        {"assignments": [{"email": "nobody@customer.example"}]},
        {},
    ],
)
async def test_unacceptable_license_sets_are_bad_requests_naming_assignments(
    body: dict[str, Any],
) -> None:
    h = Harness()
    event = purchase(quantity=5)
    await h.purchased(event)

    r = await licenses(h, event.subject, body)

    assert r.status_code == 400
    assert r.json()["error"]["target"].startswith("assignments")
    assert await h.events() == []


async def test_licenses_on_an_unsubscribed_subscription_are_a_bad_request() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    async with h.store.transaction() as uow:  # no cancel flow yet: set the state directly
        docs = uow.collection("saas_subscriptions")
        doc = await docs.get(event.subject)
        assert doc is not None
        await docs.put(event.subject, {**doc, "status": "Unsubscribed"})
        await uow.commit()

    r = await licenses(h, event.subject, seats("u1"))
    assert r.status_code == 400 and "Unsubscribed" in r.json()["error"]["message"]


async def test_licenses_and_activate_on_a_foreign_or_unknown_subscription() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    other = publisher_headers("fabrikam")
    foreign_licenses = await h.client.put(
        f"{SUBS}/{event.subject}/licenses{API}", headers=other, json=seats("u1")
    )
    foreign_activate = await h.client.post(
        f"{SUBS}/{event.subject}/activate{API}",
        headers=other,
        json={"planId": "standard", "quantity": 5},
    )
    unknown = await activate(h, "00000000-0000-0000-0000-000000000000")
    assert [foreign_licenses.status_code, foreign_activate.status_code, unknown.status_code] == [
        403,
        403,
        404,
    ]
    assert await h.events() == []
