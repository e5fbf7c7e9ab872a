"""Dead letters: what a consumer writes to `<topic>.dlq`, and reading and replaying it.

A consumer dead-letters only an event it can never decode (`shared.messaging.consumer`):
the original bytes, the original headers, and `x-dlq-*` headers saying what went wrong
and where the event was. `read_dead_letters` reads `.dlq` topics from their beginning
to their end (no consumer group: reading commits nothing and changes nothing);
`replay` publishes chosen ones back to their original topic with the original key and
headers (minus the `x-dlq-*` ones). Every consumer group of that topic sees a replayed
event again: their inboxes skip it where it was handled already, so a replay is safe.
The command is `python -m tools.dead_letters`.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from shared.events.topics import is_dead_letter_topic, original_topic

PREFIX = "x-dlq-"
ERROR = "x-dlq-error"
CONSUMER = "x-dlq-consumer"
ORIGINAL_TOPIC = "x-dlq-original-topic"
ORIGINAL_PARTITION = "x-dlq-original-partition"
ORIGINAL_OFFSET = "x-dlq-original-offset"
ORIGINAL_KEY = "x-dlq-original-key"

_ERROR_LIMIT = 2000


def dead_letter_headers(
    headers: Mapping[str, str],
    error: BaseException,
    *,
    topic: str,
    consumer: str,
    partition: int | None = None,
    offset: int | None = None,
    key: str | None = None,
) -> dict[str, str]:
    """The original headers plus what went wrong and where the event was."""
    where = {
        ORIGINAL_PARTITION: partition,
        ORIGINAL_OFFSET: offset,
        ORIGINAL_KEY: key,
    }
    return {
        **headers,
        ERROR: f"{type(error).__name__}: {error}"[:_ERROR_LIMIT],
        ORIGINAL_TOPIC: topic,
        CONSUMER: consumer,
        **{name: str(value) for name, value in where.items() if value is not None},
    }


@dataclass(frozen=True)
class DeadLetterRecord:
    """One record of a `.dlq` topic."""

    topic: str  # the dead-letter topic
    partition: int
    offset: int
    timestamp_ms: int  # when it was dead-lettered (the record's timestamp)
    key: bytes | None
    payload: bytes
    headers: dict[str, str]

    @property
    def position(self) -> str:
        return f"{self.partition}:{self.offset}"

    @property
    def time(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp_ms / 1000, UTC)

    @property
    def error(self) -> str:
        return self.headers.get(ERROR, "")

    @property
    def consumer(self) -> str:
        return self.headers.get(CONSUMER, "")

    @property
    def service(self) -> str:
        """The consumer group's first segment: `billing.activations` -> `billing`."""
        return self.consumer.split(".", 1)[0]

    @property
    def original_topic(self) -> str:
        return self.headers.get(ORIGINAL_TOPIC) or original_topic(self.topic)

    @property
    def body(self) -> dict[str, Any]:
        """The payload as a JSON object, or {} when it is not one (it may be garbage)."""
        try:
            body = json.loads(self.payload)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    @property
    def event_id(self) -> str:
        return _text(self.body.get("id")) or self.headers.get("ce-id", "")

    @property
    def event_type(self) -> str:
        return _text(self.body.get("type")) or self.headers.get("ce-type", "")

    @property
    def subject(self) -> str:
        return _text(self.body.get("subject")) or self.replay_key or ""

    @property
    def replay_key(self) -> str | None:
        """The key it had on its original topic, so a replay lands on the same partition
        as the subscription's other events (the subject when the header is missing)."""
        if self.key is not None:
            return self.key.decode(errors="replace")
        return self.headers.get(ORIGINAL_KEY) or _text(self.body.get("subject")) or None

    @property
    def replay_headers(self) -> dict[str, str]:
        return {k: v for k, v in self.headers.items() if not k.startswith(PREFIX)}

    def summary(self) -> dict[str, Any]:
        """What the list command shows, JSON-able."""
        return {
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "time": self.time.isoformat(),
            "eventId": self.event_id,
            "type": self.event_type,
            "subject": self.subject,
            "consumer": self.consumer,
            "originalTopic": self.original_topic,
            "originalPartition": self.headers.get(ORIGINAL_PARTITION),
            "originalOffset": self.headers.get(ORIGINAL_OFFSET),
            "error": self.error,
        }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


class NotSelected(ValueError):
    """A selector matched nothing, or an offset matched records in several places."""


def select(
    records: Iterable[DeadLetterRecord],
    *,
    offsets: Iterable[str] = (),
    event_ids: Iterable[str] = (),
    everything: bool = False,
) -> list[DeadLetterRecord]:
    """The chosen records, in the order read. An offset is `N` or `PARTITION:N`; `N`
    alone must match one record (name the partition, or the topic, when it matches
    more); every selector must match something."""
    records = list(records)
    if everything:
        return records
    chosen: dict[tuple[str, int, int], DeadLetterRecord] = {}
    for wanted in offsets:
        partition, offset = _parse_offset(wanted)
        found = [
            r
            for r in records
            if r.offset == offset and (partition is None or r.partition == partition)
        ]
        if not found:
            raise NotSelected(f"no dead letter at offset {wanted}")
        if len(found) > 1:
            places = ", ".join(f"{r.topic} {r.position}" for r in found)
            raise NotSelected(f"offset {wanted} is ambiguous ({places}): name it")
        chosen[(found[0].topic, found[0].partition, found[0].offset)] = found[0]
    for event_id in event_ids:
        found = [r for r in records if r.event_id == event_id]
        if not found:
            raise NotSelected(f"no dead letter of event {event_id}")
        chosen.update({(r.topic, r.partition, r.offset): r for r in found})
    return [r for r in records if (r.topic, r.partition, r.offset) in chosen]


def _parse_offset(text: str) -> tuple[int | None, int]:
    partition, _, offset = text.rpartition(":")
    try:
        return (int(partition) if partition else None), int(offset)
    except ValueError:
        raise NotSelected(f"an offset is N or PARTITION:N, not {text!r}") from None


async def dead_letter_topics(bootstrap_servers: str) -> list[str]:
    """Every `.dlq` topic the cluster has."""
    client = AIOKafkaConsumer(bootstrap_servers=bootstrap_servers, enable_auto_commit=False)
    await client.start()
    try:
        return sorted(t for t in await client.topics() if is_dead_letter_topic(t))
    finally:
        await client.stop()


async def read_dead_letters(
    bootstrap_servers: str, topics: Iterable[str], *, timeout: float = 30.0
) -> list[DeadLetterRecord]:
    """Every record of these dead-letter topics, from the beginning to their end; by
    topic, partition and offset."""
    topics = list(topics)
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        enable_auto_commit=False,  # no group: nothing committed, nobody's offsets moved
        auto_offset_reset="earliest",
    )
    await reader.start()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(await _partitions(reader, topic))
        ]
        if not partitions:
            return []
        reader.assign(partitions)
        await reader.seek_to_beginning(*partitions)
        ends = await reader.end_offsets(partitions)
        found: list[DeadLetterRecord] = []
        deadline = time.monotonic() + timeout
        while True:  # one fetch at least: the end offsets may lag (the embedded broker's do)
            batches = await reader.getmany(timeout_ms=200)
            for tp, records in batches.items():
                found += [_record(tp.topic, r) for r in records]
            if await _read_to(reader, ends):
                return sorted(found, key=lambda r: (r.topic, r.partition, r.offset))
            if time.monotonic() > deadline:
                raise TimeoutError(f"reading {', '.join(topics)} did not reach the end")
    finally:
        await reader.stop()


async def _partitions(reader: AIOKafkaConsumer, topic: str) -> set[int]:
    for _ in range(50):  # metadata of a topic the client has not asked about yet
        partitions = reader.partitions_for_topic(topic)
        if partitions is not None:
            return set(partitions)
        await reader.topics()  # refreshes the metadata
        await asyncio.sleep(0.1)
    return set()


async def _read_to(reader: AIOKafkaConsumer, ends: Mapping[TopicPartition, int]) -> bool:
    """At the end of every partition: the listed end, or the fetched high watermark."""
    for tp, end in ends.items():
        if await reader.position(tp) < max(end, reader.highwater(tp) or 0):
            return False
    return True


def _record(topic: str, record: Any) -> DeadLetterRecord:
    return DeadLetterRecord(
        topic=topic,
        partition=record.partition,
        offset=record.offset,
        timestamp_ms=record.timestamp,
        key=record.key,
        payload=record.value or b"",
        headers={k: v.decode(errors="replace") for k, v in record.headers},
    )


async def replay(
    bootstrap_servers: str, records: Iterable[DeadLetterRecord], *, timeout: float = 10.0
) -> list[DeadLetterRecord]:
    """Publish each record back to its original topic (original key, original headers
    minus the `x-dlq-*` ones), in the order given. The same event dead-lettered by
    several consumer groups of one topic goes back once. Returns what was published."""
    distinct = once_each(records)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap_servers,
        acks="all",
        request_timeout_ms=int(timeout * 1000),
    )
    await producer.start()
    try:
        for record in distinct:
            key = record.replay_key
            await producer.send_and_wait(
                record.original_topic,
                record.payload,
                key=key.encode() if key is not None else None,
                headers=[(k, v.encode()) for k, v in record.replay_headers.items()],
            )
    finally:
        await producer.stop()
    return distinct


def once_each(records: Iterable[DeadLetterRecord]) -> list[DeadLetterRecord]:
    """The first of each event (same bytes, same original topic): several consumer groups
    of one topic dead-letter the same undecodable event, and it goes back once."""
    distinct: dict[tuple[str, bytes], DeadLetterRecord] = {}
    for record in records:
        distinct.setdefault((record.original_topic, record.payload), record)
    return list(distinct.values())
