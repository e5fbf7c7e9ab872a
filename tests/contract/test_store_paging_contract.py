"""Store contract, part 3: `Collection.find_page`, the paged `find`.

Every test runs against each adapter (the `store` fixture in conftest.py). A walk hands
each page's cursor to the next call, each call in its own unit of work, as HTTP pages do.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.store.port import Document, Store
from shared.store.sqlite import SqliteStore


async def seed(store: Store, docs: dict[str, Document], collection: str = "items") -> None:
    async with store.transaction() as uow:
        for key, doc in docs.items():
            await uow.collection(collection).insert(key, doc)
        await uow.commit()


async def page(
    store: Store,
    limit: int,
    after: int | None = None,
    *,
    descending: bool = False,
    **equals: object,
) -> tuple[list[Document], int | None]:
    async with store.read_only() as uow:
        return await uow.collection("items").find_page(
            limit, after, descending=descending, **equals
        )


async def walk(
    store: Store, limit: int, *, descending: bool = False, **equals: object
) -> list[list[Document]]:
    pages, after = [], None
    while True:
        docs, after = await page(store, limit, after, descending=descending, **equals)
        pages.append(docs)
        if after is None:
            return pages
        assert len(pages) < 100, "the walk never ends"


def numbers(pages: list[list[Document]]) -> list[list[int]]:
    return [[doc["n"] for doc in docs] for docs in pages]


def doc(n: int) -> Document:
    return {"n": n, "kind": "odd" if n % 2 else "even"}


@pytest.mark.parametrize("count, limit", [(7, 3), (6, 3), (1, 5), (5, 1)])
async def test_pages_tile_the_collection_in_insertion_order(
    store: Store, count: int, limit: int
) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(count)})
    pages = numbers(await walk(store, limit))
    assert [n for p in pages for n in p] == list(range(count))  # no duplicate, no gap
    assert all(len(p) == limit for p in pages[:-1]) and 1 <= len(pages[-1]) <= limit
    assert len(pages) == -(-count // limit)  # a full last page is the last: no empty page


async def test_an_empty_result_is_one_empty_last_page(store: Store) -> None:
    assert await page(store, 10) == ([], None)
    await seed(store, {"k1": doc(1)})
    assert await page(store, 10, kind="even") == ([], None)


async def test_filters_apply_across_pages(store: Store) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(10)})
    assert numbers(await walk(store, 2, kind="odd")) == [[1, 3], [5, 7], [9]]
    async with store.read_only() as uow:
        every = await uow.collection("items").find(kind="odd")
    assert [d for p in await walk(store, 3, kind="odd") for d in p] == every


async def test_descending_walks_newest_first(store: Store) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(7)})
    assert numbers(await walk(store, 3, descending=True)) == [[6, 5, 4], [3, 2, 1], [0]]
    assert numbers(await walk(store, 2, descending=True, kind="even")) == [[6, 4], [2, 0]]


async def test_a_document_inserted_during_an_ascending_walk_comes_on_a_later_page(
    store: Store,
) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(4)})
    first, after = await page(store, 2)
    await seed(store, {"k9": doc(9)})
    rest = await walk_from(store, 2, after)
    assert [d["n"] for d in first + rest] == [0, 1, 2, 3, 9]


async def test_a_descending_walk_has_passed_a_newer_document(store: Store) -> None:
    """Newest first: a document inserted after the first page belongs before it, so the
    walk under way does not see it (no duplicate, no gap in what it had); a new walk does."""
    await seed(store, {f"k{n}": doc(n) for n in range(4)})
    first, after = await page(store, 2, descending=True)
    await seed(store, {"k9": doc(9)})
    rest = await walk_from(store, 2, after, descending=True)
    assert [d["n"] for d in first + rest] == [3, 2, 1, 0]
    assert numbers(await walk(store, 2, descending=True))[0] == [9, 3]


async def test_a_document_replaced_during_a_walk_keeps_its_place(store: Store) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(4)})
    first, after = await page(store, 2)
    async with store.transaction() as uow:
        await uow.collection("items").put("k0", {"n": 0, "kind": "even", "changed": True})
        await uow.collection("items").put("k3", {"n": 3, "kind": "odd", "changed": True})
        await uow.commit()
    rest = await walk_from(store, 2, after)
    assert [d["n"] for d in first + rest] == [0, 1, 2, 3]
    assert rest[-1]["changed"] is True


async def test_collections_page_separately(store: Store) -> None:
    await seed(store, {f"k{n}": doc(n) for n in range(3)})
    await seed(store, {f"o{n}": doc(10 + n) for n in range(3)}, collection="others")
    assert numbers(await walk(store, 2)) == [[0, 1], [2]]


async def test_a_page_sees_its_own_unit_of_works_writes(store: Store) -> None:
    async with store.transaction() as uow:
        await uow.collection("items").insert("k1", doc(1))
        assert await uow.collection("items").find_page(5) == ([doc(1)], None)


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_page_holds_at_least_one_document(store: Store, limit: int) -> None:
    with pytest.raises(ValueError):
        await page(store, limit)


async def walk_from(
    store: Store, limit: int, after: int | None, *, descending: bool = False
) -> list[Document]:
    found: list[Document] = []
    while after is not None:
        docs, after = await page(store, limit, after, descending=descending)
        found += docs
    return found


# --- SQLite only: the plan


@pytest.mark.parametrize("descending", [False, True])
async def test_sqlite_pages_through_the_collection_and_seq_index(
    tmp_path: Path, descending: bool
) -> None:
    """The adapter's own statement (traced, values bound): range and order both come from
    `documents_by_seq`, so no other collection is scanned and nothing is sorted; the JSON
    filters are checked on the rows it walks."""
    store = SqliteStore(tmp_path / "plan.sqlite3")
    await store.open()
    try:
        statements: list[str] = []
        for conn in {store._connection(), *store._readers}:
            await conn.set_trace_callback(statements.append)
        async with store.read_only() as uow:
            await uow.collection("items").find_page(3, 5, descending=descending, kind="odd")
        [select] = [s for s in statements if s.startswith("SELECT") and "LIMIT" in s]
        rows = await store._connection().execute_fetchall(f"EXPLAIN QUERY PLAN {select}")
        plan = " ".join(str(row[-1]) for row in rows)
        assert "documents_by_seq" in plan and "TEMP B-TREE" not in plan, plan
    finally:
        await store.close()
