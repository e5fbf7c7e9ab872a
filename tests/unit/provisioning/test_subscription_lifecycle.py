"""The partner's requests after purchase, through the consumer as Kafka hands them over:
the state machine, the operation each becomes, the facts, refusals and idempotency
(docs/subscription-lifecycle.md, "Events")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from shared.events import ordering as asks
from shared.events import provisioning as facts
from shared.messaging.stalls import PartitionStalled
from shared.periods import add
from tests.unit.provisioning.support import (
    API,
    SUBS,
    T0,
    Harness,
    publisher_headers,
    purchase,
    request,
)
from tests.unit.provisioning.test_provision_purchase import dead_letters


async def publisher_view(h: Harness, sid: str) -> dict[str, object]:
    answer = await h.client.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


async def test_details_change_updates_the_copy_without_operation_event_or_webhook() -> None:
    h = Harness()
    sid = await h.activated()
    ask = request(
        asks.SubscriptionDetailsChanged,
        sid,
        friendly_name="Sales team",
        reseller_mpn_id="1234567",
        auto_renew_enabled=False,
    )

    assert await h.deliver(ask) == "handled"

    stored = await h.stored(sid)
    assert stored is not None
    assert (stored.friendly_name, stored.reseller_mpn_id, stored.auto_renew) == (
        "Sales team",
        "1234567",
        False,
    )
    view = await publisher_view(h, sid)
    assert (view["name"], view["autoRenew"]) == ("Sales team", False)
    assert await h.events() == []
    assert await h.operations(sid) == []
    await h.due()
    assert h.recorded.sent == []


async def test_suspension_becomes_a_succeeded_operation_a_webhook_and_a_fact() -> None:
    h = Harness()
    sid = await h.activated()
    h.clock.advance(timedelta(hours=2))
    ask = request(asks.SuspensionRequested, sid)

    assert await h.deliver(ask) == "handled"

    assert (await publisher_view(h, sid))["saasSubscriptionStatus"] == "Suspended"
    (operation,) = await h.operations(sid)
    assert (operation.id, operation.action, operation.status) == (
        ask.data.operation_id,
        "Suspend",
        "Succeeded",
    )
    assert (operation.time_stamp, operation.delivery_state) == (h.clock.now(), "pending")
    (fact,) = await h.events()
    assert isinstance(fact, facts.SubscriptionSuspended)
    assert fact.data.model_dump() == {
        "subscription_id": sid,
        "operation_id": ask.data.operation_id,
        "suspended_at": T0 + timedelta(hours=2),
    }
    assert (fact.causation_id, fact.correlation_id) == (str(ask.id), ask.correlation_id)
    await h.due("webhook_deliveries")
    assert h.recorded.actions() == ["Suspend"]


async def test_reinstatement_returns_to_subscribed() -> None:
    h = Harness()
    sid = await h.activated()
    await h.deliver(request(asks.SuspensionRequested, sid))
    await h.events()
    ask = request(asks.ReinstatementRequested, sid)

    assert await h.deliver(ask) == "handled"

    assert (await publisher_view(h, sid))["saasSubscriptionStatus"] == "Subscribed"
    (fact,) = await h.events()
    assert isinstance(fact, facts.SubscriptionReinstated)
    assert (fact.data.operation_id, fact.data.reinstated_at) == (ask.data.operation_id, T0)
    assert [o.action for o in await h.operations(sid)] == ["Suspend", "Reinstate"]


@pytest.mark.parametrize(
    ("before", "ask"),
    [
        ([], asks.ReinstatementRequested),  # Subscribed: nothing to reinstate
        ([asks.SuspensionRequested], asks.SuspensionRequested),  # suspended already
        ([asks.CancellationRequested], asks.SuspensionRequested),  # unsubscribed
        ([asks.CancellationRequested], asks.ReinstatementRequested),
        ([asks.CancellationRequested], asks.CancellationRequested),  # cancelled already
    ],
)
async def test_a_request_whose_precondition_fails_is_logged_and_changes_nothing(
    before: list[type], ask: type
) -> None:
    h = Harness()
    sid = await h.activated()
    for kind in before:
        extra = {"immediate": True} if kind is asks.CancellationRequested else {}
        await h.deliver(request(kind, sid, **extra))
    await h.events()
    stored_before = await h.stored(sid)
    operations_before = await h.operations(sid)
    extra = {"immediate": True} if ask is asks.CancellationRequested else {}
    event = request(ask, sid, **extra)

    with capture_logs() as logs:
        assert await h.deliver(event) == "handled"  # not dead-lettered: it is answered

    assert await h.stored(sid) == stored_before
    assert await h.operations(sid) == operations_before
    assert await h.events() == []
    refused = [line for line in logs if line["event"] == "request_not_applicable"]
    assert [line["operation_id"] for line in refused] == [event.data.operation_id]


async def test_immediate_cancellation_unsubscribes_with_an_operation_and_a_fact() -> None:
    h = Harness()
    sid = await h.activated()
    ask = request(asks.CancellationRequested, sid, immediate=True)

    await h.deliver(ask)

    assert (await publisher_view(h, sid))["saasSubscriptionStatus"] == "Unsubscribed"
    (operation,) = await h.operations(sid)
    assert (operation.action, operation.status) == ("Unsubscribe", "Succeeded")
    (fact,) = await h.events()
    assert isinstance(fact, facts.SubscriptionCancelled)
    assert (fact.data.operation_id, fact.data.cancelled_at) == (ask.data.operation_id, T0)


async def test_a_pending_subscription_cancelled_now_refuses_activation_and_licenses() -> None:
    h = Harness()
    event = purchase(quantity=2)
    await h.purchased(event)
    sid = event.subject

    await h.deliver(request(asks.CancellationRequested, sid, immediate=True))

    assert [type(e) for e in await h.events()] == [facts.SubscriptionCancelled]
    assert [o.action for o in await h.operations(sid)] == ["Unsubscribe"]
    headers = publisher_headers()
    seats = {"assignments": [{"userId": "u1"}]}
    licensed = await h.client.put(f"{SUBS}/{sid}/licenses{API}", headers=headers, json=seats)
    activated = await h.client.post(
        f"{SUBS}/{sid}/activate{API}", headers=headers, json={"planId": "standard", "quantity": 2}
    )
    assert (licensed.status_code, activated.status_code) == (400, 400)
    assert "Unsubscribed" in activated.json()["error"]["message"]
    assert await h.events() == []


async def test_scheduled_cancellation_turns_auto_renew_off_until_the_term_end() -> None:
    h = Harness()
    sid = await h.activated(purchase(term_duration="P1Y", billing_cycle="annual"))
    ask = request(asks.CancellationRequested, sid, immediate=False)

    await h.deliver(ask)
    # The same request again under a new event id (a replayed producer): nothing new.
    again = request(
        asks.CancellationRequested, sid, operation_id=ask.data.operation_id, immediate=False
    )
    assert await h.deliver(again) == "handled"

    view = await publisher_view(h, sid)
    assert (view["saasSubscriptionStatus"], view["autoRenew"]) == ("Subscribed", False)
    (fact,) = await h.events()
    assert isinstance(fact, facts.CancellationScheduled)
    assert fact.data.ends_at == add(T0, "P1Y")
    assert await h.operations(sid) == []  # the expiry at term end will be the operation


async def test_a_seat_change_waits_for_the_publisher_until_the_offers_deadline() -> None:
    h = Harness()
    sid = await h.activated()
    ask = request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5)

    await h.deliver(ask)

    (operation,) = await h.operations(sid)
    assert (operation.id, operation.action, operation.status) == (
        ask.data.operation_id,
        "ChangeQuantity",
        "InProgress",
    )
    assert (operation.quantity, operation.plan_id) == (8, "standard")
    assert operation.acceptance_deadline == T0 + timedelta(seconds=10)  # catalog default PT10S
    assert operation.decided_at is None
    assert await h.events() == []  # nothing decided yet
    assert (await publisher_view(h, sid))["quantity"] == 5


@pytest.mark.parametrize(
    ("before", "reason"),
    [
        (asks.SuspensionRequested, "the subscription is Suspended"),
        (asks.QuantityChangeRequested, "is still waiting for the publisher"),
    ],
)
async def test_a_seat_change_that_cannot_be_asked_is_rejected_with_a_reason(
    before: type, reason: str
) -> None:
    h = Harness()
    sid = await h.activated()
    extra = (
        {"quantity": 6, "previous_quantity": 5} if before is asks.QuantityChangeRequested else {}
    )
    await h.deliver(request(before, sid, **extra))
    await h.events()
    await h.due("webhook_deliveries")
    h.recorded.sent.clear()
    ask = request(asks.QuantityChangeRequested, sid, quantity=9, previous_quantity=5)

    await h.deliver(ask)

    (fact,) = await h.events()
    assert isinstance(fact, facts.QuantityChangeRejected)
    assert (fact.data.operation_id, fact.data.quantity, fact.data.current_quantity) == (
        ask.data.operation_id,
        9,
        5,
    )
    assert reason in fact.data.reason and fact.data.rejected_at == T0
    refused = await h.operation(ask.data.operation_id)
    assert refused is not None
    assert (refused.status, refused.delivery_state) == ("Failed", "skipped")
    await h.due("webhook_deliveries")
    assert h.recorded.sent == []  # the publisher is not asked about it


async def test_suspending_with_a_seat_change_pending_rejects_the_change_first() -> None:
    h = Harness()
    sid = await h.activated()
    change = request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5)
    await h.deliver(change)

    await h.deliver(request(asks.SuspensionRequested, sid))

    rejected, suspended = await h.events()
    assert isinstance(rejected, facts.QuantityChangeRejected)
    assert rejected.data.reason == "the subscription was suspended"
    assert isinstance(suspended, facts.SubscriptionSuspended)
    h.clock.advance(timedelta(minutes=1))
    await h.due("acceptance_timeouts")
    assert await h.events() == []  # silence accepts nothing now
    stored = await h.stored(sid)
    assert stored is not None and stored.quantity == 5


async def test_the_same_request_twice_creates_nothing_new() -> None:
    h = Harness()
    sid = await h.activated()
    ask = request(asks.SuspensionRequested, sid)
    assert await h.deliver(ask) == "handled"
    assert await h.deliver(ask) == "duplicate"  # the very same event: the inbox
    same_operation = request(asks.SuspensionRequested, sid, operation_id=ask.data.operation_id)
    h.clock.advance(timedelta(seconds=5))

    with capture_logs() as logs:
        assert await h.deliver(same_operation) == "handled"

    assert [type(e) for e in await h.events()] == [facts.SubscriptionSuspended]
    assert len(await h.operations(sid)) == 1
    assert [line["event"] for line in logs if line["event"] == "request_already_applied"]


async def test_a_request_for_an_unknown_subscription_stops_its_partition() -> None:
    """Its purchase comes first on the same partition, so this is a bug or lost state:
    waited on (and logged on every try), never thrown away."""
    h = Harness()
    dead = dead_letters(h)

    with pytest.raises(PartitionStalled):
        await h.deliver(request(asks.SuspensionRequested, "no-such-subscription"))

    assert dead == []
    [stall] = h.consumer.stalled.values()
    assert "no-such-subscription" in stall.last_error
