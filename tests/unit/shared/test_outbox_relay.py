"""OutboxRelay: publishes committed rows in order, marks them sent, keeps them on failure;
a hung publish times out below the lease and holds back only its own key."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.messaging.relay import OutboxRelay, PublishTimedOut
from shared.store.memory import MemoryStore
from shared.store.port import OutboxMessage
from tests.support.sleeps import patch_sleep

NOW = datetime(2026, 11, 22, tzinfo=UTC)


async def add_rows(store: MemoryStore, *keys: str) -> None:
    async with store.transaction() as uow:
        for key in keys:
            uow.add_outbox(OutboxMessage(topic="t", key=key, payload=key.encode()))
        await uow.commit()


class MarkingStore(MemoryStore):
    """Tells the test which rows were marked sent, as they are."""

    def __init__(self) -> None:
        super().__init__()
        self.marked: list[bytes] = []
        self.changed = asyncio.Event()
        self._payloads: dict[int, bytes] = {}

    async def claim_outbox(self, lease_token, limit, lease_until, now):
        claimed = await super().claim_outbox(lease_token, limit, lease_until, now)
        self._payloads.update({row.seq: row.message.payload for row in claimed})
        return claimed

    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        await super().mark_sent(lease_token, seqs)
        self.marked += [self._payloads[seq] for seq in seqs]
        self.changed.set()

    async def until_marked(self, *payloads: bytes) -> None:
        while not set(payloads) <= set(self.marked):
            self.changed.clear()
            await self.changed.wait()


async def add_payloads(store: MemoryStore, *rows: tuple[str, bytes]) -> None:
    async with store.transaction() as uow:
        for key, payload in rows:
            uow.add_outbox(OutboxMessage(topic="t", key=key, payload=payload))
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
    store = MarkingStore()
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

    patch_sleep(monkeypatch, nap)
    relay = OutboxRelay(store, publish, FixedClock(NOW), idle_poll_seconds=30)
    await add_rows(store, "a")
    relay.start()
    try:
        await asyncio.wait_for(published.wait(), timeout=5)
        await asyncio.wait_for(store.until_marked(b"a"), timeout=5)
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


async def test_a_hung_key_times_out_without_holding_back_the_others_and_is_retried_in_order() -> (
    None
):
    store = MarkingStore()
    published: list[bytes] = []
    hung = asyncio.Event()  # a1's publish started and never returns
    broker_stuck = True

    async def publish(message: OutboxMessage) -> None:
        if broker_stuck and message.payload == b"a1":
            hung.set()
            await asyncio.Event().wait()
        published.append(message.payload)

    await add_payloads(store, ("a", b"a1"), ("b", b"b1"), ("a", b"a2"), ("c", b"c1"), ("c", b"c2"))
    relay = OutboxRelay(
        store,
        publish,
        FixedClock(NOW),
        lease=timedelta(seconds=3),
        publish_timeout=timedelta(seconds=1),
    )
    publishing = asyncio.create_task(relay.publish_pending())

    # The other keys' rows are marked sent while a1's publish still hangs.
    await asyncio.wait_for(store.until_marked(b"b1", b"c1", b"c2"), timeout=5)
    assert hung.is_set()
    assert not publishing.done()
    assert b"a1" not in store.marked and b"a2" not in store.marked
    assert sorted(published) == [b"b1", b"c1", b"c2"]  # a2 never overtakes a1

    # The hung publish times out (below the lease); a's rows are given back at once.
    with pytest.raises(PublishTimedOut):
        await asyncio.wait_for(publishing, timeout=5)
    assert await store.pending_outbox() == 2

    broker_stuck = False
    assert await relay.publish_pending() == 2
    assert published[-2:] == [b"a1", b"a2"]
    assert await store.pending_outbox() == 0


def test_the_publish_timeout_is_below_the_lease() -> None:
    relay = OutboxRelay(MemoryStore(), lambda m: asyncio.sleep(0), FixedClock(NOW))
    assert relay._publish_timeout == 5.0
    assert relay._lease == timedelta(seconds=10)
    with pytest.raises(ValueError, match="below the lease"):
        OutboxRelay(
            MemoryStore(),
            lambda m: asyncio.sleep(0),
            FixedClock(NOW),
            lease=timedelta(seconds=5),
            publish_timeout=timedelta(seconds=5),
        )


async def test_a_key_starts_no_publish_that_could_outlast_the_lease() -> None:
    """Slow publishes: what cannot end within the lease goes to the next claim, in order."""
    store = MarkingStore()
    published: list[bytes] = []
    claims = 0
    claim = store.claim_outbox

    async def counting_claim(*args):
        nonlocal claims
        claims += 1
        return await claim(*args)

    store.claim_outbox = counting_claim  # type: ignore[method-assign]

    async def slow(message: OutboxMessage) -> None:
        await asyncio.sleep(0.15)
        published.append(message.payload)

    await add_payloads(store, ("a", b"a1"), ("a", b"a2"), ("a", b"a3"))
    relay = OutboxRelay(
        store,
        slow,
        FixedClock(NOW),
        lease=timedelta(seconds=0.5),
        publish_timeout=timedelta(seconds=0.3),  # a publish may start up to 0.2 s in
    )
    assert await relay.publish_pending() == 3
    assert published == [b"a1", b"a2", b"a3"]
    assert claims >= 3  # a3 waited for a fresh lease (the last claim finds nothing)
    assert await store.pending_outbox() == 0
