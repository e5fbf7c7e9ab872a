"""SQLite only: the versioned schema, its migration at `open()`, and the stamps on rows."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from shared.clock import FixedClock
from shared.store import sqlite_schema
from shared.store.port import OutboxMessage
from shared.store.sqlite import SqliteStore
from shared.store.sqlite_schema import MIGRATIONS, SchemaTooNew, latest_version
from tests.contract.conftest import CLOCK_START


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def schema(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


async def opened(path: Path) -> SqliteStore:
    store = SqliteStore(path)
    await store.open()
    return store


async def test_a_fresh_database_ends_at_the_latest_version(tmp_path: Path) -> None:
    path = tmp_path / "fresh.sqlite3"
    await (await opened(path)).close()

    assert user_version(path) == latest_version() == len(MIGRATIONS)
    names = {name for name, _ in schema(path)}
    assert {"documents", "outbox", "inbox", "sequences", "outbox_sent_by_age"} <= names


async def test_a_database_from_before_versioning_is_migrated_and_keeps_its_data(
    tmp_path: Path,
) -> None:
    path = tmp_path / "legacy.sqlite3"
    with sqlite3.connect(path) as conn:  # what the unversioned code left behind
        conn.executescript(MIGRATIONS[0])
        conn.execute(
            "INSERT INTO documents (collection, key, seq, data) VALUES ('c', 'k', 1, '{\"v\":1}')"
        )
        conn.execute(
            "INSERT INTO outbox (topic, key, payload, headers, created_at)"
            " VALUES ('t', 'k', x'00ff', '{\"h\":\"1\"}', '2025-01-01T00:00:00.000000+00:00')"
        )
    assert user_version(path) == 0

    store = await opened(path)
    try:
        async with store.read_only() as reader:
            assert await reader.collection("c").get("k") == {"v": 1}
        assert await store.pending_outbox() == 1
        [row] = await store.claim_outbox("relay", 10, CLOCK_START, CLOCK_START)
        assert row.message == OutboxMessage("t", "k", b"\x00\xff", {"h": "1"})
    finally:
        await store.close()
    assert user_version(path) == latest_version()


async def test_reopening_a_current_database_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "current.sqlite3"
    await (await opened(path)).close()
    before = schema(path)

    async def no_migration(conn: object) -> int:
        raise AssertionError("a current database took the write lock to migrate")

    monkeypatch.setattr(sqlite_schema, "_apply_next", no_migration)
    await (await opened(path)).close()

    assert schema(path) == before
    assert user_version(path) == latest_version()


async def test_a_database_newer_than_the_code_is_refused_naming_both_versions(
    tmp_path: Path,
) -> None:
    path = tmp_path / "newer.sqlite3"
    await (await opened(path)).close()
    newer = latest_version() + 1
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {newer}")

    store = SqliteStore(path)
    with pytest.raises(SchemaTooNew) as refused:
        await store.open()

    message = str(refused.value)
    assert f"version {newer}" in message
    assert f"up to {latest_version()}" in message
    assert str(path) in message
    assert user_version(path) == newer  # left as it was
    with pytest.raises(RuntimeError, match="not open"):
        await store.pending_outbox()


async def test_a_failing_migration_leaves_the_database_at_the_previous_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "failing.sqlite3"
    await (await opened(path)).close()
    broken = "CREATE TABLE half_done (n INTEGER);\nINSERT INTO no_such_table VALUES (1);\n"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*MIGRATIONS, broken])

    with pytest.raises(sqlite3.OperationalError, match="no_such_table"):
        await SqliteStore(path).open()

    assert user_version(path) == len(MIGRATIONS)
    assert "half_done" not in {name for name, _ in schema(path)}


async def test_two_stores_opening_one_file_at_once_apply_each_migration_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "race.sqlite3"
    # Not idempotent on purpose: a second application would add a second row.
    counted = "CREATE TABLE IF NOT EXISTS applied (n INTEGER);\nINSERT INTO applied VALUES (1);\n"
    monkeypatch.setattr(sqlite_schema, "MIGRATIONS", [*MIGRATIONS, counted])
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA journal_mode = WAL")
    blocker.execute("BEGIN IMMEDIATE")  # both stores read version 0, then wait here
    stores = [SqliteStore(path), SqliteStore(path)]
    opening = [asyncio.create_task(store.open()) for store in stores]
    await asyncio.sleep(0.3)
    assert not any(task.done() for task in opening)
    blocker.execute("COMMIT")
    blocker.close()

    async with asyncio.timeout(10):
        await asyncio.gather(*opening)
    for store in stores:
        await store.close()

    assert user_version(path) == len(MIGRATIONS) + 1
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM applied").fetchone()[0] == 1


async def test_rows_are_stamped_with_the_injected_clock(tmp_path: Path) -> None:
    path = tmp_path / "stamps.sqlite3"
    clock = FixedClock(CLOCK_START)
    store = SqliteStore(path, clock=clock)
    await store.open()
    try:
        async with store.transaction() as uow:
            uow.add_outbox(OutboxMessage("t", "k", b"x"))
            await uow.record_inbox("consumer", "e1")
            await uow.commit()
        [row] = await store.claim_outbox("relay", 1, CLOCK_START, CLOCK_START)
        clock.advance(timedelta(hours=1))
        await store.mark_sent("relay", [row.seq])
    finally:
        await store.close()

    with sqlite3.connect(path) as conn:
        created, sent = conn.execute("SELECT created_at, sent_at FROM outbox").fetchone()
        [recorded] = conn.execute("SELECT recorded_at FROM inbox").fetchone()
    assert created == recorded == "2030-01-01T12:00:00.000000+00:00"
    assert sent == "2030-01-01T13:00:00.000000+00:00"
