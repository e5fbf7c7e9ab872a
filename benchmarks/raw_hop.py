"""One raw consume -> produce hop, a process of its own (the baseline of `raw_chain`):

    python -m benchmarks.raw_hop BOOTSTRAP SOURCE TARGET GROUP

aiokafka only, no store, no HTTP, no FastStream, on uvloop like the services. Consumer
and producer are set up as the services' are (acks=all, no idempotence, fetch wait
50 ms, session 6 s). Prints `ready` once its group has partitions, then obeys its
standard input, one word a line:

- `batch`: at-least-once, batched: take what was fetched (up to 500 records), send every
  record, wait until the broker acknowledged all, then commit the consumed positions.
- `single`: the services' shape: one record, send and wait, commit that record.
- `hold`: stop taking records (the group membership stays).
- `quit`: leave the group and exit.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.structs import OffsetAndMetadata

MAX_RECORDS = 500


async def hop(bootstrap: str, source: str, target: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=50,
        session_timeout_ms=6000,
        heartbeat_interval_ms=2000,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=False)
    await producer.start()
    await consumer.start()
    assigned = asyncio.Event()
    consumer.subscribe([source], listener=_Assigned(assigned))
    await consumer.getmany(timeout_ms=0)  # the first poll starts the join
    await assigned.wait()
    mode = "hold"
    changed = asyncio.Event()

    async def commands() -> None:
        nonlocal mode
        reader = asyncio.StreamReader()
        loop = asyncio.get_running_loop()
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while line := (await reader.readline()).decode().strip():
            mode = line
            changed.set()
        mode = "quit"
        changed.set()

    listening = asyncio.create_task(commands())
    print("ready", flush=True)
    try:
        while mode != "quit":
            if mode == "batch":
                batches = await consumer.getmany(timeout_ms=100, max_records=MAX_RECORDS)
                sent = [
                    await producer.send(target, r.value, key=r.key, headers=list(r.headers))
                    for records in batches.values()
                    for r in records
                ]
                if sent:
                    await asyncio.gather(*sent)
                    await consumer.commit()
            elif mode == "single":
                batches = await consumer.getmany(timeout_ms=100, max_records=1)
                for tp, records in batches.items():
                    for r in records:
                        await producer.send_and_wait(
                            target, r.value, key=r.key, headers=list(r.headers)
                        )
                        offset = {
                            TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(
                                r.offset + 1, ""
                            )
                        }
                        await consumer.commit(offset)
            else:
                changed.clear()
                await changed.wait()
    finally:
        listening.cancel()
        await consumer.stop()
        await producer.stop()


class _Assigned(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, assigned: asyncio.Event) -> None:
        self._assigned = assigned

    async def on_partitions_revoked(self, revoked: object) -> None:
        return None

    async def on_partitions_assigned(self, assigned: object) -> None:
        self._assigned.set()


def main() -> None:
    bootstrap, source, target, group = sys.argv[1:5]
    uvloop.run(hop(bootstrap, source, target, group))


if __name__ == "__main__":
    main()
