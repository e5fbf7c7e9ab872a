"""Noticing that the broker lost its state, so a service reconnects by itself.

The embedded broker keeps everything in memory: a new one at the same address starts
without topics, groups or offsets. The clients of the old one do not notice: the
producer publishes into topics the new broker never lists, every offset commit fails,
and a consumer's position from the old log reads nothing of the new one. So once a
service consumes, it creates a marker topic of its own (`csp.alive.<service>`, one
partition, never written) and this watch lists the broker's topics every second; when
the marker (or a topic the service reads) is missing, the broker was replaced and the
runtime reconnects from scratch (subscribers recreate their topics and join from the new
broker's offsets, the producer takes fresh metadata), then marks the new broker. The
marker is the service's own: another service reconnecting first recreates the shared
topics, which would hide the loss from a watch on those alone. Events the old broker held but nobody consumed are
gone with it: `python -m tools.replay_outbox` brings them back from the outboxes.

With real Kafka a topic a service reads is never missing, so the watch never acts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import structlog
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

log = structlog.get_logger(__name__)

WATCH_SECONDS = 1.0
LIST_TIMEOUT_SECONDS = 3.0

ListTopics = Callable[[], Awaitable[set[str]]]
Mark = Callable[[], Awaitable[None]]


def marker_topic(service: str) -> str:
    return f"csp.alive.{service}"


class AdminTopics:
    """The broker's topic names through one admin connection, remade after a failure."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._admin: AIOKafkaAdminClient | None = None

    async def __call__(self) -> set[str]:
        if self._admin is None:
            admin = AIOKafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id=f"{self._client_id}-watch"
            )
            await admin.start()
            self._admin = admin
        try:
            return set(await self._admin.list_topics())
        except Exception:
            await self.close()
            raise

    async def mark(self, topic: str) -> None:
        """Create the marker topic (already there: nothing to do)."""
        await self()  # connected
        assert self._admin is not None
        with contextlib.suppress(TopicAlreadyExistsError):  # also: an error in the answer
            await self._admin.create_topics([NewTopic(topic, 1, 1)])

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            try:
                await admin.close()
            except Exception as error:  # a broken connection closes badly; it is gone
                log.debug("broker_watch_close_failed", error=repr(error))


async def watch_broker(
    service: str,
    read_topics: Iterable[str],
    list_topics: ListTopics,
    reconnect: Callable[[], Awaitable[None]],
    interval: float = WATCH_SECONDS,
    mark: Mark | None = None,
) -> None:
    """Forever: when the broker answers without the marker or a topic the service reads,
    `reconnect`, then `mark` the new broker. A broker that does not answer (down,
    restarting) decides nothing: the clients retry on their own, and the next answer
    tells whether it came back empty."""
    read = set(read_topics)
    marker = marker_topic(service)
    marked = False
    while True:
        await asyncio.sleep(interval)
        try:
            if mark is not None and not marked:
                await asyncio.wait_for(mark(), LIST_TIMEOUT_SECONDS)
            listed = await asyncio.wait_for(list_topics(), LIST_TIMEOUT_SECONDS)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            log.debug("broker_watch_no_answer", service=service, error=repr(error))
            continue
        if mark is not None and not marked:
            if marker not in listed:  # not allowed to create topics: read topics only
                log.warning("broker_watch_marker_unavailable", service=service, topic=marker)
                mark = None
            marked = True
        wanted = read | ({marker} if mark is not None else set())
        missing = sorted(wanted - listed)
        if missing:
            log.warning("broker_lost_its_topics", service=service, missing=missing)
            await reconnect()
            marked = False
            log.info("broker_reconnected", service=service)
