"""What the benchmark reads from the broker, as an outside observer with no consumer
group of its own: records as they land on a topic, and how far a service's consumer
group has committed.

Reading an output topic is how the load generator sees an event without polling a
service's HTTP API: a record on the topic was committed by its producer before it was
published (transactional outbox), so the moment it arrives is an upper bound on the
moment the fact became visible in that service.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

OnRecord = Callable[[ConsumerRecord, float], None]  # the record, perf_counter when received
SAMPLE_S = 0.02


async def partitions(producer: AIOKafkaProducer, topic: str) -> list[TopicPartition]:
    """The topic's partitions; asking creates the topic (auto-create) if it is new."""
    return [TopicPartition(topic, p) for p in sorted(await producer.partitions_for(topic))]


class TopicTail:
    """Every record arriving on `topics` from now on, handed to `on_record` at once."""

    def __init__(
        self,
        bootstrap: str,
        on_record: OnRecord,
        *,
        fetch_max_wait_ms: int = 10,
        fetch_min_bytes: int = 1,
    ) -> None:
        """By default a record is seen within ~10 ms of landing; a tail whose records'
        arrival time does not matter waits for more bytes per fetch (fewer fetches: less
        of the broker's CPU taken by the observer)."""
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            fetch_max_wait_ms=fetch_max_wait_ms,
            fetch_min_bytes=fetch_min_bytes,
            max_partition_fetch_bytes=4 * 1024 * 1024,
        )
        self._on_record = on_record
        self._task: asyncio.Task[None] | None = None

    async def start(self, assigned: Iterable[TopicPartition]) -> None:
        await self._consumer.start()
        chosen = list(assigned)
        self._consumer.assign(chosen)
        await self._consumer.seek_to_end(*chosen)
        for tp in chosen:  # resolve the positions now, not at the first fetch
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name="topic-tail")

    async def _run(self) -> None:
        while True:
            batches = await self._consumer.getmany(timeout_ms=200, max_records=2000)
            received = time.perf_counter()
            for records in batches.values():
                for record in records:
                    self._on_record(record, received)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()


class GroupOffsets:
    """A consumer group's committed offsets and the topic's end, read without joining."""

    def __init__(self, bootstrap: str, group: str, assigned: list[TopicPartition]) -> None:
        self._partitions = assigned
        self._group = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
        )
        self._reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)

    async def __aenter__(self) -> GroupOffsets:
        await self._group.start()
        await self._reader.start()
        self._reader.assign(self._partitions)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._reader.stop()
        await self._group.stop()

    async def committed(self) -> int:
        """The sum over the partitions (nothing committed counts as offset 0)."""
        offsets = await asyncio.gather(*(self._group.committed(tp) for tp in self._partitions))
        return sum(o or 0 for o in offsets)

    async def end(self) -> int:
        """The sum of the partitions' ends (the next offset each would get). Read by
        fetching: the embedded broker (Tansu 0.6.0) answers ListOffsets(latest) with
        less than that when the last produce request carried several records (seen:
        137 for 150 records sent), so its answer is only where the reading starts."""
        await self._reader.seek_to_end(*self._partitions)
        while await self._reader.getmany(*self._partitions, timeout_ms=100, max_records=10000):
            pass
        return sum([await self._reader.position(tp) for tp in self._partitions])

    async def follow(
        self, until: int, timeout_s: float, probe: Callable[[], float] = lambda: 0.0
    ) -> list[tuple[float, int, float]]:
        """(perf_counter, committed, probe()) every SAMPLE_S until committed >= until or
        timeout; `probe` is read with each sample (the consumer process's CPU seconds)."""
        samples: list[tuple[float, int, float]] = []
        deadline = time.perf_counter() + timeout_s
        while True:
            committed = await self.committed()
            samples.append((time.perf_counter(), committed, probe()))
            if committed >= until or samples[-1][0] > deadline:
                return samples
            await asyncio.sleep(SAMPLE_S)
