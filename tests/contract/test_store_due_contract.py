"""Store contract, part 6: `Collection.find_due`, what the due work reads.

The due work (renewals, the next billing period) asks every second for what has fallen
due; it must read those documents only, earliest first, never every live one. Every
test runs against each adapter (the `store` fixture in conftest.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.store.port import Document, Store, due_stamp

T0 = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)


def job(name: str, due: object) -> Document:
    return {"name": name, "due": due}


async def seed(store: Store, docs: list[Document]) -> None:
    async with store.transaction() as uow:
        for doc in docs:
            await uow.collection("jobs").insert(doc["name"], doc)
        await uow.commit()


async def due(store: Store, until: datetime, limit: int = 100) -> list[str]:
    async with store.read_only() as uow:
        return [doc["name"] for doc in await uow.collection("jobs").find_due("due", until, limit)]


def at(seconds: float) -> int:
    return due_stamp(T0 + timedelta(seconds=seconds))


async def test_the_due_ones_come_earliest_first_and_the_rest_wait(store: Store) -> None:
    await seed(
        store, [job("c", at(30)), job("a", at(-60)), job("later", at(3600)), job("b", at(0))]
    )

    assert await due(store, T0) == ["a", "b"]  # `until` itself is due
    assert await due(store, T0 + timedelta(seconds=30)) == ["a", "b", "c"]
    assert await due(store, T0 - timedelta(hours=1)) == []


async def test_microseconds_count(store: Store) -> None:
    await seed(store, [job("x", at(0.000002)), job("y", at(0.000001))])

    assert await due(store, T0) == []
    assert await due(store, T0 + timedelta(microseconds=1)) == ["y"]
    assert await due(store, T0 + timedelta(microseconds=2)) == ["y", "x"]


async def test_equal_times_come_in_insertion_order(store: Store) -> None:
    await seed(store, [job(name, at(0)) for name in ("first", "second", "third")])

    assert await due(store, T0) == ["first", "second", "third"]


async def test_a_document_without_a_due_stamp_is_never_due(store: Store) -> None:
    await seed(
        store,
        [
            job("null", None),
            {"name": "missing"},
            job("text", "2000-01-01T00:00:00+00:00"),
            job("true", True),
            job("false", False),
            job("due", at(0)),
        ],
    )

    assert await due(store, T0 + timedelta(days=365 * 100)) == ["due"]


async def test_the_limit_takes_the_earliest(store: Store) -> None:
    await seed(store, [job(f"j{n}", at(-n)) for n in range(5)])

    assert await due(store, T0, limit=2) == ["j4", "j3"]


async def test_a_rewritten_due_time_moves_the_document(store: Store) -> None:
    await seed(store, [job("a", at(0)), job("b", at(10))])
    async with store.transaction() as uow:
        await uow.collection("jobs").put("a", job("a", at(20)))  # charged: due again later
        await uow.collection("jobs").put("b", job("b", None))  # ended: never due again
        assert [d["name"] for d in await uow.collection("jobs").find_due("due", T0, 10)] == []
        await uow.commit()

    assert await due(store, T0 + timedelta(minutes=1)) == ["a"]


@pytest.mark.parametrize("field, limit", [("a.b", 1), ('x"', 1), ("", 1), ("due", 0)])
async def test_bad_arguments_are_refused(store: Store, field: str, limit: int) -> None:
    async with store.read_only() as uow:
        with pytest.raises(ValueError):
            await uow.collection("jobs").find_due(field, T0, limit)
