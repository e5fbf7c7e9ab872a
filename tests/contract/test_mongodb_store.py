"""The MongoDB adapter's own behaviour, beyond the shared contract: what it keeps across
a reopen, what it refuses, where the server's looser comparisons would leak through,
and the replay of sent outbox rows. Runs against nx-27017 and, where Docker is, real
MongoDB (the `mongo` fixture)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from structlog.testing import capture_logs

from shared.clock import FixedClock
from shared.store.mongodb import MongoStore
from shared.store.mongodb_layout import QueryIndex
from shared.store.port import DuplicateKey, OutboxMessage, UniqueIndex
from tests.contract.conftest import CLOCK_START, MONGODB_KINDS, mongodb_url

LEASE = timedelta(seconds=30)
BY_STATUS = QueryIndex("things", ("status",))


@pytest.fixture(params=list(MONGODB_KINDS))
async def url(request: pytest.FixtureRequest) -> AsyncIterator[tuple[str, str]]:
    """A server and a fresh database name in it, dropped afterwards."""
    server = mongodb_url(request, request.param)
    database = f"adapter_{uuid.uuid4().hex[:16]}"
    yield server, database
    cleaner = MongoStore(server, database)
    await cleaner.open()
    await cleaner.client.drop_database(database)
    await cleaner.close()


async def opened(
    url: tuple[str, str], clock: FixedClock | None = None, **options: object
) -> MongoStore:
    server, database = url
    store = MongoStore(server, database, clock=clock or FixedClock(CLOCK_START), **options)  # type: ignore[arg-type]
    await store.open()
    return store


async def test_a_reopened_store_keeps_documents_numbers_outbox_and_unique_indexes(
    url: tuple[str, str],
) -> None:
    index = UniqueIndex("ledger", "one_per_sub", ("subscription_id",))
    first = await opened(url)
    await first.ensure_indexes([index])
    async with first.transaction() as tx:
        await tx.collection("ledger").insert("a", {"subscription_id": "s1"})
        await tx.next_number("invoice")
        tx.add_outbox(OutboxMessage("t", "k", b"\x00\xff", {"h": "1"}))
        await tx.commit()
    await first.close()

    second = await opened(url)  # has not ensured the index itself
    try:
        async with second.transaction() as tx:
            with pytest.raises(DuplicateKey):
                await tx.collection("ledger").insert("b", {"subscription_id": "s1"})
            assert await tx.next_number("invoice") == 2
            assert await tx.collection("ledger").find() == [{"subscription_id": "s1"}]
        assert await second.pending_outbox() == 1
        await second.ensure_indexes([index])  # finds it registered: no error
    finally:
        await second.close()


async def test_query_indexes_are_created_at_open_and_again_without_change(
    url: tuple[str, str],
) -> None:
    first = await opened(url, query_indexes=[BY_STATUS])
    before = await first.db["things"].index_information()
    await first.close()
    second = await opened(url, query_indexes=[BY_STATUS])
    try:
        after = await second.db["things"].index_information()
    finally:
        await second.close()
    assert after == before
    assert [("d.status", 1), ("seq", 1)] in [spec["key"] for spec in after.values()]


async def test_a_filter_no_declared_index_serves_is_logged_once(url: tuple[str, str]) -> None:
    store = await opened(url, query_indexes=[BY_STATUS])
    try:
        with capture_logs() as logs:
            async with store.read_only() as tx:
                await tx.collection("things").find(status="x")
                await tx.collection("things").find(owner="o")
                await tx.collection("things").find(owner="o")
    finally:
        await store.close()
    warned = [entry for entry in logs if entry["event"] == "mongodb_query_not_indexed"]
    assert warned == [
        {
            "event": "mongodb_query_not_indexed",
            "log_level": "warning",
            "collection": "things",
            "fields": ["owner"],
        }
    ]


async def test_find_is_exact_where_the_servers_equality_is_wider(url: tuple[str, str]) -> None:
    """MongoDB matches an array holding the value; nx-27017 also reads ISO-8601 text as
    a date (two spellings of one instant are equal there) and true as 1."""
    store = await opened(url)
    docs = {
        "a": {"at": "2030-01-01T00:00:00+00:00", "tags": "x", "flag": True},
        "b": {"at": "2030-01-01T00:00:00.000000+00:00", "tags": ["x", "y"], "flag": 1},
    }
    try:
        async with store.transaction() as tx:
            for key, doc in docs.items():
                await tx.collection("c").insert(key, doc)
            await tx.commit()
        async with store.read_only() as tx:
            things = tx.collection("c")
            assert await things.find(at="2030-01-01T00:00:00+00:00") == [docs["a"]]
            assert await things.find(tags="x") == [docs["a"]]
            assert await things.find(flag=True) == [docs["a"]]
            assert await things.find_page(1, tags="x") == ([docs["a"]], None)
    finally:
        await store.close()


async def test_unique_values_compare_as_sqlite_sees_them_true_is_one(url: tuple[str, str]) -> None:
    store = await opened(url)
    try:
        await store.ensure_indexes([UniqueIndex("c", "one_flag", ("flag",))])
        async with store.transaction() as tx:
            await tx.collection("c").insert("a", {"flag": True})
            with pytest.raises(DuplicateKey):
                await tx.collection("c").insert("b", {"flag": 1})
            await tx.collection("c").insert("c", {"flag": "1"})
            await tx.commit()
    finally:
        await store.close()


async def test_what_it_refuses(url: tuple[str, str]) -> None:
    store = await opened(url)
    try:
        async with store.transaction() as tx:
            for name in ("_outbox", "system.users", "a$b", ""):
                with pytest.raises(ValueError):
                    tx.collection(name)
            with pytest.raises(ValueError):
                await tx.collection("c").find(**{"a.b": 1})
        async with store.read_only() as tx:
            with pytest.raises(RuntimeError):
                await tx.collection("c").put("k", {"v": 1})
            with pytest.raises(RuntimeError):
                tx.add_outbox(OutboxMessage("t", "k", b""))
    finally:
        await store.close()


async def test_requeue_sent_since_replays_sent_rows_in_order_and_leaves_the_rest(
    url: tuple[str, str],
) -> None:
    clock = FixedClock(CLOCK_START)
    store = await opened(url, clock)
    woken: list[None] = []
    store.on_outbox_commit(lambda: woken.append(None))
    rows = [OutboxMessage("t", f"k{n}", f"p{n}".encode()) for n in range(4)]
    try:
        async with store.transaction() as tx:
            for row in rows:
                tx.add_outbox(row)
            await tx.commit()
        woken.clear()
        now = clock.system_now()
        early, late, leased, _ = await store.claim_outbox("relay", 4, now + LEASE, now)
        await store.mark_sent("relay", [early.seq])
        clock.advance(timedelta(minutes=5))
        since = clock.system_now()
        await store.mark_sent("relay", [late.seq])

        assert await store.requeue_sent_since(since) == 1
        assert woken == [None]
        assert await store.pending_outbox() == 3
        later = clock.system_now() + 2 * LEASE
        again = await store.claim_outbox("relay-2", 10, later + LEASE, later)
        assert [c.seq for c in again] == [late.seq, leased.seq, again[-1].seq]
        assert await store.requeue_sent_since(since) == 0
    finally:
        await store.close()
