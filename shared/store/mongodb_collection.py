"""Documents of one store collection in a MongoDB transaction: `{_id, seq, d, u}`.

Reads and writes go through the transaction's session. A write error inside a MongoDB
transaction aborts the whole transaction on the server, while the contract keeps a unit
of work usable after `DuplicateKey`: so `insert` and `put` look first (by `_id`, then by
each unique index's derived key) and only write what cannot collide.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from shared.store.mongodb_layout import (
    COUNTERS,
    check_equals,
    find_due_query,
    find_query,
    matches,
    stamp,
    unique_key,
    unique_probe,
)
from shared.store.port import (
    Collection,
    Document,
    DuplicateKey,
    check_find_due,
    check_page_limit,
    encode_document,
    is_due_stamp,
)

if TYPE_CHECKING:
    from shared.store.mongodb import MongoStore
    from shared.store.mongodb_transactions import _MongoTransaction


async def take_numbers(
    store: MongoStore, session: AsyncClientSession, counter: str, count: int = 1
) -> int:
    """The first of `count` fresh values of a counter document, inside the session's
    transaction: a rollback gives them back (gapless); a concurrent transaction in
    another process that takes the same counter meets a write conflict."""
    row = await store.db[COUNTERS].find_one_and_update(
        {"_id": counter},
        {"$inc": {"value": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    return int(row["value"]) - count + 1


class MongoCollection(Collection):
    def __init__(self, uow: _MongoTransaction, name: str) -> None:
        self._uow = uow
        self._name = name

    async def _target(self) -> tuple[AsyncClientSession, AsyncCollection[Any]]:
        session = await self._uow._open()
        return session, self._uow._store.db[self._name]

    async def get(self, key: str) -> Document | None:
        session, docs = await self._target()
        row = await docs.find_one({"_id": key}, {"d": 1}, session=session)
        return None if row is None else row["d"]

    async def insert(self, key: str, doc: Document) -> None:
        await self._write(key, doc, replace=False)

    async def put(self, key: str, doc: Document) -> None:
        await self._write(key, doc, replace=True)

    async def _write(self, key: str, doc: Document, *, replace: bool) -> None:
        data = json.loads(encode_document(doc))  # JSON types only, and our own copy
        self._uow.check_writable()
        session, docs = await self._target()
        old = await docs.find_one({"_id": key}, {"seq": 1}, session=session)
        if old is not None and not replace:
            raise DuplicateKey(f"{self._name}/{key}")
        derived = await self._unique_keys(session, docs, key, data)
        row: dict[str, Any] = {"_id": key, "d": data}
        if derived:
            row["u"] = derived
        try:
            if old is not None:
                await docs.replace_one({"_id": key}, {**row, "seq": old["seq"]}, session=session)
            else:
                seq = await take_numbers(self._uow._store, session, f"seq:{self._name}")
                await docs.insert_one({**row, "seq": seq}, session=session)
        except DuplicateKeyError as error:
            # Another process wrote the same key or values since we looked. On a replica
            # set the server has aborted the transaction: nothing more can be done in it.
            raise DuplicateKey(f"{self._name}/{key}") from error

    async def _unique_keys(
        self, session: AsyncClientSession, docs: AsyncCollection[Any], key: str, data: Document
    ) -> dict[str, str]:
        """Each declared index's derived key of `data`; DuplicateKey if another document
        holds one of them already."""
        derived: dict[str, str] = {}
        for index in self._uow._store.unique_indexes(self._name):
            value = unique_key(index, data)
            if value is None:
                continue
            probe = unique_probe(index, key, value)
            holder = await docs.find_one(probe, {"_id": 1}, session=session)
            if holder is not None:
                raise DuplicateKey(f"{self._name}/{key}: {index.name} held by {holder['_id']}")
            derived[index.name] = value
        return derived

    async def find(self, **equals: Any) -> list[Document]:
        check_equals(equals)
        self._uow._store.note_query(self._name, equals)
        session, docs = await self._target()
        query, order = find_query(equals)
        cursor = docs.find(query, {"d": 1}, session=session).sort(order)
        return [row["d"] async for row in cursor if matches(row["d"], equals)]

    async def find_due(self, field: str, until: datetime, limit: int) -> list[Document]:
        check_find_due(field, limit)
        self._uow._store.note_query(self._name, {field: None})
        session, docs = await self._target()
        query, order = find_due_query(field, stamp(until))
        cursor = docs.find(query, {"d": 1}, session=session).sort(order)
        due: list[Document] = []
        async with cursor.batch_size(limit) as rows_in_order:
            async for row in rows_in_order:
                if is_due_stamp(row["d"].get(field)):
                    due.append(row["d"])
                    if len(due) == limit:
                        break
        return due

    async def find_page(
        self, limit: int, after: int | None = None, *, descending: bool = False, **equals: Any
    ) -> tuple[list[Document], int | None]:
        check_page_limit(limit)
        check_equals(equals)
        self._uow._store.note_query(self._name, equals)
        session, docs = await self._target()
        query, order = find_query(equals, after, descending=descending)
        cursor = docs.find(query, {"d": 1, "seq": 1}, session=session).sort(order)
        rows: list[dict[str, Any]] = []
        # No server-side limit: `matches` may drop rows the server's wider equality let
        # through; one batch of limit + 1 is what an exact index hands back.
        async with cursor.batch_size(limit + 1) as rows_in_order:
            async for row in rows_in_order:
                if matches(row["d"], equals):
                    rows.append(row)
                    if len(rows) > limit:
                        break
        page = rows[:limit]
        after_page = int(page[-1]["seq"]) if len(rows) > limit else None
        return [row["d"] for row in page], after_page
