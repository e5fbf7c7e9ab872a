"""Store contract: the outbox backlog the metrics read (`outbox_backlog`): how many rows
are unsent and when the first of them was created, as the store stamped it (the
clock's machinery time). Runs against each adapter via the `store` fixture, whose
`FixedClock` stamps every row."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import FixedClock
from shared.store.port import OutboxBacklog, OutboxMessage, Store
from tests.contract.conftest import CLOCK_START

LEASE = timedelta(seconds=30)


async def emit(store: Store, *messages: OutboxMessage) -> None:
    async with store.transaction() as uow:
        for message in messages:
            uow.add_outbox(message)
        await uow.commit()


def message(n: int) -> OutboxMessage:
    return OutboxMessage("billing.events", f"sub-{n}", f"payload-{n}".encode(), {"n": str(n)})


async def send(store: Store, *seqs: int) -> None:
    """Claim everything claimable, then mark `seqs` sent and give the rest back."""
    claimed = [
        c.seq for c in await store.claim_outbox("relay", 100, CLOCK_START + LEASE, CLOCK_START)
    ]
    await store.mark_sent("relay", [seq for seq in claimed if seq in seqs])
    await store.release_outbox("relay", [seq for seq in claimed if seq not in seqs])


async def test_an_empty_outbox_has_no_backlog(store: Store) -> None:
    assert await store.outbox_backlog() == OutboxBacklog(0, None)


async def test_the_backlog_is_the_unsent_rows_and_the_creation_time_of_the_first(
    store: Store, clock: FixedClock
) -> None:
    first_at = clock.system_now()
    await emit(store, message(1))
    clock.advance(timedelta(seconds=5, microseconds=123_456))  # microseconds are kept
    second_at = clock.system_now()
    await emit(store, message(2), message(3))
    clock.advance(timedelta(seconds=5))
    await emit(store, message(4))
    first, second, third, fourth = [
        c.seq for c in await store.claim_outbox("peek", 10, CLOCK_START, CLOCK_START)
    ]  # a lease that is over already: nothing is held

    assert await store.outbox_backlog() == OutboxBacklog(4, first_at)

    await send(store, third)  # a later row sent: the first one is still the oldest
    assert await store.outbox_backlog() == OutboxBacklog(3, first_at)

    await send(store, first)
    backlog = await store.outbox_backlog()
    assert backlog == OutboxBacklog(2, second_at)
    assert backlog.oldest_created_at is not None
    assert backlog.oldest_created_at.utcoffset() == timedelta(0)

    await send(store, second, fourth)
    assert await store.outbox_backlog() == OutboxBacklog(0, None)


async def test_the_oldest_is_the_first_row_written_even_if_the_clock_went_back(
    store: Store, clock: FixedClock
) -> None:
    first_at = clock.system_now()
    await emit(store, message(1))
    clock.advance(timedelta(seconds=-10))  # the machine's clock was set back
    await emit(store, message(2))
    assert await store.outbox_backlog() == OutboxBacklog(2, first_at)


async def test_a_requeued_row_keeps_the_time_it_was_created(
    store: Store, clock: FixedClock
) -> None:
    created_at = clock.system_now()
    await emit(store, message(1))
    [row] = await store.claim_outbox("relay", 10, CLOCK_START + LEASE, CLOCK_START)
    clock.advance(timedelta(minutes=1))
    await store.mark_sent("relay", [row.seq])
    assert await store.outbox_backlog() == OutboxBacklog(0, None)

    clock.advance(timedelta(hours=1))
    assert await store.requeue_sent_since(created_at) == 1

    assert await store.outbox_backlog() == OutboxBacklog(1, created_at)
