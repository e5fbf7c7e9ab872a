"""SQLite `Store` on aiosqlite: the embedded default.

One connection per store in autocommit mode; transactions are explicit. Every unit
of work (and every outbox call) holds an asyncio.Lock for its whole life and runs in
`BEGIN IMMEDIATE` ... `COMMIT`/`ROLLBACK`, so concurrent units of work in one process
queue up instead of failing with SQLITE_BUSY, and nothing reads another unit of
work's uncommitted rows through the shared connection. `busy_timeout` covers other
processes opening the same file.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from shared.store.port import (
    ClaimedMessage,
    OutboxMessage,
    Store,
    UnitOfWork,
)
from shared.store.sqlite_sql import _iso, _rollback_quietly, _run
from shared.store.sqlite_units import _SqliteReadUnitOfWork, _SqliteUnitOfWork

BUSY_TIMEOUT_MS = 5_000

_SCHEMA = """
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS documents (
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,  -- insertion order within the collection; kept on replace
    data TEXT NOT NULL,    -- JSON
    PRIMARY KEY (collection, key)
);
CREATE INDEX IF NOT EXISTS documents_by_seq ON documents (collection, seq);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL,
    key TEXT NOT NULL,
    payload BLOB NOT NULL,
    headers TEXT NOT NULL,  -- JSON
    created_at TEXT NOT NULL,
    lease_token TEXT,
    lease_until TEXT,
    sent_at TEXT
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_unsent_by_key ON outbox (topic, key, seq) WHERE sent_at IS NULL;
CREATE TABLE IF NOT EXISTS inbox (
    consumer TEXT NOT NULL,
    event_id TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX IF NOT EXISTS inbox_by_age ON inbox (recorded_at);
CREATE TABLE IF NOT EXISTS sequences (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
COMMIT;
"""


class SqliteStore(Store):
    def __init__(self, path: str | Path) -> None:
        self._path = Path(path)
        self._conn: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[Any] | None = None
        self._reader: aiosqlite.Connection | None = None
        self._reader_lock = asyncio.Lock()

    async def open(self) -> None:
        if self._conn is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _run(conn, "PRAGMA journal_mode = WAL")
            await _run(conn, "PRAGMA synchronous = NORMAL")
            await conn.executescript(_SCHEMA)
        except BaseException:
            await conn.close()
            raise
        self._conn = conn
        # A second connection for queries: in WAL mode it reads the last committed state
        # while the writer works, so GETs do not queue behind event handling.
        reader = await aiosqlite.connect(self._path, isolation_level=None)
        await _run(reader, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await _run(reader, "PRAGMA query_only = ON")
        self._reader = reader

    async def close(self) -> None:
        if self._conn is None:
            return
        await self._acquire()  # waits for a running unit of work to finish
        try:
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
        finally:
            self._release()
        async with self._reader_lock:
            reader, self._reader = self._reader, None
            if reader is not None:
                await reader.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("SqliteStore is not open")
        return self._conn

    async def _acquire(self) -> None:
        if self._owner is not None and self._owner is asyncio.current_task():
            raise RuntimeError("this task already holds the store (nested unit of work?)")
        await self._lock.acquire()
        self._owner = asyncio.current_task()

    def _release(self) -> None:
        self._owner = None
        self._lock.release()

    async def _begin(self) -> aiosqlite.Connection:
        """Take the lock and open a write transaction; on failure hold nothing."""
        await self._acquire()
        try:
            conn = self._connection()
        except BaseException:
            self._release()
            raise
        try:
            await _run(conn, "BEGIN IMMEDIATE")
        except BaseException:
            await _rollback_quietly(conn)  # the BEGIN may still run if we were cancelled
            self._release()
            raise
        return conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A short store-level transaction (outbox relay calls)."""
        conn = await self._begin()
        try:
            yield conn
            await _run(conn, "COMMIT")
        except BaseException:
            await _rollback_quietly(conn)
            raise
        finally:
            self._release()

    def unit_of_work(self) -> UnitOfWork:
        return _SqliteUnitOfWork(self)

    def read_only(self) -> UnitOfWork:
        return _SqliteReadUnitOfWork(self)

    async def _begin_read(self) -> aiosqlite.Connection:
        """Take the reader and open a read transaction (one consistent snapshot)."""
        await self._reader_lock.acquire()
        try:
            if self._reader is None:
                raise RuntimeError("SqliteStore is not open")
            await _run(self._reader, "BEGIN")
        except BaseException:
            self._reader_lock.release()
            raise
        return self._reader

    async def claim_outbox(
        self, lease_token: str, limit: int, lease_until: datetime, now: datetime
    ) -> list[ClaimedMessage]:
        if limit <= 0:  # SQLite reads a negative LIMIT as "no limit"
            return []
        async with self._transaction() as conn:
            # A row waits while an earlier unsent row of its key is leased elsewhere (a
            # relay that may have died): publishing it first would break the key's order.
            rows = await conn.execute_fetchall(
                "SELECT seq, topic, key, payload, headers FROM outbox AS o"
                " WHERE sent_at IS NULL AND (lease_until IS NULL OR lease_until <= ?)"
                " AND NOT EXISTS (SELECT 1 FROM outbox AS e WHERE e.topic = o.topic"
                "   AND e.key = o.key AND e.seq < o.seq AND e.sent_at IS NULL"
                "   AND e.lease_until > ?)"
                " ORDER BY seq LIMIT ?",
                (_iso(now), _iso(now), limit),
            )
            until = _iso(lease_until)
            await conn.executemany(
                "UPDATE outbox SET lease_token = ?, lease_until = ? WHERE seq = ?",
                [(lease_token, until, row[0]) for row in rows],
            )
        return [
            ClaimedMessage(seq, OutboxMessage(topic, key, bytes(payload), json.loads(headers)))
            for seq, topic, key, payload, headers in rows
        ]

    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        if not seqs:
            return
        sent_at = _iso(datetime.now(UTC))
        async with self._transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET sent_at = ?"
                " WHERE seq = ? AND lease_token = ? AND sent_at IS NULL",
                [(sent_at, seq, lease_token) for seq in seqs],
            )

    async def release_outbox(self, lease_token: str, seqs: list[int]) -> None:
        if not seqs:
            return
        async with self._transaction() as conn:
            await conn.executemany(
                "UPDATE outbox SET lease_token = NULL, lease_until = NULL"
                " WHERE seq = ? AND lease_token = ? AND sent_at IS NULL",
                [(seq, lease_token) for seq in seqs],
            )

    async def purge(self, older_than: datetime) -> int:
        cutoff = _iso(older_than)
        async with self._transaction() as conn:
            sent = await _run(conn, "DELETE FROM outbox WHERE sent_at < ?", (cutoff,))
            seen = await _run(conn, "DELETE FROM inbox WHERE recorded_at < ?", (cutoff,))
        return sent + seen

    async def pending_outbox(self) -> int:
        # A plain read, but under the lock: the shared connection must not be mid-transaction.
        await self._acquire()
        try:
            conn = self._connection()
            rows = await conn.execute_fetchall("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        finally:
            self._release()
        return int(list(rows)[0][0])
