"""The dashboard's two conversations with the broker: reading the topics, and reading
the consumer groups' committed offsets. Both retry until the broker answers.

Written around the embedded broker's quirks (Tansu 0.6.0; docs/dashboard.md, "How it
reads the broker"):
- The topics are read by a consumer of no group (nothing committed, nobody's offsets
  moved), subscribed by pattern, from the beginning: new partitions and topics (a
  dead-letter topic's first record) are picked up by metadata refresh, never created.
  aiokafka then hands every partition back from its beginning; the view skips what it
  has taken (`PipelineView.add`).
- High watermarks come from fetch responses (`highwater()`): ListOffsets "latest"
  (`end_offsets`) is the last batch's base offset there, not the high watermark.
- Committed offsets come from a consumer of the group that never subscribes, so never
  joins (`committed()`): the admin client's group offset fetch breaks its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.dashboard.records import TopicRecord
from services.dashboard.topics import WATCHED_PATTERN
from services.dashboard.view import PipelineView

log = structlog.get_logger(__name__)

CLIENT_ID = "csp-dashboard"
# How soon a new topic or partition is noticed (aiokafka's default is five minutes).
METADATA_MAX_AGE_MS = 2000
MAX_RECORDS = 2000


class TopicReader:
    """Feeds the view with every record of the watched topics, for as long as it runs."""

    def __init__(
        self,
        bootstrap: str,
        view: PipelineView,
        *,
        pattern: str = WATCHED_PATTERN,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self._bootstrap = bootstrap
        self._view = view
        self._pattern = pattern
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._high: dict[TopicPartition, int] = {}
        self.connected = False
        self.last_error: str | None = None
        self._caught_up = False

    def high_watermarks(self) -> dict[TopicPartition, int]:
        return dict(self._high)

    @property
    def caught_up(self) -> bool:
        """Has read, once at least, to the end of every partition it was given."""
        return self._caught_up

    async def run(self) -> None:
        attempt = 0
        while True:
            consumer = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=CLIENT_ID,
                enable_auto_commit=False,  # no group: it commits nothing
                auto_offset_reset="earliest",
                metadata_max_age_ms=METADATA_MAX_AGE_MS,
                fetch_max_wait_ms=self._fetch_max_wait_ms,
            )
            try:
                await consumer.start()
                consumer.subscribe(pattern=self._pattern)
                self.connected, attempt = True, 0
                log.info("dashboard_reading", bootstrap=self._bootstrap)
                await self._read(consumer)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the broker down or gone: read again when it is back
                self.connected, self.last_error = False, repr(error)
                attempt += 1
                wait = min(5.0, 0.2 * 2 ** (attempt - 1))  # 0.2 s, 0.4 s ... at most 5 s
                log.warning("dashboard_read_failed", error=repr(error), retry_in=round(wait, 2))
                await asyncio.sleep(wait)
            finally:
                self.connected = False
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), 5)

    async def _read(self, consumer: AIOKafkaConsumer) -> None:
        assigned: frozenset[TopicPartition] = frozenset()
        while True:
            batches = await consumer.getmany(timeout_ms=500, max_records=MAX_RECORDS)
            now = frozenset(consumer.assignment())
            for tp in assigned - now:  # the broker lost it: its offsets will start over
                self._view.partition_restarted(tp.topic, tp.partition)
                self._high.pop(tp, None)
            assigned = now
            for tp, records in batches.items():
                high = consumer.highwater(tp)
                taken = self._view.next_offset(tp.topic, tp.partition)
                if records and high is not None and high < taken:
                    self._view.partition_restarted(tp.topic, tp.partition)  # a new broker
                for record in records:
                    self._view.add(TopicRecord.of(record))
            for tp in assigned:
                high = consumer.highwater(tp)
                if high is not None:
                    self._high[tp] = high
            if not self._caught_up and assigned:
                self._caught_up = all(
                    tp in self._high
                    and self._view.next_offset(tp.topic, tp.partition) >= self._high[tp]
                    for tp in assigned
                )


class CommittedOffsets:
    """Each group's committed offsets, read by a client of the group that never joins it."""

    def __init__(self, bootstrap: str, groups: Mapping[str, str]) -> None:
        self._bootstrap = bootstrap
        self._groups = dict(groups)
        self._clients: dict[str, AIOKafkaConsumer] = {}
        self.last_error: str | None = None

    async def read(
        self, partitions: list[TopicPartition]
    ) -> dict[str, dict[TopicPartition, int | None]]:
        """Per group, the committed offset of each partition of its topic; a group that
        could not be read now is left out (the caller keeps what it had)."""
        answer: dict[str, dict[TopicPartition, int | None]] = {}
        for group, topic in self._groups.items():
            mine = [tp for tp in partitions if tp.topic == topic]
            try:
                client = await self._client(group)
                answer[group] = {tp: await client.committed(tp) for tp in mine}
            except Exception as error:
                self.last_error = repr(error)
                log.warning("dashboard_offsets_failed", group=group, error=repr(error))
                await self._drop(group)
        return answer

    async def _client(self, group: str) -> AIOKafkaConsumer:
        client = self._clients.get(group)
        if client is None:
            client = AIOKafkaConsumer(
                bootstrap_servers=self._bootstrap,
                client_id=CLIENT_ID,
                group_id=group,
                enable_auto_commit=False,  # it never subscribes, never joins, never commits
            )
            await client.start()
            self._clients[group] = client
        return client

    async def _drop(self, group: str) -> None:
        client = self._clients.pop(group, None)
        if client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.stop(), 5)

    async def close(self) -> None:
        for group in list(self._clients):
            await self._drop(group)


class KafkaFeed:
    """The reader and the lag, running in the background of the app's lifespan."""

    def __init__(
        self,
        bootstrap: str,
        view: PipelineView,
        groups: Mapping[str, str],
        *,
        refresh_seconds: float = 1.0,
        fetch_max_wait_ms: int = 100,
    ) -> None:
        self.reader = TopicReader(bootstrap, view, fetch_max_wait_ms=fetch_max_wait_ms)
        self._offsets = CommittedOffsets(bootstrap, groups)
        self._groups = dict(groups)
        self._refresh = refresh_seconds
        self._committed: dict[str, dict[TopicPartition, int | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    def groups(self) -> dict[str, str]:
        return dict(self._groups)

    def high_watermarks(self) -> dict[TopicPartition, int]:
        return self.reader.high_watermarks()

    def committed(self) -> dict[str, dict[TopicPartition, int | None]]:
        return {group: dict(offsets) for group, offsets in self._committed.items()}

    def status(self) -> dict[str, Any]:
        return {
            "brokerConnected": self.reader.connected,
            "caughtUp": self.reader.caught_up,
            "lastError": self.reader.last_error or self._offsets.last_error,
        }

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self.reader.run(), name="dashboard-reader"),
            asyncio.create_task(self._follow_offsets(), name="dashboard-offsets"),
        ]

    async def _follow_offsets(self) -> None:
        while True:
            partitions = list(self.reader.high_watermarks())
            if partitions:
                self._committed.update(await self._offsets.read(partitions))
            await asyncio.sleep(self._refresh)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 5)
        await self._offsets.close()
