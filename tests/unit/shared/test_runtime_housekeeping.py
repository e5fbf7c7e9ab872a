"""The runtime keeps the outbox and inbox bounded by purging past the retention."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from shared.clock import FixedClock
from shared.messaging import runtime as runtime_module
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.store.memory import MemoryStore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


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

    monkeypatch.setattr(runtime_module.asyncio, "sleep", nap)
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
