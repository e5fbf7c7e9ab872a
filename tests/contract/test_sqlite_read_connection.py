"""SQLite only: queries run on their own connection, beside the single writer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.store.sqlite import SqliteStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    sqlite = SqliteStore(tmp_path / "store.sqlite3")
    await sqlite.open()
    yield sqlite
    await sqlite.close()


async def test_a_read_only_unit_of_work_cannot_write_emit_or_take_numbers(
    store: SqliteStore,
) -> None:
    async with store.read_only() as reader:
        with pytest.raises(RuntimeError):
            await reader.next_number("invoice")
        with pytest.raises(RuntimeError):
            await reader.record_inbox("c", "e")
        with pytest.raises(RuntimeError):
            await reader.record_inbox_many("c", ["e", "f"])
        with pytest.raises(sqlite3.OperationalError):
            await reader.collection("things").insert("a", {"n": 1})


async def test_reads_do_not_wait_for_a_writer_and_never_see_its_uncommitted_work(
    store: SqliteStore,
) -> None:
    async with store.transaction() as uow:
        await uow.collection("things").insert("a", {"n": 1})
        await uow.commit()

    writing, release = asyncio.Event(), asyncio.Event()

    async def slow_writer() -> None:
        async with store.transaction() as uow:
            await uow.collection("things").put("a", {"n": 2})
            writing.set()
            await release.wait()
            await uow.commit()

    writer = asyncio.create_task(slow_writer())
    await writing.wait()
    async with asyncio.timeout(2), store.read_only() as reader:  # would hang behind the writer
        assert await reader.collection("things").get("a") == {"n": 1}
    release.set()
    await writer
    async with store.read_only() as reader:
        assert await reader.collection("things").get("a") == {"n": 2}


async def test_queries_run_side_by_side_on_the_pool_of_readers(store: SqliteStore) -> None:
    """One query in a long read transaction does not hold up the next one."""
    async with store.transaction() as uow:
        await uow.collection("things").insert("a", {"n": 1})
        await uow.commit()
    async with store.read_only() as first:
        assert await first.collection("things").get("a") == {"n": 1}
        async with asyncio.timeout(2), store.read_only() as second:  # would wait for `first`
            assert await second.collection("things").find(n=1) == [{"n": 1}]


async def test_a_query_past_the_pool_waits_for_a_reader_and_close_waits_for_queries(
    tmp_path: Path,
) -> None:
    single = SqliteStore(tmp_path / "one-reader.sqlite3", readers=1)
    await single.open()
    asking, take = asyncio.Event(), single._idle_readers.get
    asked = 0

    async def counted_take() -> Any:  # the signal that a caller waits on the pool
        nonlocal asked
        asked += 1
        if asked == 3:  # `first`, then the second query and close()
            asking.set()
        return await take()

    single._idle_readers.get = counted_take  # type: ignore[method-assign]
    first = single.read_only()
    await first.__aenter__()
    second = asyncio.create_task(single.read_only().__aenter__())
    closing = asyncio.create_task(single.close())
    await asyncio.wait_for(asking.wait(), 2)
    await asyncio.sleep(0)  # both run up to the empty pool, which only `first` can refill
    assert not second.done() and not closing.done()

    await first.__aexit__(None, None, None)
    reader = await asyncio.wait_for(second, 2)
    await reader.__aexit__(None, None, None)
    await asyncio.wait_for(closing, 2)
    with pytest.raises(RuntimeError, match="not open"):
        async with single.read_only() as uow:
            await uow.collection("things").get("a")


def test_a_store_needs_a_reader() -> None:
    with pytest.raises(ValueError):
        SqliteStore("unused.sqlite3", readers=0)
