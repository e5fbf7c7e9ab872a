"""EventConsumer: a wire event becomes a command on the bus, with its inbox row.

Outcomes: handled, duplicate (inbox), skipped (a type it does not handle), dead-lettered
(poison, a broken rule, a handler that keeps failing); an infrastructure failure is
raised for redelivery instead.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3

import pytest
import structlog

from shared.errors import RuleBroken
from shared.events import ActivationCompleted, LicensesAssigned
from shared.messaging.consumer import EventConsumer, PermanentFailure
from shared.service_layer import MessageBus
from shared.store.memory import MemoryStore
from tests.support.kernel import (
    Count,
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
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def __call__(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        self.sent.append((topic, payload, headers))


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def dead_letters() -> DeadLetters:
    return DeadLetters()


def consumer_of(bus: MessageBus, dead_letters: DeadLetters, translate=count_from) -> EventConsumer:
    return EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        bus=bus,
        commands={LicensesAssigned: translate},
        dead_letter=dead_letters,
        max_attempts=3,
        first_backoff_seconds=0,
    )


def consumer_with(store: MemoryStore, dead_letters: DeadLetters, handler=count) -> EventConsumer:
    """The tally service's consumer, its Count command handled by `handler`."""
    return consumer_of(tally_bus(store, handlers={Count: handler}), dead_letters)


async def test_a_new_event_becomes_a_command_whose_state_and_events_commit_with_the_inbox_row(
    store, dead_letters
) -> None:
    incoming = licenses_assigned("sub-1", 3)

    assert await consumer_with(store, dead_letters).handle(incoming.to_bytes()) == "handled"

    assert await stored_counts(store, "sub-1") == [3]
    [outgoing] = await outbox_events(store)
    assert outgoing.data.assigned_count == 3
    # caused by the incoming event: its purchase, and the event itself as the cause
    assert outgoing.correlation_id == "purchase-1"
    assert outgoing.causation_id == str(incoming.id)


async def test_a_redelivered_event_is_a_duplicate_and_changes_nothing(store, dead_letters) -> None:
    consumer = consumer_with(store, dead_letters)
    raw = licenses_assigned().to_bytes()

    assert await consumer.handle(raw) == "handled"
    assert await consumer.handle(raw) == "duplicate"

    assert await stored_counts(store, "sub-1") == [1]
    assert len(await outbox_events(store)) == 1
    assert consumer.stats == {"handled": 1, "duplicate": 1}


async def test_a_failing_handler_leaves_no_trace_and_is_retried(store, dead_letters) -> None:
    calls = 0

    async def flaky(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        await count(command, uow)  # state changed, event recorded ...
        if calls < 3:
            raise ConnectionError("transient")  # ... and rolled back

    consumer = consumer_with(store, dead_letters, flaky)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "handled"

    assert calls == 3
    assert await stored_counts(store, "sub-1") == [1]  # the two failed attempts rolled back
    assert len(await outbox_events(store)) == 1
    assert dead_letters.sent == []


async def test_a_handler_that_keeps_failing_is_dead_lettered_with_the_original_headers(
    store, dead_letters
) -> None:
    async def broken(command: Count, uow: TallyUnitOfWork) -> None:
        raise RuntimeError("bug")

    consumer = consumer_with(store, dead_letters, broken)
    raw = licenses_assigned().to_bytes()

    assert await consumer.handle(raw, {"traceparent": "abc"}) == "dead_lettered"
    topic, payload, headers = dead_letters.sent[0]
    assert topic == "provisioning.subscriptions.dlq"
    assert payload == raw
    assert headers["traceparent"] == "abc"  # original headers kept
    assert "RuntimeError: bug" in headers["x-dlq-error"]
    assert headers["x-dlq-consumer"] == "test.consumer"
    assert headers["x-dlq-original-topic"] == "provisioning.subscriptions"


@pytest.mark.parametrize(
    "refusal",
    [
        PermanentFailure("subscription is in a state that cannot take this"),
        RuleBroken("a count is never negative", "assignedCount"),
    ],
    ids=["permanent-failure", "broken-rule"],
)
async def test_an_event_that_can_never_succeed_is_dead_lettered_without_retrying(
    store, dead_letters, refusal: Exception
) -> None:
    calls = 0

    async def refuses(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise refusal

    consumer = consumer_with(store, dead_letters, refuses)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "dead_lettered"
    assert calls == 1
    assert type(refusal).__name__ in dead_letters.sent[0][2]["x-dlq-error"]


async def test_an_event_no_command_can_be_made_of_is_dead_lettered(store, dead_letters) -> None:
    def untranslatable(event: LicensesAssigned) -> Count:
        raise ValueError("assignedCount out of range")

    consumer = consumer_of(tally_bus(store), dead_letters, untranslatable)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "dead_lettered"
    assert await stored_counts(store, "sub-1") == []


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"type": "LicensesAssigned", "data": {}}).encode(),
    ],
    ids=["not-json", "not-an-object", "missing-fields"],
)
async def test_poison_messages_go_to_the_dead_letter_topic(store, dead_letters, raw) -> None:
    async def never(command: Count, uow: TallyUnitOfWork) -> None:
        raise AssertionError("must not be called")

    consumer = consumer_with(store, dead_letters, never)
    assert await consumer.handle(raw) == "dead_lettered"
    assert dead_letters.sent[0][1] == raw


async def test_event_types_it_does_not_handle_are_skipped_and_counted(store, dead_letters) -> None:
    async def never(command: Count, uow: TallyUnitOfWork) -> None:
        raise AssertionError("must not be called")

    consumer = consumer_with(store, dead_letters, never)
    other = ActivationCompleted.model_fields["type"].default
    raw = json.dumps({"type": other, "id": "x"}).encode()
    brand_new = json.dumps({"type": "SomethingFromTheFuture"}).encode()

    assert await consumer.handle(raw) == "skipped"
    assert await consumer.handle(brand_new) == "skipped"
    assert consumer.stats["skipped"] == 2
    assert dead_letters.sent == []


async def test_a_dead_letter_publish_failure_propagates_so_the_offset_is_not_committed(
    store,
) -> None:
    async def broker_down(topic: str, payload: bytes, headers: dict[str, str]) -> None:
        raise ConnectionError("broker unreachable")

    consumer = EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        bus=tally_bus(store),
        commands={LicensesAssigned: count_from},
        dead_letter=broker_down,
    )
    with pytest.raises(ConnectionError):
        await consumer.handle(b"poison")


async def test_everything_a_handler_logs_carries_the_event_correlation_id(
    store, dead_letters
) -> None:
    seen: dict[str, object] = {}

    async def look(command: Count, uow: TallyUnitOfWork) -> None:
        seen.update(structlog.contextvars.get_contextvars())

    await consumer_with(store, dead_letters, look).handle(licenses_assigned().to_bytes())

    assert seen["correlation_id"] == "purchase-1"
    assert seen["subscription_id"] == "sub-1"
    assert seen["consumer"] == "test.consumer"
    assert "correlation_id" not in structlog.contextvars.get_contextvars()  # unbound after


async def test_a_store_outage_is_raised_for_redelivery_never_dead_lettered(
    store, dead_letters
) -> None:
    calls = 0

    async def store_down(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise sqlite3.OperationalError("disk I/O error")

    raw = licenses_assigned().to_bytes()
    with pytest.raises(sqlite3.OperationalError):
        await consumer_with(store, dead_letters, store_down).handle(raw)
    assert calls == 3  # retried first, then left for the broker to redeliver
    assert dead_letters.sent == []
    # not even the inbox row stayed: once the store is back, the redelivery is handled
    assert await consumer_with(store, dead_letters).handle(raw) == "handled"


async def test_a_handler_cancelled_by_a_stopping_service_is_not_retried(
    store, dead_letters
) -> None:
    calls = 0
    started = asyncio.Event()

    async def hangs(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        await count(command, uow)
        started.set()
        await asyncio.Event().wait()  # the service stops here, mid-transaction

    handling = asyncio.create_task(
        consumer_with(store, dead_letters, hangs).handle(licenses_assigned().to_bytes())
    )
    await asyncio.wait_for(started.wait(), 5)
    handling.cancel()
    await asyncio.wait({handling}, timeout=2)
    while not handling.done():  # a retried cancellation: end it so the test can report
        handling.cancel()
        await asyncio.wait({handling}, timeout=2)

    assert handling.cancelled()  # the cancellation propagates: the offset stays
    assert calls == 1  # a cancellation is not a failure to retry
    assert await stored_counts(store, "sub-1") == []
    assert dead_letters.sent == []
