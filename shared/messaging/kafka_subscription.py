"""Binding an `EventConsumer` to a FastStream Kafka batch subscriber: group = the
consumer's name, what one fetch returned handled as one batch, the offsets committed
after it (AckPolicy.NACK_ON_ERROR), a stalled partition paused.

How a partition stops while the others flow: FastStream's Kafka
subscriber is one aiokafka consumer read by one task (`getmany()` in a loop), so its
partitions are handled one batch at a time; sleeping in the handler between tries
would stop every partition of the group member, and raising for an immediate
redelivery would spin. Per-partition workers would mean replacing FastStream's
subscriber (its acknowledgement, AsyncAPI and lifecycle) with a hand-made consumer.
Instead the handler uses aiokafka's own flow control: on `PartitionStalled` it
`pause()`s that partition (the fetcher stops fetching it and drops what it had
fetched), leaves that partition's later records of the batch alone and `seek()`s it
back to the failing offset, so the commit after the batch stores that offset for it
(and the batch's end for the others); a timer `resume()`s it after the backoff and
the same event is fetched again. Meanwhile the loop goes on with the other partitions.
Their commits (`commit()` of the consumed positions) cannot move the stalled one past
its event: its position is the failing offset. On a rebalance the timers and stalls of
revoked partitions are forgotten; whoever gets the partition starts at its committed
offset, the failing event, and stalls again if it still fails.
"""

from __future__ import annotations

import asyncio
from itertools import chain
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from shared.messaging.consumer import DeadLetter, Delivery, EventConsumer
from shared.messaging.stalls import Origin

log = structlog.get_logger(__name__)

SESSION_TIMEOUT_MS = 6000
# Records handled in one transaction and one offset commit at most. Bounded so a batch
# holds the store's single writer (HTTP requests wait for it) for tens of ms, not more.
MAX_BATCH = 64
# How long one fetch waits for records on a quiet topic before the loop looks again.
IDLE_FETCH_MS = 1000


def subscribe(
    consumer: EventConsumer,
    broker: KafkaBroker,
    dead_letter: DeadLetter,
    *,
    fetch_max_wait_ms: int = 500,
    max_batch: int = MAX_BATCH,
) -> None:
    """Register on the broker: group = consumer name, what one fetch returned (up to
    `max_batch` records) handled as one batch, the offsets committed after it, a
    partition paused while its event is stalled (see the module's docstring)."""
    consumer.bind_dead_letter(dead_letter)

    async def no_body(message: Any) -> None:  # the records are read from raw_message
        return None

    subscriber = broker.subscriber(
        consumer.topic,
        group_id=consumer.name,
        batch=True,
        max_records=max_batch,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=fetch_max_wait_ms,
        # A dead member's partitions come back after its session times out: 6 s (the
        # least real Kafka accepts by default) rather than 10 s. A restarted service
        # was ready 18.9 s after a SIGKILL with 10 s, 11.7 s with this. The cost: an
        # event loop stalled for over 6 s loses its partitions (redelivery; inboxes).
        session_timeout_ms=SESSION_TIMEOUT_MS,
        heartbeat_interval_ms=SESSION_TIMEOUT_MS // 3,
        decoder=no_body,
        listener=ForgetRevoked(consumer),
        title=f"{consumer.topic}:{consumer.name}",
        description="Consumes " + ", ".join(consumer.handled_names),
    )

    async def fetch(kafka: AIOKafkaConsumer) -> tuple[Any, ...]:
        # FastStream's batch fetch sleeps as long again after an empty one, which
        # would delay an event arriving meanwhile; this returns what came, at once.
        records = await kafka.getmany(timeout_ms=IDLE_FETCH_MS, max_records=max_batch)
        return tuple(chain.from_iterable(records.values()))

    subscriber.get_msg = fetch  # type: ignore[method-assign]

    async def on_batch(_: Any, message: KafkaMessage) -> None:
        records = message.raw_message
        deliveries = [
            Delivery(
                bytes(record.value or b""),
                headers,
                Origin(
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key.decode(errors="replace") if record.key is not None else None,
                ),
            )
            for record, headers in zip(records, message.batch_headers, strict=True)
        ]
        stalled = await consumer.handle_batch(deliveries)
        for partition, stall in stalled.items():
            where = TopicPartition(consumer.topic, partition)
            pause(consumer, message.consumer, where, stall.retry_in)  # type: ignore[arg-type]
            # Back to the stalled event: the commit after this handler (FastStream
            # acknowledges the batch) stores that offset for this partition, and
            # the end of the batch for the others.
            message.consumer.seek(where, stall.stall.offset)  # type: ignore[arg-type]

    subscriber(on_batch)


def pause(
    consumer: EventConsumer, kafka: AIOKafkaConsumer, partition: TopicPartition, delay: float
) -> None:
    """Stop fetching `partition` for `delay` seconds (its event is stalled)."""
    if not hasattr(kafka, "pause"):  # FastStream's test client: redelivery at once
        return
    kafka.pause(partition)
    loop = asyncio.get_running_loop()
    handle = loop.call_later(delay, resume, consumer, kafka, partition)
    consumer.resume_timers.replace(partition.partition, handle)


def resume(consumer: EventConsumer, kafka: AIOKafkaConsumer, partition: TopicPartition) -> None:
    consumer.resume_timers.handles.pop(partition.partition, None)
    try:
        if partition in kafka.assignment():
            kafka.resume(partition)
    except Exception as error:  # a stopped consumer: nothing to resume
        log.debug("partition_resume_skipped", partition=partition.partition, error=repr(error))


class ForgetRevoked(ConsumerRebalanceListener):
    """A revoked partition's stall and resume timer are forgotten here."""

    # type: ignore[misc]
    def __init__(self, consumer: EventConsumer) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        for partition in revoked:
            if partition.topic == self._consumer.topic:
                self._consumer.forget(partition.partition)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None
