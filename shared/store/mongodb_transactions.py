"""The MongoDB store's transactions: writer and read-only (documents: `mongodb_collection`).

A writer transaction holds the store's `WriterLock` from its first operation to its
end and runs every operation in one MongoDB session transaction; the outbox rows it
queued are inserted just before `commitTransaction`. Like `insert`, `record_inbox`
looks before it writes: a duplicate key error would abort the whole transaction.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from bson.binary import Binary
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.store.mongodb_collection import MongoCollection, take_numbers
from shared.store.mongodb_layout import (
    COUNTERS,
    INBOX,
    NO_TIME,
    NO_TOKEN,
    OUTBOX,
    check_collection_name,
    inbox_id,
    stamp,
)
from shared.store.port import (
    Collection,
    OutboxMessage,
    Transaction,
)

if TYPE_CHECKING:
    from shared.store.mongodb import MongoStore


class _MongoTransaction(Transaction):
    def __init__(self, store: MongoStore) -> None:
        self._store = store
        self._session: AsyncClientSession | None = None  # set while the transaction is open
        self._locked = False
        self._outbox: list[OutboxMessage] = []
        self._finished = False

    async def __aenter__(self) -> Transaction:
        await self._open()
        return self

    async def _open(self) -> AsyncClientSession:
        """The session, its transaction begun on first use."""
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        if self._session is None:
            await self._lock()
            try:
                session = self._store.client.start_session()
                await session.start_transaction(**self._store.transaction_options())
                if not self._store.isolated:
                    # GAP(nx-27017): a transaction whose first command reads a collection
                    # that does not exist yet is never begun there, and what follows runs
                    # outside it. Begin it on a collection that always exists.
                    await self._store.db[COUNTERS].find_one({"_id": ""}, session=session)
            except BaseException:
                self._unlock()
                raise
            self._session = session
        return self._session

    async def _lock(self) -> None:
        await self._store.writer.acquire()
        self._locked = True

    def _unlock(self) -> None:
        if self._locked:
            self._locked = False
            self._store.writer.release()

    def collection(self, name: str) -> Collection:
        return MongoCollection(self, check_collection_name(name))

    def check_writable(self) -> None:
        """Writers may write."""

    def add_outbox(self, message: OutboxMessage) -> None:
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        headers = json.loads(json.dumps(message.headers))  # private, and JSON-able
        self._outbox.append(
            OutboxMessage(message.topic, message.key, bytes(message.payload), headers)
        )

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        session, inbox = await self._open(), self._store.db[INBOX]
        row_id = inbox_id(consumer, event_id)
        if await inbox.find_one({"_id": row_id}, {"_id": 1}, session=session) is not None:
            return False
        recorded_at = stamp(self._store.clock.system_now())
        row = {"_id": row_id, "consumer": consumer, "event_id": event_id}
        await inbox.insert_one({**row, "recorded_at": recorded_at}, session=session)
        return True

    async def next_number(self, sequence: str) -> int:
        return await take_numbers(self._store, await self._open(), f"number:{sequence}")

    async def commit(self) -> None:
        added = bool(self._outbox)
        if self._session is None and not added and not self._finished:
            self._finish()  # nothing was read or written: no transaction to pay for
            return
        session = await self._open()
        try:
            if added:
                await self._write_outbox(session)
            await self._store.commit(session)
        except BaseException:
            await _abort_quietly(session)
            raise
        finally:
            await self._close()
        if added:
            self._store._notify_outbox()

    async def _write_outbox(self, session: AsyncClientSession) -> None:
        first = await take_numbers(self._store, session, "outbox", len(self._outbox))
        created_at = stamp(self._store.clock.system_now())
        rows = [
            {
                "_id": first + n,
                "seq": first + n,
                "topic": message.topic,
                "key": message.key,
                "payload": Binary(message.payload),
                "headers": json.dumps(message.headers),
                "created_at": created_at,
                "lease_token": NO_TOKEN,
                "lease_until": NO_TIME,
                "sent_at": NO_TIME,
            }
            for n, message in enumerate(self._outbox)
        ]
        await self._store.db[OUTBOX].insert_many(rows, session=session)

    async def rollback(self) -> None:
        if self._finished:
            return
        try:
            if self._session is not None:
                await _abort_quietly(self._session)
        finally:
            await self._close()

    async def _close(self) -> None:
        session, self._session = self._session, None
        self._finish()
        try:
            if session is not None:
                await session.end_session()
        finally:
            self._unlock()

    def _finish(self) -> None:
        self._finished = True
        self._outbox = []


class _MongoReadTransaction(_MongoTransaction):
    """Queries. On a replica set: a snapshot transaction that is never committed (one
    consistent view) and no lock, so reads do not queue behind writes. Where the server
    does not isolate transactions (nx-27017), a read could see another unit of work's
    uncommitted writes, so there it takes the writer lock like a writer."""

    async def _open(self) -> AsyncClientSession:
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        if self._session is None:
            if not self._store.isolated:
                await self._lock()
            try:
                session = self._store.client.start_session()
                if self._store.isolated:
                    await session.start_transaction(**self._store.transaction_options())
            except BaseException:
                self._unlock()
                raise
            self._session = session
        return self._session

    def add_outbox(self, message: OutboxMessage) -> None:
        raise RuntimeError("a read-only transaction cannot emit events")

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        raise RuntimeError("a read-only transaction cannot record the inbox")

    async def next_number(self, sequence: str) -> int:
        raise RuntimeError("a read-only transaction cannot take numbers")

    async def commit(self) -> None:
        await self.rollback()  # nothing to write: end the snapshot

    def check_writable(self) -> None:
        raise RuntimeError("a read-only transaction cannot write documents")


async def _abort_quietly(session: AsyncClientSession) -> None:
    """Undo without hiding the failure that got us here (PyMongo ignores abort errors)."""
    if session.in_transaction:
        await session.abort_transaction()
