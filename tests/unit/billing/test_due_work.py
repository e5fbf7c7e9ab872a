"""Billing's due work: each period of a term billed in several periods is charged when
it starts, once, however the clock jumps and however many passes race."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest

from services.billing.bootstrap import DEFINITION
from services.billing.domain.ledger import LedgerLine, derive_line_id
from services.billing.service_layer.unit_of_work import BillingUnitOfWork
from shared.events.billing import ChargePosted
from shared.events.provisioning import QuantityChangeAccepted, SubscriptionSuspended
from shared.periods import add
from shared.store.port import DuplicateKey
from tests.unit.billing.builders import TERM_START, Billing, emitted, fact

ANNUAL_BILLED_MONTHLY = {"term_duration": "P1Y", "price_per_seat": "9.00", "quantity": 2}


def month(n: int) -> datetime:
    """The start of the n-th month of the term (0 = the term's start)."""
    return add(TERM_START, f"P{n}M")


@pytest.fixture
def billing() -> Billing:
    return Billing()


def test_billing_declares_its_due_work() -> None:
    assert len(DEFINITION.due_work(object(), {})) == 1  # type: ignore[arg-type]


async def test_an_annual_term_billed_monthly_is_charged_as_each_month_starts(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    billing.at(month(1) - timedelta(seconds=1))
    await billing.run_due_work()
    assert len(await billing.ledger(sid)) == 1  # not yet

    billing.at(month(1))
    await billing.run_due_work()
    first, second = await billing.ledger(sid)
    assert (second.type, second.quantity, second.amount) == ("charge", 2, 1800)
    assert (second.period.start, second.period.end) == (month(1), month(2))
    assert second.invoice_id != first.invoice_id
    assert second.id == derive_line_id(sid, second.period, "charge") == second.event_id
    assert [d.number for d in await billing.documents()] == ["INV-000001", "INV-000002"]

    await billing.run_due_work()  # again, at the same time: nothing more
    assert len(await billing.ledger(sid)) == 2


async def test_a_jump_over_three_months_charges_each_on_its_own_invoice(billing: Billing) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    billing.at(month(3) + timedelta(days=2))
    await billing.run_due_work()

    lines = await billing.ledger(sid)
    assert [line.period.start for line in lines] == [month(n) for n in range(4)]
    assert all(a.period.end == b.period.start for a, b in pairwise(lines))  # they tile
    assert {line.amount for line in lines} == {1800}
    assert len({line.invoice_id for line in lines}) == 4


async def test_a_whole_year_and_more_charges_twelve_periods_and_no_more(billing: Billing) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    billing.at(month(15))  # no renewal fact came: the term is over
    await billing.run_due_work()
    lines = await billing.ledger(sid)
    assert len(lines) == 12 and lines[-1].period.end == add(TERM_START, "P1Y")


async def test_month_end_periods_end_feb_28_then_mar_31(billing: Billing) -> None:
    start = datetime(2026, 1, 31, 10, tzinfo=UTC)
    sid = await billing.activate(term_start=start, **ANNUAL_BILLED_MONTHLY)
    billing.at(datetime(2026, 3, 31, 10, tzinfo=UTC))
    await billing.run_due_work()
    ends = [line.period.end.date().isoformat() for line in await billing.ledger(sid)]
    assert ends == ["2026-02-28", "2026-03-31", "2026-04-30"]


async def test_a_term_of_one_period_leaves_the_due_work_nothing(billing: Billing) -> None:
    sid = await billing.activate()  # monthly term, monthly billing
    billing.at(add(TERM_START, "P3M"))
    await billing.run_due_work()
    assert len(await billing.ledger(sid)) == 1


async def test_a_suspended_subscription_is_not_charged(billing: Billing) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    await billing.receive(
        fact(SubscriptionSuspended, sid, suspended_at=TERM_START + timedelta(days=1))
    )
    billing.at(month(4))
    await billing.run_due_work()
    assert len(await billing.ledger(sid)) == 1


async def test_racing_passes_charge_each_period_once(billing: Billing) -> None:
    sids = [await billing.activate(**ANNUAL_BILLED_MONTHLY) for _ in range(3)]
    billing.at(month(2))
    await asyncio.gather(*(billing.run_due_work() for _ in range(4)))
    for sid in sids:
        assert [line.period.start for line in await billing.ledger(sid)] == [
            month(0),
            month(1),
            month(2),
        ]
    numbers = sorted(d.number for d in await billing.documents())
    assert numbers == [f"INV-{n:06d}" for n in range(1, 10)]  # gapless


async def test_charges_carry_the_purchases_correlation_id(billing: Billing) -> None:
    await billing.activate(correlation_id="purchase-42", **ANNUAL_BILLED_MONTHLY)
    billing.at(month(1))
    await billing.run_due_work()
    later = (await emitted(billing.store))[2:]
    assert [type(e).__name__ for e in later] == ["ChargePosted", "InvoiceIssued"]
    assert {e.correlation_id for e in later} == {"purchase-42"}
    assert isinstance(later[0], ChargePosted) and later[0].data.type == "charge"


async def test_a_seat_change_before_the_due_work_ran_sees_the_month_charged_first(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    at = month(1) + timedelta(days=30)  # the last day of month 2 (31 days)
    billing.at(at)
    await billing.receive(
        fact(
            QuantityChangeAccepted,
            sid,
            quantity=3,
            previous_quantity=2,
            accepted_at=at,
            accepted_by="timeout",
        )
    )
    await billing.run_due_work()  # too late: the fact charged the month already
    _, month_2, proration = await billing.ledger(sid)
    assert (month_2.type, month_2.quantity, month_2.amount) == ("charge", 2, 1800)
    assert (proration.type, proration.amount) == ("proration", 29)  # 1/31 x 9.00


async def test_the_store_refuses_a_period_charged_twice_under_another_id(
    billing: Billing,
) -> None:
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    billing.at(month(1))
    await billing.run_due_work()
    [_, charged] = await billing.ledger(sid)
    twin = LedgerLine.model_validate({**charged.document(), "id": "another-id"})
    async with BillingUnitOfWork(
        billing.store, events=DEFINITION.events, clock=billing.clock
    ) as uow:
        with pytest.raises(DuplicateKey):
            await uow.ledger.add(twin)
