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
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from shared.store.port import (
    ClaimedMessage,
    Collection,
    Document,
    DuplicateKey,
    OutboxMessage,
    Store,
    UnitOfWork,
)

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

_NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM documents WHERE collection = ?)"
_INSERT_DOC = f"INSERT INTO documents (collection, key, seq, data) VALUES (?, ?, {_NEXT_SEQ}, ?)"
_PUT_DOC = _INSERT_DOC + " ON CONFLICT (collection, key) DO UPDATE SET data = excluded.data"


def _encode(doc: Document) -> str:
    if not isinstance(doc, dict):
        raise TypeError(f"a document is a dict, got {type(doc).__name__}")
    return json.dumps(doc, separators=(",", ":"), allow_nan=False)


def _iso(moment: datetime) -> str:
    """Fixed-width UTC ISO-8601, so SQL string comparison is time comparison.
    Naive datetimes are taken as UTC."""
    utc = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return utc.isoformat(timespec="microseconds")


def _where_equals(equals: dict[str, Any]) -> tuple[str, list[Any]]:
    """SQL for `find`: JSON types must match too (True is not 1; None is null or missing)."""
    clauses: list[str] = []
    params: list[Any] = []
    for name, wanted in equals.items():
        if '"' in name:
            raise ValueError(f"find cannot filter on a field named {name!r}")
        path = f'$."{name}"'
        if wanted is None:
            clauses.append("json_extract(data, ?) IS NULL")
            params.append(path)
        elif isinstance(wanted, bool):
            clauses.append("json_type(data, ?) = ?")
            params += [path, "true" if wanted else "false"]
        elif isinstance(wanted, int | float):
            clauses.append(
                "json_type(data, ?) IN ('integer', 'real') AND json_extract(data, ?) = ?"
            )
            params += [path, path, wanted]
        elif isinstance(wanted, str):
            clauses.append("json_type(data, ?) = 'text' AND json_extract(data, ?) = ?")
            params += [path, path, wanted]
        else:
            kind = type(wanted).__name__
            raise TypeError(f"find compares str, int, float, bool or None, got {kind}")
    return "".join(f" AND {clause}" for clause in clauses), params


async def _run(conn: aiosqlite.Connection, sql: str, params: tuple[Any, ...] = ()) -> int:
    """Execute one statement to completion; returns the changed row count."""
    async with conn.execute(sql, params) as cursor:
        return cursor.rowcount


async def _rollback_quietly(conn: aiosqlite.Connection) -> None:
    """Undo without hiding the failure that got us here. Unconditional on purpose:
    after a cancellation `in_transaction` may not yet reflect a queued BEGIN, and
    aiosqlite runs statements in order, so a queued ROLLBACK always lands after it.
    "No transaction is active" is one of the errors swallowed."""
    with suppress(sqlite3.Error):
        await _run(conn, "ROLLBACK")


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


class _SqliteUnitOfWork(UnitOfWork):
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._conn: aiosqlite.Connection | None = None  # set while the transaction is open
        self._outbox: list[tuple[str, str, bytes, str]] = []
        self._finished = False

    async def __aenter__(self) -> UnitOfWork:
        await self._connection()
        return self

    async def _connection(self) -> aiosqlite.Connection:
        """The transaction, begun on first use."""
        if self._finished:
            raise RuntimeError("unit of work already committed or rolled back")
        if self._conn is None:
            self._conn = await self._store._begin()
        return self._conn

    def collection(self, name: str) -> Collection:
        return _SqliteCollection(self, name)

    def add_outbox(self, message: OutboxMessage) -> None:
        if self._finished:
            raise RuntimeError("unit of work already committed or rolled back")
        # Buffered and written at commit: this method is sync and cannot await the lock.
        headers = json.dumps(message.headers)
        self._outbox.append((message.topic, message.key, bytes(message.payload), headers))

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        changed = await _run(
            await self._connection(),
            "INSERT INTO inbox (consumer, event_id, recorded_at) VALUES (?, ?, ?)"
            " ON CONFLICT (consumer, event_id) DO NOTHING",
            (consumer, event_id, _iso(datetime.now(UTC))),
        )
        return changed == 1

    async def next_number(self, sequence: str) -> int:
        rows = await (await self._connection()).execute_fetchall(
            "INSERT INTO sequences (name, value) VALUES (?, 1)"
            " ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value",
            (sequence,),
        )
        return int(list(rows)[0][0])

    async def commit(self) -> None:
        added = bool(self._outbox)
        if self._conn is None and not added and not self._finished:
            self._finish()  # nothing was read or written: no transaction to pay for
            return
        conn = await self._connection()
        try:
            if added:
                created_at = _iso(datetime.now(UTC))
                await conn.executemany(
                    "INSERT INTO outbox (topic, key, payload, headers, created_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    [(*row, created_at) for row in self._outbox],
                )
            await _run(conn, "COMMIT")
        except BaseException:
            await _rollback_quietly(conn)
            raise
        finally:
            self._finish()
        if added:
            self._store._notify_outbox()

    async def rollback(self) -> None:
        if self._finished:
            return
        try:
            if self._conn is not None:
                await _rollback_quietly(self._conn)
        finally:
            self._finish()

    def _finish(self) -> None:
        self._finished = True
        self._outbox = []
        if self._conn is not None:
            self._conn = None
            self._store._release()


class _SqliteReadUnitOfWork(_SqliteUnitOfWork):
    """Queries on the reader connection: no outbox, inbox or counters, and the
    connection itself refuses writes (`PRAGMA query_only`)."""

    async def _connection(self) -> aiosqlite.Connection:
        if self._finished:
            raise RuntimeError("unit of work already committed or rolled back")
        if self._conn is None:
            self._conn = await self._store._begin_read()
        return self._conn

    def add_outbox(self, message: OutboxMessage) -> None:
        raise RuntimeError("a read-only unit of work cannot emit events")

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        raise RuntimeError("a read-only unit of work cannot record the inbox")

    async def next_number(self, sequence: str) -> int:
        raise RuntimeError("a read-only unit of work cannot take numbers")

    def _finish(self) -> None:
        self._finished = True
        if self._conn is not None:
            self._conn = None
            self._store._reader_lock.release()


class _SqliteCollection(Collection):
    def __init__(self, uow: _SqliteUnitOfWork, name: str) -> None:
        self._uow = uow
        self._name = name

    async def get(self, key: str) -> Document | None:
        conn = await self._uow._connection()
        rows = list(
            await conn.execute_fetchall(
                "SELECT data FROM documents WHERE collection = ? AND key = ?", (self._name, key)
            )
        )
        return json.loads(rows[0][0]) if rows else None

    async def insert(self, key: str, doc: Document) -> None:
        data = _encode(doc)
        conn = await self._uow._connection()
        try:
            await _run(conn, _INSERT_DOC, (self._name, key, self._name, data))
        except sqlite3.IntegrityError as error:
            # Only this statement is undone; the unit of work stays usable.
            raise DuplicateKey(f"{self._name}/{key}") from error

    async def put(self, key: str, doc: Document) -> None:
        data = _encode(doc)
        conn = await self._uow._connection()
        await _run(conn, _PUT_DOC, (self._name, key, self._name, data))

    async def find(self, **equals: Any) -> list[Document]:
        where, params = _where_equals(equals)
        conn = await self._uow._connection()
        rows = await conn.execute_fetchall(
            f"SELECT data FROM documents WHERE collection = ?{where} ORDER BY seq",
            (self._name, *params),
        )
        return [json.loads(row[0]) for row in rows]
