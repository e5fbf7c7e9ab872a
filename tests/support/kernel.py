"""A tiny service built on the shared kernel the way a real one is: an aggregate that
records a domain event, the event's wire mapping, a unit of work naming its repository,
a command, a query, their handlers and the message bus. The kernel's own tests (bus,
unit of work, consumer, delivery over the broker) drive it.

`Tally` counts the licenses assigned to one subscription; each count is recorded as
`Counted`, which goes on the wire as `LicensesAssigned`, so a consumer of that wire
type can turn it back into a `Count` command.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from shared.clock import Clock, FixedClock
from shared.domain import Aggregate, DomainEvent
from shared.errors import RuleBroken
from shared.events import EventRegistry, LicensesAssigned
from shared.events.envelope import Event
from shared.messaging.mapping import EventMapping, command_from
from shared.service_layer import Cause, Command, MessageBus, Query, Repository, UnitOfWork
from shared.service_layer.messagebus import Handler
from shared.store.memory import MemoryStore
from shared.store.port import Store, Transaction

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SOURCE = "tally"


class Counted(DomainEvent):
    assigned_count: int
    quantity: int


class Tally(Aggregate):
    COLLECTION: ClassVar[str] = "tallies"

    quantity: int = 10
    counts: list[int] = Field(default_factory=list)
    correlation_id: str | None = None

    def count(self, assigned: int) -> None:
        if assigned < 0:
            raise RuleBroken("a count is never negative", "assignedCount")
        self.counts.append(assigned)
        self.record(Counted(self.id, assigned_count=assigned, quantity=self.quantity))


EVENTS = EventMapping(SOURCE, {Counted: LicensesAssigned})


class Tallies(Repository[Tally]):
    model = Tally

    async def get_or_add(self, key: str) -> Tally:
        return await self.get(key) or await self.add(Tally(id=key, correlation_id=f"buy-{key}"))


class TallyUnitOfWork(UnitOfWork):
    @property
    def tallies(self) -> Tallies:
        return self.repository(Tallies)


class Count(Command):
    subscription_id: str
    assigned_count: int


class ReadCounts(Query):
    subscription_id: str


async def count(command: Count, uow: TallyUnitOfWork) -> None:
    tally = await uow.tallies.get_or_add(command.subscription_id)
    tally.count(command.assigned_count)


async def read_counts(query: ReadCounts, uow: TallyUnitOfWork) -> list[int]:
    tally = await uow.tallies.get(query.subscription_id)
    return [] if tally is None else tally.counts


HANDLERS: dict[type[Command | Query], Handler] = {Count: count, ReadCounts: read_counts}


def count_from(event: LicensesAssigned) -> Count:
    """What a consumer of LicensesAssigned asks of the tally service."""
    return command_from(event.data, Count)


def unit_of_work_factory(store: Store, clock: Clock | None = None):
    clock = clock if clock is not None else FixedClock(NOW)

    def unit_of_work(*, cause: Cause | None = None, read_only: bool = False) -> TallyUnitOfWork:
        return TallyUnitOfWork(store, events=EVENTS, clock=clock, cause=cause, read_only=read_only)

    return unit_of_work


def tally_bus(
    store: Store,
    *,
    clock: Clock | None = None,
    handlers: Mapping[type[Command | Query], Handler] | None = None,
    dependencies: Mapping[str, Any] | None = None,
) -> MessageBus:
    """The tally service's bus; `handlers` replace or add to the default ones."""
    return MessageBus(
        unit_of_work=unit_of_work_factory(store, clock),
        handlers={**HANDLERS, **(handlers or {})},
        dependencies=dependencies,
    )


def licenses_assigned(
    subject: str = "sub-1", count: int = 1, *, correlation_id: str = "purchase-1"
) -> LicensesAssigned:
    """A wire event as another service would publish it."""
    return LicensesAssigned(
        source="provisioning",
        time=NOW,
        subject=subject,
        correlation_id=correlation_id,
        data={"subscriptionId": subject, "assignedCount": count, "quantity": 10},
    )


async def stored_counts(store: Store, subscription_id: str) -> list[int]:
    """What is committed, read past the kernel."""
    async with store.read_only() as tx:
        document = await tx.collection(Tally.COLLECTION).get(subscription_id)
    return [] if document is None else list(document["counts"])


async def outbox_events(store: Store, *types: type[Event]) -> list[Event]:
    """The unsent outbox rows, decoded, in the order the relay would publish them
    (claims them: call it once per test, after the work under test)."""
    registry = EventRegistry(*(types or (LicensesAssigned,)))
    claimed = await store.claim_outbox("test-reader", 1000, NOW + timedelta(days=1), NOW)
    return [registry.decode(row.message.payload) for row in claimed]


class CountingStore(MemoryStore):
    """Counts the write transactions begun."""

    def __init__(self) -> None:
        super().__init__()
        self.transactions = 0

    def transaction(self) -> Transaction:
        self.transactions += 1
        return super().transaction()
