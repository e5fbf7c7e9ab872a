"""EventConsumer: a wire event becomes a command on the bus, with its inbox row.

Outcomes: handled, duplicate (inbox), skipped (a type it does not handle), dead-lettered
(only what can never be decoded); everything a handler raises (a broken rule, a bug, a
stored document that no longer validates, the store down) is retried and, while it keeps
failing, stalls its partition (`PartitionStalled`) instead of being dead-lettered.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import structlog
from aiokafka import TopicPartition
from structlog.testing import capture_logs

from shared.errors import Conflict, NotFound, RuleBroken
from shared.events import ActivationCompleted, LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka_subscription import ForgetRevoked, pause, resume
from shared.messaging.stalls import Origin, PartitionStalled, Stall, StallBackoff
from shared.service_layer import MessageBus
from shared.store.memory import MemoryStore
from tests.support.kernel import (
    Count,
    Tally,
    TallyUnitOfWork,
    count,
    count_from,
    licenses_assigned,
    outbox_events,
    stored_counts,
    tally_bus,
)

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class DeadLetters:
    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    async def __call__(self, topic: str, payload: bytes, headers: dict[str, str]) -> None:
        self.sent.append((topic, payload, headers))


class Ticking:
    """A clock for the consumer's machinery time that the test moves."""

    def __init__(self) -> None:
        self.at = T0

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def dead_letters() -> DeadLetters:
    return DeadLetters()


def consumer_of(
    bus: MessageBus, dead_letters: DeadLetters, translate=count_from, **options
) -> EventConsumer:
    return EventConsumer(
        name="test.consumer",
        topic=LicensesAssigned.TOPIC,
        bus=bus,
        commands={LicensesAssigned: translate},
        dead_letter=dead_letters,
        max_attempts=3,
        first_backoff_seconds=0,
        **options,
    )


def consumer_with(
    store: MemoryStore, dead_letters: DeadLetters, handler=count, **options
) -> EventConsumer:
    """The tally service's consumer, its Count command handled by `handler`."""
    return consumer_of(tally_bus(store, handlers={Count: handler}), dead_letters, **options)


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
    assert consumer.stats["retries"] == 2
    assert consumer.stalled == {}


async def test_a_handler_that_keeps_failing_stalls_its_partition_and_is_never_dead_lettered(
    store, dead_letters
) -> None:
    async def broken(command: Count, uow: TallyUnitOfWork) -> None:
        raise RuntimeError("bug")

    clock = Ticking()
    consumer = consumer_with(store, dead_letters, broken, now=clock)
    event = licenses_assigned("sub-7")
    origin = Origin(partition=2, offset=41, key="sub-7")

    with capture_logs() as logs, pytest.raises(PartitionStalled) as stalled:
        await consumer.handle(event.to_bytes(), {"traceparent": "abc"}, origin=origin)

    assert dead_letters.sent == []
    assert isinstance(stalled.value.error, RuntimeError)
    assert stalled.value.retry_in == 1.0  # the first pause of the default backoff
    stall = consumer.stalled[2]
    assert (stall.offset, stall.event_id, stall.event_type) == (41, str(event.id), event.type)
    assert (stall.attempts, stall.rounds, stall.since) == (3, 1, T0)
    assert stall.last_error == "RuntimeError: bug"
    assert stall.cause == "handler"
    assert consumer.stats["stalled"] == 1
    assert consumer.stats["retries"] == 3  # every failed attempt is tried again
    assert "handled" not in consumer.stats

    # Each retry says so, naming where and what; the last one says the partition stopped.
    retries = [e for e in logs if e["event"] == "event_handler_retrying"]
    [stop] = [e for e in logs if e["event"] == "event_handler_failing_partition_stopped"]
    assert len(retries) == 2
    for entry in [*retries, stop]:
        assert entry["log_level"] == "warning"
    assert {k: stop[k] for k in ("consumer", "topic", "partition", "offset")} == {
        "consumer": "test.consumer",
        "topic": "provisioning.subscriptions",
        "partition": 2,
        "offset": 41,
    }
    assert (stop["event_id"], stop["event_type"]) == (str(event.id), "LicensesAssigned")
    assert stop["error"] == "RuntimeError: bug"
    assert stop["retry_in"] == 1.0


@pytest.mark.parametrize(
    "refusal",
    [
        RuleBroken("a count is never negative", "assignedCount"),
        NotFound("subscription sub-1 not found", "subscriptionId"),
        Conflict("the subscription is cancelled"),
        KeyError("a bug"),
    ],
    ids=["broken-rule", "not-found", "wrong-state", "bug"],
)
async def test_what_a_handler_raises_is_retried_never_dead_lettered(
    store, dead_letters, refusal: Exception
) -> None:
    calls = 0

    async def refuses(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise refusal

    consumer = consumer_with(store, dead_letters, refuses)
    with pytest.raises(PartitionStalled):
        await consumer.handle(licenses_assigned().to_bytes())
    assert calls == 3
    assert dead_letters.sent == []
    assert consumer.stalled[0].last_error.startswith(type(refusal).__name__)


async def test_a_stored_document_that_no_longer_validates_stalls_instead_of_dead_lettering(
    store, dead_letters
) -> None:
    async with store.transaction() as tx:  # written by an older model: counts was a string
        await tx.collection(Tally.COLLECTION).put("sub-1", {"id": "sub-1", "counts": "3,4"})
        await tx.commit()

    consumer = consumer_with(store, dead_letters)
    with pytest.raises(PartitionStalled) as stalled:
        await consumer.handle(licenses_assigned("sub-1").to_bytes())
    assert "ValidationError" in consumer.stalled[0].last_error
    assert stalled.value.stall.cause == "handler"
    assert dead_letters.sent == []


async def test_a_stalled_event_is_tried_again_with_a_growing_capped_pause_until_it_succeeds(
    store, dead_letters
) -> None:
    fixed = False

    async def until_fixed(command: Count, uow: TallyUnitOfWork) -> None:
        if not fixed:
            raise RuntimeError("bug")
        await count(command, uow)

    clock = Ticking()
    consumer = consumer_with(
        store, dead_letters, until_fixed, now=clock, stall_backoff=StallBackoff(first=1, most=4)
    )
    raw = licenses_assigned("sub-1", 5).to_bytes()
    origin = Origin(partition=0, offset=7)
    pauses = []
    for _ in range(4):  # what the subscriber does: deliver the same offset again
        with pytest.raises(PartitionStalled) as stalled:
            await consumer.handle(raw, origin=origin)
        pauses.append(stalled.value.retry_in)
        clock.at += timedelta(seconds=stalled.value.retry_in)
    assert pauses == [1, 2, 4, 4]
    stall = consumer.stalled[0]
    assert (stall.rounds, stall.attempts, stall.since) == (4, 12, T0)

    fixed = True  # a fix deployed, or the cause went away
    with capture_logs() as logs:
        assert await consumer.handle(raw, origin=origin) == "handled"
    assert consumer.stalled == {}
    [resumed] = [e for e in logs if e["event"] == "partition_resumed"]
    assert (resumed["partition"], resumed["offset"], resumed["attempts"]) == (0, 7, 12)
    assert resumed["stalled_seconds"] == 11.0
    assert await stored_counts(store, "sub-1") == [5]
    assert dead_letters.sent == []


async def test_a_stall_is_per_partition_and_status_is_json(store, dead_letters) -> None:
    async def fails_for_sub_1(command: Count, uow: TallyUnitOfWork) -> None:
        if command.subscription_id == "sub-1":
            raise NotFound("no such tally")
        await count(command, uow)

    consumer = consumer_with(store, dead_letters, fails_for_sub_1, now=Ticking())
    with pytest.raises(PartitionStalled):
        await consumer.handle(licenses_assigned("sub-1").to_bytes(), origin=Origin(0, 3))
    assert await consumer.handle(licenses_assigned("sub-2").to_bytes(), origin=Origin(1, 9)) == (
        "handled"
    )

    status = json.loads(json.dumps(consumer.status()))  # JSON-able as it is
    assert status["consumer"] == "test.consumer"
    assert status["topic"] == "provisioning.subscriptions"
    [stalled] = status["stalled"]
    assert stalled["partition"] == 0
    assert stalled["offset"] == 3
    assert stalled["eventType"] == "LicensesAssigned"
    assert stalled["subject"] == "sub-1"
    assert stalled["since"] == T0.isoformat()
    assert stalled["retryAt"] == (T0 + timedelta(seconds=1)).isoformat()
    assert stalled["lastError"] == "NotFound: no such tally"
    assert status["counts"] == {
        "handled": 1,
        "duplicate": 0,
        "skipped": 0,
        "dead_lettered": 0,
        "stalled": 1,
        "retries": 3,
    }


async def test_an_event_no_command_can_be_made_of_is_dead_lettered(store, dead_letters) -> None:
    def untranslatable(event: LicensesAssigned) -> Count:
        raise ValueError("assignedCount out of range")

    consumer = consumer_of(tally_bus(store), dead_letters, untranslatable)
    assert await consumer.handle(licenses_assigned().to_bytes()) == "dead_lettered"
    assert await stored_counts(store, "sub-1") == []
    assert "ValueError: assignedCount out of range" in dead_letters.sent[0][2]["x-dlq-error"]


async def test_a_translation_that_breaks_for_another_reason_is_a_bug_and_stalls(
    store, dead_letters
) -> None:
    def broken(event: LicensesAssigned) -> Count:
        raise TypeError("Count() missing 1 required positional argument")

    consumer = consumer_of(tally_bus(store), dead_letters, broken)
    with pytest.raises(PartitionStalled):
        await consumer.handle(licenses_assigned().to_bytes())
    assert dead_letters.sent == []
    assert consumer.stalled[0].last_error.startswith("TypeError")


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"[1, 2]",
        json.dumps({"type": "LicensesAssigned", "data": {}}).encode(),
    ],
    ids=["not-json", "not-an-object", "missing-fields"],
)
async def test_undecodable_messages_go_to_the_dead_letter_topic_with_where_they_were(
    store, dead_letters, raw
) -> None:
    async def never(command: Count, uow: TallyUnitOfWork) -> None:
        raise AssertionError("must not be called")

    consumer = consumer_with(store, dead_letters, never)
    origin = Origin(partition=1, offset=12, key="sub-9")
    assert await consumer.handle(raw, {"traceparent": "abc"}, origin=origin) == "dead_lettered"
    [(topic, payload, headers)] = dead_letters.sent
    assert topic == "provisioning.subscriptions.dlq"
    assert payload == raw
    assert headers["traceparent"] == "abc"  # original headers kept
    assert headers["x-dlq-consumer"] == "test.consumer"
    assert headers["x-dlq-original-topic"] == "provisioning.subscriptions"
    assert headers["x-dlq-original-partition"] == "1"
    assert headers["x-dlq-original-offset"] == "12"
    assert headers["x-dlq-original-key"] == "sub-9"
    assert headers["x-dlq-error"].split(":")[0] in {
        "JSONDecodeError",
        "ValueError",
        "ValidationError",
    }
    assert consumer.stalled == {}


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


async def test_a_dead_letter_publish_failure_stalls_so_the_offset_is_not_committed(
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
    with pytest.raises(PartitionStalled) as stalled:
        await consumer.handle(b"poison", origin=Origin(0, 5))
    assert isinstance(stalled.value.error, ConnectionError)
    assert consumer.stalled[0].cause == "infrastructure"
    assert "dead_lettered" not in consumer.stats


async def test_everything_a_handler_logs_carries_the_event_correlation_id(
    store, dead_letters
) -> None:
    seen: dict[str, object] = {}

    async def look(command: Count, uow: TallyUnitOfWork) -> None:
        seen.update(structlog.contextvars.get_contextvars())

    await consumer_with(store, dead_letters, look).handle(
        licenses_assigned().to_bytes(), origin=Origin(3, 30)
    )

    assert seen["correlation_id"] == "purchase-1"
    assert seen["subscription_id"] == "sub-1"
    assert seen["consumer"] == "test.consumer"
    assert (seen["partition"], seen["offset"]) == (3, 30)
    assert "correlation_id" not in structlog.contextvars.get_contextvars()  # unbound after
    assert "partition" not in structlog.contextvars.get_contextvars()


async def test_a_store_outage_stalls_the_partition_and_leaves_no_inbox_row(
    store, dead_letters
) -> None:
    calls = 0

    async def store_down(command: Count, uow: TallyUnitOfWork) -> None:
        nonlocal calls
        calls += 1
        raise sqlite3.OperationalError("disk I/O error")

    raw = licenses_assigned().to_bytes()
    consumer = consumer_with(store, dead_letters, store_down)
    with pytest.raises(PartitionStalled):
        await consumer.handle(raw)
    assert calls == 3  # retried first, then left for the partition's next round
    assert consumer.stalled[0].cause == "infrastructure"
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

    consumer = consumer_with(store, dead_letters, hangs)
    handling = asyncio.create_task(consumer.handle(licenses_assigned().to_bytes()))
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
    assert consumer.stalled == {}


def test_the_stall_backoff_doubles_from_first_and_is_capped() -> None:
    backoff = StallBackoff()
    assert [backoff.after(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 30, 30, 30]


class FakeKafkaConsumer:
    """The bits of aiokafka's consumer the subscriber uses to stop a partition."""

    def __init__(self, *partitions: TopicPartition) -> None:
        self.assigned = set(partitions)
        self.paused: set[TopicPartition] = set()
        self.resumed = asyncio.Event()

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    def pause(self, *partitions: TopicPartition) -> None:
        self.paused.update(partitions)

    def resume(self, *partitions: TopicPartition) -> None:
        self.paused.difference_update(partitions)
        self.resumed.set()


async def test_a_stalled_partition_is_paused_then_resumed_after_its_pause(
    store, dead_letters
) -> None:
    consumer = consumer_with(store, dead_letters)
    p0, p1 = TopicPartition(consumer.topic, 0), TopicPartition(consumer.topic, 1)
    kafka = FakeKafkaConsumer(p0, p1)

    pause(consumer, kafka, p0, 0.01)
    assert kafka.paused == {p0}  # the other partition keeps being fetched
    await asyncio.wait_for(kafka.resumed.wait(), timeout=2)
    assert kafka.paused == set()


async def test_a_revoked_partition_is_forgotten_and_never_resumed_here(store, dead_letters) -> None:
    consumer = consumer_with(store, dead_letters, now=Ticking())
    p0 = TopicPartition(consumer.topic, 0)
    kafka = FakeKafkaConsumer(p0)
    consumer.stalled[0] = Stall(0, 1, "e", "LicensesAssigned", "sub-1", since=T0)
    pause(consumer, kafka, p0, 60)
    timer = consumer.resume_timers.handles[0]

    await ForgetRevoked(consumer).on_partitions_revoked({p0})

    assert consumer.stalled == {}
    assert timer.cancelled()
    resume(consumer, FakeKafkaConsumer(), p0)  # a timer that fired anyway: not assigned
    assert not kafka.resumed.is_set()
