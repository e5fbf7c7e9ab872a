"""SQLite only: every query on a service's request path searches an index, never scans.

The filters are the ones each service's repositories send, as listed in
`shared/store/mongodb_indexes.py` (tests/unit/test_mongodb_query_indexes.py proves that
list is exactly what `services/*/adapters/repositories.py` sends). The statements are the
store's own, traced with their values bound, then given to EXPLAIN QUERY PLAN.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from shared.clock import Clock, FixedClock
from shared.store.factory import make_store
from shared.store.mongodb_indexes import SERVICE_DUE_FIELDS, SERVICE_QUERY_INDEXES, query_indexes
from shared.store.mongodb_layout import QueryIndex
from shared.store.port import OutboxMessage
from shared.store.sqlite import SqliteStore
from shared.store.sqlite_sql import find_due_sql, find_sql, query_index_name
from tests.contract.conftest import CLOCK_START

SERVICES = sorted(SERVICE_QUERY_INDEXES)


async def opened(path: Path, shapes: Any = (), clock: Clock | None = None) -> SqliteStore:
    store = SqliteStore(path, clock=clock, query_indexes=shapes)
    await store.open()
    return store


@pytest.fixture
async def things(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    store = await opened(tmp_path / "things.sqlite3", [QueryIndex("things", ("n",))])
    yield store
    await store.close()


async def traced(store: SqliteStore) -> list[str]:
    """Every statement any of the store's connections runs from now on, values bound."""
    statements: list[str] = []
    for conn in {store._connection(), *store._readers}:
        await conn.set_trace_callback(statements.append)
    return statements


async def plan(store: SqliteStore, sql: str, params: tuple[Any, ...] = ()) -> str:
    rows = await store._connection().execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", params)
    return " | ".join(str(row[-1]) for row in rows)


def finds(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT seq, data FROM documents")]


@pytest.mark.parametrize("service", SERVICES)
async def test_every_filter_a_service_sends_searches_its_own_index(
    tmp_path: Path, service: str
) -> None:
    store = await opened(tmp_path / f"{service}.sqlite3", query_indexes(service))
    try:
        statements = await traced(store)
        for index in query_indexes(service):
            equals = {name: "some-id" for name in index.fields}  # repositories send text
            async with store.read_only() as tx:
                docs = tx.collection(index.collection)
                await docs.find(**equals)
                await docs.find_page(100, **equals)
                await docs.find_page(100, 7, **equals)
                await docs.find_page(100, 7, descending=True, **equals)
            sent = finds(statements)
            assert len(sent) == 4, statements
            wanted = f"USING INDEX {query_index_name(index.collection, index.fields)} ("
            for sql in sent:
                found = await plan(store, sql)
                assert wanted in found, (index, sql, found)
                assert "SCAN" not in found and "TEMP B-TREE" not in found, (sql, found)
            statements.clear()
            # The same statement with its values bound, as the store prepares it (the
            # partial index's collection is then a parameter).
            sql, params = find_sql(equals, 7, descending=False, limit=101)
            assert wanted in await plan(store, sql, (index.collection, *params))
    finally:
        await store.close()


@pytest.mark.parametrize("service", sorted(SERVICE_DUE_FIELDS))
async def test_what_falls_due_is_a_range_of_its_index_with_no_sort(
    tmp_path: Path, service: str
) -> None:
    store = await opened(tmp_path / f"{service}.sqlite3", query_indexes(service))
    try:
        statements = await traced(store)
        for collection, field in SERVICE_DUE_FIELDS[service]:
            async with store.read_only() as tx:
                await tx.collection(collection).find_due(field, CLOCK_START, 500)
            [sql] = [s for s in statements if s.startswith("SELECT data FROM documents")]
            statements.clear()
            wanted = f"USING INDEX {query_index_name(collection, (field,))} (<expr><?)"
            prepared, params = find_due_sql(collection, field, indexed=True)
            for found in (
                await plan(store, sql),
                await plan(store, prepared, (*params, 1, 500)),  # with its values bound
            ):
                assert wanted in found, found
                assert "SCAN" not in found and "TEMP B-TREE" not in found, found
    finally:
        await store.close()


@pytest.mark.parametrize(
    "value", [1, 2.5, True, False, None, "text"], ids=lambda v: type(v).__name__ + str(v)
)
async def test_every_kind_of_value_searches_the_index(things: SqliteStore, value: Any) -> None:
    """Explained with the values bound, as prepared: a trace writes null as `IS NULL`,
    which the planner reads otherwise than the store's `IS ?`."""
    statements = await traced(things)
    async with things.read_only() as tx:
        await tx.collection("things").find_page(10, n=value)
    assert len(finds(statements)) == 1, statements
    sql, params = find_sql({"n": value}, None, descending=False, limit=11)
    found = await plan(things, sql, ("things", *params))
    assert "USING INDEX things__by_n_seq (<expr>=?" in found, found


async def test_get_insert_and_put_search_the_key_and_the_sequence(things: SqliteStore) -> None:
    statements = await traced(things)
    async with things.transaction() as tx:
        docs = tx.collection("things")
        await docs.insert("a", {"n": 1})
        await docs.put("a", {"n": 2})
        await docs.put("b", {"n": 3})
        assert await docs.get("a") == {"n": 2}
        await tx.commit()
    explained = [await plan(things, s) for s in statements if s.startswith(("SELECT", "INSERT"))]
    assert len(explained) == 4, statements
    for found in explained:
        assert "SCAN" not in found, found
    assert "documents_by_seq" in explained[0]  # the next insertion sequence: MAX by index


async def test_the_purge_deletes_by_age_through_the_age_indexes(tmp_path: Path) -> None:
    clock = FixedClock(CLOCK_START)
    store = await opened(tmp_path / "purge.sqlite3", clock=clock)
    try:
        async with store.transaction() as tx:
            tx.add_outbox(OutboxMessage("t", "k", b"x"))
            await tx.record_inbox("consumer", "e1")
            await tx.commit()
        [row] = await store.claim_outbox("relay", 1, CLOCK_START, CLOCK_START)
        await store.mark_sent("relay", [row.seq])
        statements = await traced(store)
        assert await store.purge(CLOCK_START + timedelta(seconds=1)) == 2
        deletes = [s for s in statements if s.startswith("DELETE")]
        found = [await plan(store, sql) for sql in deletes]
        assert any(
            "outbox USING COVERING INDEX outbox_sent_by_age (sent_at<?)" in p for p in found
        ), found
        assert any("inbox USING COVERING INDEX inbox_by_age (recorded_at<?)" in p for p in found), (
            found
        )
        assert not [p for p in found if "SCAN" in p], found
    finally:
        await store.close()


async def test_the_outbox_backlog_reads_the_unsent_index_and_the_oldest_row_by_key(
    tmp_path: Path,
) -> None:
    """Metrics read it at every scrape: a count over the index of unsent rows (the sent
    ones, the whole retention window, are never walked), its first entry, and one
    look-up of that row by primary key. On a reader: the writer is never waited for."""
    store = await opened(tmp_path / "backlog.sqlite3", clock=FixedClock(CLOCK_START))
    try:
        async with store.transaction() as tx:
            for n in range(3):
                tx.add_outbox(OutboxMessage("t", f"k{n}", b"x"))
            await tx.commit()
        statements = await traced(store)
        async with store._writer:  # held: the backlog must not need it
            backlog = await asyncio.wait_for(store.outbox_backlog(), 1)
        assert (backlog.unsent, backlog.oldest_created_at) == (3, CLOCK_START)
        [sql] = [s for s in statements if "FROM outbox" in s]
        steps = (await plan(store, sql)).split(" | ")
        on_outbox = [step for step in steps if " outbox " in f"{step} "]
        count, oldest, first = on_outbox  # COUNT(*), the oldest row's time, MIN(seq)
        assert count.startswith("SCAN outbox USING ") and "INDEX outbox_unsent" in count, steps
        assert oldest == "SEARCH outbox USING INTEGER PRIMARY KEY (rowid=?)", steps
        assert first.startswith("SEARCH outbox USING ") and "INDEX outbox_unsent" in first, steps
        assert not [step for step in steps if "TEMP B-TREE" in step], steps
    finally:
        await store.close()


async def test_a_filter_no_index_serves_is_logged_once_and_still_answered(
    things: SqliteStore,
) -> None:
    async with things.transaction() as tx:
        await tx.collection("things").insert("a", {"n": 1, "colour": "red"})
        await tx.commit()
    with capture_logs() as logs:
        for _ in range(2):
            async with things.read_only() as tx:
                found = await tx.collection("things").find(colour="red")
                assert found == [{"n": 1, "colour": "red"}]
                await tx.collection("things").find(n=1)  # declared: not logged
                await tx.collection("things").find()  # the collection in order: not logged
    warned = [entry for entry in logs if entry["event"] == "sqlite_query_not_indexed"]
    assert warned == [
        {
            "event": "sqlite_query_not_indexed",
            "log_level": "warning",
            "collection": "things",
            "fields": ["colour"],
        }
    ]


def index_names(path: Path) -> dict[str, str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index'")
        return {name: sql for name, sql in rows if sql}


async def test_query_indexes_are_built_at_open_over_documents_already_stored(
    tmp_path: Path,
) -> None:
    path = tmp_path / "grown.sqlite3"
    plain = await opened(path)
    async with plain.transaction() as tx:
        for n in range(5):
            await tx.collection("things").insert(f"k{n}", {"n": n % 2})
        await tx.commit()
    await plain.close()

    store = await opened(path, [QueryIndex("things", ("n",))])
    try:
        async with store.read_only() as tx:
            docs, after = await tx.collection("things").find_page(2, n=0)
        assert (docs, after) == ([{"n": 0}, {"n": 0}], 3)
        assert "things__by_n_seq" in index_names(path)
    finally:
        await store.close()


async def test_reopening_with_the_same_indexes_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "again.sqlite3"
    shapes = query_indexes("ordering")
    await (await opened(path, shapes)).close()
    before = index_names(path)
    store = await opened(path, shapes)
    try:
        statements = await traced(store)  # from here on: nothing is created
        async with store.read_only() as tx:
            await tx.collection("subscriptions").find(customer_id="c")
        assert not [s for s in statements if s.startswith("CREATE")]
    finally:
        await store.close()
    assert index_names(path) == before
    declared = {query_index_name(i.collection, i.fields) for i in shapes}
    assert declared <= set(before)


async def test_an_index_name_taken_by_another_definition_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "clash.sqlite3"
    await (await opened(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute('CREATE INDEX "things__by_n_seq" ON documents (seq)')
    store = SqliteStore(path, query_indexes=[QueryIndex("things", ("n",))])
    with pytest.raises(ValueError, match="things__by_n_seq"):
        await store.open()


@pytest.mark.parametrize("shape", [("bad name", ("n",)), ("things", ("a.b",)), ("t", ("x'y",))])
def test_a_query_index_names_plain_fields_only(shape: tuple[str, tuple[str, ...]]) -> None:
    with pytest.raises(ValueError):
        SqliteStore("unused.sqlite3", query_indexes=[QueryIndex(*shape)])


@pytest.mark.parametrize("service", SERVICES)
def test_the_store_a_service_runs_on_declares_its_filters(tmp_path: Path, service: str) -> None:
    from services.billing.settings import BillingSettings
    from services.ordering.settings import OrderingSettings
    from services.provisioning.settings import ProvisioningSettings

    kinds = {s.SERVICE: s for s in (BillingSettings, OrderingSettings, ProvisioningSettings)}
    settings = kinds[service](csp_data_dir=tmp_path, csp_store="sqlite")
    store = make_store(settings, Clock())
    assert isinstance(store, SqliteStore)
    assert set(store._query_shapes) == {(i.collection, i.fields) for i in query_indexes(service)}
