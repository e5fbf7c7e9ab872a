"""In-memory `Store` for unit tests, with the same semantics as the SQLite adapter.

Documents are kept as JSON text, exactly like SQLite, so whatever the fake accepts
and returns is what production would: private copies, JSON types only. A transaction
holds the store's `WriterLock` (one writer, like SQLite) and snapshots the state when
it begins; rollback restores the snapshot. Rows are stamped with the injected clock's
machinery time (`Clock.system_now`). Unique indexes are kept as maps from the indexed
values to the key holding them, part of the state a rollback restores.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from shared.clock import Clock
from shared.store.port import (
    ClaimedMessage,
    Collection,
    Document,
    DuplicateKey,
    OutboxBacklog,
    OutboxMessage,
    Store,
    Transaction,
    UniqueIndex,
    check_find,
    check_find_due,
    check_page_limit,
    due_stamp,
    encode_document,
    is_due_stamp,
)
from shared.store.writer_lock import WriterLock


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC, so both adapters compare the same way."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _field_equals(value: Any, wanted: Any) -> bool:
    """`find` equality as SQLite's JSON functions see it: True is not 1, None is missing."""
    if wanted is None:
        return value is None
    if isinstance(wanted, bool):
        return isinstance(value, bool) and value is wanted
    if isinstance(wanted, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool) and value == wanted
    return isinstance(value, str) and value == wanted


@dataclass
class _OutboxRow:
    seq: int
    message: OutboxMessage
    created_at: datetime
    lease_token: str | None = None
    lease_until: datetime | None = None
    sent_at: datetime | None = None


@dataclass
class _State:
    """Everything a rollback must restore. Documents: collection -> key -> (insertion
    sequence, JSON text); dicts keep insertion order and replacing a value keeps its
    position, and its sequence, as SQLite's `seq` column does."""

    documents: dict[str, dict[str, tuple[int, str]]]
    outbox: list[_OutboxRow]
    inbox: dict[tuple[str, str], datetime]  # -> recorded at
    sequences: dict[str, int]
    next_outbox_seq: int
    unique: dict[UniqueIndex, dict[tuple[Any, ...], str]]  # index -> values -> key

    def snapshot(self) -> _State:
        # Outbox rows are only appended inside a transaction, so a shallow list copy is enough.
        return _State(
            documents={name: dict(docs) for name, docs in self.documents.items()},
            outbox=list(self.outbox),
            inbox=dict(self.inbox),
            sequences=dict(self.sequences),
            next_outbox_seq=self.next_outbox_seq,
            unique={index: dict(held) for index, held in self.unique.items()},
        )

    def indexes_of(self, collection: str) -> list[UniqueIndex]:
        return [index for index in self.unique if index.collection == collection]


class MemoryStore(Store):
    def __init__(self, *, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()  # stamps rows with machinery time (system_now)
        self._state = _State(
            documents={}, outbox=[], inbox={}, sequences={}, next_outbox_seq=1, unique={}
        )
        self._writer = WriterLock()

    def _now(self) -> datetime:
        return _utc(self.clock.system_now())

    def transaction(self) -> Transaction:
        return _MemoryTransaction(self)

    async def ensure_indexes(self, indexes: Iterable[UniqueIndex]) -> None:
        wanted = [index for index in indexes if index not in self._state.unique]
        if not wanted:
            return
        async with self._writer:
            state = self._state
            for index in wanted:
                if index in state.unique:
                    continue
                for known in state.unique:
                    if (known.collection, known.name) == (index.collection, index.name):
                        raise ValueError(f"index {index.name} exists with other fields")
                held: dict[tuple[Any, ...], str] = {}
                for key, (_, raw) in state.documents.get(index.collection, {}).items():
                    values = index.values(json.loads(raw))
                    if values is None:
                        continue
                    if values in held:  # as SQLite refuses to create it over duplicates
                        raise DuplicateKey(f"{index.collection}: {index.name} {values}")
                    held[values] = key
                state.unique[index] = held

    async def claim_outbox(
        self, lease_token: str, limit: int, lease_until: datetime, now: datetime
    ) -> list[ClaimedMessage]:
        until, now = _utc(lease_until), _utc(now)
        async with self._writer:
            picked: list[_OutboxRow] = []
            held: set[tuple[str, str]] = set()  # keys with an earlier row leased elsewhere
            for row in self._state.outbox:
                if len(picked) >= limit:
                    break
                key = (row.message.topic, row.message.key)
                if row.sent_at is not None:
                    continue
                if row.lease_until is not None and row.lease_until > now:
                    held.add(key)  # its later rows wait, or the key's order would break
                elif key not in held:
                    picked.append(row)
            claimed: list[ClaimedMessage] = []
            for row in picked:
                row.lease_token, row.lease_until = lease_token, until
                claimed.append(ClaimedMessage(row.seq, _copy_message(row.message)))
            return claimed

    async def mark_sent(self, lease_token: str, seqs: list[int]) -> None:
        wanted = set(seqs)
        async with self._writer:
            sent_at = self._now()
            for row in self._state.outbox:
                if row.seq in wanted and row.sent_at is None and row.lease_token == lease_token:
                    row.sent_at = sent_at

    async def release_outbox(self, lease_token: str, seqs: list[int]) -> None:
        wanted = set(seqs)
        async with self._writer:
            for row in self._state.outbox:
                if row.seq in wanted and row.sent_at is None and row.lease_token == lease_token:
                    row.lease_token, row.lease_until = None, None

    async def purge(self, older_than: datetime) -> int:
        cutoff = _utc(older_than)
        async with self._writer:
            state = self._state
            kept = [r for r in state.outbox if r.sent_at is None or r.sent_at >= cutoff]
            stale = [key for key, at in state.inbox.items() if at < cutoff]
            for key in stale:
                del state.inbox[key]
            removed = len(state.outbox) - len(kept) + len(stale)
            state.outbox = kept
            return removed

    async def requeue_sent_since(self, since: datetime) -> int:
        cutoff = _utc(since)
        async with self._writer:
            requeued = 0
            for row in self._state.outbox:
                if row.sent_at is not None and row.sent_at >= cutoff:
                    row.sent_at, row.lease_token, row.lease_until = None, None, None
                    requeued += 1
        if requeued:
            self._notify_outbox()
        return requeued

    async def pending_outbox(self) -> int:
        async with self._writer:
            return sum(1 for row in self._state.outbox if row.sent_at is None)

    async def outbox_backlog(self) -> OutboxBacklog:
        async with self._writer:
            unsent = [row for row in self._state.outbox if row.sent_at is None]
        return OutboxBacklog(len(unsent), unsent[0].created_at if unsent else None)


def _copy_message(message: OutboxMessage) -> OutboxMessage:
    """Frozen, but `headers` is a dict: keep ours private (and JSON-able, as SQLite needs)."""
    headers = json.loads(json.dumps(message.headers))
    return OutboxMessage(message.topic, message.key, bytes(message.payload), headers)


class _MemoryTransaction(Transaction):
    def __init__(self, store: MemoryStore) -> None:
        self._store = store
        self._snapshot: _State | None = None  # set while the lock is held
        self._outbox: list[OutboxMessage] = []
        self._finished = False

    async def __aenter__(self) -> Transaction:
        await self._begin()
        return self

    async def _begin(self) -> _State:
        """Take the lock on first use; returns the live state to read and write."""
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        if self._snapshot is None:
            await self._store._writer.acquire()
            self._snapshot = self._store._state.snapshot()
        return self._store._state

    def collection(self, name: str) -> Collection:
        return _MemoryCollection(self, name)

    def add_outbox(self, message: OutboxMessage) -> None:
        if self._finished:
            raise RuntimeError("transaction already committed or rolled back")
        # Buffered: this method is sync and may run before the lock is taken.
        self._outbox.append(_copy_message(message))

    async def record_inbox(self, consumer: str, event_id: str) -> bool:
        inbox = (await self._begin()).inbox
        if (consumer, event_id) in inbox:
            return False
        inbox[(consumer, event_id)] = self._store._now()
        return True

    async def next_number(self, sequence: str) -> int:
        sequences = (await self._begin()).sequences
        sequences[sequence] = sequences.get(sequence, 0) + 1
        return sequences[sequence]

    async def commit(self) -> None:
        added = bool(self._outbox)
        if self._snapshot is None and not added and not self._finished:
            self._end()  # nothing was read or written
            return
        state = await self._begin()
        created_at = self._store._now()
        for message in self._outbox:
            state.outbox.append(_OutboxRow(state.next_outbox_seq, message, created_at))
            state.next_outbox_seq += 1
        self._end()
        if added:
            self._store._notify_outbox()

    async def rollback(self) -> None:
        if self._finished:
            return
        if self._snapshot is not None:
            self._store._state = self._snapshot
        self._end()

    def _end(self) -> None:
        self._finished = True
        self._outbox = []
        if self._snapshot is not None:
            self._snapshot = None
            self._store._writer.release()


class _MemoryCollection(Collection):
    def __init__(self, uow: _MemoryTransaction, name: str) -> None:
        self._uow = uow
        self._name = name

    async def _docs(self) -> dict[str, tuple[int, str]]:
        return (await self._uow._begin()).documents.setdefault(self._name, {})

    async def get(self, key: str) -> Document | None:
        found = (await self._docs()).get(key)
        return None if found is None else json.loads(found[1])

    async def insert(self, key: str, doc: Document) -> None:
        raw, docs = encode_document(doc), await self._docs()
        if key in docs:
            raise DuplicateKey(f"{self._name}/{key}")
        self._index(key, doc, replaced=None)
        docs[key] = (_next_seq(docs), raw)

    async def put(self, key: str, doc: Document) -> None:
        raw, docs = encode_document(doc), await self._docs()
        replaced = json.loads(docs[key][1]) if key in docs else None
        self._index(key, doc, replaced=replaced)
        seq = docs[key][0] if key in docs else _next_seq(docs)
        docs[key] = (seq, raw)

    def _index(self, key: str, doc: Document, *, replaced: Document | None) -> None:
        """Check every unique index of the collection, then move `key`'s entries from
        the replaced document's values to the new one's. Called with the lock held."""
        state = self._uow._store._state
        indexes = state.indexes_of(self._name)
        for index in indexes:
            values = index.values(doc)
            holder = state.unique[index].get(values) if values is not None else None
            if holder is not None and holder != key:
                raise DuplicateKey(f"{self._name}/{key}: {index.name} held by {holder}")
        for index in indexes:
            held = state.unique[index]
            old = index.values(replaced) if replaced is not None else None
            if old is not None:
                del held[old]
            new = index.values(doc)
            if new is not None:
                held[new] = key

    async def find(self, **equals: Any) -> list[Document]:
        check_find(equals)
        return [doc for _, doc in _matching((await self._docs()).values(), equals)]

    async def find_due(self, field: str, until: datetime, limit: int) -> list[Document]:
        check_find_due(field, limit)
        bound = due_stamp(until)
        due = []
        for seq, raw in (await self._docs()).values():  # a fake: a walk, no index
            doc = json.loads(raw)
            value = doc.get(field)
            if is_due_stamp(value) and value <= bound:
                due.append((value, seq, doc))
        due.sort(key=lambda row: row[:2])
        return [doc for _, _, doc in due[:limit]]

    async def find_page(
        self, limit: int, after: int | None = None, *, descending: bool = False, **equals: Any
    ) -> tuple[list[Document], int | None]:
        check_page_limit(limit)
        check_find(equals)
        rows = (await self._docs()).values()
        ordered = reversed(rows) if descending else iter(rows)
        if after is not None:
            ordered = (r for r in ordered if (r[0] < after if descending else r[0] > after))
        page = list(islice(_matching(ordered, equals), limit + 1))
        more = len(page) > limit
        page = page[:limit]
        return [doc for _, doc in page], (page[-1][0] if more else None)


def _next_seq(docs: dict[str, tuple[int, str]]) -> int:
    """Like SQLite's MAX(seq) + 1: nothing is deleted, so the last inserted is the max."""
    return next(reversed(docs.values()))[0] + 1 if docs else 1


def _matching(
    rows: Iterable[tuple[int, str]], equals: dict[str, Any]
) -> Iterator[tuple[int, Document]]:
    """(sequence, document) of the rows whose fields equal `equals`, in the given order."""
    for seq, raw in rows:
        doc = json.loads(raw)
        if all(_field_equals(doc.get(name), wanted) for name, wanted in equals.items()):
            yield seq, doc
