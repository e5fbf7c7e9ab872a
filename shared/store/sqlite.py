"""SQLite `Store` on aiosqlite: the embedded default.

One connection per store in autocommit mode; transactions are explicit. Every
transaction (and every outbox call) holds the store's `WriterLock` for its whole life
and runs in `BEGIN IMMEDIATE` ... `COMMIT`/`ROLLBACK`, so concurrent transactions in
one process queue up instead of failing with SQLITE_BUSY, and nothing reads another
transaction's uncommitted rows through the shared connection. `busy_timeout` covers
other processes opening the same file. Queries (`read_only()`, and the outbox backlog
for metrics) use a small pool of query-only connections beside it (WAL: each reads the
last committed state while the writer works). `open()` brings the schema to the latest
version (`sqlite_schema`) and creates the query indexes the service declares
(`QueryShape`, see `shared/store/mongodb_indexes.py`): partial expression indexes
`(fields..., seq)` per collection, so a filtered page is one index range, not a walk of
the collection. Rows
are stamped with the clock's machinery time (`system_now`). Declared unique indexes
(`ensure_indexes`) are partial expression indexes too: SQLite itself refuses a second
document with the same values. The hourly purge deletes in small batches by age, each
its own short transaction, so event handling never waits long behind it.

Tuned for one writer: WAL, `synchronous = NORMAL` (a commit is durable against a crash
of the process, and of the machine up to the last checkpoint), and each connection's
statement cache holds every statement the store sends (they are few and fixed texts,
so each is prepared once per connection).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import aiosqlite
import structlog

from shared.clock import Clock
from shared.store.port import (
    ClaimedMessage,
    OutboxBacklog,
    OutboxMessage,
    QueryShape,
    Store,
    Transaction,
    UniqueIndex,
)
from shared.store.sqlite_schema import SchemaTooNew, ensure_unique_index, migrate
from shared.store.sqlite_sql import (
    OUTBOX_BACKLOG,
    PURGE_INBOX_BATCH,
    PURGE_OUTBOX_BATCH,
    _iso,
    _rollback_quietly,
    _run,
    query_index_name,
    query_index_sql,
)
from shared.store.sqlite_transactions import _SqliteReadTransaction, _SqliteTransaction
from shared.store.writer_lock import WriterLock

log = structlog.get_logger(__name__)

BUSY_TIMEOUT_MS = 5_000
READERS = 2  # query connections: a slow read does not hold up the others
STATEMENT_CACHE = 256  # prepared statements kept per connection (Python's default: 128)
PURGE_BATCH_ROWS = 500  # rows per purge transaction: a few ms of the single writer


class SqliteStore(Store):
    def __init__(
        self,
        path: str | Path,
        *,
        clock: Clock | None = None,
        query_indexes: Iterable[QueryShape] = (),
        readers: int = READERS,
    ) -> None:
        if readers < 1:
            raise ValueError(f"a store needs at least one reader, got {readers}")
        self._path = Path(path)
        self.clock = clock or Clock()  # stamps rows with machinery time (system_now)
        self._conn: aiosqlite.Connection | None = None
        self._writer = WriterLock()
        self._reader_count = readers
        self._readers: list[aiosqlite.Connection] = []  # all of them, for close()
        self._idle_readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self._indexes: set[UniqueIndex] = set()  # ensured on this connection's file
        self._query_shapes = {
            (shape.collection, tuple(shape.fields)): query_index_sql(
                shape.collection, tuple(shape.fields)
            )
            for shape in query_indexes
        }
        self._unindexed_seen: set[tuple[str, frozenset[str]]] = set()

    async def open(self) -> None:
        if self._conn is not None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        conn = await self._connect()
        try:
            await _run(conn, "PRAGMA journal_mode = WAL")
            await _run(conn, "PRAGMA synchronous = NORMAL")
            await migrate(conn)
            await self._create_query_indexes(conn)
        except BaseException as error:
            await conn.close()
            if isinstance(error, SchemaTooNew):
                raise SchemaTooNew(f"{self._path}: {error}") from None
            raise
        self._conn = conn
        # Connections for queries: in WAL mode each reads the last committed state while
        # the writer works, so GETs do not queue behind event handling.
        try:
            for _ in range(self._reader_count):
                reader = await self._connect(query_only=True)
                self._readers.append(reader)
                self._idle_readers.put_nowait(reader)
        except BaseException:
            await self.close()
            raise

    async def _connect(self, *, query_only: bool = False) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(
            self._path, isolation_level=None, cached_statements=STATEMENT_CACHE
        )
        try:
            await _run(conn, f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            if query_only:
                await _run(conn, "PRAGMA query_only = ON")
        except BaseException:
            await conn.close()
            raise
        return conn

    async def _create_query_indexes(self, conn: aiosqlite.Connection) -> None:
        """Each declared query index, unless it exists (a current file costs one look at
        the schema). Building one over a large collection takes a while, once, at the
        first open after it was declared. An index of that name over anything else is
        refused, never silently kept."""
        if not self._query_shapes:
            return
        rows = await conn.execute_fetchall(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
        )
        existing = {str(name): sql for name, sql in rows}
        missing = []
        for (collection, fields), sql in self._query_shapes.items():
            name = query_index_name(collection, fields)
            if name not in existing:
                missing.append(sql.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            elif existing[name] != sql:
                raise ValueError(f"index {name} exists as {existing[name]}, not as {sql}")
        if not missing:
            return
        await _run(conn, "BEGIN IMMEDIATE")
        try:
            for sql in missing:
                await _run(conn, sql)
            await _run(conn, "COMMIT")
        except BaseException:
            await _rollback_quietly(conn)
            raise
        log.info("store_query_indexes_created", count=len(missing))

    async def close(self) -> None:
        if self._conn is None:
            return
        async with self._writer:  # waits for a running transaction to finish
            conn, self._conn = self._conn, None
            if conn is not None:
                await conn.close()
        readers, self._readers = self._readers, []
        for _ in readers:  # each back from the query using it
            await self._idle_readers.get()
        for reader in readers:
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
        """Take an idle reader and open a read transaction (one consistent snapshot)."""
        if not self._readers:
            raise RuntimeError("SqliteStore is not open")
        reader = await self._idle_readers.get()
        try:
            await _run(reader, "BEGIN")
        except BaseException:
            await _rollback_quietly(reader)  # the BEGIN may still run if we were cancelled
            self._idle_readers.put_nowait(reader)
            raise
        return reader

    def _end_read(self, reader: aiosqlite.Connection) -> None:
        self._idle_readers.put_nowait(reader)

    def has_query_index(self, collection: str, fields: tuple[str, ...]) -> bool:
        return (collection, fields) in self._query_shapes

    def note_query(self, collection: str, equals: dict[str, Any]) -> None:
        """Log, once, a filter no declared query index serves: it walks the collection."""
        if not self._query_shapes or not equals:
            return  # nothing declared (a test or a tool), or the collection in order
        shape = frozenset(equals)
        if any(c == collection and set(f) == shape for c, f in self._query_shapes):
            return
        if (collection, shape) not in self._unindexed_seen:
            self._unindexed_seen.add((collection, shape))
            log.warning("sqlite_query_not_indexed", collection=collection, fields=sorted(shape))

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
        """In batches of `PURGE_BATCH_ROWS`, oldest first, each its own transaction: the
        writer is free between them, so a handler waits for one batch at most, never for
        the whole purge. A purge cut short keeps what it removed; the next one goes on."""
        cutoff = _iso(older_than)
        removed = 0
        for batch in (PURGE_OUTBOX_BATCH, PURGE_INBOX_BATCH):
            while True:
                async with self._transaction() as conn:
                    deleted = await _run(conn, batch, (cutoff, PURGE_BATCH_ROWS))
                removed += deleted
                if deleted < PURGE_BATCH_ROWS:
                    break
                await asyncio.sleep(0)  # a writer queued meanwhile goes first
        return removed

    async def requeue_sent_since(self, since: datetime) -> int:
        async with self._transaction() as conn:
            requeued = await _run(
                conn,
                "UPDATE outbox SET sent_at = NULL, lease_token = NULL, lease_until = NULL"
                " WHERE sent_at >= ? RETURNING 1",
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

    async def outbox_backlog(self) -> OutboxBacklog:
        # On a reader: one statement, one snapshot, and the writer is never waited for.
        if not self._readers:
            raise RuntimeError("SqliteStore is not open")
        reader = await self._idle_readers.get()
        try:
            rows = await reader.execute_fetchall(OUTBOX_BACKLOG)
        finally:
            self._end_read(reader)
        unsent, created_at = list(rows)[0]
        oldest = None if created_at is None else datetime.fromisoformat(created_at)  # `_iso`
        return OutboxBacklog(int(unsent), oldest)
