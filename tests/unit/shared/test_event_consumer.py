"""EventConsumer: inbox idempotency, unknown types, poison and failing handlers."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest
import structlog

from shared.events import ActivationCompleted, LicensesAssigned
from shared.messaging.consumer import EventConsumer, PermanentFailure
from shared.messaging.outbox import emit
from shared.store.memory import MemoryStore
from shared.store.port import UnitOfWork

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def licenses_assigned(count: int = 1) -> LicensesAssigned:
    return LicensesAssigned(
        source="provisioning",
        time=NOW,
        subject="sub-1",
        correlation_id="purchase-1",
        data={"subscriptionId": "sub-1", "assignedCount": count, "quantity": 5},
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


def consumer_with(store: MemoryStore, dead_letters: DeadLetters, handler) -> EventConsumer:
    return EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        store=store,
        handlers={LicensesAssigned: handler},
        dead_letter=dead_letters,
        max_attempts=3,
        first_backoff_seconds=0,
    )


async def count_seen(store: MemoryStore) -> int:
    async with store.unit_of_work() as uow:
        return len(await uow.collection("seen").find())


async def test_a_redelivered_event_is_handled_once(store, dead_letters) -> None:
    async def record(event: LicensesAssigned, uow: UnitOfWork) -> None:
        await uow.collection("seen").insert(str(event.id), {"count": event.data.assigned_count})

    consumer = consumer_with(store, dead_letters, record)
    raw = licenses_assigned().to_bytes()

    assert await consumer.handle(raw) == "handled"
    assert await consumer.handle(raw) == "duplicate"
    assert await count_seen(store) == 1


async def test_state_and_emitted_events_commit_with_the_inbox_row(store, dead_letters) -> None:
    async def forward(event: LicensesAssigned, uow: UnitOfWork) -> None:
        await uow.collection("seen").insert(str(event.id), {})
        emit(uow, licenses_assigned(event.data.assigned_count + 1))

    consumer = consumer_with(store, dead_letters, forward)
    await consumer.handle(licenses_assigned().to_bytes())

    assert await store.pending_outbox() == 1
    assert await count_seen(store) == 1


async def test_a_failing_handler_leaves_no_trace_and_is_retried(store, dead_letters) -> None:
    calls = 0

    async def flaky(event: LicensesAssigned, uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        await uow.collection("seen").insert(f"{event.id}-{calls}", {})
        emit(uow, licenses_assigned())
        if calls < 3:
            raise ConnectionError("transient")

    consumer = consumer_with(store, dead_letters, flaky)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "handled"

    assert calls == 3
    assert await count_seen(store) == 1  # the two failed attempts rolled back
    assert await store.pending_outbox() == 1
    assert dead_letters.sent == []


async def test_a_handler_that_keeps_failing_is_dead_lettered_then_skipped(
    store, dead_letters
) -> None:
    async def broken(event: LicensesAssigned, uow: UnitOfWork) -> None:
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


async def test_a_permanent_failure_is_dead_lettered_without_retrying(store, dead_letters) -> None:
    calls = 0

    async def refuses(event: LicensesAssigned, uow: UnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise PermanentFailure("subscription is in a state that cannot take this")

    consumer = consumer_with(store, dead_letters, refuses)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "dead_lettered"
    assert calls == 1


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
    async def never(event: LicensesAssigned, uow: UnitOfWork) -> None:
        raise AssertionError("must not be called")

    consumer = consumer_with(store, dead_letters, never)
    assert await consumer.handle(raw) == "dead_lettered"
    assert dead_letters.sent[0][1] == raw


async def test_unknown_event_types_are_skipped_and_counted(store, dead_letters) -> None:
    async def never(event: LicensesAssigned, uow: UnitOfWork) -> None:
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

    async def never(event: LicensesAssigned, uow: UnitOfWork) -> None:
        raise AssertionError("must not be called")

    consumer = EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        store=store,
        handlers={LicensesAssigned: never},
        dead_letter=broker_down,
    )
    with pytest.raises(ConnectionError):
        await consumer.handle(b"poison")


async def test_everything_a_handler_logs_carries_the_event_correlation_id(
    store, dead_letters
) -> None:
    seen: dict[str, object] = {}

    async def look(event: LicensesAssigned, uow: UnitOfWork) -> None:
        seen.update(structlog.contextvars.get_contextvars())

    await consumer_with(store, dead_letters, look).handle(licenses_assigned().to_bytes())

    assert seen["correlation_id"] == "purchase-1"
    assert seen["subscription_id"] == "sub-1"
    assert "correlation_id" not in structlog.contextvars.get_contextvars()  # unbound after


async def test_a_store_outage_is_raised_for_redelivery_never_dead_lettered(
    store, dead_letters
) -> None:
    async def store_down(event: LicensesAssigned, uow: UnitOfWork) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    consumer = consumer_with(store, dead_letters, store_down)
    with pytest.raises(sqlite3.OperationalError):
        await consumer.handle(licenses_assigned().to_bytes())
    assert dead_letters.sent == []
