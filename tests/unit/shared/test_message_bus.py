"""The message bus: the one way into a use case, opening and committing its unit of work."""

from __future__ import annotations

import pytest

from shared.service_layer import ALREADY_HANDLED, Command, InboxEntry, MessageBus
from shared.store.memory import MemoryStore
from shared.store.port import Transaction
from tests.support.kernel import (
    HANDLERS,
    Count,
    ReadCounts,
    TallyUnitOfWork,
    outbox_events,
    stored_counts,
    tally_bus,
    unit_of_work_factory,
)


class SpyStore(MemoryStore):
    """Tells which side of the store each unit of work ran on, and what committed."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []
        self.commits = 0

    def transaction(self) -> Transaction:
        self.opened.append("write")
        return self._counting(super().transaction())

    def read_only(self) -> Transaction:
        self.opened.append("read")
        return self._counting(super().transaction())

    def _counting(self, tx: Transaction) -> Transaction:
        commit = tx.commit

        async def counted() -> None:
            self.commits += 1
            await commit()

        tx.commit = counted  # type: ignore[method-assign]
        return tx


async def test_a_command_runs_its_handler_and_commits() -> None:
    store = SpyStore()

    await tally_bus(store).handle(Count("sub-1", 2))

    assert store.opened == ["write"]
    assert store.commits == 1
    assert await stored_counts(store, "sub-1") == [2]
    assert [event.data.assigned_count for event in await outbox_events(store)] == [2]


async def test_a_query_runs_read_only_returns_its_answer_and_never_commits() -> None:
    store = SpyStore()
    bus = tally_bus(store)
    await bus.handle(Count("sub-1", 2))
    store.opened.clear()
    store.commits = 0

    assert await bus.handle(ReadCounts("sub-1")) == [2]

    assert store.opened == ["read"]
    assert store.commits == 0


async def test_what_a_query_handler_changes_is_never_saved() -> None:
    store = MemoryStore()
    seen_read_only: list[bool] = []

    async def meddling_read(query: ReadCounts, uow: TallyUnitOfWork) -> list[int]:
        seen_read_only.append(uow.read_only)
        tally = await uow.tallies.get_or_add(query.subscription_id)
        tally.count(9)
        return tally.counts

    bus = tally_bus(store, handlers={ReadCounts: meddling_read})
    assert await bus.handle(ReadCounts("sub-1")) == [9]

    assert seen_read_only == [True]
    assert await stored_counts(store, "sub-1") == []
    assert await store.pending_outbox() == 0


async def test_a_message_type_without_a_handler_is_a_type_error() -> None:
    class Unknown(Command):
        pass

    bus = tally_bus(MemoryStore())
    assert not bus.handles(Unknown)
    with pytest.raises(TypeError, match="Unknown"):
        await bus.handle(Unknown())


def test_a_handler_needing_a_dependency_not_provided_fails_when_the_bus_is_built() -> None:
    async def needs_a_catalog(command: Count, uow: TallyUnitOfWork, catalog: object) -> None:
        raise AssertionError("never runs")

    with pytest.raises(TypeError, match="catalog"):
        MessageBus(
            unit_of_work=unit_of_work_factory(MemoryStore()),
            handlers={**HANDLERS, Count: needs_a_catalog},
            dependencies={"clock": object()},
        )


async def test_dependencies_are_bound_to_handlers_by_parameter_name() -> None:
    catalog, clock = object(), object()
    received: dict[str, object] = {}

    async def uses_both(command: Count, uow: TallyUnitOfWork, clock: object, catalog: object):
        received.update(catalog=catalog, clock=clock)

    bus = tally_bus(
        MemoryStore(),
        handlers={Count: uses_both},
        dependencies={"catalog": catalog, "clock": clock},
    )
    await bus.handle(Count("sub-1", 1))
    assert received == {"catalog": catalog, "clock": clock}


async def test_an_inbox_entry_seen_before_returns_already_handled_and_runs_nothing() -> None:
    store = MemoryStore()
    runs: list[Count] = []

    async def counting(command: Count, uow: TallyUnitOfWork) -> str:
        runs.append(command)
        return "done"

    bus = tally_bus(store, handlers={Count: counting})
    entry = InboxEntry("tally.licenses", "event-1")

    assert await bus.handle(Count("sub-1", 1), inbox=entry) == "done"
    assert await bus.handle(Count("sub-1", 1), inbox=entry) is ALREADY_HANDLED
    assert len(runs) == 1
    # the entry is the consumer's: another consumer handling the same event still runs
    assert await bus.handle(Count("sub-1", 1), inbox=InboxEntry("other", "event-1")) == "done"


async def test_the_inbox_row_commits_with_the_work_or_not_at_all() -> None:
    store = MemoryStore()
    attempts = 0

    async def fails_once(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            raise ConnectionError("transient")

    bus = tally_bus(store, handlers={Count: fails_once})
    entry = InboxEntry("tally.licenses", "event-1")
    with pytest.raises(ConnectionError):
        await bus.handle(Count("sub-1", 1), inbox=entry)

    assert await bus.handle(Count("sub-1", 1), inbox=entry) is None  # ran: not a duplicate
    assert attempts == 2
