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
    async with store.transaction() as uow:
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

    async with store.transaction() as uow:
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


async def test_while_the_broker_is_down_the_relay_retries_doubling_from_a_tenth_up_to_5_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryStore()
    naps: list[float] = []
    failures_left = 8
    published = asyncio.Event()
    real_sleep = asyncio.sleep

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        await real_sleep(0)

    async def publish(message: OutboxMessage) -> None:
        nonlocal failures_left
        if failures_left:
            failures_left -= 1
            raise ConnectionError("broker down")
        published.set()

    monkeypatch.setattr(asyncio, "sleep", nap)
    relay = OutboxRelay(store, publish, FixedClock(NOW), idle_poll_seconds=30)
    await add_rows(store, "a")
    relay.start()
    try:
        await asyncio.wait_for(published.wait(), timeout=5)
        assert naps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
        assert await store.pending_outbox() == 0

        # After a success the backoff starts over.
        published.clear()
        failures_left = 1
        await add_rows(store, "b")
        await asyncio.wait_for(published.wait(), timeout=5)
        assert naps[8:] == pytest.approx([0.1])
    finally:
        await relay.stop()


async def test_stopping_the_relay_while_it_waits_for_the_broker_ends_it_at_once() -> None:
    store = MemoryStore()
    attempts = 0
    retrying = asyncio.Event()

    async def publish(message: OutboxMessage) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 2:
            retrying.set()  # the first backoff is behind it
        raise ConnectionError("broker down")

    relay = OutboxRelay(store, publish, FixedClock(NOW))
    await add_rows(store, "a")
    relay.start()
    await asyncio.wait_for(retrying.wait(), timeout=2)
    await asyncio.wait_for(relay.stop(), timeout=1)
    assert await store.pending_outbox() == 1  # kept for the next start
