"""OutboxRelay: publishes committed rows in order, marks them sent, keeps them on failure."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from shared.clock import FixedClock
from shared.messaging.relay import OutboxRelay
from shared.store.memory import MemoryStore
from shared.store.port import OutboxMessage

NOW = datetime(2026, 11, 22, tzinfo=UTC)


async def add_rows(store: MemoryStore, *keys: str) -> None:
    async with store.unit_of_work() as uow:
        for key in keys:
            uow.add_outbox(OutboxMessage(topic="t", key=key, payload=key.encode()))
        await uow.commit()


async def test_publishes_rows_in_commit_order_and_marks_them_sent() -> None:
    store = MemoryStore()
    published: list[str] = []

    async def publish(message: OutboxMessage) -> None:
        published.append(message.key)

    await add_rows(store, "a", "b")
    await add_rows(store, "c")
    relay = OutboxRelay(store, publish, FixedClock(NOW), batch_size=2)

    assert await relay.publish_pending() == 3
    assert published == ["a", "b", "c"]
    assert await store.pending_outbox() == 0
    assert await relay.publish_pending() == 0


async def test_a_failed_publish_holds_back_that_key_only_and_retries_at_once() -> None:
    store = MemoryStore()
    published: list[bytes] = []
    broker_down = True

    async def publish(message: OutboxMessage) -> None:
        if broker_down and message.payload == b"b1":
            raise ConnectionError("broker down")
        published.append(message.payload)

    async with store.unit_of_work() as uow:
        for key, payload in [("a", b"a1"), ("b", b"b1"), ("b", b"b2"), ("c", b"c1")]:
            uow.add_outbox(OutboxMessage(topic="t", key=key, payload=payload))
        await uow.commit()
    relay = OutboxRelay(store, publish, FixedClock(NOW))
    with pytest.raises(ConnectionError):
        await relay.publish_pending()

    assert sorted(published) == [b"a1", b"c1"]  # b2 never overtakes b1
    assert await store.pending_outbox() == 2

    broker_down = False  # no lease to wait out: the failed rows were given back
    assert await relay.publish_pending() == 2
    assert published[-2:] == [b"b1", b"b2"]


async def test_the_running_relay_publishes_soon_after_a_commit() -> None:
    store = MemoryStore()
    published = asyncio.Event()

    async def publish(message: OutboxMessage) -> None:
        published.set()

    relay = OutboxRelay(store, publish, FixedClock(NOW), idle_poll_seconds=30)
    relay.start()
    try:
        await add_rows(store, "a")
        # Far sooner than the 30 s idle poll: the commit woke the relay.
        await asyncio.wait_for(published.wait(), timeout=2)
    finally:
        await relay.stop()
    assert await store.pending_outbox() == 0
