"""Declared unique indexes (`UniqueIndex`) on MongoDB: a registry and a derived key.

Each index is one text per document, `u.<name>` (`mongodb_layout.unique_key`: values
compared as SQLite compares them), under a unique index that skips documents without
it. The registry `_indexes` names every declared index with its fields, so a name
reused for other fields is refused (nx-27017 renames indexes and accepts a second spec
under a name: GAP(nx-27017)), and every process checks every declared index on its
writes, whoever declared it.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError, OperationFailure

from shared.store.mongodb_layout import INDEXES, unique_field, unique_index_spec, unique_key
from shared.store.port import DuplicateKey, UniqueIndex

DUPLICATE_KEY = 11000
INDEX_CONFLICTS = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict

Database = AsyncDatabase[dict[str, Any]]


async def registered(db: Database) -> dict[str, list[UniqueIndex]]:
    """collection -> the indexes declared on it."""
    found: dict[str, list[UniqueIndex]] = {}
    async for row in db[INDEXES].find({}):
        index = UniqueIndex(row["collection"], row["name"], tuple(row["fields"]))
        found.setdefault(index.collection, []).append(index)
    return found


async def ensure_unique_index(db: Database, index: UniqueIndex) -> None:
    """Create and register `index`, idempotently. Call it with the store's writer lock."""
    registry_id = f"{index.collection}.{index.name}"
    known = await db[INDEXES].find_one({"_id": registry_id})
    if known is not None and tuple(known["fields"]) != index.fields:
        raise ValueError(f"index {index.name} exists with other fields")
    docs = db[index.collection]
    if known is None:
        await _derive_keys(db, index)
    spec = unique_index_spec(index)
    try:
        await docs.create_index(spec.pop("keys"), **spec)
    except OperationFailure as error:
        if known is None:
            await docs.update_many({}, {"$unset": {unique_field(index): ""}})
        if error.code in INDEX_CONFLICTS:
            raise ValueError(f"index {index.name}: {error.details}") from None
        if error.code == DUPLICATE_KEY or "UNIQUE constraint" in str(error):
            # GAP(nx-27017): its refusal is a plain failure with SQLite's text, no code.
            raise DuplicateKey(f"{index.collection}: {index.name}") from None
        raise
    if known is None:
        row = {"collection": index.collection, "name": index.name, "fields": list(index.fields)}
        with suppress(DuplicateKeyError):  # another process registered it meanwhile
            await db[INDEXES].insert_one({"_id": registry_id, **row})


async def _derive_keys(db: Database, index: UniqueIndex) -> None:
    """Write each stored document's derived key before the index is built on them."""
    docs = db[index.collection]
    async for row in docs.find({}, {"d": 1}):
        value = unique_key(index, row["d"])
        if value is not None:
            await docs.update_one({"_id": row["_id"]}, {"$set": {unique_field(index): value}})
