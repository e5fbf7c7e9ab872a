"""The partner's view follows provisioning's events (handlers over a MemoryStore)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx

from services.ordering.domain.subscription import Subscription
from services.ordering.entrypoints.subscription_schemas import SubscriptionOut
from shared.messaging.consumer import EventConsumer
from shared.periods import add, last_day
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    COMMITMENT_END_DATE,
    LINK,
    TERM_END,
    TERM_START,
    Purchase,
    activation_completed,
    auth,
    emitted,
    feed,
    licenses_assigned,
    link_issued,
    stored,
    view,
)


async def test_an_issued_link_makes_the_pending_subscription_need_action(
    client: httpx.AsyncClient, consumer: EventConsumer, purchase: Purchase
) -> None:
    assert await feed(consumer, link_issued(purchase.subscription_id, purchase.correlation_id)) == [
        "handled"
    ]

    seen = await view(client, purchase)
    assert (seen["status"], seen["actionNeeded"], seen["activationLink"]) == ("pending", True, LINK)
    links = await client.get(
        f"/v1/customers/{purchase.customer_id}/orders/{purchase.order_id}/lineitems/0/activationlinks",
        headers=auth(roles=["HelpdeskAgent"]),
    )
    assert links.json() == {
        "totalCount": 1,
        "items": [{"lineItemNumber": 0, "link": {"uri": LINK, "method": "GET"}}],
    }


async def test_assigned_licenses_are_counted(
    client: httpx.AsyncClient, consumer: EventConsumer, purchase: Purchase
) -> None:
    await feed(consumer, licenses_assigned(purchase.subscription_id, purchase.correlation_id, 2))
    assert (await view(client, purchase))["licensesAssigned"] == 2
    await feed(consumer, licenses_assigned(purchase.subscription_id, purchase.correlation_id, 4))
    assert (await view(client, purchase))["licensesAssigned"] == 4


async def test_activation_completed_makes_it_active_with_its_term_dates(
    client: httpx.AsyncClient, consumer: EventConsumer, purchase: Purchase
) -> None:
    sid, corr = purchase.subscription_id, purchase.correlation_id
    await feed(consumer, link_issued(sid, corr), activation_completed(sid, corr, licenses=3))

    seen = await view(client, purchase)
    assert (seen["status"], seen["actionNeeded"], seen["licensesAssigned"]) == ("active", False, 3)
    assert seen["effectiveStartDate"] == TERM_START.isoformat().replace("+00:00", "Z")
    assert seen["commitmentEndDate"] == COMMITMENT_END_DATE  # the day before TERM_END
    assert seen["activationLink"] == LINK  # kept for the record
    active = await client.get(
        f"/v1/customers/{purchase.customer_id}/subscriptions?status=active", headers=auth()
    )
    assert [s["id"] for s in active.json()["items"]] == [sid]


async def test_a_link_arriving_after_activation_asks_for_no_action(
    client: httpx.AsyncClient, consumer: EventConsumer, purchase: Purchase
) -> None:
    sid, corr = purchase.subscription_id, purchase.correlation_id
    await feed(consumer, activation_completed(sid, corr), link_issued(sid, corr))

    seen = await view(client, purchase)
    assert (seen["status"], seen["actionNeeded"]) == ("active", False)


async def test_events_for_an_unknown_subscription_are_ignored_not_failed(
    store: MemoryStore, consumer: EventConsumer, dead_letters: list[tuple[str, bytes]]
) -> None:
    events = [
        link_issued("ghost", "c"),
        licenses_assigned("ghost", "c", 1),
        activation_completed("ghost", "c"),
    ]

    assert await feed(consumer, *events) == ["handled"] * 3
    assert dead_letters == []
    assert await stored(store, "ghost") is None


async def test_a_redelivered_event_is_skipped(
    store: MemoryStore, consumer: EventConsumer, purchase: Purchase
) -> None:
    event = activation_completed(purchase.subscription_id, purchase.correlation_id)
    assert await feed(consumer, event) == ["handled"]
    before = await stored(store, purchase.subscription_id)

    assert await feed(consumer, event) == ["duplicate"]
    assert await stored(store, purchase.subscription_id) == before
    assert consumer.stats["duplicate"] == 1


async def test_the_same_fact_under_a_new_event_id_changes_nothing(
    store: MemoryStore, consumer: EventConsumer, purchase: Purchase
) -> None:
    """Idempotent even past the inbox (e.g. provisioning re-emits after a crash)."""
    sid, corr = purchase.subscription_id, purchase.correlation_id

    assert await feed(consumer, activation_completed(sid, corr)) == ["handled"]
    first = await stored(store, sid)
    assert await feed(consumer, activation_completed(sid, corr)) == ["handled"]  # a new id

    assert first is not None and first.status == "active"
    assert await stored(store, sid) == first


async def test_the_view_emits_nothing(
    store: MemoryStore, consumer: EventConsumer, purchase: Purchase
) -> None:
    sid, corr = purchase.subscription_id, purchase.correlation_id
    await feed(
        consumer,
        link_issued(sid, corr),
        licenses_assigned(sid, corr, 1),
        activation_completed(sid, corr),
    )
    assert [e.type for e in await emitted(store)] == ["SubscriptionPurchased"]  # only the purchase


def test_a_late_activation_does_not_undo_a_later_status() -> None:
    deleted = _subscription()
    deleted.status = "deleted"
    deleted.record_activation(TERM_START, TERM_END, 1)
    assert (deleted.status, deleted.licenses_assigned) == ("deleted", 1)
    assert deleted.events == []  # the view records nothing: it emits nothing


def test_an_activation_replayed_after_a_renewal_keeps_the_renewed_term() -> None:
    sub = _subscription()
    sub.record_activation(TERM_START, TERM_END, 1)
    sub.record_renewal(add(TERM_END, "P1M"))
    renewed = sub.commitment_end_date
    sub.record_activation(TERM_START, TERM_END, 1)  # e.g. a consumer group reset
    assert sub.commitment_end_date == renewed
    assert renewed is not None and renewed > last_day(TERM_END)


def test_commitment_end_date_of_a_term_from_2026_11_23_is_2026_12_22() -> None:
    sub = _subscription()
    term_start = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    sub.record_activation(term_start, add(term_start, "P1M"), 1)  # term end is exclusive
    assert sub.commitment_end_date == date(2026, 12, 22)
    body = SubscriptionOut.model_validate(sub).to_wire()
    assert (body["effectiveStartDate"], body["commitmentEndDate"]) == (
        "2026-11-23T09:30:00Z",
        "2026-12-22",
    )


def test_a_view_stored_with_the_last_day_as_an_instant_loads_as_that_date() -> None:
    stored_before = _subscription().model_dump(mode="json")
    stored_before["commitment_end_date"] = "2026-12-22T09:30:00Z"  # start + term - 1 day
    assert Subscription.model_validate(stored_before).commitment_end_date == date(2026, 12, 22)


def _subscription() -> Subscription:
    return Subscription.model_validate(
        {
            "id": "s",
            "csp_partner_id": "p",
            "customer_id": "c",
            "order_id": "o",
            "line_item_number": 0,
            "offer_id": "contoso-crm",
            "plan_id": "standard",
            "publisher_id": "contoso",
            "friendly_name": "CRM",
            "quantity": 5,
            "auto_renew_enabled": True,
            "reseller_mpn_id": None,
            "term_duration": "P1Y",
            "billing_cycle": "annual",
            "currency": "USD",
            "price_per_seat_minor": 10000,
            "creation_date": TERM_START,
            "correlation_id": "c",
        }
    )
