"""Read what really landed on a topic of the real broker, from the beginning; put a raw
record there as any producer could."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

Record = ConsumerRecord[bytes, bytes]


async def read_records(
    bootstrap: str,
    topic: str,
    *,
    at_least: int,
    where: Callable[[Record], bool] = lambda record: True,
    timeout: float = 30.0,
) -> list[Record]:
    """Matching records, read to the end of the topic once `at_least` have arrived
    (so a test also sees any unwanted extra ones)."""
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await reader.start()
    try:
        found: list[Record] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for records in (await reader.getmany(timeout_ms=500)).values():
                found += [record for record in records if where(record)]
            if len(found) >= at_least and await _caught_up(reader):
                return found
            await asyncio.sleep(0)
        raise AssertionError(f"{topic}: wanted {at_least} records, read {len(found)}")
    finally:
        await reader.stop()


async def _caught_up(reader: AIOKafkaConsumer) -> bool:
    """Compare with the fetched high watermark: the embedded broker's ListOffsets lags."""
    partitions = reader.assignment()
    if not partitions:
        return False
    for partition in partitions:
        high = reader.highwater(partition)
        if high is None or await reader.position(partition) < high:
            return False
    return True


async def publish_raw(
    bootstrap: str, topic: str, key: str, value: bytes, headers: Sequence[tuple[str, bytes]] = ()
) -> None:
    """One record, acknowledged by the broker: what an outside producer (or a bug) sends."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key.encode(), headers=list(headers))
    finally:
        await producer.stop()
