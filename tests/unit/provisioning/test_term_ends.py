"""Term ends (provisioning's due work): auto-renew on renews with a Renew operation and
SubscriptionRenewed, off expires with an Unsubscribe operation and SubscriptionExpired.
Terms are counted from the first one's start, so month ends do not drift."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.provisioning.domain.operations import term_end_operation_id
from shared.events import ordering as asks
from shared.events import provisioning as facts
from tests.unit.provisioning.support import (
    API,
    SUBS,
    T0,
    Harness,
    catalog_with,
    publisher_headers,
    purchase,
    request,
)

# T0 is Jan 31 09:30: the monthly terms end on the last day of each month at 09:30.
FEB_28 = datetime(2025, 2, 28, 9, 30, tzinfo=UTC)
MAR_31 = datetime(2025, 3, 31, 9, 30, tzinfo=UTC)
APR_30 = datetime(2025, 4, 30, 9, 30, tzinfo=UTC)
MAY_31 = datetime(2025, 5, 31, 9, 30, tzinfo=UTC)
SECOND = timedelta(seconds=1)


async def renewed_terms(h: Harness) -> list[tuple[datetime, datetime, int]]:
    renewals = [e for e in await h.events() if isinstance(e, facts.SubscriptionRenewed)]
    return [(e.data.term_start, e.data.term_end, e.data.quantity) for e in renewals]


async def test_a_term_renews_at_its_end_and_not_a_second_before() -> None:
    h = Harness()
    sid = await h.activated()
    h.clock.at = FEB_28 - SECOND
    await h.due("term_ends")
    assert await h.events() == []

    h.clock.at = FEB_28
    await h.due("term_ends")

    (fact,) = await h.events()
    assert isinstance(fact, facts.SubscriptionRenewed)
    assert fact.data.model_dump() == {
        "subscription_id": sid,
        "operation_id": term_end_operation_id(sid, FEB_28),
        "term_start": FEB_28,
        "term_end": MAR_31,  # counted from Jan 31: not Mar 28
        "quantity": 5,
    }
    (operation,) = await h.operations(sid)
    assert (operation.id, operation.action, operation.status) == (
        fact.data.operation_id,
        "Renew",
        "Succeeded",
    )
    assert (operation.time_stamp, operation.delivery_state) == (FEB_28, "pending")
    view = (await h.client.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())).json()
    assert view["saasSubscriptionStatus"] == "Subscribed"
    assert (view["term"]["startDate"], view["term"]["endDate"]) == (
        "2025-02-28T09:30:00Z",
        "2025-03-30T09:30:00Z",  # the last day of [Feb 28, Mar 31)
    )
    await h.due("webhook_deliveries")
    assert h.recorded.actions() == ["Renew"]


async def test_month_end_terms_renew_to_each_months_end() -> None:
    h = Harness()
    await h.activated()

    for term_end in (FEB_28, MAR_31, APR_30):
        h.clock.at = term_end
        await h.due("term_ends")

    assert await renewed_terms(h) == [(FEB_28, MAR_31, 5), (MAR_31, APR_30, 5), (APR_30, MAY_31, 5)]


async def test_a_jump_over_three_term_ends_renews_three_times_and_sends_each_webhook() -> None:
    h = Harness()
    sid = await h.activated()
    h.clock.at = APR_30 + timedelta(days=3)

    await h.due("term_ends")

    assert await renewed_terms(h) == [(FEB_28, MAR_31, 5), (MAR_31, APR_30, 5), (APR_30, MAY_31, 5)]
    operations = await h.operations(sid)
    assert [(o.action, o.time_stamp) for o in operations] == [
        ("Renew", FEB_28),
        ("Renew", MAR_31),
        ("Renew", APR_30),
    ]
    stored = await h.stored(sid)
    assert stored is not None
    assert (stored.term_start, stored.term_end, stored.term_number) == (APR_30, MAY_31, 3)
    # One webhook of a subscription per pass, oldest first.
    for delivered in (1, 2, 3, 3):
        await h.due("webhook_deliveries")
        assert [o.id for o, _ in h.recorded.sent] == [o.id for o in operations][:delivered]


async def test_repeating_the_due_work_renews_nothing_twice() -> None:
    h = Harness()
    sid = await h.activated()
    h.clock.at = MAR_31 + SECOND

    await h.due()
    await h.due()

    assert len(await renewed_terms(h)) == 2
    assert len(await h.operations(sid)) == 2


async def test_without_auto_renew_the_term_end_expires_the_subscription_once() -> None:
    h = Harness()
    sid = await h.activated(purchase(auto_renew_enabled=False))
    h.clock.at = APR_30  # three term ends passed: it expired at the first

    await h.due()
    await h.due()

    (fact,) = await h.events()
    assert isinstance(fact, facts.SubscriptionExpired)
    assert fact.data.model_dump() == {
        "subscription_id": sid,
        "operation_id": term_end_operation_id(sid, FEB_28),
        "ended_at": FEB_28,
    }
    (operation,) = await h.operations(sid)
    assert (operation.action, operation.status, operation.time_stamp) == (
        "Unsubscribe",
        "Succeeded",
        FEB_28,
    )
    view = (await h.client.get(f"{SUBS}/{sid}{API}", headers=publisher_headers())).json()
    assert view["saasSubscriptionStatus"] == "Unsubscribed"
    assert h.recorded.actions() == ["Unsubscribe"]


async def test_a_scheduled_cancellation_ends_the_subscription_at_term_end() -> None:
    h = Harness()
    sid = await h.activated()
    await h.deliver(request(asks.CancellationRequested, sid, immediate=False))
    await h.events()
    h.clock.at = FEB_28

    await h.due("term_ends")

    assert [type(e) for e in await h.events()] == [facts.SubscriptionExpired]
    assert [o.action for o in await h.operations(sid)] == ["Unsubscribe"]


async def test_a_suspended_subscription_renews_and_stays_suspended() -> None:
    h = Harness()
    sid = await h.activated()
    await h.deliver(request(asks.SuspensionRequested, sid))
    await h.events()
    h.clock.at = FEB_28

    await h.due("term_ends")

    assert await renewed_terms(h) == [(FEB_28, MAR_31, 5)]
    stored = await h.stored(sid)
    assert stored is not None and stored.status == "Suspended"


async def test_an_unanswered_seat_change_is_accepted_before_the_term_it_fell_in_renews() -> None:
    h = Harness()
    sid = await h.activated()
    await h.deliver(request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5))
    h.clock.at = FEB_28 + SECOND  # one jump over the deadline and the term end

    await h.due()

    accepted, renewed = await h.events()
    assert isinstance(accepted, facts.QuantityChangeAccepted)
    assert accepted.data.accepted_at == T0 + timedelta(seconds=10)  # in the first term
    assert isinstance(renewed, facts.SubscriptionRenewed)
    assert renewed.data.quantity == 8


async def test_expiry_rejects_a_seat_change_still_waiting() -> None:
    h = Harness(catalog=catalog_with(acceptance_timeout="P1D"))
    sid = await h.activated(purchase(auto_renew_enabled=False))
    h.clock.at = FEB_28 - timedelta(hours=1)
    await h.deliver(request(asks.QuantityChangeRequested, sid, quantity=8, previous_quantity=5))
    h.clock.at = FEB_28

    await h.due("term_ends")

    rejected, expired = await h.events()
    assert isinstance(rejected, facts.QuantityChangeRejected)
    assert (rejected.data.reason, rejected.data.rejected_at) == ("the subscription expired", FEB_28)
    assert isinstance(expired, facts.SubscriptionExpired)


async def test_a_subscription_never_activated_has_no_term_to_end() -> None:
    h = Harness()
    event = purchase()
    await h.purchased(event)
    h.clock.at = MAY_31

    await h.due()

    assert await h.events() == []
    assert await h.operations(event.subject) == []
