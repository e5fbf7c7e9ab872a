"""The service runtime: waits for the broker at start, keeps the store bounded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore
from tests.support.sleeps import patch_sleep

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class SlowBroker:
    """Refuses the first `refusals` connections, like a broker still starting."""

    subscribers: list[object] = []
    publishers: list[object] = []

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.starts = 0
        self.stops = 0
        self.running = False

    async def connect(self) -> None:
        self.starts += 1
        if self.starts <= self.refusals:
            raise ConnectionError("connection refused")

    async def stop(self) -> None:
        self.stops += 1

    async def publish(self, *args: object, **kwargs: object) -> None:
        raise AssertionError("nothing to publish here")


async def test_start_waits_for_the_broker_doubling_from_a_tenth_up_to_5_s(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    naps: list[float] = []
    real_sleep = asyncio.sleep

    async def nap(seconds: float) -> None:
        if seconds >= 3600:  # housekeeping, once started: not what this test watches
            await real_sleep(seconds)
            return
        naps.append(seconds)
        await real_sleep(0)

    patch_sleep(monkeypatch, nap)
    broker = SlowBroker(refusals=8)
    runtime = ServiceRuntime(
        name="t",
        store=MemoryStore(),
        broker=broker,  # type: ignore[arg-type]
        clock=FixedClock(NOW),
    )
    await runtime.start()
    try:
        assert runtime.ready
        assert broker.starts == 9
        assert broker.stops == 8  # each half-made connection dropped before the next try
        assert naps == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0, 5.0])
    finally:
        await runtime.stop()
    assert not runtime.ready


class PurgeSpy(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.cutoffs: list[datetime] = []

    async def purge(self, older_than: datetime) -> int:
        self.cutoffs.append(older_than)
        if len(self.cutoffs) == 1:
            raise OSError("disk busy")  # a failed purge must not end housekeeping
        return 0


async def test_purges_every_hour_at_the_retention_horizon_and_survives_failures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = PurgeSpy()
    naps: list[float] = []

    async def nap(seconds: float) -> None:
        naps.append(seconds)
        if len(naps) == 2:
            raise asyncio.CancelledError

    patch_sleep(monkeypatch, nap)
    runtime = ServiceRuntime(
        name="t",
        store=store,
        broker=make_broker("127.0.0.1:1", client_id="t"),
        clock=FixedClock(NOW),
        retention=timedelta(days=30),
    )
    with pytest.raises(asyncio.CancelledError):
        await runtime._purge_hourly()

    assert store.cutoffs == [NOW - timedelta(days=30)] * 2
    assert naps == [3600, 3600]
