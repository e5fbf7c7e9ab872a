"""SQLite only: queries run on their own connection, beside the single writer."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

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
