"""SQLite only: the purge deletes in small batches, each its own write transaction, so a
handler's transaction gets the single writer between two batches instead of waiting
for the whole purge."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.store import sqlite as sqlite_store
from shared.store.port import OutboxMessage
from shared.store.sqlite import SqliteStore
from tests.contract.conftest import CLOCK_START

BATCH = 3
ROWS = 20  # sent outbox rows, and as many inbox records


@pytest.fixture
async def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[SqliteStore]:
    monkeypatch.setattr(sqlite_store, "PURGE_BATCH_ROWS", BATCH)
    clock = FixedClock(CLOCK_START)
    sqlite = SqliteStore(tmp_path / "purge.sqlite3", clock=clock)
    await sqlite.open()
    async with sqlite.transaction() as tx:
        for n in range(ROWS):
            tx.add_outbox(OutboxMessage("t", f"k{n}", b"x"))
            await tx.record_inbox("consumer", f"e{n}")
        tx.add_outbox(OutboxMessage("t", "unsent", b"x"))
        await tx.commit()
    claimed = await sqlite.claim_outbox("relay", ROWS, CLOCK_START, CLOCK_START)
    await sqlite.mark_sent("relay", [c.seq for c in claimed])
    yield sqlite
    await sqlite.close()


def cutoff() -> datetime:
    return CLOCK_START + timedelta(seconds=1)


async def test_the_purge_removes_everything_old_in_batches_and_counts_it(
    store: SqliteStore,
) -> None:
    statements: list[str] = []
    await store._connection().set_trace_callback(statements.append)

    assert await store.purge(cutoff()) == 2 * ROWS  # every sent row and every record

    deletes = [s for s in statements if s.startswith("DELETE")]
    commits = [s for s in statements if s == "COMMIT"]
    # ceil(rows / BATCH) batches for each table, plus the one that finds fewer than a batch
    assert len(deletes) == len(commits) >= 2 * (ROWS // BATCH)
    assert await store.pending_outbox() == 1  # the unsent row stays
    assert await store.purge(cutoff()) == 0


async def test_a_writer_waiting_during_the_purge_goes_between_two_batches(
    store: SqliteStore,
) -> None:
    loop = asyncio.get_running_loop()
    purging = asyncio.Event()
    order: list[str] = []

    def trace(sql: str) -> None:  # runs on the connection's thread
        if sql.startswith("DELETE"):
            order.append("purge batch")
            loop.call_soon_threadsafe(purging.set)
        elif sql.startswith("INSERT INTO documents"):
            order.append("handler write")

    await store._connection().set_trace_callback(trace)

    async def handler() -> None:
        await purging.wait()  # the purge holds the writer now
        async with store.transaction() as tx:
            await tx.collection("things").put("k", {"n": 1})
            await tx.commit()

    writer = asyncio.create_task(handler())
    async with asyncio.timeout(10):
        await store.purge(cutoff())
        await writer

    assert "handler write" in order
    assert order.index("handler write") < len(order) - 1, order  # not after the last batch
    assert order[-1] == "purge batch"
