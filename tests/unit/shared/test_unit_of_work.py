"""The unit of work: saves what changed, turns recorded events into outbox rows in the
same commit, runs after-commit callbacks only once committed, one object per id."""

from __future__ import annotations

import pytest

from shared.domain import DomainEvent
from shared.service_layer import Cause
from shared.store.memory import MemoryStore
from shared.store.port import Collection, Transaction
from tests.support.kernel import (
    NOW,
    Tally,
    TallyUnitOfWork,
    outbox_events,
    stored_counts,
    unit_of_work_factory,
)


class Unmapped(DomainEvent):
    """A domain event the tally service's mapping has no wire event for."""


class WriteSpy(MemoryStore):
    """Records each document the unit of work writes back at commit (`put`)."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[tuple[str, str]] = []

    def transaction(self) -> Transaction:
        tx = super().transaction()
        collection = tx.collection

        def spied(name: str) -> Collection:
            docs = collection(name)
            put = docs.put

            async def recorded(key: str, doc: dict) -> None:
                self.puts.append((name, key))
                await put(key, doc)

            docs.put = recorded  # type: ignore[method-assign]
            return docs

        tx.collection = spied  # type: ignore[method-assign]
        return tx


async def seed(store: MemoryStore, *tallies: Tally) -> None:
    async with store.transaction() as tx:
        for tally in tallies:
            await tx.collection(Tally.COLLECTION).insert(tally.id, tally.document())
        await tx.commit()


def unit_of_work(store: MemoryStore, cause: Cause | None = None) -> TallyUnitOfWork:
    return unit_of_work_factory(store)(cause=cause, read_only=False)


async def test_only_aggregates_whose_document_changed_are_written() -> None:
    store = WriteSpy()
    await seed(store, Tally(id="changed"), Tally(id="untouched"))

    async with unit_of_work(store) as uow:
        (await uow.tallies.get("changed")).count(1)
        await uow.tallies.get("untouched")
        await uow.tallies.add(Tally(id="new"))  # inserted when added; unchanged since
        await uow.commit()

    assert store.puts == [("tallies", "changed")]
    assert await stored_counts(store, "changed") == [1]
    assert await stored_counts(store, "new") == []


async def test_events_of_several_aggregates_reach_the_outbox_in_the_order_recorded() -> None:
    store = MemoryStore()
    await seed(store, Tally(id="a", correlation_id="buy-a"), Tally(id="b", correlation_id="buy-b"))

    async with unit_of_work(store) as uow:
        a, b = await uow.tallies.get("a"), await uow.tallies.get("b")
        a.count(1)
        b.count(2)
        a.count(3)
        await uow.commit()

    events = await outbox_events(store)
    assert [(e.subject, e.data.assigned_count) for e in events] == [("a", 1), ("b", 2), ("a", 3)]
    # no cause: each event carries its own aggregate's correlation id
    assert [e.correlation_id for e in events] == ["buy-a", "buy-b", "buy-a"]
    assert {e.causation_id for e in events} == {None}
    assert {e.source for e in events} == {"tally"}
    assert {e.time for e in events} == {NOW}  # the unit of work's clock


async def test_events_caused_by_an_event_carry_its_correlation_and_causation_ids() -> None:
    store = MemoryStore()

    async with unit_of_work(store, Cause(correlation_id="purchase-9", causation_id="ev-1")) as uow:
        (await uow.tallies.get_or_add("a")).count(1)
        (await uow.tallies.get_or_add("b")).count(2)
        await uow.commit()

    events = await outbox_events(store)
    assert [(e.correlation_id, e.causation_id) for e in events] == [("purchase-9", "ev-1")] * 2


async def test_an_exception_in_the_handler_leaves_neither_state_nor_outbox_rows() -> None:
    store = MemoryStore()
    await seed(store, Tally(id="a"))

    with pytest.raises(RuntimeError):
        async with unit_of_work(store) as uow:
            (await uow.tallies.get("a")).count(1)
            (await uow.tallies.add(Tally(id="b"))).count(2)  # written at once, then undone
            raise RuntimeError("handler bug")

    assert await stored_counts(store, "a") == []
    async with store.read_only() as tx:
        assert await tx.collection(Tally.COLLECTION).get("b") is None
    assert await store.pending_outbox() == 0


async def test_a_commit_that_fails_half_way_leaves_neither_state_nor_outbox_rows() -> None:
    store = MemoryStore()
    await seed(store, Tally(id="a"))

    with pytest.raises(TypeError, match="Unmapped"):
        async with unit_of_work(store) as uow:
            tally = await uow.tallies.get("a")
            tally.count(1)
            tally.record(Unmapped("a"))  # no wire event for it: the commit fails late
            await uow.commit()

    assert await stored_counts(store, "a") == []
    assert await store.pending_outbox() == 0


async def test_after_commit_callbacks_sync_and_async_run_only_once_committed() -> None:
    store = MemoryStore()
    ran: list[tuple[str, list[int]]] = []

    async with unit_of_work(store) as uow:
        (await uow.tallies.get_or_add("a")).count(1)

        def sync_callback() -> None:
            ran.append(("sync", []))

        async def async_callback() -> None:
            ran.append(("async", await stored_counts(store, "a")))  # sees the commit

        uow.after_commit(sync_callback)
        uow.after_commit(async_callback)
        assert ran == []  # not before the commit
        await uow.commit()

    assert ran == [("sync", []), ("async", [1])]


async def test_after_commit_callbacks_never_run_when_the_work_fails() -> None:
    store = MemoryStore()
    ran: list[str] = []

    with pytest.raises(RuntimeError):
        async with unit_of_work(store) as uow:
            uow.after_commit(lambda: ran.append("sync"))
            raise RuntimeError("handler bug")

    with pytest.raises(TypeError):
        async with unit_of_work(store) as uow:
            tally = await uow.tallies.get_or_add("a")
            tally.record(Unmapped("a"))  # the commit fails
            uow.after_commit(lambda: ran.append("sync"))
            await uow.commit()

    assert ran == []


async def test_the_same_id_loaded_twice_is_the_same_object() -> None:
    store = MemoryStore()
    await seed(store, Tally(id="a"))

    async with unit_of_work(store) as uow:
        first = await uow.tallies.get("a")
        second = await uow.tallies.get("a")
        added = await uow.tallies.add(Tally(id="b"))
        assert first is second
        assert await uow.tallies.get("b") is added
        assert uow.tallies is uow.tallies  # one repository of each kind
        first.count(1)
        second.count(2)
        await uow.commit()

    assert await stored_counts(store, "a") == [1, 2]


async def test_a_unit_of_work_used_outside_its_block_says_so() -> None:
    with pytest.raises(RuntimeError, match="async with"):
        unit_of_work(MemoryStore()).tallies  # noqa: B018
