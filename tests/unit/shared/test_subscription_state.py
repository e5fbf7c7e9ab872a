"""An aggregate named as a part of the subscriptions' state gets its view written to
subscriptions.state in the same transaction as each change, keyed per part, after the
events of that change; a commit that changes nothing writes nothing."""

from __future__ import annotations

import json

from shared.clock import FixedClock
from shared.events import LicensesAssigned
from shared.events.state import SubscriptionStateChanged
from shared.events.topics import SUBSCRIPTIONS_STATE
from shared.messaging.mapping import EventMapping
from shared.service_layer import Cause
from shared.store.memory import MemoryStore
from tests.support.kernel import EVENTS, NOW, Tally, TallyUnitOfWork


def counted_view(tally: Tally) -> dict[str, object]:
    return {"counts": list(tally.counts), "quantity": tally.quantity}


STATEFUL = EVENTS.with_state(Tally, "publisher", counted_view)


def unit_of_work(store: MemoryStore, mapping: EventMapping = STATEFUL) -> TallyUnitOfWork:
    return TallyUnitOfWork(
        store, events=mapping, clock=FixedClock(NOW), cause=Cause("purchase-9", "event-7")
    )


async def outbox(store: MemoryStore) -> list[tuple[str, str, dict[str, object]]]:
    """The rows written since the last look (claimed and marked sent)."""
    claimed = await store.claim_outbox("reader", 100, NOW, NOW)
    await store.mark_sent("reader", [c.seq for c in claimed])
    return [(c.message.topic, c.message.key, json.loads(c.message.payload)) for c in claimed]


async def test_a_change_writes_the_new_state_after_its_events_keyed_per_part() -> None:
    store = MemoryStore()
    async with unit_of_work(store) as uow:
        tally = await uow.tallies.get_or_add("sub-1")
        tally.count(3)
        await uow.commit()

    [event, state] = await outbox(store)
    assert (event[0], event[1], event[2]["type"]) == (
        LicensesAssigned.TOPIC,
        "sub-1",
        "LicensesAssigned",
    )
    topic, key, body = state
    assert (topic, key) == (SUBSCRIPTIONS_STATE, "sub-1/publisher")
    record = SubscriptionStateChanged.model_validate(body)
    assert record.subject == "sub-1" and record.source == "tally"
    assert (record.correlation_id, record.causation_id) == ("purchase-9", "event-7")
    assert (record.data.part, record.data.state) == ("publisher", {"counts": [3], "quantity": 10})


async def test_a_commit_that_changes_nothing_writes_no_state() -> None:
    store = MemoryStore()
    async with unit_of_work(store) as uow:
        await uow.tallies.get_or_add("sub-1")
        await uow.commit()
    assert len(await outbox(store)) == 1  # the new aggregate's first state
    async with unit_of_work(store) as uow:
        await uow.tallies.get("sub-1")  # loaded, left as it was
        await uow.commit()
    assert await outbox(store) == []


async def test_without_a_state_part_only_events_are_written_and_none_is_declared() -> None:
    store = MemoryStore()
    async with unit_of_work(store, EVENTS) as uow:
        (await uow.tallies.get_or_add("sub-1")).count(1)
        await uow.commit()
    assert [topic for topic, _, _ in await outbox(store)] == [LicensesAssigned.TOPIC]
    assert SubscriptionStateChanged not in EVENTS.publishes
    assert SubscriptionStateChanged in STATEFUL.publishes
