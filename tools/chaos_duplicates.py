"""Duplicates on purpose: copies of events already on the topics, and a consumer group
sent back to the earliest offset. Every one of them must be absorbed (the inbox skips an
event id its consumer handled) and change nothing.

What a consumer group absorbs is exact: every record on its topic whose type it handles
is one `event_duplicate_skipped` once it was handled before (a record of a type it does
not handle is skipped as such, without the log line).
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from shared.messaging.consumer import ConsumerGroup
from tools.kafka_admin import high_watermarks

Record = ConsumerRecord[bytes, bytes]
READ_LIMIT_S = 30.0


async def read_topic(bootstrap: str, topic: str) -> list[Record]:
    """Every record on the topic, from the beginning to its high watermark now."""
    ends = await high_watermarks(bootstrap, [topic])
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        reader.assign(list(ends))
        for tp in ends:
            reader.seek(tp, 0)
        records: list[Record] = []
        deadline = time.monotonic() + READ_LIMIT_S
        while [tp for tp, end in ends.items() if await reader.position(tp) < end]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: not read to its end within {READ_LIMIT_S:.0f} s")
            for batch in (await reader.getmany(timeout_ms=200)).values():
                records += [r for r in batch if r.offset < ends[TopicPartition(topic, r.partition)]]
        return records
    finally:
        await reader.stop()


def event_type(record: Record) -> str:
    return next((v.decode() for k, v in record.headers if k == "ce-type"), "")


async def republish_sample(
    bootstrap: str, topics: Iterable[str], share: float, rng: random.Random
) -> dict[str, list[Record]]:
    """Publish again a random `share` of every topic's records (at least one each): the
    same key, bytes and headers, so the same envelope and event id. Per topic, the copies."""
    copies: dict[str, list[Record]] = {}
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for topic in topics:
            records = await read_topic(bootstrap, topic)
            picked = rng.sample(records, max(1, round(share * len(records)))) if records else []
            for record in picked:
                await producer.send_and_wait(
                    topic, record.value, key=record.key, headers=list(record.headers)
                )
            copies[topic] = picked
    finally:
        await producer.stop()
    return copies


async def reset_to_earliest(bootstrap: str, group: str, topic: str) -> None:
    """Commit offset 0 on every partition of the topic for the group. Its service must be
    stopped (the group empty): this joins the group as its only member, commits, leaves."""
    member = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await member.start()
    try:
        deadline = time.monotonic() + READ_LIMIT_S
        while not member.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError(f"{group}: no partitions assigned within {READ_LIMIT_S:.0f} s")
            await member.getmany(timeout_ms=100, max_records=1)
        await member.commit({tp: OffsetAndMetadata(0, "") for tp in member.assignment()})
    finally:
        await member.stop()


def handled_types(group: ConsumerGroup) -> set[str]:
    return {event.model_fields["type"].default for event in group.commands}


def duplicates_expected(group: ConsumerGroup, records: Iterable[Record]) -> int:
    """How many of these records the group skips as already handled."""
    handled = handled_types(group)
    return sum(1 for record in records if event_type(record) in handled)


def types_of(records: Iterable[Record]) -> Counter[str]:
    return Counter(event_type(record) for record in records)
