"""Store contract, part 3: `requeue_sent_since`, the outbox replay after a broker lost what
it held (tools.replay_outbox). Runs against each adapter via the `store` fixture."""

from __future__ import annotations

from datetime import timedelta

from shared.clock import FixedClock
from shared.store.port import OutboxMessage, Store
from tests.contract.test_outbox_contract import LEASE, NOW, emit, message


async def send(store: Store, count: int) -> list[int]:
    """Claim and mark sent the `count` oldest unsent rows; their seqs."""
    claimed = await store.claim_outbox("relay-a", count, NOW + LEASE, NOW)
    await store.mark_sent("relay-a", [c.seq for c in claimed])
    return [c.seq for c in claimed]


async def test_rows_sent_since_the_instant_are_published_again_in_order_with_bytes_intact(
    store: Store, clock: FixedClock
) -> None:
    await emit(store, message(1), message(2))
    await send(store, 2)  # sent at the clock's instant: before the cut
    clock.advance(timedelta(minutes=5))
    cut = clock.system_now()
    binary = OutboxMessage("t", "k", bytes(range(256)), {"content-type": "application/json"})
    await emit(store, message(3), binary, message(4))
    await send(store, 3)  # sent at the cut
    clock.advance(timedelta(minutes=1))
    await emit(store, message(5))  # never sent yet

    assert await store.requeue_sent_since(cut) == 3

    assert await store.pending_outbox() == 4
    later = NOW + 2 * LEASE
    again = await store.claim_outbox("relay-b", 10, later + LEASE, later)
    assert [c.message for c in again] == [message(3), binary, message(4), message(5)]
    assert [c.seq for c in again] == sorted(c.seq for c in again)


async def test_the_instant_itself_counts_and_rows_sent_before_it_stay_sent(
    store: Store, clock: FixedClock
) -> None:
    await emit(store, message(1))
    await send(store, 1)
    stamped = clock.system_now()

    assert await store.requeue_sent_since(stamped + timedelta(microseconds=1)) == 0
    assert await store.pending_outbox() == 0
    assert await store.requeue_sent_since(stamped) == 1  # "since" includes the instant
    assert await store.pending_outbox() == 1


async def test_requeued_rows_are_claimable_at_once_whatever_lease_they_had(
    store: Store,
) -> None:
    await emit(store, message(1))
    await send(store, 1)  # its lease (until NOW + LEASE) still runs
    assert await store.requeue_sent_since(NOW - timedelta(days=1)) == 1

    [row] = await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW)
    assert row.message == message(1)
    await store.mark_sent("relay-b", [row.seq])
    assert await store.pending_outbox() == 0


async def test_unsent_rows_keep_their_lease_so_a_key_keeps_its_order(store: Store) -> None:
    """A row in flight (leased, unsent) is not the replay's: requeueing does not free it,
    and a requeued later row of its key still waits for it."""
    first, second = (OutboxMessage("t", "sub-k", f"k{n}".encode()) for n in (1, 2))
    await emit(store, message(1))
    await send(store, 1)
    await emit(store, first)
    [held] = await store.claim_outbox("relay-that-publishes", 1, NOW + LEASE, NOW)
    await emit(store, second)

    assert await store.requeue_sent_since(NOW - timedelta(days=1)) == 1  # message(1) only

    during = await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW)
    assert [c.message for c in during] == [message(1)]  # sub-k waits for its first row
    await store.mark_sent("relay-that-publishes", [held.seq])
    after = await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW)
    assert [c.message for c in after] == [second]


async def test_nothing_sent_nothing_requeued_and_the_listener_stays_quiet(store: Store) -> None:
    calls: list[None] = []
    store.on_outbox_commit(lambda: calls.append(None))
    assert await store.requeue_sent_since(NOW - timedelta(days=1)) == 0
    assert calls == []


async def test_a_requeue_wakes_the_relay_of_this_process(store: Store) -> None:
    await emit(store, message(1))
    await send(store, 1)
    calls: list[None] = []
    store.on_outbox_commit(lambda: calls.append(None))

    await store.requeue_sent_since(NOW - timedelta(days=1))

    assert calls == [None]
