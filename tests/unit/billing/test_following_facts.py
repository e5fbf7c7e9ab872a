"""Provisioning's facts after the activation, through billing's consumer: what each
posts, on which document, and that none posts anything twice.

Every subscription here is activated at TERM_START (2026-11-22T09:30Z) by the
builders' ActivationCompleted: 5 seats at 10.00 USD a month unless said otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from services.billing.domain.billing_period import Period
from shared.events.billing import ChargePosted, CreditNoteIssued, InvoiceIssued
from shared.events.provisioning import (
    CancellationScheduled,
    QuantityChangeAccepted,
    SubscriptionCancelled,
    SubscriptionExpired,
    SubscriptionReinstated,
    SubscriptionRenewed,
    SubscriptionSuspended,
)
from shared.periods import add
from tests.unit.billing.builders import TERM_START, Billing, again, emitted, fact

TERM_END = add(TERM_START, "P1M")  # 30 days: 2026-12-22T09:30Z
MONTH_2 = add(TERM_START, "P1M")
MONTH_3 = add(TERM_START, "P2M")
ANNUAL_BILLED_MONTHLY = {"term_duration": "P1Y", "price_per_seat": "9.00", "quantity": 2}


@pytest.fixture
def billing() -> Billing:
    return Billing()


def accepted(sid: str, quantity: int, previous: int, at: datetime, **more: object):
    return fact(
        QuantityChangeAccepted,
        sid,
        quantity=quantity,
        previous_quantity=previous,
        accepted_at=at,
        accepted_by="publisher",
        **more,
    )


def renewed(sid: str, term_start: datetime, quantity: int = 5, term: str = "P1M"):
    return fact(
        SubscriptionRenewed,
        sid,
        term_start=term_start,
        term_end=add(term_start, term),
        quantity=quantity,
        operation_id=f"renew-{sid}-{term_start.isoformat()}",
    )


# --- seat changes ------------------------------------------------------------------


async def test_a_seat_increase_is_prorated_from_its_instant_on_its_own_invoice(
    billing: Billing,
) -> None:
    sid = await billing.activate()
    at = datetime(2026, 12, 2, 15, tzinfo=UTC)  # 19 days 18.5 hours before the end: 20
    change = accepted(sid, 8, 5, at)
    billing.at(at + timedelta(minutes=1))

    assert await billing.receive(change) == "handled"

    charge, proration = await billing.ledger(sid)
    assert (proration.type, proration.quantity, proration.unit_price) == ("proration", 3, 1000)
    assert proration.amount == 2000  # 20/30 x 3 x 10.00
    assert proration.period == Period(start=at, end=TERM_END)
    assert proration.event_id == str(change.id)
    assert proration.invoice_id != charge.invoice_id
    first, second = await billing.documents()
    assert (second.id, second.kind, second.number, second.total) == (
        proration.invoice_id,
        "invoice",
        "INV-000002",
        2000,
    )
    assert second.line_items[0].description == (
        "Contoso CRM / standard: +3 seats (seat change), 2026-12-02 to 2026-12-21"
    )
    assert (await billing.subscription(sid)).quantity == 8  # type: ignore[union-attr]
    posted, issued = (await emitted(billing.store))[2:]
    assert isinstance(posted, ChargePosted) and isinstance(issued, InvoiceIssued)
    assert (posted.data.type, str(posted.data.amount)) == ("proration", "20.00")
    assert posted.causation_id == str(change.id)


async def test_a_seat_decrease_is_credited_on_a_credit_note(billing: Billing) -> None:
    sid = await billing.activate()
    at = datetime(2026, 12, 2, 15, tzinfo=UTC)
    await billing.receive(accepted(sid, 3, 5, at))

    _, credit = await billing.ledger(sid)
    assert (credit.type, credit.quantity, credit.amount) == ("proration", -2, -1333)  # 13.33
    [note] = [d for d in await billing.documents() if d.kind == "creditNote"]
    assert (note.id, note.number, note.total) == (credit.invoice_id, "CN-000001", -1333)
    assert await billing.balance(sid) == 5000 - 1333
    issued = (await emitted(billing.store))[-1]
    assert isinstance(issued, CreditNoteIssued)
    assert (issued.data.credit_note_id, issued.data.number, str(issued.data.total)) == (
        note.id,
        "CN-000001",
        "-13.33",
    )
    assert issued.subject == sid


@pytest.mark.parametrize(
    ("at", "amount"),
    [(TERM_START, 3000), (TERM_END - timedelta(seconds=1), 100)],
    ids=["at-the-period-start", "one-second-before-the-end"],
)
async def test_a_seat_change_owes_from_a_full_period_to_one_day(
    billing: Billing, at: datetime, amount: int
) -> None:
    sid = await billing.activate()
    await billing.receive(accepted(sid, 8, 5, at))
    [proration] = [line for line in await billing.ledger(sid) if line.type == "proration"]
    assert proration.amount == amount


async def test_half_a_minor_unit_is_rounded_up(billing: Billing) -> None:
    sid = await billing.activate(currency="JPY", price_per_seat="15", quantity=1)
    await billing.receive(accepted(sid, 2, 1, TERM_END - timedelta(days=1)))  # 15/30 yen
    assert (await billing.ledger(sid))[-1].amount == 1


async def test_a_seat_change_in_a_period_not_charged_only_changes_the_seats(
    billing: Billing,
) -> None:
    sid = await billing.activate()
    await billing.receive(fact(SubscriptionSuspended, sid, suspended_at=TERM_START + timedelta(1)))
    await billing.receive(renewed(sid, TERM_END))  # suspended: the new term is not charged
    await billing.receive(accepted(sid, 7, 5, TERM_END + timedelta(days=2)))
    assert [line.type for line in await billing.ledger(sid)] == ["charge"]

    reinstated_at = TERM_END + timedelta(days=10)
    await billing.receive(fact(SubscriptionReinstated, sid, reinstated_at=reinstated_at))
    rest = (await billing.ledger(sid))[-1]
    assert (rest.type, rest.quantity) == ("charge", 7)  # the new count
    assert rest.amount == 4742  # 21 of the 31 days left: 7 x 10.00 x 21/31 = 47.419...


# --- suspension and reinstatement ------------------------------------------------------


async def test_a_suspension_spanning_a_period_start_charges_nothing_until_reinstated(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)  # 18.00 a month
    suspended_at = TERM_START + timedelta(days=10)
    await billing.receive(fact(SubscriptionSuspended, sid, suspended_at=suspended_at))

    billing.at(MONTH_2 + timedelta(days=5))  # month 2 starts while suspended
    await billing.run_due_work()
    [kept] = await billing.ledger(sid)  # month 1 kept: no credit for the suspension
    assert (kept.type, kept.amount, kept.period.end) == ("charge", 1800, MONTH_2)

    reinstated_at = MONTH_2 + timedelta(days=10)  # 2027-01-01: 21 of 31 days remain
    billing.at(reinstated_at)
    await billing.receive(fact(SubscriptionReinstated, sid, reinstated_at=reinstated_at))
    await billing.run_due_work()
    _, rest = await billing.ledger(sid)
    assert (rest.type, rest.quantity, rest.period) == (
        "charge",
        2,
        Period(start=reinstated_at, end=MONTH_3),
    )
    assert rest.amount == 1219  # 21/31 x 18.00 = 12.19...

    billing.at(MONTH_3)
    await billing.run_due_work()  # charging goes on with month 3, in full
    third = (await billing.ledger(sid))[-1]
    assert (third.period.start, third.amount) == (MONTH_3, 1800)
    assert len(await billing.documents()) == 3


async def test_suspending_and_reinstating_within_a_charged_period_charges_nothing(
    billing: Billing,
) -> None:
    sid = await billing.activate()
    await billing.receive(fact(SubscriptionSuspended, sid, suspended_at=TERM_START + timedelta(1)))
    await billing.receive(
        fact(SubscriptionReinstated, sid, reinstated_at=TERM_START + timedelta(2))
    )
    assert len(await billing.ledger(sid)) == 1
    assert (await billing.subscription(sid)).status == "active"  # type: ignore[union-attr]


# --- renewals and the end ---------------------------------------------------------------


async def test_an_active_renewal_charges_the_new_terms_first_period_on_a_new_invoice(
    billing: Billing,
) -> None:
    sid = await billing.activate()
    renewal = renewed(sid, TERM_END, quantity=6)
    await billing.receive(renewal)

    charge, renewal_line = await billing.ledger(sid)
    assert (renewal_line.type, renewal_line.quantity, renewal_line.amount) == ("renewal", 6, 6000)
    assert renewal_line.period == Period(start=TERM_END, end=add(TERM_END, "P1M"))
    assert renewal_line.invoice_id != charge.invoice_id
    assert renewal_line.event_id == str(renewal.id)
    sub = await billing.subscription(sid)
    assert sub is not None
    assert (sub.term_start, sub.term_end, sub.first_term_start) == (
        TERM_END,
        add(TERM_END, "P1M"),
        TERM_START,
    )


async def test_a_suspended_renewal_charges_nothing_and_reinstatement_charges_the_rest(
    billing: Billing,
) -> None:
    sid = await billing.activate()
    await billing.receive(fact(SubscriptionSuspended, sid, suspended_at=TERM_START + timedelta(1)))
    await billing.receive(renewed(sid, TERM_END))
    assert len(await billing.ledger(sid)) == 1

    at = TERM_END + timedelta(seconds=5)
    await billing.receive(fact(SubscriptionReinstated, sid, reinstated_at=at))
    _, rest = await billing.ledger(sid)
    assert (rest.type, rest.amount, rest.period.end) == ("charge", 5000, add(TERM_END, "P1M"))


async def test_a_renewal_first_charges_periods_of_the_old_term_the_due_work_missed(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    year_end = add(TERM_START, "P1Y")
    await billing.receive(renewed(sid, year_end, quantity=2, term="P1Y"))
    kinds = [(line.type, line.period.start) for line in await billing.ledger(sid)]
    assert kinds == [("charge", add(TERM_START, f"P{n}M")) for n in range(12)] + [
        ("renewal", year_end)
    ]


async def test_an_expiry_ends_billing(billing: Billing) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    await billing.receive(
        fact(CancellationScheduled, sid, ends_at=add(TERM_START, "P1Y"))  # informational
    )
    sub = await billing.subscription(sid)
    assert sub is not None and sub.auto_renew_enabled is False
    assert len(await billing.ledger(sid)) == 1

    year_end = add(TERM_START, "P1Y")
    await billing.receive(fact(SubscriptionExpired, sid, ended_at=year_end))
    assert len(await billing.ledger(sid)) == 12  # the months the due work had not reached
    assert (await billing.subscription(sid)).status == "ended"  # type: ignore[union-attr]

    billing.at(add(year_end, "P3M"))
    await billing.run_due_work()
    await billing.receive(renewed(sid, year_end, term="P1Y"))  # whatever comes, no charge
    assert len(await billing.ledger(sid)) == 12


# --- cancellation -------------------------------------------------------------------


async def test_a_cancellation_credits_every_charge_on_one_credit_note(billing: Billing) -> None:
    sid = await billing.activate(
        term_duration="P1Y", billing_cycle="annual", quantity=3, price_per_seat="100.00"
    )
    await billing.receive(accepted(sid, 4, 3, TERM_START + timedelta(days=100)))
    await billing.receive(accepted(sid, 6, 4, TERM_START))  # shares the charge's period
    before = await billing.balance(sid)
    assert before == 30000 + 7260 + 20000  # + 1 seat x 100.00 x 265/365, + 2 seats in full

    cancel = fact(SubscriptionCancelled, sid, cancelled_at=TERM_START + timedelta(days=3))
    await billing.receive(cancel)

    # The charge and both prorations lie in the one (annual) billing period: one credit
    # for it, of the seats it ended with.
    [credit] = [line for line in await billing.ledger(sid) if line.type == "credit"]
    assert credit.period == Period(start=TERM_START, end=add(TERM_START, "P1Y"))
    assert (credit.quantity, credit.amount, credit.event_id) == (-6, -before, str(cancel.id))
    [note] = [d for d in await billing.documents() if d.kind == "creditNote"]
    assert (note.id, note.number, note.total) == (credit.invoice_id, "CN-000001", -before)
    assert note.line_items[0].description == (
        "Contoso CRM / standard: 6 seats (credit), 2026-11-22 to 2027-11-21"
    )
    assert await billing.balance(sid) == 0
    assert (await billing.subscription(sid)).status == "ended"  # type: ignore[union-attr]


async def test_a_second_cancellation_changes_nothing(billing: Billing) -> None:
    sid = await billing.activate()
    cancel = fact(SubscriptionCancelled, sid, cancelled_at=TERM_START + timedelta(hours=1))
    await billing.receive(cancel)
    posted = await billing.ledger(sid)

    assert await billing.receive(cancel) == "duplicate"  # the same event: the inbox
    assert await billing.receive(again(cancel)) == "handled"  # the same fact: applied once
    other = fact(SubscriptionCancelled, sid, cancelled_at=TERM_START + timedelta(hours=2))
    assert await billing.receive(other) == "handled"  # another operation: already ended
    assert await billing.ledger(sid) == posted
    assert len(await emitted(billing.store)) == 2 + 2  # activation's two, the credit's two


async def test_nothing_is_charged_after_a_cancellation(billing: Billing) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    await billing.receive(fact(SubscriptionCancelled, sid, cancelled_at=TERM_START))
    billing.at(MONTH_3)
    await billing.run_due_work()
    await billing.receive(accepted(sid, 5, 2, MONTH_2))
    await billing.receive(fact(SubscriptionReinstated, sid, reinstated_at=MONTH_3))
    assert [line.type for line in await billing.ledger(sid)] == ["charge", "credit"]
    assert await billing.balance(sid) == 0


# --- the same fact twice, and facts about strangers -----------------------------------------


@pytest.mark.parametrize("replay", ["same-event", "new-event-id"])
async def test_a_fact_applied_twice_posts_once(billing: Billing, replay: str) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    facts = [
        accepted(sid, 3, 2, TERM_START + timedelta(days=3)),
        fact(SubscriptionSuspended, sid, suspended_at=TERM_START + timedelta(days=4)),
        fact(SubscriptionReinstated, sid, reinstated_at=MONTH_2 + timedelta(days=1)),
        renewed(sid, add(TERM_START, "P1Y"), quantity=3, term="P1Y"),
    ]
    for event in facts:
        await billing.receive(event)
    posted, documents = await billing.ledger(sid), await billing.documents()
    quantity = (await billing.subscription(sid)).quantity  # type: ignore[union-attr]

    for event in facts:
        outcome = await billing.receive(event if replay == "same-event" else again(event))
        assert outcome == ("duplicate" if replay == "same-event" else "handled")

    assert await billing.ledger(sid) == posted
    assert len(await billing.documents()) == len(documents)
    assert (await billing.subscription(sid)).quantity == quantity  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "unknown",
    [
        fact(SubscriptionCancelled, "sub-never-billed", cancelled_at=TERM_START),
        fact(SubscriptionSuspended, "sub-never-billed", suspended_at=TERM_START),
        fact(SubscriptionReinstated, "sub-never-billed", reinstated_at=TERM_START),
        fact(CancellationScheduled, "sub-never-billed", ends_at=TERM_END),
        fact(SubscriptionExpired, "sub-never-billed", ended_at=TERM_END),
        renewed("sub-never-billed", TERM_END),
        accepted("sub-never-billed", 3, 2, TERM_START),
    ],
    ids=lambda event: event.type,
)
async def test_a_fact_about_a_subscription_billing_never_saw_is_logged_and_skipped(
    billing: Billing, unknown
) -> None:
    with capture_logs() as logs:
        assert await billing.receive(unknown) == "handled"  # not dead-lettered
    assert await billing.subscription("sub-never-billed") is None  # no state made up
    assert await billing.ledger("sub-never-billed") == []
    assert await billing.store.pending_outbox() == 0
    [warning] = [entry for entry in logs if entry["log_level"] == "warning"]
    assert warning["event"] == "fact_for_unknown_subscription_skipped"
    assert warning["operation_id"] == unknown.data.operation_id


async def test_a_cancellation_credits_each_period_of_a_term_billed_monthly(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    billing.at(MONTH_2 + timedelta(hours=1))
    await billing.run_due_work()
    await billing.receive(accepted(sid, 3, 2, MONTH_2 + timedelta(days=1)))  # 30/31 x 9.00
    assert await billing.balance(sid) == 1800 + 1800 + 871

    await billing.receive(fact(SubscriptionCancelled, sid, cancelled_at=MONTH_2 + timedelta(2)))

    credits = [line for line in await billing.ledger(sid) if line.type == "credit"]
    assert [(c.period.start, c.quantity, c.amount) for c in credits] == [
        (TERM_START, -2, -1800),
        (MONTH_2, -3, -1800 - 871),  # the month's charge and its proration, merged
    ]
    assert len({line.invoice_id for line in credits}) == 1
    assert await billing.balance(sid) == 0
