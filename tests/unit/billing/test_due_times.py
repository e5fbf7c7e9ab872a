"""What billing's due work reads: the stored `charge_due_at`, not every active
subscription. It agrees with `due_periods` at every instant, a pass charges every due
subscription a batch at a time, and documents stored before the field existed get it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from services.billing.domain.subscription import BilledSubscription
from shared import due_work
from shared.service_layer.due_times import UPGRADES, marker, stamp_due_times
from shared.store.port import due_stamp
from tests.unit.billing.builders import TERM_START, Billing, subscription
from tests.unit.billing.test_due_work import ANNUAL_BILLED_MONTHLY, month


def charge_due_at(sub: BilledSubscription) -> object:
    return sub.document()["charge_due_at"]


def test_the_stored_due_time_is_the_start_of_the_next_period_to_charge() -> None:
    sub = subscription(
        term_duration="P1Y", billing_cycle="monthly", term_end=month(12), charged_periods=[]
    )
    assert charge_due_at(sub) == due_stamp(month(0))  # nothing charged yet
    for n in range(12):
        sub.mark_charged(sub.period(n))
        wanted = due_stamp(month(n + 1)) if n < 11 else None  # the term is all charged
        assert charge_due_at(sub) == wanted
    sub2 = subscription(term_duration="P1Y", billing_cycle="monthly", term_end=month(12))
    sub2.suspend()
    assert charge_due_at(sub2) is None  # a suspended one is never charged


@pytest.mark.parametrize("charged", [0, 1, 5, 12])
def test_due_by_its_stamp_exactly_when_due_periods_says_so(charged: int) -> None:
    sub = subscription(
        term_duration="P1Y", billing_cycle="monthly", term_end=month(12), charged_periods=[]
    )
    for n in range(charged):
        sub.mark_charged(sub.period(n))
    stamp = charge_due_at(sub)
    for hours in range(-24, 24 * 400, 23):
        now = TERM_START + timedelta(hours=hours)
        by_stamp = isinstance(stamp, int) and stamp <= due_stamp(now)
        assert by_stamp == bool(sub.due_periods(now)), now


async def test_a_pass_charges_every_due_subscription_a_batch_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(due_work, "DUE_BATCH", 3)
    billing = Billing()
    sids = [await billing.activate(**ANNUAL_BILLED_MONTHLY) for _ in range(8)]
    billing.at(month(1))

    await billing.run_due_work()

    for sid in sids:
        assert [line.period.start for line in await billing.ledger(sid)] == [month(0), month(1)]


async def test_a_subscription_stored_without_due_times_gets_them_once_at_start() -> None:
    billing = Billing()
    sid = await billing.activate(**ANNUAL_BILLED_MONTHLY)
    async with billing.store.transaction() as tx:  # as an earlier version wrote it
        docs = tx.collection("subscriptions")
        old = await docs.get(sid)
        assert old is not None
        del old["charge_due_at"]
        await docs.put(sid, old)
        await tx.commit()
    billing.at(month(1))
    await billing.run_due_work()
    assert len(await billing.ledger(sid)) == 1  # invisible to the due work as it stands

    assert await stamp_due_times(billing.store, [BilledSubscription]) == 1
    await billing.run_due_work()
    assert [line.period.start for line in await billing.ledger(sid)] == [month(0), month(1)]

    async with billing.store.read_only() as tx:
        assert await tx.collection(UPGRADES).get(marker(BilledSubscription)) is not None
    assert await stamp_due_times(billing.store, [BilledSubscription]) == 0  # done once
