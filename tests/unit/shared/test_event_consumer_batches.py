"""EventConsumer.handle_batch: what one fetch returned, handled in ONE transaction (each
event its inbox row, state, and outbox rows naming it as their cause), with the same
outcomes as handling the deliveries one at a time: duplicates skipped, poison
dead-lettered at its place, and a failing event stopping its partition only, the
events before it committed once and none after it handled."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import structlog

from shared.events import LicensesAssigned
from shared.messaging.consumer import Delivery, EventConsumer
from shared.messaging.stalls import Origin
from shared.store.memory import MemoryStore
from shared.store.sqlite import SqliteStore
from tests.support.kernel import (
    Count,
    CountingStore,
    TallyUnitOfWork,
    count,
    count_from,
    licenses_assigned,
    outbox_events,
    stored_counts,
    tally_bus,
)


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    async def __call__(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        self.sent.append(payload)


@pytest.fixture
def store() -> CountingStore:
    return CountingStore()


def consumer_with(store: MemoryStore, handler: Any = count, **options: Any) -> EventConsumer:
    return EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        bus=tally_bus(store, handlers={Count: handler}),
        commands={LicensesAssigned: count_from},
        dead_letter=options.pop("dead_letter", DeadLetters()),
        max_attempts=2,
        first_backoff_seconds=0,
        **options,
    )


def delivery(raw: bytes, partition: int = 0, offset: int = 0) -> Delivery:
    return Delivery(raw, {}, Origin(partition=partition, offset=offset))


async def test_a_batch_is_one_transaction_and_each_event_its_own_cause(store) -> None:
    events = [licenses_assigned("sub-1", n) for n in (1, 2, 3)]
    consumer = consumer_with(store)

    stalled = await consumer.handle_batch(
        [delivery(e.to_bytes(), offset=i) for i, e in enumerate(events)]
    )

    assert stalled == {}
    assert store.transactions == 1
    assert await stored_counts(store, "sub-1") == [1, 2, 3]  # in order, each seeing the last
    outgoing = await outbox_events(store)
    assert [e.data.assigned_count for e in outgoing] == [1, 2, 3]
    assert [e.causation_id for e in outgoing] == [str(e.id) for e in events]
    assert consumer.stats == {"handled": 3}


async def test_a_redelivery_in_the_batch_or_from_before_is_a_duplicate(store) -> None:
    first, second = licenses_assigned("sub-1", 1), licenses_assigned("sub-1", 2)
    consumer = consumer_with(store)
    await consumer.handle(first.to_bytes())

    await consumer.handle_batch(
        [delivery(first.to_bytes()), delivery(second.to_bytes()), delivery(second.to_bytes())]
    )

    assert await stored_counts(store, "sub-1") == [1, 2]
    assert consumer.stats == {"handled": 2, "duplicate": 2}


async def test_poison_and_unhandled_types_keep_their_place(store) -> None:
    dead = DeadLetters()
    consumer = consumer_with(store, dead_letter=dead)
    other = json.loads(licenses_assigned().to_bytes()) | {"type": "ActivationCompleted"}

    await consumer.handle_batch(
        [
            delivery(licenses_assigned("sub-1", 1).to_bytes()),
            delivery(licenses_assigned("sub-1", 2).to_bytes()),
            delivery(b"{not json"),
            delivery(json.dumps(other).encode()),
            delivery(licenses_assigned("sub-1", 3).to_bytes()),
            delivery(licenses_assigned("sub-1", 4).to_bytes()),
        ]
    )

    assert await stored_counts(store, "sub-1") == [1, 2, 3, 4]
    assert dead.sent == [b"{not json"]
    assert consumer.stats == {"handled": 4, "dead_lettered": 1, "skipped": 1}


async def test_a_failing_event_stops_its_partition_only_and_the_rest_commits_once(
    store,
) -> None:
    ran: list[tuple[str, int]] = []

    async def picky(command: Count, uow: TallyUnitOfWork) -> None:
        ran.append((command.subscription_id, command.assigned_count))
        if command.subscription_id == "sub-bad":
            raise RuntimeError("a bug")
        await count(command, uow)

    consumer = consumer_with(store, picky)
    batch = [
        delivery(licenses_assigned("sub-a", 1).to_bytes(), partition=0, offset=10),
        delivery(licenses_assigned("sub-b", 1).to_bytes(), partition=1, offset=20),
        delivery(licenses_assigned("sub-bad", 1).to_bytes(), partition=0, offset=11),
        delivery(licenses_assigned("sub-a", 2).to_bytes(), partition=0, offset=12),
        delivery(licenses_assigned("sub-b", 2).to_bytes(), partition=1, offset=21),
    ]

    stalled = await consumer.handle_batch(batch)

    assert list(stalled) == [0]
    assert stalled[0].stall.offset == 11  # where partition 0 is sought back to
    assert await stored_counts(store, "sub-a") == [1]  # not the one behind the failure
    assert await stored_counts(store, "sub-b") == [1, 2]
    assert await stored_counts(store, "sub-bad") == []
    assert consumer.stats["handled"] == 3
    assert consumer.stats["stalled"] == 1
    assert ("sub-a", 2) not in ran  # behind the failing event: never run
    assert len(await outbox_events(store)) == 3  # the batch that failed left nothing


async def test_a_single_command_takes_the_plain_path(store) -> None:
    consumer = consumer_with(store)

    await consumer.handle_batch([delivery(licenses_assigned("sub-1", 5).to_bytes())])

    assert await stored_counts(store, "sub-1") == [5]
    assert consumer.stats == {"handled": 1}


async def test_after_commit_callbacks_run_with_their_own_events_binding(store) -> None:
    seen: list[tuple[int, object]] = []

    async def noting(command: Count, uow: TallyUnitOfWork) -> None:
        await count(command, uow)
        n = command.assigned_count
        uow.after_commit(
            lambda: seen.append((n, structlog.contextvars.get_contextvars().get("event_id")))
        )

    events = [licenses_assigned("sub-1", n) for n in (1, 2)]
    await consumer_with(store, noting).handle_batch(
        [delivery(e.to_bytes(), offset=i) for i, e in enumerate(events)]
    )

    assert store.transactions == 1
    assert seen == [(1, str(events[0].id)), (2, str(events[1].id))]


async def test_on_sqlite_a_batch_records_its_inbox_rows_in_one_statement(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "store.sqlite3")
    await store.open()
    try:
        statements: list[str] = []
        await store._connection().set_trace_callback(statements.append)
        events = [licenses_assigned("sub-1", n) for n in (1, 2, 3)]
        consumer = consumer_with(store)

        await consumer.handle_batch(
            [delivery(e.to_bytes(), offset=i) for i, e in enumerate([*events, events[0]])]
        )

        assert consumer.stats == {"handled": 3, "duplicate": 1}
        assert await stored_counts(store, "sub-1") == [1, 2, 3]
        inbox_writes = [s for s in statements if s.startswith("INSERT INTO inbox")]
        assert len(inbox_writes) == 1, inbox_writes  # one round trip, not one per event
    finally:
        await store.close()
