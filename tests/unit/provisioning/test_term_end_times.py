"""What provisioning's term-end work reads: the stored `term_ends_at` of subscriptions in
term, not every one of them. A pass ends every ended term a batch at a time, and a
document stored before the field existed gets it once at start."""

from __future__ import annotations

import pytest

from services.provisioning.domain.model import SaasSubscription
from shared import due_work
from shared.events import ordering as asks
from shared.events import provisioning as facts
from shared.service_layer.due_times import stamp_due_times
from shared.store.port import due_stamp
from tests.unit.provisioning.support import Harness, request
from tests.unit.provisioning.test_term_ends import FEB_28, SECOND


async def stored_term_end(h: Harness, sid: str) -> object:
    async with h.store.read_only() as tx:
        doc = await tx.collection(SaasSubscription.COLLECTION).get(sid)
    assert doc is not None
    return doc.get("term_ends_at", "missing")


async def test_the_stored_term_end_follows_the_status() -> None:
    h = Harness()
    pending = (await h.purchased()).data.subscription_id
    assert await stored_term_end(h, pending) is None  # no term before activation
    sid = await h.activated()
    assert await stored_term_end(h, sid) == due_stamp(FEB_28)

    await h.deliver(request(asks.SuspensionRequested, sid))
    assert await stored_term_end(h, sid) == due_stamp(FEB_28)  # a suspended term ends too

    await h.deliver(request(asks.CancellationRequested, sid, immediate=True))
    assert await stored_term_end(h, sid) is None  # unsubscribed: it never ends again


async def test_a_pass_renews_every_ended_term_a_batch_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(due_work, "DUE_BATCH", 2)
    h = Harness()
    sids = [await h.activated() for _ in range(5)]
    h.clock.at = FEB_28

    await h.due("term_ends")

    renewed = [e.subject for e in await h.events() if isinstance(e, facts.SubscriptionRenewed)]
    assert sorted(renewed) == sorted(sids)
    for sid in sids:
        assert await stored_term_end(h, sid) != due_stamp(FEB_28)  # the next term's end


async def test_a_subscription_stored_without_its_term_end_gets_it_once_at_start() -> None:
    h = Harness()
    sid = await h.activated()
    async with h.store.transaction() as tx:  # as an earlier version wrote it
        old = await tx.collection(SaasSubscription.COLLECTION).get(sid)
        assert old is not None
        del old["term_ends_at"]
        await tx.collection(SaasSubscription.COLLECTION).put(sid, old)
        await tx.commit()
    h.clock.at = FEB_28 + SECOND
    await h.due("term_ends")
    assert not [e for e in await h.events() if isinstance(e, facts.SubscriptionRenewed)]

    assert await stamp_due_times(h.store, [SaasSubscription]) == 1
    await h.due("term_ends")

    (renewal,) = [e for e in await h.events() if isinstance(e, facts.SubscriptionRenewed)]
    assert renewal.subject == sid
