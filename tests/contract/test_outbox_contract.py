"""Store contract, part 2: the outbox as the relay sees it (claim, lease, mark_sent)
and the commit listener. Runs against each adapter via the `store` fixture."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.clock import FixedClock
from shared.store.port import OutboxMessage, Store

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def emit(store: Store, *messages: OutboxMessage) -> None:
    async with store.transaction() as uow:
        for message in messages:
            uow.add_outbox(message)
        await uow.commit()


def message(n: int) -> OutboxMessage:
    return OutboxMessage("billing.events", f"sub-{n}", f"payload-{n}".encode(), {"n": str(n)})


async def test_claim_returns_committed_rows_oldest_first_with_bytes_and_headers_intact(
    store: Store,
) -> None:
    binary = OutboxMessage("t", "k", bytes(range(256)), {"content-type": "application/json"})
    await emit(store, message(1), binary)
    await emit(store, message(3))

    claimed = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)

    assert [c.message for c in claimed] == [message(1), binary, message(3)]
    assert [c.seq for c in claimed] == sorted(c.seq for c in claimed)
    assert isinstance(claimed[1].message.payload, bytes)


async def test_claim_honours_the_limit(store: Store) -> None:
    await emit(store, *(message(n) for n in range(5)))
    first = await store.claim_outbox("relay-a", 2, NOW + LEASE, NOW)
    rest = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)
    assert [c.message for c in first] == [message(0), message(1)]
    assert [c.message for c in rest] == [message(2), message(3), message(4)]
    assert await store.claim_outbox("relay-a", 0, NOW + LEASE, NOW) == []


async def test_a_leased_row_goes_to_no_other_token_until_the_lease_has_passed(
    store: Store,
) -> None:
    await emit(store, message(1))
    a = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)
    assert len(a) == 1

    assert await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW + LEASE / 2) == []

    later = NOW + LEASE + timedelta(seconds=1)
    b = await store.claim_outbox("relay-b", 10, later + LEASE, later)
    assert [c.seq for c in b] == [a[0].seq]


async def test_mark_sent_removes_rows_from_later_claims_and_from_pending(store: Store) -> None:
    await emit(store, message(1), message(2), message(3))
    assert await store.pending_outbox() == 3
    claimed = await store.claim_outbox("relay-a", 2, NOW + LEASE, NOW)

    await store.mark_sent("relay-a", [c.seq for c in claimed])

    assert await store.pending_outbox() == 1
    after_lease = NOW + 2 * LEASE
    again = await store.claim_outbox("relay-a", 10, after_lease + LEASE, after_lease)
    assert [c.message for c in again] == [message(3)]


async def test_released_rows_can_be_claimed_again_at_once_but_only_by_the_holder(
    store: Store,
) -> None:
    await emit(store, message(1), message(2))
    claimed = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)

    await store.release_outbox("relay-b", [c.seq for c in claimed])  # not the holder: no-op
    assert await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW) == []
    await store.release_outbox("relay-a", [claimed[1].seq])

    again = await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW)
    assert [c.message for c in again] == [message(2)]


async def test_only_the_lease_holder_can_mark_sent(store: Store) -> None:
    await emit(store, message(1))
    [row] = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)

    await store.mark_sent("relay-b", [row.seq])
    assert await store.pending_outbox() == 1

    # Once relay-b holds the expired lease, relay-a's late acknowledgement is ignored.
    later = NOW + 2 * LEASE
    [taken] = await store.claim_outbox("relay-b", 10, later + LEASE, later)
    await store.mark_sent("relay-a", [row.seq])
    assert await store.pending_outbox() == 1

    await store.mark_sent("relay-b", [taken.seq])
    assert await store.pending_outbox() == 0


async def test_outbox_rows_appear_only_once_their_unit_of_work_commits(store: Store) -> None:
    async with store.transaction() as uow:
        uow.add_outbox(message(1))
    assert await store.pending_outbox() == 0
    assert await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW) == []


async def test_listener_fires_after_a_commit_with_outbox_rows(store: Store) -> None:
    calls: list[int] = []
    store.on_outbox_commit(lambda: calls.append(1))
    store.on_outbox_commit(lambda: calls.append(2))

    await emit(store, message(1), message(2))

    assert calls == [1, 2]  # once per commit, every listener


async def test_listener_does_not_fire_after_a_rollback_or_a_commit_without_outbox_rows(
    store: Store,
) -> None:
    calls: list[None] = []
    store.on_outbox_commit(lambda: calls.append(None))

    async with store.transaction() as uow:
        uow.add_outbox(message(1))
        await uow.rollback()
    async with store.transaction() as uow:
        uow.add_outbox(message(2))  # left without commit
    async with store.transaction() as uow:
        await uow.collection("c").put("k", {"v": 1})
        await uow.commit()

    assert calls == []


async def record(store: Store, event_id: str) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox("consumer", event_id)
        await uow.commit()


async def test_purge_forgets_old_sent_rows_and_inbox_records_but_never_unsent_rows(
    store: Store, clock: FixedClock
) -> None:
    await emit(store, message(1), message(2))
    claimed = await store.claim_outbox("relay-a", 1, NOW + LEASE, NOW)
    await store.mark_sent("relay-a", [c.seq for c in claimed])
    await record(store, "event-1")

    stamped = clock.system_now()
    assert await store.purge(stamped) == 0  # "before", not "at": nothing is that old yet

    assert await store.purge(stamped + timedelta(microseconds=1)) == 2
    assert await store.pending_outbox() == 1  # the unsent row stays
    [left] = await store.claim_outbox("relay-b", 10, NOW + 3 * LEASE, NOW + 2 * LEASE)
    assert left.message == message(2)
    async with store.transaction() as uow:
        assert await uow.record_inbox("consumer", "event-1")  # forgotten: new again
        await uow.rollback()


async def test_sent_and_recorded_times_come_from_the_stores_clock_not_the_real_one(
    store: Store, clock: FixedClock
) -> None:
    await emit(store, message(1), message(2))
    first, second = await store.claim_outbox("relay-a", 10, NOW + LEASE, NOW)
    await store.mark_sent("relay-a", [first.seq])
    await record(store, "early")
    clock.advance(timedelta(hours=1))
    await store.mark_sent("relay-a", [second.seq])
    await record(store, "late")

    # The clock runs years ahead of the real time: real-time stamps would all go here.
    assert await store.purge(clock.system_now() - timedelta(minutes=30)) == 2
    async with store.transaction() as uow:
        assert await uow.record_inbox("consumer", "early")  # forgotten
        assert not await uow.record_inbox("consumer", "late")  # kept
    assert await store.purge(clock.system_now() + timedelta(minutes=30)) == 2


async def test_a_key_with_an_earlier_row_leased_elsewhere_waits_so_its_order_holds(
    store: Store,
) -> None:
    first, second = (OutboxMessage("t", "sub-k", f"k{n}".encode()) for n in (1, 2))
    other = OutboxMessage("t", "sub-j", b"j1")
    await emit(store, first)
    [held] = await store.claim_outbox("relay-that-dies", 1, NOW + LEASE, NOW)
    await emit(store, second, other)

    # While the dead relay's lease runs, sub-k's later row must not overtake its first.
    during = await store.claim_outbox("relay-b", 10, NOW + LEASE, NOW)
    assert [c.message for c in during] == [other]
    await store.mark_sent("relay-b", [c.seq for c in during])

    later = NOW + LEASE + timedelta(seconds=1)
    after = await store.claim_outbox("relay-b", 10, later + LEASE, later)
    assert [c.message for c in after] == [first, second]
    assert after[0].seq == held.seq
