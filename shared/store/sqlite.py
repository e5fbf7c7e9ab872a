"""SQLite `Store` on aiosqlite: the embedded default.

One connection per store in autocommit mode; transactions are explicit. Every
transaction (and every outbox call) holds the store's `WriterLock` for its whole life
and runs in `BEGIN IMMEDIATE` ... `COMMIT`/`ROLLBACK`, so concurrent transactions in
one process queue up instead of failing with SQLITE_BUSY, and nothing reads another
transaction's uncommitted rows through the shared connection. `busy_timeout` covers
other processes opening the same file. Queries (`read_only()`) use a second,
query-only connection. `open()` brings the schema to the latest version
(`sqlite_schema`). Rows are stamped with the clock's machinery time (`system_now`).
Declared unique indexes (`ensure_indexes`) are partial expression indexes on the
documents table: SQLite itself refuses a second document with the same values.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

import aiosqlite

from shared.clock import Clock
from shared.store.port import (
    ClaimedMessage,
    OutboxMessage,
    Store,
    Transaction,
    UniqueIndex,
)
from shared.store.sqlite_schema import SchemaTooNew, ensure_unique_index, migrate
from shared.store.sqlite_sql import _iso, _rollback_quietly, _run
from shared.store.sqlite_transactions import _SqliteReadTransaction, _SqliteTransaction
from shared.store.writer_lock import WriterLock

BUSY_TIMEOUT_MS = 5_000


class SqliteStore(Store):
    def __init__(self, path: str | Path, *, clock: Clock | None = None) -> None:
        self._path = Path(path)
        self.clock = clock or Clock()  # stamps rows with machinery time (system_now)
        self._conn: aiosqlite.Connection | None = None
        self._writer = WriterLock()
        self._reader: aiosqlite.Connection | None = None
        self._reader_lock = asyncio.Lock()
        self._indexes: set[UniqueIndex] = set()  # ensured on this connection's file

    async def open(self) -> None:
        if self._conn is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await _run(conn, "PRAGMA journal_mode = WAL")
            await _run(conn, "PRAGMA synchronous = NORMAL")
            await migrate(conn)
        except BaseException as error:
            await conn.close()
            if isinstance(error, SchemaTooNew):
                raise SchemaTooNew(f"{self._path}: {error}") from None
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
        async with self._writer:  # waits for a running transaction to finish
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
        async with self._reader_lock:
            reader, self._reader = self._reader, None
            if reader is not None:
                await reader.close()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError("SqliteStore is not open")
        return self._conn

    async def _begin(self) -> aiosqlite.Connection:
        """Take the lock and open a write transaction; on failure hold nothing."""
        await self._writer.acquire()
        try:
            conn = self._connection()
        except BaseException:
            self._writer.release()
            raise
        try:
            await _run(conn, "BEGIN IMMEDIATE")
        except BaseException:
            await _rollback_quietly(conn)  # the BEGIN may still run if we were cancelled
            self._writer.release()
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
            self._writer.release()

    def transaction(self) -> Transaction:
        return _SqliteTransaction(self)

    async def ensure_indexes(self, indexes: Iterable[UniqueIndex]) -> None:
        wanted = [index for index in indexes if index not in self._indexes]
        if not wanted:
            return
        async with self._transaction() as conn:
            for index in wanted:
                await ensure_unique_index(conn, index)
        self._indexes.update(wanted)

    def read_only(self) -> Transaction:
        return _SqliteReadTransaction(self)

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
        sent_at = _iso(self.clock.system_now())
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

    async def requeue_sent_since(self, since: datetime) -> int:
        async with self._transaction() as conn:
            requeued = await _run(
                conn,
                "UPDATE outbox SET sent_at = NULL, lease_token = NULL, lease_until = NULL"
                " WHERE sent_at >= ?",
                (_iso(since),),
            )
        if requeued:
            self._notify_outbox()  # a relay of this process wakes at once
        return requeued

    async def pending_outbox(self) -> int:
        # A plain read, but under the lock: the shared connection must not be mid-transaction.
        async with self._writer:
            conn = self._connection()
            rows = await conn.execute_fetchall("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
        return int(list(rows)[0][0])
