"""Store contract, part 3: declared unique indexes (`UniqueIndex`, `ensure_indexes`).

Run against each adapter (the `store` fixture): the memory fake refuses exactly what
SQLite's partial expression index refuses, so a unit test cannot pass on a posting
production would reject.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from shared.store.port import Document, DuplicateKey, Store, UniqueIndex
from shared.store.sqlite import SqliteStore
from shared.store.sqlite_schema import sqlite_index_name

ONE_LINE_PER_PERIOD = UniqueIndex(
    "ledger", "one_per_period", ("subscription_id", "period.start", "period.end", "type")
)


def line(sub: str = "s1", start: str = "2026-01-01", end: str = "2026-02-01", **more: object):
    return {
        "subscription_id": sub,
        "period": {"start": start, "end": end},
        "type": "charge",
        **more,
    }


async def insert(store: Store, collection: str, key: str, doc: Document) -> None:
    async with store.transaction() as tx:
        await tx.collection(collection).insert(key, doc)
        await tx.commit()


async def keys(store: Store, collection: str) -> list[str]:
    async with store.transaction() as tx:
        return [doc["id"] for doc in await tx.collection(collection).find()]


@pytest.fixture
async def indexed(store: Store) -> Store:
    await store.ensure_indexes([ONE_LINE_PER_PERIOD])
    return store


async def test_a_second_document_with_the_same_indexed_values_is_refused(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a", amount=1))
    with pytest.raises(DuplicateKey):
        await insert(indexed, "ledger", "b", line(id="b", amount=2))  # another key, same line
    assert await keys(indexed, "ledger") == ["a"]


@pytest.mark.parametrize(
    "other",
    [
        line(sub="s2"),
        line(start="2026-01-15"),
        line(end="2026-01-31"),
        {**line(), "type": "proration"},
    ],
    ids=["subscription", "period-start", "period-end", "type"],
)
async def test_a_difference_in_any_one_indexed_field_is_allowed(
    indexed: Store, other: Document
) -> None:
    await insert(indexed, "ledger", "a", line(id="a"))
    await insert(indexed, "ledger", "b", {**other, "id": "b"})
    assert await keys(indexed, "ledger") == ["a", "b"]


async def test_documents_missing_an_indexed_field_are_not_constrained(indexed: Store) -> None:
    partial = {"subscription_id": "s1", "type": "charge", "period": {"start": "x"}}
    for key in ("a", "b"):
        await insert(indexed, "ledger", key, {**partial, "id": key})
    await insert(indexed, "ledger", "c", {**line(), "id": "c", "type": None})
    await insert(indexed, "ledger", "d", {**line(), "id": "d", "type": None})
    assert await keys(indexed, "ledger") == ["a", "b", "c", "d"]


async def test_the_index_binds_only_its_own_collection(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a"))
    await insert(indexed, "archive", "a", line(id="a"))
    await insert(indexed, "archive", "b", line(id="b"))
    assert await keys(indexed, "archive") == ["a", "b"]


async def test_put_refuses_to_duplicate_but_may_rewrite_its_own_document(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a", amount=1))
    await insert(indexed, "ledger", "b", line(id="b", sub="s2"))
    async with indexed.transaction() as tx:
        await tx.collection("ledger").put("a", line(id="a", amount=5))  # same values: fine
        with pytest.raises(DuplicateKey):
            await tx.collection("ledger").put("b", line(id="b"))  # would equal a's
        with pytest.raises(DuplicateKey):
            await tx.collection("ledger").put("c", line(id="c"))
        await tx.commit()
    async with indexed.transaction() as tx:
        assert (await tx.collection("ledger").get("a"))["amount"] == 5
        assert (await tx.collection("ledger").get("b"))["subscription_id"] == "s2"


async def test_a_rewritten_document_frees_its_old_values(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a"))
    async with indexed.transaction() as tx:
        await tx.collection("ledger").put("a", line(id="a", sub="moved"))
        await tx.commit()
    await insert(indexed, "ledger", "b", line(id="b"))
    assert await keys(indexed, "ledger") == ["a", "b"]


async def test_a_refused_insert_leaves_the_transaction_usable(indexed: Store) -> None:
    async with indexed.transaction() as tx:
        ledger = tx.collection("ledger")
        await ledger.insert("a", line(id="a"))
        with pytest.raises(DuplicateKey):
            await ledger.insert("b", line(id="b"))
        await ledger.insert("c", line(id="c", type="credit"))
        await tx.commit()
    assert await keys(indexed, "ledger") == ["a", "c"]


async def test_a_rolled_back_insert_frees_its_values(indexed: Store) -> None:
    async with indexed.transaction() as tx:
        await tx.collection("ledger").insert("a", line(id="a"))
        # no commit: rolled back
    await insert(indexed, "ledger", "b", line(id="b"))
    assert await keys(indexed, "ledger") == ["b"]


async def test_values_compare_as_json_types(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a", sub="1"))
    await insert(indexed, "ledger", "b", {**line(id="b"), "subscription_id": 1})  # not "1"
    with pytest.raises(DuplicateKey):
        await insert(indexed, "ledger", "c", {**line(id="c"), "subscription_id": 1.0})
    assert await keys(indexed, "ledger") == ["a", "b"]


async def test_ensuring_is_idempotent(indexed: Store) -> None:
    await insert(indexed, "ledger", "a", line(id="a"))
    await indexed.ensure_indexes([ONE_LINE_PER_PERIOD, ONE_LINE_PER_PERIOD])
    with pytest.raises(DuplicateKey):
        await insert(indexed, "ledger", "b", line(id="b"))


async def test_an_index_over_stored_duplicates_is_refused_and_not_created(store: Store) -> None:
    await insert(store, "ledger", "a", line(id="a"))
    await insert(store, "ledger", "b", line(id="b"))
    with pytest.raises(DuplicateKey):
        await store.ensure_indexes([ONE_LINE_PER_PERIOD])
    await insert(store, "ledger", "c", line(id="c"))  # still unconstrained
    assert await keys(store, "ledger") == ["a", "b", "c"]


async def test_a_name_already_used_for_other_fields_is_refused(indexed: Store) -> None:
    other = UniqueIndex("ledger", ONE_LINE_PER_PERIOD.name, ("subscription_id",))
    with pytest.raises(ValueError, match="one_per_period"):
        await indexed.ensure_indexes([other])


async def test_ensuring_inside_a_transaction_fails_fast(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.collection("ledger").get("k")
        with pytest.raises(RuntimeError):
            await store.ensure_indexes([ONE_LINE_PER_PERIOD])


@pytest.mark.parametrize(
    ("collection", "name", "fields"),
    [
        ("ledger", "bad name", ("a",)),
        ("led'ger", "n", ("a",)),
        ("ledger", "n", ()),
        ("ledger", "n", "subscription_id"),
        ("ledger", "n", ("period..start",)),
        ("ledger", "n", ('a"b',)),
    ],
)
def test_an_index_that_cannot_be_expressed_safely_is_refused(
    collection: str, name: str, fields: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        UniqueIndex(collection, name, fields)


# --- sqlite only ---------------------------------------------------------------


async def test_sqlite_keeps_the_index_in_the_file_across_reopening(tmp_path: Path) -> None:
    path = tmp_path / "indexed.sqlite3"
    first = SqliteStore(path)
    await first.open()
    await first.ensure_indexes([ONE_LINE_PER_PERIOD])
    await insert(first, "ledger", "a", line(id="a"))
    await first.close()

    second = SqliteStore(path)  # has not ensured anything itself
    await second.open()
    try:
        with pytest.raises(DuplicateKey):
            await insert(second, "ledger", "b", line(id="b"))
        await second.ensure_indexes([ONE_LINE_PER_PERIOD])  # finds it there: no error
    finally:
        await second.close()
    with sqlite3.connect(path) as conn:
        [(sql,)] = conn.execute(
            "SELECT sql FROM sqlite_master WHERE name = ?",
            (sqlite_index_name(ONE_LINE_PER_PERIOD),),
        ).fetchall()
    assert "WHERE collection = 'ledger'" in sql
    assert 'json_extract(data, \'$."period"."start"\')' in sql


async def test_sqlite_refuses_ensuring_before_open(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="not open"):
        await SqliteStore(tmp_path / "closed.sqlite3").ensure_indexes([ONE_LINE_PER_PERIOD])
