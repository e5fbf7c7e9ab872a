"""Store contract, part 1: documents, units of work, inbox, numbers, concurrency.

Every test runs against each adapter (the `store` fixture in conftest.py), so the
memory fake used by unit tests cannot drift from SQLite. Outbox behaviour lives in
test_outbox_contract.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.store.port import Document, DuplicateKey, OutboxMessage, Store
from shared.store.sqlite import SqliteStore


async def seed(store: Store, collection: str, docs: dict[str, Document]) -> None:
    async with store.transaction() as uow:
        for key, doc in docs.items():
            await uow.collection(collection).insert(key, doc)
        await uow.commit()


async def read(store: Store, collection: str, key: str) -> Document | None:
    async with store.transaction() as uow:
        return await uow.collection(collection).get(key)


async def find(store: Store, collection: str, **equals: object) -> list[Document]:
    async with store.transaction() as uow:
        return await uow.collection(collection).find(**equals)


# --- documents ---------------------------------------------------------------


async def test_inserted_document_is_read_back_in_a_later_unit_of_work(store: Store) -> None:
    doc = {"name": "Acme", "seats": 5, "price": 9.5, "tags": ["a", "b"], "meta": {"x": None}}
    await seed(store, "orders", {"o1": doc})
    assert await read(store, "orders", "o1") == doc


async def test_get_of_a_missing_key_returns_none(store: Store) -> None:
    assert await read(store, "orders", "nope") is None


async def test_put_inserts_a_new_key_and_replaces_an_existing_one(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.collection("orders").put("o1", {"v": 1})
        await uow.commit()
    async with store.transaction() as uow:
        await uow.collection("orders").put("o1", {"v": 2})
        await uow.commit()
    assert await read(store, "orders", "o1") == {"v": 2}


async def test_insert_of_an_existing_key_raises_duplicate_key(store: Store) -> None:
    await seed(store, "orders", {"o1": {"v": 1}})
    async with store.transaction() as uow:
        with pytest.raises(DuplicateKey):
            await uow.collection("orders").insert("o1", {"v": 2})
    assert await read(store, "orders", "o1") == {"v": 1}


async def test_duplicate_key_leaves_the_unit_of_work_usable(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.collection("orders").insert("o1", {"v": 1})
        with pytest.raises(DuplicateKey):
            await uow.collection("orders").insert("o1", {"v": 2})
        await uow.collection("orders").insert("o2", {"v": 3})
        await uow.commit()
    assert await read(store, "orders", "o1") == {"v": 1}
    assert await read(store, "orders", "o2") == {"v": 3}


async def test_collections_are_separate_namespaces(store: Store) -> None:
    await seed(store, "orders", {"k": {"kind": "order"}})
    await seed(store, "invoices", {"k": {"kind": "invoice"}})
    assert await read(store, "orders", "k") == {"kind": "order"}
    assert await find(store, "invoices") == [{"kind": "invoice"}]


async def test_find_matches_every_given_field(store: Store) -> None:
    await seed(
        store,
        "subs",
        {
            "s1": {"partner": "p1", "status": "active", "seats": 3},
            "s2": {"partner": "p1", "status": "cancelled", "seats": 3},
            "s3": {"partner": "p2", "status": "active", "seats": 3},
            "s4": {"partner": "p1", "status": "active", "seats": 4},
        },
    )
    found = await find(store, "subs", partner="p1", status="active", seats=3)
    assert found == [{"partner": "p1", "status": "active", "seats": 3}]
    assert await find(store, "subs", seats=3.0) == await find(store, "subs", seats=3)


async def test_find_tells_booleans_from_numbers_and_strings(store: Store) -> None:
    await seed(
        store,
        "flags",
        {"t": {"f": True}, "one": {"f": 1}, "f": {"f": False}, "zero": {"f": 0}, "s": {"f": "1"}},
    )
    assert await find(store, "flags", f=True) == [{"f": True}]
    assert await find(store, "flags", f=False) == [{"f": False}]
    assert await find(store, "flags", f=1) == [{"f": 1}]
    assert await find(store, "flags", f=0) == [{"f": 0}]
    assert await find(store, "flags", f="1") == [{"f": "1"}]


async def test_find_none_matches_null_and_missing_fields(store: Store) -> None:
    await seed(store, "subs", {"a": {"end": None}, "b": {}, "c": {"end": "2030"}, "d": {"end": 0}})
    assert await find(store, "subs", end=None) == [{"end": None}, {}]


async def test_find_keeps_insertion_order_and_put_keeps_the_original_position(
    store: Store,
) -> None:
    await seed(store, "q", {key: {"key": key, "v": 0} for key in ["m", "z", "a", "k"]})
    async with store.transaction() as uow:
        await uow.collection("q").put("z", {"key": "z", "v": 1})
        await uow.collection("q").put("b", {"key": "b", "v": 0})
        await uow.commit()
    assert [doc["key"] for doc in await find(store, "q")] == ["m", "z", "a", "k", "b"]
    assert [doc["key"] for doc in await find(store, "q", v=0)] == ["m", "a", "k", "b"]


async def test_documents_are_copied_in_and_out(store: Store) -> None:
    doc = {"items": [1], "meta": {"x": 1}}
    async with store.transaction() as uow:
        await uow.collection("c").insert("k", doc)
        doc["items"].append(2)  # the caller keeps mutating its own dict
        got = await uow.collection("c").get("k")
        assert got == {"items": [1], "meta": {"x": 1}}
        got["meta"]["x"] = 99  # ... or the one it was handed
        (await uow.collection("c").find())[0]["items"].append(3)
        await uow.commit()
    assert await read(store, "c", "k") == {"items": [1], "meta": {"x": 1}}


async def test_a_document_that_is_not_json_is_rejected(store: Store) -> None:
    async with store.transaction() as uow:
        with pytest.raises(TypeError):
            await uow.collection("c").put("k", {"when": datetime.now(UTC)})


# --- units of work -------------------------------------------------------------


async def test_reads_inside_a_unit_of_work_see_its_own_uncommitted_writes(store: Store) -> None:
    await seed(store, "c", {"old": {"v": 0}})
    async with store.transaction() as uow:
        await uow.collection("c").insert("new", {"v": 1})
        await uow.collection("c").put("old", {"v": 1})
        assert await uow.collection("c").get("new") == {"v": 1}
        assert await uow.collection("c").find(v=1) == [{"v": 1}, {"v": 1}]
        # nothing committed: leaving the block rolls back
    assert await read(store, "c", "new") is None
    assert await read(store, "c", "old") == {"v": 0}


@pytest.mark.parametrize("how", ["explicit rollback", "no commit", "exception"])
async def test_rollback_discards_documents_outbox_inbox_and_numbers(store: Store, how: str) -> None:
    await seed(store, "c", {"kept": {"v": 0}})

    with pytest.raises(RuntimeError) if how == "exception" else _no_error():
        async with store.transaction() as uow:
            await uow.collection("c").insert("new", {"v": 1})
            await uow.collection("c").put("kept", {"v": 1})
            uow.add_outbox(OutboxMessage("t", "k", b"x"))
            assert await uow.record_inbox("svc", "e1") is True
            assert await uow.next_number("invoice") == 1
            if how == "explicit rollback":
                await uow.rollback()
            elif how == "exception":
                raise RuntimeError("handler failed")

    assert await read(store, "c", "new") is None
    assert await read(store, "c", "kept") == {"v": 0}
    assert await store.pending_outbox() == 0
    async with store.transaction() as uow:
        assert await uow.record_inbox("svc", "e1") is True
        assert await uow.next_number("invoice") == 1


class _no_error:
    def __enter__(self) -> None: ...
    def __exit__(self, *exc: object) -> None: ...


async def test_a_finished_unit_of_work_cannot_be_used_again(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.commit()
        with pytest.raises(RuntimeError):
            await uow.collection("c").get("k")
        await uow.rollback()  # a no-op after commit, as __aexit__ relies on


# --- inbox ---------------------------------------------------------------------


async def test_record_inbox_is_true_first_then_false_for_the_same_event(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "e1") is True
        assert await uow.record_inbox("billing", "e1") is False
        await uow.commit()
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "e1") is False
        assert await uow.record_inbox("billing", "e2") is True


async def test_record_inbox_is_independent_per_consumer(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "e1") is True
        assert await uow.record_inbox("provisioning", "e1") is True
        await uow.commit()


async def test_an_inbox_record_survives_only_if_committed(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "lost") is True
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "lost") is True  # handled again
        await uow.commit()
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "lost") is False


async def test_record_inbox_many_records_the_new_ones_once(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox("billing", "old") is True
        await uow.commit()
    async with store.transaction() as uow:
        ids = ["a", "old", "b", "a", "c"]
        assert await uow.record_inbox_many("billing", ids) == {"a", "b", "c"}
        assert await uow.record_inbox_many("billing", []) == set()
        assert await uow.record_inbox("billing", "b") is False  # recorded in this transaction
        assert await uow.record_inbox_many("provisioning", ["a"]) == {"a"}  # per consumer
        await uow.commit()
    async with store.transaction() as uow:
        assert await uow.record_inbox_many("billing", ["a", "d"]) == {"d"}


async def test_record_inbox_many_survives_only_if_committed(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.record_inbox_many("billing", ["x", "y"]) == {"x", "y"}
    async with store.transaction() as uow:
        assert await uow.record_inbox_many("billing", ["x", "y"]) == {"x", "y"}


# --- numbers -------------------------------------------------------------------


async def test_next_number_is_gapless_across_commits_and_per_sequence(store: Store) -> None:
    got = []
    for _ in range(3):
        async with store.transaction() as uow:
            got.append(await uow.next_number("invoice"))
            await uow.commit()
    async with store.transaction() as uow:
        assert await uow.next_number("credit-note") == 1
        assert await uow.next_number("credit-note") == 2
    assert got == [1, 2, 3]


async def test_next_number_is_given_back_on_rollback(store: Store) -> None:
    async with store.transaction() as uow:
        assert await uow.next_number("invoice") == 1
        await uow.commit()
    async with store.transaction() as uow:
        assert await uow.next_number("invoice") == 2
        await uow.rollback()
    async with store.transaction() as uow:
        assert await uow.next_number("invoice") == 2
        await uow.commit()


# --- concurrency ---------------------------------------------------------------


async def test_concurrent_units_of_work_serialize_without_lost_updates(store: Store) -> None:
    await seed(store, "c", {"counter": {"n": 0}})

    async def increment(with_block: bool) -> int:
        uow = store.transaction()
        if with_block:
            await uow.__aenter__()  # the lock is taken here ...
        doc = await uow.collection("c").get("counter")  # ... or on the first operation
        assert doc is not None
        await asyncio.sleep(0.01)  # give the other unit of work every chance to interleave
        await uow.collection("c").put("counter", {"n": doc["n"] + 1})
        number = await uow.next_number("invoice")
        await uow.commit()
        return number

    numbers = await asyncio.gather(*(increment(i % 2 == 0) for i in range(4)))
    assert sorted(numbers) == [1, 2, 3, 4]
    assert await read(store, "c", "counter") == {"n": 4}


async def test_store_calls_inside_a_unit_of_work_fail_fast_instead_of_deadlocking(
    store: Store,
) -> None:
    async with store.transaction() as uow:
        await uow.collection("c").get("k")
        # asyncio.timeout, not wait_for: the call must run in this same task.
        async with asyncio.timeout(1):
            with pytest.raises(RuntimeError):
                await store.pending_outbox()
            with pytest.raises(RuntimeError):
                await store.transaction().__aenter__()


# --- sqlite only ---------------------------------------------------------------


async def test_sqlite_data_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "reopen.sqlite3"
    first = SqliteStore(path)
    await first.open()
    await seed(first, "c", {"k": {"v": 1}, "j": {"v": 2}})
    async with first.transaction() as uow:
        await uow.record_inbox("billing", "e1")
        await uow.next_number("invoice")
        uow.add_outbox(OutboxMessage("t", "k", b"\x00\xff", {"h": "1"}))
        await uow.commit()
    await first.close()

    second = SqliteStore(str(path))
    await second.open()
    try:
        assert await find(second, "c") == [{"v": 1}, {"v": 2}]
        assert await second.pending_outbox() == 1
        async with second.transaction() as uow:
            assert await uow.record_inbox("billing", "e1") is False
            assert await uow.next_number("invoice") == 2
    finally:
        await second.close()


async def test_a_read_only_unit_of_work_sees_committed_documents(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.collection("things").insert("a", {"n": 1})
        await uow.commit()
    async with store.read_only() as reader:
        assert await reader.collection("things").get("a") == {"n": 1}
        assert await reader.collection("things").find(n=1) == [{"n": 1}]
