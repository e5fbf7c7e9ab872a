"""OutboxRelay batches overlap: rows committed while a batch waits for the broker are
claimed and published at once, except a key's later rows, which wait for its earlier ones."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from shared.clock import FixedClock
from shared.messaging.relay import OutboxRelay
from shared.store.memory import MemoryStore
from shared.store.port import OutboxMessage

NOW = datetime(2026, 11, 22, tzinfo=UTC)


async def commit(store: MemoryStore, *rows: tuple[str, bytes]) -> None:
    async with store.transaction() as uow:
        for key, payload in rows:
            uow.add_outbox(OutboxMessage(topic="t", key=key, payload=payload))
        await uow.commit()


class MarkingStore(MemoryStore):
    """Says when rows are marked sent."""

    def __init__(self) -> None:
        super().__init__()
        self.marked = asyncio.Event()

    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        await super().mark_sent(lease_token, seqs)
        self.marked.set()

    async def until_all_sent(self) -> None:
        while await self.pending_outbox():
            self.marked.clear()
            await self.marked.wait()


async def test_a_batch_waiting_for_the_broker_holds_back_only_its_own_keys() -> None:
    store = MarkingStore()
    published: list[bytes] = []
    a1_started = asyncio.Event()
    a1_acknowledged = asyncio.Event()  # the broker's answer to a1, given by the test
    b1_published = asyncio.Event()

    async def publish(message: OutboxMessage) -> None:
        if message.payload == b"a1":
            a1_started.set()
            await a1_acknowledged.wait()
        published.append(message.payload)
        if message.payload == b"b1":
            b1_published.set()

    await commit(store, ("a", b"a1"))
    relay = OutboxRelay(store, publish, FixedClock(NOW), idle_poll_seconds=30)
    relay.start()
    try:
        await asyncio.wait_for(a1_started.wait(), timeout=2)
        await commit(store, ("b", b"b1"), ("a", b"a2"))
        # b1 goes out while a1's batch still waits for its acknowledgement...
        await asyncio.wait_for(b1_published.wait(), timeout=2)
        assert published == [b"b1"]  # ...and a2 does not overtake a1
        a1_acknowledged.set()
        await asyncio.wait_for(store.until_all_sent(), timeout=2)
    finally:
        await relay.stop()
    assert published == [b"b1", b"a1", b"a2"]


async def test_no_batch_is_claimed_after_a_failure_and_the_failure_is_raised() -> None:
    store = MemoryStore()
    claims = 0
    claim = store.claim_outbox
    a1_started = asyncio.Event()
    fail_a1 = asyncio.Event()

    async def counting_claim(*args):  # type: ignore[no-untyped-def]
        nonlocal claims
        claims += 1
        return await claim(*args)

    store.claim_outbox = counting_claim  # type: ignore[method-assign]

    async def publish(message: OutboxMessage) -> None:
        a1_started.set()
        await fail_a1.wait()
        raise ConnectionError("broker down")

    await commit(store, ("a", b"a1"))
    relay = OutboxRelay(store, publish, FixedClock(NOW), batch_size=1)
    publishing = asyncio.create_task(relay.publish_pending())
    await asyncio.wait_for(a1_started.wait(), timeout=2)
    before = claims
    fail_a1.set()
    try:
        await asyncio.wait_for(publishing, timeout=2)
    except ConnectionError:
        pass
    else:
        raise AssertionError("the publish failure was not raised")
    assert claims == before  # nothing claimed once the batch had failed
    assert await store.pending_outbox() == 1  # given back for the next round
