"""The partner's view follows provisioning's facts after activation (through the
`ordering.subscription-view` consumer): a seat change's outcome, renewals, the end,
a scheduled cancellation. Set semantics: redelivered or repeated facts change nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx

from shared.clock import FixedClock
from shared.messaging.consumer import EventConsumer
from shared.periods import add
from shared.store.memory import MemoryStore
from tests.unit.ordering.helpers import (
    COMMITMENT_END_DATE,
    TERM_END,
    Purchase,
    auth,
    cancellation_scheduled,
    cancelled,
    emitted,
    expired,
    feed,
    quantity_accepted,
    quantity_rejected,
    renewed,
    stored,
    suspended,
    view,
)

DECIDED_AT = "2030-01-31T12:00:00Z"  # NOW: when the helpers' facts say it was decided


async def ask_for_seats(client: httpx.AsyncClient, p: Purchase, quantity: int) -> str:
    """PATCH the quantity; the pending change's operation id."""
    response = await client.patch(p.url, json={"quantity": quantity}, headers=auth())
    assert response.status_code == 200, response.text
    return str(response.json()["pendingChange"]["operationId"])


async def test_an_accepted_seat_change_sets_the_quantity_and_shows_the_answer(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    operation_id = await ask_for_seats(client, active, 8)
    sid, corr = active.subscription_id, active.correlation_id

    assert await feed(consumer, quantity_accepted(sid, corr, operation_id, 8)) == ["handled"]

    seen = await view(client, active)
    assert (seen["quantity"], seen["pendingChange"]) == (8, None)
    assert seen["lastChange"] == {
        "operationId": operation_id,
        "quantity": 8,
        "status": "accepted",
        "reason": None,
        "decidedAt": DECIDED_AT,
    }
    assert (await client.patch(active.url, json={"quantity": 9}, headers=auth())).status_code == 200


async def test_a_rejected_seat_change_keeps_the_quantity_and_says_why(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    operation_id = await ask_for_seats(client, active, 8)
    sid, corr = active.subscription_id, active.correlation_id

    await feed(consumer, quantity_rejected(sid, corr, operation_id, 8, "no seats left"))

    seen = await view(client, active)
    assert (seen["quantity"], seen["pendingChange"]) == (5, None)
    assert seen["lastChange"] == {
        "operationId": operation_id,
        "quantity": 8,
        "status": "rejected",
        "reason": "no seats left",
        "decidedAt": DECIDED_AT,
    }


async def test_a_redelivered_decision_is_skipped_and_a_repeated_one_changes_nothing(
    client: httpx.AsyncClient, store: MemoryStore, consumer: EventConsumer, active: Purchase
) -> None:
    operation_id = await ask_for_seats(client, active, 8)
    sid, corr = active.subscription_id, active.correlation_id
    accepted = quantity_accepted(sid, corr, operation_id, 8)
    await feed(consumer, accepted)
    after_first = await stored(store, sid)

    assert await feed(consumer, accepted) == ["duplicate"]  # the same event: the inbox
    again = quantity_accepted(sid, corr, operation_id, 8)  # the same fact, a new event id
    assert await feed(consumer, again) == ["handled"]
    assert await stored(store, sid) == after_first


async def test_a_decision_about_an_older_change_does_not_undo_a_newer_one(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    sid, corr = active.subscription_id, active.correlation_id
    first = await ask_for_seats(client, active, 8)
    await feed(consumer, quantity_accepted(sid, corr, first, 8))
    second = await ask_for_seats(client, active, 6)

    await feed(consumer, quantity_rejected(sid, corr, first, 8, "replayed"))  # older: ignored
    seen = await view(client, active)
    assert seen["pendingChange"] == {"quantity": 6, "operationId": second}
    assert (seen["quantity"], seen["lastChange"]["operationId"]) == (8, first)

    await feed(consumer, quantity_accepted(sid, corr, second, 6, previous=8))
    await feed(consumer, quantity_accepted(sid, corr, first, 8))  # older again: ignored
    seen = await view(client, active)
    assert (seen["quantity"], seen["lastChange"]["operationId"]) == (6, second)


async def test_a_renewal_moves_the_commitment_end_to_the_new_terms_last_day(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    sid, corr = active.subscription_id, active.correlation_id
    assert (await view(client, active))["commitmentEndDate"] == COMMITMENT_END_DATE
    renewal = renewed(sid, corr, TERM_END, add(TERM_END, "P1Y"))

    await feed(consumer, renewal, renewal, renewed(sid, corr, TERM_END, add(TERM_END, "P1Y")))

    assert (await view(client, active))["commitmentEndDate"] == "2032-02-01"


async def test_expiry_at_term_end_deletes_it_for_good(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    await feed(consumer, expired(active.subscription_id, active.correlation_id))

    seen = await view(client, active)
    assert (seen["status"], seen["actionNeeded"]) == ("deleted", False)
    refused = await client.patch(active.url, json={"autoRenewEnabled": False}, headers=auth())
    assert refused.status_code == 409


async def test_a_cancellation_fact_deletes_it(
    client: httpx.AsyncClient, consumer: EventConsumer, active: Purchase
) -> None:
    sid, corr = active.subscription_id, active.correlation_id
    await feed(consumer, cancelled(sid, corr), cancelled(sid, corr))
    assert (await view(client, active))["status"] == "deleted"


async def test_a_scheduled_cancellation_turns_auto_renew_off_unless_the_partner_undid_it(
    client: httpx.AsyncClient,
    store: MemoryStore,
    clock: FixedClock,
    consumer: EventConsumer,
    active: Purchase,
) -> None:
    sid, corr = active.subscription_id, active.correlation_id
    await feed(consumer, cancellation_scheduled(sid, corr, "op-foreign"))  # ordering knows none
    assert (await view(client, active))["autoRenewEnabled"] is False

    on = await client.patch(active.url, json={"autoRenewEnabled": True}, headers=auth())
    assert on.json()["autoRenewEnabled"] is True
    clock.advance(timedelta(days=14))  # past the refund window: the cancel is scheduled
    cancel = await client.patch(active.url, json={"status": "deleted"}, headers=auth())
    assert cancel.json()["autoRenewEnabled"] is False
    await client.patch(active.url, json={"autoRenewEnabled": True}, headers=auth())  # undone

    # The fact about the (undone) cancellation arrives after: the partner's choice stands.
    [request] = [e for e in await emitted(store) if e.type == "CancellationRequested"]
    await feed(consumer, cancellation_scheduled(sid, corr, request.data.operation_id))
    assert (await view(client, active))["autoRenewEnabled"] is True


async def test_suspension_and_reinstatement_facts_are_not_followed(
    store: MemoryStore, consumer: EventConsumer, active: Purchase
) -> None:
    """Ordering applied them when it decided them; the consumer skips their facts."""
    before = await stored(store, active.subscription_id)
    assert await feed(consumer, suspended(active.subscription_id, active.correlation_id)) == [
        "skipped"
    ]
    assert await stored(store, active.subscription_id) == before


async def test_facts_about_an_unknown_subscription_are_ignored_not_failed(
    store: MemoryStore, consumer: EventConsumer, dead_letters: list[tuple[str, bytes]]
) -> None:
    facts = [
        quantity_accepted("ghost", "c", "op-1", 8),
        quantity_rejected("ghost", "c", "op-1", 8),
        renewed("ghost", "c", TERM_END, add(TERM_END, "P1Y")),
        expired("ghost", "c"),
        cancelled("ghost", "c"),
        cancellation_scheduled("ghost", "c"),
    ]

    assert await feed(consumer, *facts) == ["handled"] * len(facts)
    assert dead_letters == []
    assert await stored(store, "ghost") is None


async def test_following_facts_emits_nothing(
    client: httpx.AsyncClient, store: MemoryStore, consumer: EventConsumer, active: Purchase
) -> None:
    sid, corr = active.subscription_id, active.correlation_id
    operation_id = await ask_for_seats(client, active, 8)
    await feed(
        consumer,
        quantity_accepted(sid, corr, operation_id, 8),
        renewed(sid, corr, TERM_END, add(TERM_END, "P1Y")),
        cancellation_scheduled(sid, corr),
        expired(sid, corr, at=add(TERM_END, "P1Y")),
    )
    assert [e.type for e in await emitted(store)] == [
        "SubscriptionPurchased",
        "QuantityChangeRequested",  # the partner's request, not the facts
    ]
