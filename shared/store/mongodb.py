"""MongoDB `Store` on PyMongo's `AsyncMongoClient` (not Motor, which MongoDB deprecated).

Inbox, state and outbox change in one multi-document transaction. MongoDB runs those
only on a replica set or through mongos; `open()` looks at the server and picks:

- **replica set / mongos**: every unit of work is a session transaction (snapshot read
  concern, majority write concern). Queries (`read_only()`) read one snapshot without
  the writer lock. Writers in other processes are isolated by the server: one that
  loses a write conflict fails with PyMongo's `TransientTransactionError` label (a
  consumer retries the event).
- **a standalone that accepts transactions** (nx-27017, the wire-protocol server on
  SQLite the tests run against): its transactions are atomic (SQLite `BEGIN
  IMMEDIATE` ... `COMMIT`/`ROLLBACK`) but not isolated: every client shares one SQLite
  connection per database, so another client would see uncommitted writes. So the
  store keeps one writer AND one reader at a time (queries take the writer lock too),
  and only one process may use a database. GAP(nx-27017), see docs/stores.md.
- **a real standalone mongod**: refused at `open()`; it has no transactions.

Within one process every adapter has a single writer (`WriterLock`): transactions and
outbox calls queue up, and a store call made inside a transaction fails fast.
Layout and queries: `mongodb_layout`; transactions: `mongodb_transactions`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import structlog
from pymongo import AsyncMongoClient, ReadPreference
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random

from shared.clock import Clock
from shared.store.mongodb_layout import (
    COUNTERS,
    INBOX,
    INDEXES,
    INTERNAL_INDEXES,
    NO_TIME,
    NO_TOKEN,
    OLDEST_FIRST,
    OUTBOX,
    UNSENT,
    QueryIndex,
    leased_to,
    sent_before,
    sent_since,
    stamp,
    unstamp,
)
from shared.store.mongodb_outbox import claim_rows
from shared.store.mongodb_transactions import _MongoReadTransaction, _MongoTransaction
from shared.store.mongodb_unique import ensure_unique_index, registered
from shared.store.port import (
    ClaimedMessage,
    OutboxBacklog,
    Store,
    Transaction,
    UniqueIndex,
)
from shared.store.writer_lock import WriterLock

log = structlog.get_logger(__name__)

ILLEGAL_OPERATION = 20  # a standalone mongod asked for a transaction
NAMESPACE_EXISTS = 48


def _has_label(label: str) -> Any:
    return retry_if_exception(lambda e: isinstance(e, PyMongoError) and e.has_error_label(label))


class MongoStore(Store):
    def __init__(
        self,
        url: str,
        database: str,
        *,
        clock: Clock | None = None,
        query_indexes: Iterable[QueryIndex] = (),
        server_selection_timeout_ms: int = 10_000,
    ) -> None:
        self._url = url  # may carry a password: never logged
        self._database = database
        self.clock = clock or Clock()  # stamps rows with machinery time (system_now)
        self._query_indexes = tuple(query_indexes)
        self._timeout_ms = server_selection_timeout_ms
        self._client: AsyncMongoClient[dict[str, Any]] | None = None
        self.writer = WriterLock()
        self.isolated = True  # False where the server's transactions do not isolate
        self._unique: dict[str, list[UniqueIndex]] = {}  # collection -> registered indexes
        self._ensured: set[UniqueIndex] = set()
        self._unindexed_seen: set[tuple[str, frozenset[str]]] = set()

    # --- connection ---------------------------------------------------------------------

    @property
    def client(self) -> AsyncMongoClient[dict[str, Any]]:
        if self._client is None:
            raise RuntimeError("MongoStore is not open")
        return self._client

    @property
    def db(self) -> AsyncDatabase[dict[str, Any]]:
        return self.client[self._database]

    async def open(self) -> None:
        if self._client is not None:
            return
        client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            self._url, serverSelectionTimeoutMS=self._timeout_ms, appname="csp-marketplace"
        )
        self._client = client
        try:
            await self._choose_mode()
            await self._create_indexes()
            self._unique = await registered(self.db)
        except BaseException:
            self._client = None
            await client.close()
            raise

    async def close(self) -> None:
        if self._client is None:
            return
        async with self.writer:  # waits for a running transaction to finish
            client, self._client = self._client, None
            await client.close()

    async def _choose_mode(self) -> None:
        hello = await self.client.admin.command("hello")
        if hello.get("setName") or hello.get("msg") == "isdbgrid":
            self.isolated = True
            return
        try:  # a standalone: does it run transactions at all?
            async with self.client.start_session() as session:
                await session.start_transaction()
                await self.db[COUNTERS].find_one({"_id": "probe"}, session=session)
                await session.abort_transaction()
        except OperationFailure as error:
            if error.code != ILLEGAL_OPERATION:
                raise
            raise RuntimeError(
                "this MongoDB server is a standalone: transactions need a replica set"
                " (start mongod with --replSet rs0 and run rs.initiate() once)"
            ) from None
        self.isolated = False
        build = await self.client.admin.command("buildInfo")
        log.warning("mongodb_transactions_not_isolated", server=build.get("process", "?"))

    def transaction_options(self) -> dict[str, Any]:
        if not self.isolated:
            return {}  # GAP(nx-27017): accepted and ignored there
        return {
            "read_concern": ReadConcern("snapshot"),
            "write_concern": WriteConcern("majority"),
            "read_preference": ReadPreference.PRIMARY,
        }

    async def commit(self, session: AsyncClientSession) -> None:
        """commitTransaction, again while the outcome is unknown (MongoDB's advice:
        committing twice is safe)."""
        retrying = AsyncRetrying(
            retry=_has_label("UnknownTransactionCommitResult"),
            stop=stop_after_attempt(3),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await session.commit_transaction()

    async def _create_indexes(self) -> None:
        """Idempotent: MongoDB does nothing for an index that exists as asked."""
        for collection, keys, name in INTERNAL_INDEXES:
            await self.db[collection].create_index(keys, name=name)
        existing = set(await self.db.list_collection_names())
        for collection in {COUNTERS, INDEXES} - existing:  # never created inside a transaction
            try:
                await self.db.create_collection(collection, check_exists=False)
            except OperationFailure as error:
                if error.code != NAMESPACE_EXISTS:  # else another process was first
                    raise
        for index in self._query_indexes:
            await self.db[index.collection].create_index(index.keys(), name=index.name())
        for collection in {index.collection for index in self._query_indexes}:
            await self.db[collection].create_index([("seq", 1)], name="seq", unique=True)

    # --- transactions -------------------------------------------------------------------

    def transaction(self) -> Transaction:
        return _MongoTransaction(self)

    def read_only(self) -> Transaction:
        return _MongoReadTransaction(self)

    def note_query(self, collection: str, equals: dict[str, Any]) -> None:
        """Log, once, a filter no declared `QueryIndex` serves (a collection scan)."""
        if not self._query_indexes:
            return  # nothing declared: a test or a tool, not a service
        shape = frozenset(equals)
        if any(i.collection == collection and set(i.fields) == shape for i in self._query_indexes):
            return
        if (collection, shape) not in self._unindexed_seen:
            self._unindexed_seen.add((collection, shape))
            log.warning("mongodb_query_not_indexed", collection=collection, fields=sorted(shape))

    # --- unique indexes -----------------------------------------------------------------

    def unique_indexes(self, collection: str) -> list[UniqueIndex]:
        return self._unique.get(collection, [])

    async def ensure_indexes(self, indexes: Iterable[UniqueIndex]) -> None:
        wanted = [index for index in dict.fromkeys(indexes) if index not in self._ensured]
        if not wanted:
            return
        async with self.writer:
            try:
                for index in wanted:
                    await ensure_unique_index(self.db, index)
                    self._ensured.add(index)
            finally:  # checked on every write from now on, with what other processes declared
                self._unique = await registered(self.db)

    # --- the outbox, as the relay sees it -----------------------------------------------

    async def claim_outbox(
        self, lease_token: str, limit: int, lease_until: datetime, now: datetime
    ) -> list[ClaimedMessage]:
        if limit <= 0:
            return []
        async with self.writer:
            # A relay in another process may claim at the same time: the loser of the
            # write conflict tries again on a fresh snapshot.
            retrying = AsyncRetrying(
                retry=_has_label("TransientTransactionError"),
                stop=stop_after_attempt(3),
                wait=wait_random(0, 0.05),
                reraise=True,
            )
            async for attempt in retrying:
                with attempt:
                    return await self._claim(lease_token, limit, stamp(lease_until), stamp(now))
        return []  # unreachable: the retrying loop returns or raises

    async def _claim(
        self, lease_token: str, limit: int, until: int, now: int
    ) -> list[ClaimedMessage]:
        async with self.client.start_session() as session:
            await session.start_transaction(**self.transaction_options())
            try:
                claimed = await claim_rows(self.db, session, lease_token, limit, until, now)
                await self.commit(session)
            except BaseException:
                if session.in_transaction:
                    await session.abort_transaction()
                raise
        return claimed

    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        if not seqs:
            return
        async with self.writer:
            await self.db[OUTBOX].update_many(
                leased_to(lease_token, seqs),
                {"$set": {"sent_at": stamp(self.clock.system_now())}},
            )

    async def release_outbox(self, lease_token: str, seqs: list[int]) -> None:
        if not seqs:
            return
        async with self.writer:
            await self.db[OUTBOX].update_many(
                leased_to(lease_token, seqs),
                {"$set": {"lease_token": NO_TOKEN, "lease_until": NO_TIME}},
            )

    async def purge(self, older_than: datetime) -> int:
        cutoff = stamp(older_than)
        async with self.writer:
            sent = await self.db[OUTBOX].delete_many(sent_before(cutoff))
            seen = await self.db[INBOX].delete_many({"recorded_at": {"$lt": cutoff}})
        return sent.deleted_count + seen.deleted_count

    async def requeue_sent_since(self, since: datetime) -> int:
        async with self.writer:
            result = await self.db[OUTBOX].update_many(
                sent_since(stamp(since)),
                {"$set": {"sent_at": NO_TIME, "lease_token": NO_TOKEN, "lease_until": NO_TIME}},
            )
        if result.modified_count:
            self._notify_outbox()  # a relay of this process wakes at once
        return result.modified_count

    async def pending_outbox(self) -> int:
        async with self.writer:
            return await self.db[OUTBOX].count_documents(UNSENT)

    async def outbox_backlog(self) -> OutboxBacklog:
        # Two reads of `unsent_in_order`, not one snapshot: on a replica set a row sent by
        # another process in between can make them disagree for one scrape.
        async with self.writer:
            outbox = self.db[OUTBOX]
            oldest = await outbox.find_one(UNSENT, {"created_at": 1}, sort=OLDEST_FIRST)
            unsent = await outbox.count_documents(UNSENT)
        created_at = None if oldest is None else unstamp(int(oldest["created_at"]))
        return OutboxBacklog(unsent, created_at)
