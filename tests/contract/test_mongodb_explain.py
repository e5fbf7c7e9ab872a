"""No collection scan on the request path: `explain()` of every query the MongoDB store
sends for the services (the builders in `shared/store/mongodb_layout.py`, so what is
explained is what is sent).

Against real MongoDB (a replica set through testcontainers; skipped where no Docker
engine answers) the winning plan must hold an index stage and no COLLSCAN. nx-27017
answers `explain` with the SQLite plan of its translation, which says the same thing
in SQLite's words: every step a `SEARCH ... USING INDEX`, never a `SCAN` of the table.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from services.billing.adapters.repositories import ONE_LINE_PER_PERIOD
from shared.store.mongodb import MongoStore
from shared.store.mongodb_indexes import SERVICE_DUE_FIELDS, SERVICE_QUERY_INDEXES
from shared.store.mongodb_layout import (
    COUNTERS,
    INBOX,
    OLDEST_FIRST,
    OUTBOX,
    UNSENT,
    claimable_filter,
    find_due_query,
    find_query,
    held_filter,
    inbox_id,
    leased_to,
    sent_before,
    sent_since,
    stamp,
    unique_key,
    unique_probe,
)
from tests.contract.conftest import MONGODB_KINDS, mongodb_url

NOW = stamp(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
INDEX_STAGES = {"IXSCAN", "IDHACK", "EXPRESS_IXSCAN", "EXPRESS_IDHACK", "COUNT_SCAN"}

Query = tuple[str, dict[str, Any], list[tuple[str, int]] | None]  # collection, filter, sort


def service_queries(service: str) -> list[tuple[str, Query]]:
    """Each declared shape as `find` (ascending) and as a page further on, both ways."""
    queries: list[tuple[str, Query]] = []
    for index in SERVICE_QUERY_INDEXES[service]:
        equals = {name: f"some-{name}" for name in index.fields}
        for after, descending in ((None, False), (7, False), (7, True)):
            query, order = find_query(equals, after, descending=descending)
            label = f"{index.collection}{sorted(equals)} after={after} desc={descending}"
            queries.append((label, (index.collection, query, order)))
    for collection, field in SERVICE_DUE_FIELDS.get(service, ()):
        query, order = find_due_query(field, NOW)
        queries.append((f"{collection} {field} due by now", (collection, query, order)))
    return queries


def store_queries() -> list[tuple[str, Query]]:
    line = {"subscription_id": "s1", "period": {"start": "a", "end": "b"}, "type": "charge"}
    held = unique_key(ONE_LINE_PER_PERIOD, line)
    assert held is not None
    return [
        ("get by key", ("ledger", {"_id": "line-1"}, None)),
        ("unique index probe", ("ledger", unique_probe(ONE_LINE_PER_PERIOD, "l2", held), None)),
        ("counter", (COUNTERS, {"_id": "seq:ledger"}, None)),
        ("inbox record", (INBOX, {"_id": inbox_id("billing.activations", "e1")}, None)),
        ("outbox claim: held keys", (OUTBOX, held_filter(NOW), None)),
        ("outbox claim: claimable rows", (OUTBOX, claimable_filter(NOW), [("seq", 1)])),
        ("outbox pending", (OUTBOX, UNSENT, None)),
        ("outbox backlog: the oldest unsent row", (OUTBOX, UNSENT, OLDEST_FIRST)),
        ("outbox mark sent / release", (OUTBOX, leased_to("relay", [1, 2]), None)),
        ("outbox purge", (OUTBOX, sent_before(NOW), None)),
        ("outbox requeue", (OUTBOX, sent_since(NOW), None)),
        ("inbox purge", (INBOX, {"recorded_at": {"$lt": NOW}}, None)),
    ]


QUERIES = [
    *(q for service in SERVICE_QUERY_INDEXES for q in service_queries(service)),
    *store_queries(),
]


@pytest.fixture(params=list(MONGODB_KINDS))
async def billing_like(request: pytest.FixtureRequest) -> AsyncIterator[MongoStore]:
    """A store opened with every service's query indexes and billing's unique index."""
    every = [index for indexes in SERVICE_QUERY_INDEXES.values() for index in indexes]
    url = mongodb_url(request, request.param)
    store = MongoStore(url, f"explain_{uuid.uuid4().hex[:16]}", query_indexes=every)
    await store.open()
    await store.ensure_indexes([ONE_LINE_PER_PERIOD])
    async with store.transaction() as tx:  # a document in each collection, a row in each table
        for collection in {index.collection for index in every}:
            await tx.collection(collection).put("k", {"status": "x"})
        await tx.record_inbox("billing.activations", "e0")
        await tx.commit()
    try:
        yield store
    finally:
        await store.client.drop_database(store.db.name)
        await store.close()


def stages(plan: Any) -> list[str]:
    """Every `stage` in a MongoDB plan tree (classic or slot-based engine)."""
    if isinstance(plan, dict):
        own = [plan["stage"]] if isinstance(plan.get("stage"), str) else []
        return own + [s for value in plan.values() for s in stages(value)]
    if isinstance(plan, list):
        return [s for item in plan for s in stages(item)]
    return []


def assert_indexed(collection: str, explained: dict[str, Any]) -> None:
    winning = explained["queryPlanner"]["winningPlan"]
    if isinstance(winning, list):  # nx-27017: SQLite's EXPLAIN QUERY PLAN rows
        steps = [str(row.get("detail", "")) for row in winning]
        assert steps and all("USING" in s and "INDEX" in s for s in steps), steps
        assert not any(s.startswith(f"SCAN {collection}") for s in steps), steps
        return
    found = stages(winning)
    assert "COLLSCAN" not in found, found
    assert INDEX_STAGES & set(found), found


async def test_every_query_the_store_sends_is_served_by_an_index(billing_like: MongoStore) -> None:
    unserved: dict[str, str] = {}
    for label, (collection, criteria, order) in QUERIES:
        cursor = billing_like.db[collection].find(criteria)
        if order:
            cursor = cursor.sort(order)
        try:
            assert_indexed(collection, await cursor.explain())
        except AssertionError as error:
            unserved[label] = str(error)
    assert not unserved, unserved
    assert len(QUERIES) > 40  # every service's shapes, both ways, and the store's own


async def test_the_check_sees_a_collection_scan(billing_like: MongoStore) -> None:
    """A filter on a field no index holds: the check must fail, or it proves nothing."""
    cursor = billing_like.db["ledger"].find({"d.nobody_indexes_this": {"$eq": 1}})
    with pytest.raises(AssertionError):
        assert_indexed("ledger", await cursor.explain())
