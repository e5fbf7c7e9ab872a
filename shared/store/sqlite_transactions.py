"""The SQLite transactions (writer and read-only) and their document collections."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import aiosqlite

from shared.store.port import (
    Collection,
    Document,
    DuplicateKey,
    OutboxMessage,
    Transaction,
    check_find_due,
    check_page_limit,
    due_stamp,
    encode_document,
)
from shared.store.sqlite_sql import (
    _INSERT_DOC,
    _PUT_DOC,
    _iso,
    _rollback_quietly,
    _run,
    find_due_sql,
    find_sql,
)

if TYPE_CHECKING:
    from shared.store.sqlite import SqliteStore


class _SqliteTransaction(Transaction):
    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self._conn: aiosqlite.Connection | None = None  # set while the transaction is open
        self._outbox: list[tuple[str, str, bytes, str]] = []
        self._finished = False

    async def __aenter__(self) -> Transaction:
        await self._connection()
        return self

    async def _connection(self) -> aiosqlite.Connection:
        """The transaction, begun on first use."""
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        if self._conn is None:
            self._conn = await self._begin()
        return self._conn

    async def _begin(self) -> aiosqlite.Connection:
        return await self._store._begin()  # takes the writer lock

    def _release(self, conn: aiosqlite.Connection) -> None:
        self._store._writer.release()

    def collection(self, name: str) -> Collection:
        return _SqliteCollection(self, name)

    def add_outbox(self, message: OutboxMessage) -> None:
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        # Buffered and written at commit: this method is sync and cannot await the lock.
        headers = json.dumps(message.headers)
        self._outbox.append((message.topic, message.key, bytes(message.payload), headers))

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        return event_id in await self.record_inbox_many(consumer, [event_id])

    async def record_inbox_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        """One statement for a consumer's whole batch: one hop, not one per event."""
        unique = list(dict.fromkeys(event_ids))
        if not unique:
            return set()
        now = _iso(self._store.clock.system_now())
        rows = await (await self._connection()).execute_fetchall(
            "INSERT INTO inbox (consumer, event_id, recorded_at) VALUES "
            + ", ".join(["(?, ?, ?)"] * len(unique))
            + " ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
            [value for event_id in unique for value in (consumer, event_id, now)],
        )
        return {str(event_id) for (event_id,) in rows}

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
                created_at = _iso(self._store.clock.system_now())
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
            conn, self._conn = self._conn, None
            self._release(conn)


class _SqliteReadTransaction(_SqliteTransaction):
    """Queries on the reader connection: no outbox, inbox or counters, and the
    connection itself refuses writes (`PRAGMA query_only`)."""

    async def _begin(self) -> aiosqlite.Connection:
        return await self._store._begin_read()  # takes an idle reader

    def _release(self, conn: aiosqlite.Connection) -> None:
        self._store._end_read(conn)

    def add_outbox(self, message: OutboxMessage) -> None:
        raise RuntimeError("a read-only transaction cannot emit events")

    async def record_inbox_many(self, consumer: str, event_ids: Sequence[str]) -> set[str]:
        raise RuntimeError("a read-only transaction cannot record the inbox")  # one or many

    async def next_number(self, sequence: str) -> int:
        raise RuntimeError("a read-only transaction cannot take numbers")


class _SqliteCollection(Collection):
    def __init__(self, uow: _SqliteTransaction, name: str) -> None:
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
        data = encode_document(doc)
        conn = await self._uow._connection()
        try:
            await _run(conn, _INSERT_DOC, (self._name, key, self._name, data))
        except sqlite3.IntegrityError as error:
            # Only this statement is undone; the transaction stays usable.
            raise DuplicateKey(f"{self._name}/{key}") from error

    async def put(self, key: str, doc: Document) -> None:
        data = encode_document(doc)
        conn = await self._uow._connection()
        try:
            await _run(conn, _PUT_DOC, (self._name, key, self._name, data))
        except sqlite3.IntegrityError as error:  # a declared unique index refused it
            raise DuplicateKey(f"{self._name}/{key}") from error

    async def find(self, **equals: Any) -> list[Document]:
        sql, params = find_sql(equals, None, descending=False, limit=None)
        self._uow._store.note_query(self._name, equals)
        conn = await self._uow._connection()
        rows = await conn.execute_fetchall(sql, (self._name, *params))
        return [json.loads(data) for _, data in rows]

    async def find_due(self, field: str, until: datetime, limit: int) -> list[Document]:
        check_find_due(field, limit)
        self._uow._store.note_query(self._name, {field: None})
        conn = await self._uow._connection()
        indexed = self._uow._store.has_query_index(self._name, (field,))
        sql, params = find_due_sql(self._name, field, indexed=indexed)
        rows = await conn.execute_fetchall(sql, (*params, due_stamp(until), limit))
        return [json.loads(data) for (data,) in rows]

    async def find_page(
        self, limit: int, after: int | None = None, *, descending: bool = False, **equals: Any
    ) -> tuple[list[Document], int | None]:
        check_page_limit(limit)
        # One more than asked: whether another page follows, without a count.
        sql, params = find_sql(equals, after, descending=descending, limit=limit + 1)
        self._uow._store.note_query(self._name, equals)
        conn = await self._uow._connection()
        rows = list(await conn.execute_fetchall(sql, (self._name, *params)))
        page = rows[:limit]
        cursor = int(page[-1][0]) if len(rows) > limit else None
        return [json.loads(data) for _, data in page], cursor
