"""A handler that keeps failing stops its partition only, against the real broker process.

One consumer reads a topic of two partitions. The event at the head of partition 0
fails; partition 1 keeps flowing, partition 0's later events wait behind it (per-key
order), nothing is dead-lettered, and the partition resumes, in order, once the event
succeeds: because the cause went away, or after a restart with the fix.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.clock import Clock
from shared.errors import NotFound
from shared.events import LicensesAssigned
from shared.messaging.consumer import EventConsumer
from shared.messaging.kafka import make_broker
from shared.messaging.runtime import ServiceRuntime
from shared.messaging.stalls import StallBackoff
from shared.store.sqlite import SqliteStore
from tests.support.kernel import Count, TallyUnitOfWork, count_from, licenses_assigned, tally_bus
from tests.support.polling import eventually

pytestmark = [pytest.mark.broker, pytest.mark.timeout(180)]

FAST = StallBackoff(first=0.2, most=0.5)


async def two_partitions(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])
    finally:
        await admin.close()


class Recorder:
    """The handler: notes each count it handled (committed); fails for subscriptions in
    `failing`."""

    def __init__(self, *failing: str) -> None:
        self.failing = set(failing)
        self.seen: list[tuple[str, int]] = []

    async def __call__(self, command: Count, uow: TallyUnitOfWork) -> None:
        if command.subscription_id in self.failing:
            raise NotFound(f"{command.subscription_id} is not known yet")
        # Noted once committed: a batch that fails runs again one event at a time, so a
        # handler may run more often than its event is handled.
        seen = (command.subscription_id, command.assigned_count)
        uow.after_commit(lambda: self.seen.append(seen))

    def of(self, subject: str) -> list[int]:
        return [n for s, n in self.seen if s == subject]


def consumer(name: str, topic: str, store: SqliteStore, handler: Recorder) -> EventConsumer:
    return EventConsumer(
        name=name,
        topic=topic,
        bus=tally_bus(store, clock=Clock(), handlers={Count: handler}),
        commands={LicensesAssigned: count_from},
        stall_backoff=FAST,
    )


def receiver(bootstrap: str, store: SqliteStore, *consumers: EventConsumer) -> ServiceRuntime:
    return ServiceRuntime(
        name="receiver",
        store=store,
        broker=make_broker(bootstrap, client_id="receiver", graceful_timeout=1.0),
        clock=Clock(),
        consumers=consumers,
    )


async def publish(bootstrap: str, topic: str, *events: tuple[int, str, int]) -> None:
    """(partition, subject, count) each, in this order."""
    producer = make_broker(bootstrap, client_id="producer")
    await producer.start()
    try:
        for partition, subject, assigned in events:
            await producer.publish(
                licenses_assigned(subject, assigned).to_bytes(),
                topic=topic,
                key=subject.encode(),
                partition=partition,
            )
    finally:
        await producer.stop()


async def value(probe):
    await asyncio.sleep(0)
    return probe()


async def test_a_failing_event_stops_its_partition_only_until_it_succeeds(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = "stall.cause-goes-away"
    await two_partitions(kafka_bootstrap, topic)
    handler = Recorder("sub-late")
    store = SqliteStore(tmp_path / "receiver.sqlite3")
    stalling = consumer("stall.goes-away", topic, store, handler)
    service = receiver(kafka_bootstrap, store, stalling)
    await service.start()
    try:
        await publish(
            kafka_bootstrap,
            topic,
            (0, "sub-late", 1),
            (0, "sub-next", 1),
            (0, "sub-late", 2),
            (1, "sub-other", 1),
            (1, "sub-other", 2),
        )
        # Partition 1 flows; partition 0 is stopped at its head, retried with backoff.
        await eventually(
            lambda: value(lambda: handler.of("sub-other")), lambda s: s == [1, 2], what="p1"
        )
        await eventually(
            lambda: value(lambda: stalling.stalled.get(0)),
            lambda s: s is not None and s.rounds >= 3,
            what="partition 0 retried three rounds",
        )
        await publish(kafka_bootstrap, topic, (1, "sub-other", 3))
        await eventually(
            lambda: value(lambda: handler.of("sub-other")), lambda s: s == [1, 2, 3], what="p1"
        )
        assert handler.of("sub-next") == []  # behind the failing event: not handled
        stall = stalling.stalled[0]
        assert (stall.offset, stall.event_type, stall.subject) == (
            0,
            "LicensesAssigned",
            "sub-late",
        )
        assert "NotFound" in stall.last_error
        assert set(stalling.stalled) == {0}

        handler.failing.clear()  # the cause goes away
        await eventually(
            lambda: value(lambda: len(handler.seen)), lambda n: n == 6, what="all handled"
        )
        partition_0 = [(s, n) for s, n in handler.seen if s != "sub-other"]
        assert partition_0 == [("sub-late", 1), ("sub-next", 1), ("sub-late", 2)]
        assert stalling.stalled == {}
        assert stalling.stats["dead_lettered"] == 0
        assert stalling.stats["stalled"] >= 3
    finally:
        await service.stop()


async def test_after_a_restart_with_the_fix_the_stopped_partition_resumes_where_it_stopped(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topic = "stall.fixed-by-restart"
    await two_partitions(kafka_bootstrap, topic)
    store = SqliteStore(tmp_path / "receiver.sqlite3")
    buggy = Recorder("sub-bug")
    first = consumer("stall.restart", topic, store, buggy)
    service = receiver(kafka_bootstrap, store, first)
    await service.start()
    try:
        await publish(
            kafka_bootstrap, topic, (0, "sub-ok", 1), (0, "sub-bug", 1), (0, "sub-bug", 2)
        )
        await eventually(
            lambda: value(lambda: first.stalled.get(0)),
            lambda s: s is not None and s.rounds >= 2,
            what="partition 0 stopped",
        )
        assert buggy.of("sub-ok") == [1]
        # Handled while partition 0 is stopped: this commit must not move partition 0 on.
        await publish(kafka_bootstrap, topic, (1, "sub-fine", 1))
        await eventually(lambda: value(lambda: buggy.of("sub-fine")), lambda s: s == [1])
    finally:
        await service.stop()

    fixed = Recorder()
    second = consumer("stall.restart", topic, store, fixed)
    service = receiver(kafka_bootstrap, store, second)
    await service.start()
    try:
        await eventually(
            lambda: value(lambda: fixed.of("sub-bug")), lambda s: s == [1, 2], what="resumed"
        )
        # Both partitions' commits were exact: nothing handled before comes again
        # (a redelivery would count as a duplicate), and nothing after was skipped.
        assert second.stats["duplicate"] == 0
        assert fixed.seen == [("sub-bug", 1), ("sub-bug", 2)]
        assert second.stalled == {}
    finally:
        await service.stop()
