"""How the MongoDB store lays out a service's database, and the queries it sends.

One MongoDB collection per store collection, each document
`{_id: key, seq: insertion sequence, d: the JSON document, u: {index: key}}`, and the
store's own collections, whose names start with "_" (a store collection may not):
`_outbox`, `_inbox`, `_counters` (gapless numbers and insertion sequences) and
`_indexes` (the declared `UniqueIndex`es). Times are integer microseconds since the
epoch: BSON dates keep milliseconds only, and the contract compares microseconds;
ISO-8601 text (SQLite's choice) is out too, as nx-27017 reads such strings as dates
in comparisons (GAP(nx-27017): "" then compares with no time). 0 is "no time" and ""
"no lease token" in the outbox, so one range covers "free or expired" (no `$or`).

The query builders live here so the explain test (tests/contract/test_mongodb_explain.py)
explains exactly what the store sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.store.port import Document, UniqueIndex, check_find, due_stamp

OUTBOX, INBOX, COUNTERS, INDEXES = "_outbox", "_inbox", "_counters", "_indexes"
NO_TIME = 0  # sent_at, lease_until of an outbox row that has none: before any time
NO_TOKEN = ""  # lease_token of an outbox row no relay holds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

_USABLE_NAME = re.compile(r"[^$\x00]+")


def stamp(moment: datetime) -> int:
    """Microseconds since the epoch, exactly. Naive datetimes are taken as UTC."""
    return due_stamp(moment)


def unstamp(micros: int) -> datetime:
    """The UTC time `stamp` gave these microseconds for."""
    return _EPOCH + micros * _MICROSECOND


def check_collection_name(name: str) -> str:
    if not _USABLE_NAME.fullmatch(name) or name.startswith(("_", "system.")):
        raise ValueError(f"a MongoDB store cannot hold a collection named {name!r}")
    return name


# --- find: equality on top-level fields ------------------------------------------------


def check_equals(equals: dict[str, Any]) -> None:
    """The limits every adapter shares, plus MongoDB's: a name is one field, not a path."""
    check_find(equals)
    for name in equals:
        if "." in name or name.startswith("$") or not name:
            raise ValueError(f"find cannot filter on a field named {name!r}")


def find_query(
    equals: dict[str, Any], after: int | None = None, *, descending: bool = False
) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Filter and sort of `find`/`find_page`. The server's equality is wider than the
    contract's (MongoDB: an array holding the value matches; nx-27017: true matches 1),
    so `matches` checks every document it returns; the index does the narrowing.
    `$eq` rather than a bare value: the same to MongoDB, while nx-27017 turns a bare value
    into an array-containment `OR` that no index serves (GAP(nx-27017))."""
    query: dict[str, Any] = {f"d.{name}": {"$eq": wanted} for name, wanted in equals.items()}
    if after is not None:
        query["seq"] = {"$lt" if descending else "$gt": after}
    return query, [("seq", -1 if descending else 1)]


def find_due_query(field: str, until: int) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """Filter and sort of `find_due`, served by the query index `(d.<field>, seq)`.
    `$lte` on a number matches numbers only (BSON type bracketing), so null, missing
    and text are never due; `is_due_stamp` drops a double the server let through."""
    return {f"d.{field}": {"$lte": until}}, [(f"d.{field}", 1), ("seq", 1)]


def matches(doc: Document, equals: dict[str, Any]) -> bool:
    """The contract's equality, as SQLite's JSON functions see it: True is not 1, None is
    null or missing, numbers compare as numbers."""
    return all(_equal(doc.get(name), wanted) for name, wanted in equals.items())


def _equal(value: Any, wanted: Any) -> bool:
    if wanted is None:
        return value is None
    if isinstance(wanted, bool):
        return isinstance(value, bool) and value is wanted
    if isinstance(wanted, int | float):
        return isinstance(value, int | float) and not isinstance(value, bool) and value == wanted
    return isinstance(value, str) and value == wanted


# --- declared unique indexes ------------------------------------------------------------


def unique_key(index: UniqueIndex, doc: Document) -> str | None:
    """The text a unique index compares, None when the document is not constrained.

    MongoDB's own comparison differs from the contract's (true is not 1 there; nx-27017
    cannot express "present and not null" in a partial index), so the store compares one
    derived text per index, `u.<name>`, under a unique index that skips documents
    without it. Values compare as SQLite's JSON functions see them: true is 1, 1 is 1.0,
    "1" is not 1, and an object or array is its JSON text.
    """
    parts: list[str] = []
    for path in index.fields:
        value: Any = doc
        for step in path.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if value is None:
            return None
        parts.append(_canonical(value))
    return json.dumps(parts, separators=(",", ":"))


def _canonical(value: Any) -> str:
    if isinstance(value, bool):
        return "n:1" if value else "n:0"
    if isinstance(value, int):
        return f"n:{value}"
    if isinstance(value, float):
        return f"n:{int(value)}" if value.is_integer() else f"n:{value!r}"
    if isinstance(value, str):
        return f"t:{value}"
    return "t:" + json.dumps(value, separators=(",", ":"))  # SQLite: JSON text


def unique_field(index: UniqueIndex) -> str:
    return f"u.{index.name}"


def unique_probe(index: UniqueIndex, key: str, value: str) -> dict[str, Any]:
    """Another document holding `value` at `index`: what the unique index would refuse."""
    return {unique_field(index): {"$eq": value}, "_id": {"$ne": key}}


def unique_index_spec(index: UniqueIndex) -> dict[str, Any]:
    """create_index arguments. Partial rather than sparse: MongoDB's advice; nx-27017
    ignores the filter, and its SQLite index skips missing values (NULLs) by itself."""
    field = unique_field(index)
    return {
        "keys": [(field, 1)],
        "name": f"unique_{index.name}",
        "unique": True,
        "partialFilterExpression": {field: {"$exists": True}},
    }


# --- the store's own collections ----------------------------------------------------------


def held_filter(now: int) -> dict[str, Any]:
    """Unsent rows whose lease still runs: their keys' later rows must wait."""
    return {"sent_at": {"$eq": NO_TIME}, "lease_until": {"$gt": now}}


def claimable_filter(now: int) -> dict[str, Any]:
    """Unsent rows with no lease (NO_TIME), or an expired one."""
    return {"sent_at": {"$eq": NO_TIME}, "lease_until": {"$lte": now}}


UNSENT: dict[str, Any] = {"sent_at": {"$eq": NO_TIME}}
OLDEST_FIRST: list[tuple[str, int]] = [("seq", 1)]  # with UNSENT: `unsent_in_order`


def sent_before(cutoff: int) -> dict[str, Any]:
    return {"sent_at": {"$gt": NO_TIME, "$lt": cutoff}}


def sent_since(since: int) -> dict[str, Any]:
    return {"sent_at": {"$gte": max(since, NO_TIME + 1)}}  # never the unsent rows


def leased_to(lease_token: str, seqs: list[int]) -> dict[str, Any]:
    """The rows of `seqs` still unsent and leased to `lease_token`."""
    return {"_id": {"$in": seqs}, "lease_token": {"$eq": lease_token}, "sent_at": {"$eq": NO_TIME}}


def inbox_id(consumer: str, event_id: str) -> str:
    return json.dumps([consumer, event_id], separators=(",", ":"))


# Indexes on the store's own collections: (collection, keys, name). `_id` serves
# counters, the index registry and inbox look-ups.
INTERNAL_INDEXES: tuple[tuple[str, list[tuple[str, int]], str], ...] = (
    # `seq` repeats `_id`: GAP(nx-27017) an index naming `_id` beside another field
    # breaks every insert there ("JSON path error near '_id'").
    (OUTBOX, [("sent_at", 1), ("seq", 1)], "unsent_in_order"),  # claim, pending, backlog, purge
    (OUTBOX, [("sent_at", 1), ("lease_until", 1)], "unsent_by_lease"),  # held keys
    (INBOX, [("recorded_at", 1)], "by_age"),  # purge
)


@dataclass(frozen=True)
class QueryIndex:
    """A filter a service's repositories send: equality on `fields` (top-level document
    fields), in insertion order. The store creates `(d.<field>..., seq)` at `open()`, so
    the filter, the page's range and its order all come from one index; `fields=()` is
    the collection in insertion order (`seq`)."""

    collection: str
    fields: tuple[str, ...] = ()

    def keys(self) -> list[tuple[str, int]]:
        return [*((f"d.{name}", 1) for name in self.fields), ("seq", 1)]

    def name(self) -> str:
        return "by_" + "_".join((*self.fields, "seq"))
